/* gwctl's commands: how each shows its answer (views), its argument checks,
 * the request it makes, and the command table. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/gwctl.h"
#include "gwctl-int.h"

#define TARGET_MAX 512

static const struct gwctl_column status_fields[] = {
	{"gateway", "gateway"},
	{"site.name", "site"},
	{"site.id", "site id"},
	{"abi_version", "abi version"},
	{"datapath", "datapath"},
	{"uptime_s", "uptime (s)"},
	{"services", "services"},
	{"backends", "backends"},
	{"peers", "peers"},
	{"tunnel_mtu", "tunnel MTU"},
	{"conntrack_entries", "conntrack entries"},
	{"flow_cache.entries_per_cpu", "flow cache v4 (per CPU)"},
	{"flow_cache.ipv6_entries_per_cpu", "flow cache v6 (per CPU)"},
	{"flow_cache.epoch", "flow cache epoch"},
	{NULL, NULL},
};

static const struct gwctl_column interface_cols[] = {
	{"role", "ROLE"},	  {"name", "NAME"}, {"ifindex", "IFINDEX"},
	{"xdp_mode", "XDP MODE"}, {NULL, NULL},
};

static const struct gwctl_view status_views[] = {
	{.kind = GWCTL_VIEW_FIELDS, .cols = status_fields},
	{.kind = GWCTL_VIEW_TABLE, .key = "interfaces", .cols = interface_cols},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_column service_cols[] = {
	{"name", "NAME"},	  {"id", "ID"},		{"vips", "VIPS"},
	{"ports", "PORTS"},	  {"lb", "LB"},		{"affinity", "AFFINITY"},
	{"backends", "BACKENDS"}, {"active", "ACTIVE"}, {NULL, NULL},
};

static const struct gwctl_view services_views[] = {
	{.kind = GWCTL_VIEW_TABLE, .key = "services", .cols = service_cols, .empty = "no services"},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_column service_fields[] = {
	{"name", "name"},
	{"id", "id"},
	{"vips", "vips"},
	{"ports", "ports"},
	{"lb", "lb"},
	{"affinity", "affinity"},
	{"min_local_healthy", "min local healthy"},
	{"active", "active backends"},
	{NULL, NULL},
};

static const struct gwctl_column backend_cols[] = {
	{"service", "SERVICE"}, {"address", "ADDRESS"}, {"port", "PORT"},   {"site", "SITE"},
	{"local", "LOCAL"},	{"weight", "WEIGHT"},	{"state", "STATE"}, {NULL, NULL},
};

static const struct gwctl_view service_views[] = {
	{.kind = GWCTL_VIEW_FIELDS, .cols = service_fields},
	/* Without the SERVICE column: it is the service shown. */
	{.kind = GWCTL_VIEW_TABLE,
	 .key = "backends",
	 .cols = backend_cols + 1,
	 .empty = "no backends"},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_view backends_views[] = {
	{.kind = GWCTL_VIEW_TABLE, .key = "backends", .cols = backend_cols, .empty = "no backends"},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_column peer_cols[] = {
	{"site", "SITE"},	{"site_id", "SITE ID"}, {"gateway", "GATEWAY"},
	{"address", "ADDRESS"}, {"state", "STATE"},	{"rtt_us", "RTT (us)"},
	{"misses", "MISSES"},	{"source", "SOURCE"},	{NULL, NULL},
};

static const struct gwctl_column site_cols[] = {
	{"name", "SITE"},
	{"id", "ID"},
	{"local", "LOCAL"},
	{"state", "STATE"},
	{"gateways", "GATEWAYS"},
	{"gateways_up", "UP"},
	{"backends", "BACKENDS"},
	{"learned", "FROM ETCD"},
	{NULL, NULL},
};

static const struct gwctl_view sites_views[] = {
	{.kind = GWCTL_VIEW_TABLE, .key = "sites", .cols = site_cols, .empty = "no sites"},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_column sync_fields[] = {
	{"endpoint", "etcd endpoint"},
	{"revision", "revision"},
	{"watching", "watching"},
	{"lag_ms", "last etcd contact (ms ago)"},
	{"lease", "lease"},
	{"sites", "sites seen"},
	{"last_error", "last error"},
	{"reported_ms_ago", "reported (ms ago)"},
	{NULL, NULL},
};

static const struct gwctl_column identity_cols[] = {
	{"name", "NAME"},     {"site", "SITE"},	  {"id", "ID"}, {"etcd_id", "ETCD ID"},
	{"labels", "LABELS"}, {"cidrs", "CIDRS"}, {NULL, NULL},
};

static const struct gwctl_view identities_views[] = {
	{.kind = GWCTL_VIEW_TABLE,
	 .key = "identities",
	 .cols = identity_cols,
	 .empty = "no identities"},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_view sync_views[] = {
	{.kind = GWCTL_VIEW_FIELDS, .cols = sync_fields},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_view peers_views[] = {
	{.kind = GWCTL_VIEW_TABLE, .key = "peers", .cols = peer_cols, .empty = "no peers"},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_column counter_cols[] = {
	{"name", "NAME"},   {"kind", "KIND"}, {"packets", "PACKETS"},
	{"bytes", "BYTES"}, {NULL, NULL},
};

static const struct gwctl_view stats_views[] = {
	{.kind = GWCTL_VIEW_TABLE, .key = "counters", .cols = counter_cols, .empty = "no counters"},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_view reload_views[] = {
	/* Older daemons answer without "changes". */
	{.kind = GWCTL_VIEW_LIST,
	 .key = "changes",
	 .empty = "config reloaded: no changes",
	 .optional = 1},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_view config_views[] = {
	{.kind = GWCTL_VIEW_JSON},
	{.kind = GWCTL_VIEW_END},
};

static const struct gwctl_view no_views[] = {
	{.kind = GWCTL_VIEW_END},
};

static int want_args(struct gwctl *ctl, int argc, char **argv, int n)
{
	if (argc > n)
		return gwctl_usage_error(
			ctl, "%s \"%s\"",
			argv[n][0] == '-' ? "unknown option" : "unexpected argument", argv[n]);
	if (argc < n)
		return gwctl_usage_error(ctl, "missing argument");
	return 0;
}

static int cmd_status(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/status", NULL, status_views);
}

static int cmd_services_list(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/services", NULL, services_views);
}

static int cmd_services_show(struct gwctl *ctl, int argc, char **argv)
{
	char target[TARGET_MAX], name[TARGET_MAX - 16];
	int r = want_args(ctl, argc, argv, 1);

	if (r)
		return r;
	if (gwctl_url_escape(argv[0], name, sizeof(name)))
		return gwctl_usage_error(ctl, "service name too long");
	snprintf(target, sizeof(target), "/v1/services/%s", name);
	return gwctl_call(ctl, "GET", target, NULL, service_views);
}

/* [--service NAME | --service=NAME] */
static int cmd_backends_list(struct gwctl *ctl, int argc, char **argv)
{
	char target[TARGET_MAX], name[TARGET_MAX - 32];
	const char *service = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--service")) {
			if (++i == argc)
				return gwctl_usage_error(ctl, "--service needs a service name");
			service = argv[i];
		} else if (!strncmp(argv[i], "--service=", 10)) {
			service = argv[i] + 10;
		} else {
			return gwctl_usage_error(ctl, "%s \"%s\"",
						 argv[i][0] == '-' ? "unknown option"
								   : "unexpected argument",
						 argv[i]);
		}
	}
	if (!service)
		return gwctl_call(ctl, "GET", "/v1/backends", NULL, backends_views);
	if (!*service || gwctl_url_escape(service, name, sizeof(name)))
		return gwctl_usage_error(ctl, "bad service name \"%s\"", service);
	snprintf(target, sizeof(target), "/v1/backends?service=%s", name);
	return gwctl_call(ctl, "GET", target, NULL, backends_views);
}

/* "10.1.0.11:80" or "[fd00:1::11]:80". */
static int backend_ok(const char *s)
{
	char host[INET6_ADDRSTRLEN], *end;
	unsigned char addr[16];
	const char *colon = strrchr(s, ':');
	size_t len;
	unsigned long port;

	if (!colon || colon == s || !colon[1] || colon[1] == '+' || colon[1] == '-')
		return 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return 0;
	len = (size_t)(colon - s);
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(host))
			return 0;
		memcpy(host, s + 1, len - 2);
		host[len - 2] = '\0';
		return inet_pton(AF_INET6, host, addr) == 1;
	}
	if (len >= sizeof(host))
		return 0;
	memcpy(host, s, len);
	host[len] = '\0';
	return inet_pton(AF_INET, host, addr) == 1;
}

/* Takes "--site SITE" or "--site=SITE" out of argv, wherever it is. 0, or a
 * usage error. */
static int take_site(struct gwctl *ctl, int *argc, char **argv, const char **ret_site)
{
	int i, o;

	*ret_site = NULL;
	for (i = 0, o = 0; i < *argc; i++) {
		if (!strcmp(argv[i], "--site")) {
			if (++i == *argc || !*argv[i])
				return gwctl_usage_error(ctl, "--site needs a site name");
			*ret_site = argv[i];
		} else if (!strncmp(argv[i], "--site=", 7) && argv[i][7]) {
			*ret_site = argv[i] + 7;
		} else {
			argv[o++] = argv[i];
		}
	}
	*argc = o;
	return 0;
}

static int backend_call(struct gwctl *ctl, const char *target, int argc, char **argv, int n)
{
	unsigned long long weight = 0;
	const char *site;
	json_t *body;
	char *end;
	int r = take_site(ctl, &argc, argv, &site);

	if (!r)
		r = want_args(ctl, argc, argv, n);
	if (r)
		return r;
	if (!*argv[0])
		return gwctl_usage_error(ctl, "empty service name");
	if (!backend_ok(argv[1]))
		return gwctl_usage_error(ctl,
					 "bad backend \"%s\": use ADDR:PORT, e.g. 10.1.0.11:80 or "
					 "[fd00:1::11]:80",
					 argv[1]);
	if (n == 3) {
		errno = 0;
		weight = strtoull(argv[2], &end, 10);
		if (errno || *end || !*argv[2] || argv[2][0] == '-' || weight > GWCTL_WEIGHT_MAX)
			return gwctl_usage_error(ctl,
						 "bad weight \"%s\": use an integer from 0 to %d",
						 argv[2], GWCTL_WEIGHT_MAX);
	}
	body = json_pack("{s:s, s:s}", "service", argv[0], "backend", argv[1]);
	if (body &&
	    ((n == 3 && json_object_set_new(body, "weight", json_integer((json_int_t)weight))) ||
	     (site && json_object_set_new(body, "site", json_string(site))))) {
		json_decref(body);
		body = NULL;
	}
	if (!body)
		return gwctl_usage_error(ctl, "arguments must be UTF-8");
	return gwctl_call(ctl, "POST", target, body, no_views);
}

static int cmd_backends_drain(struct gwctl *ctl, int argc, char **argv)
{
	return backend_call(ctl, "/v1/backends/drain", argc, argv, 2);
}

static int cmd_backends_undrain(struct gwctl *ctl, int argc, char **argv)
{
	return backend_call(ctl, "/v1/backends/undrain", argc, argv, 2);
}

static int cmd_backends_weight(struct gwctl *ctl, int argc, char **argv)
{
	return backend_call(ctl, "/v1/backends/weight", argc, argv, 3);
}

static int cmd_peers_list(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/peers", NULL, peers_views);
}

static int cmd_sites(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/sites", NULL, sites_views);
}

static int cmd_identities(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/identities", NULL, identities_views);
}

static int cmd_sync_status(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/sync/status", NULL, sync_views);
}

static int cmd_stats(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/stats", NULL, stats_views);
}

static int cmd_config_reload(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "POST", "/v1/config/reload", NULL, reload_views);
}

static int cmd_config_show(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: gwctl_call(ctl, "GET", "/v1/config", NULL, config_views);
}

static const struct gwctl_cmd services_cmds[] = {
	{"list", NULL, "services with VIPs, ports and backend counts", NULL, cmd_services_list},
	{"show", "NAME", "one service and its backends", NULL, cmd_services_show},
	{NULL, NULL, NULL, NULL, NULL},
};

static const struct gwctl_cmd backends_cmds[] = {
	{"list", "[--service NAME]", "backends with weight and state", NULL, cmd_backends_list},
	{"drain", "SERVICE ADDR:PORT [--site SITE]", "no new flows to a backend", NULL,
	 cmd_backends_drain},
	{"undrain", "SERVICE ADDR:PORT [--site SITE]", "new flows again", NULL,
	 cmd_backends_undrain},
	{"weight", "SERVICE ADDR:PORT WEIGHT [--site SITE]", "set a backend's weight", NULL,
	 cmd_backends_weight},
	{NULL, NULL, NULL, NULL, NULL},
};

static const struct gwctl_cmd peers_cmds[] = {
	{"list", NULL, "remote gateways, tunnel state and RTT", NULL, cmd_peers_list},
	{NULL, NULL, NULL, NULL, NULL},
};

static const struct gwctl_cmd sync_cmds[] = {
	{"status", NULL, "cluster-syncd: etcd endpoint, revision, lag, last error", NULL,
	 cmd_sync_status},
	{NULL, NULL, NULL, NULL, NULL},
};

static const struct gwctl_cmd config_cmds[] = {
	{"reload", NULL, "re-read the config file and apply the difference", NULL,
	 cmd_config_reload},
	{"show", NULL, "the config in force, as JSON", NULL, cmd_config_show},
	{NULL, NULL, NULL, NULL, NULL},
};

const struct gwctl_cmd gwctl_commands[] = {
	{"status", NULL, "gateway, site, data path and interfaces", NULL, cmd_status},
	{"services", NULL, NULL, services_cmds, cmd_services_list},
	{"backends", NULL, NULL, backends_cmds, cmd_backends_list},
	{"peers", NULL, NULL, peers_cmds, cmd_peers_list},
	{"sites", NULL, "sites, their gateways' liveness and backends", NULL, cmd_sites},
	{"sync", NULL, NULL, sync_cmds, cmd_sync_status},
	{"identities", NULL, "identities: data-plane id and the id allocated in etcd", NULL,
	 cmd_identities},
	{"stats", NULL, "packet and drop counters", NULL, cmd_stats},
	{"config", NULL, NULL, config_cmds, NULL},
	{"help", "[COMMAND]", "help on a command", NULL, gwctl_cmd_help},
	{NULL, NULL, NULL, NULL, NULL},
};
