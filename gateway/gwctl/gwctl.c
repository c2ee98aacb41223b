/* gwctl: the command line of gatewayd's control API. A command table with
 * unique-prefix matching; global options anywhere; text tables or -o json. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <jansson.h>

#include "gw/gwctl.h"

#define SOCK_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))
#define TARGET_MAX    512
#define LISTED_MAX    16 /* sockets named in "several gateways" */

struct gwctl {
	FILE *out, *err;
	int json;
	int timeout_ms;
	const char *opt_socket;
	const char *opt_gateway;
	const char *run_dir;
	const struct gwctl_cmd *parent; /* for usage messages: NULL or the first word */
	const struct gwctl_cmd *cmd;
};

/* --- messages ------------------------------------------------------------ */

static int usage_line(char *buf, size_t size, const struct gwctl_cmd *parent,
		      const struct gwctl_cmd *cmd)
{
	return snprintf(buf, size, "%s%s%s%s%s", parent ? parent->name : "", parent ? " " : "",
			cmd->name, cmd->args ? " " : "", cmd->args ? cmd->args : "");
}

/* Width of the widest usage line of @cmd (or of its subcommands). */
static int usage_width(const struct gwctl_cmd *parent, const struct gwctl_cmd *cmd)
{
	const struct gwctl_cmd *s;
	char line[128];
	int w = 0, n;

	if (!cmd->sub)
		return usage_line(line, sizeof(line), parent, cmd);
	for (s = cmd->sub; s->name; s++) {
		n = usage_line(line, sizeof(line), cmd, s);
		if (n > w)
			w = n;
	}
	return w;
}

static void print_usage_line(FILE *f, const char *lead, const struct gwctl_cmd *parent,
			     const struct gwctl_cmd *cmd, int help_col)
{
	char line[128];

	usage_line(line, sizeof(line), parent, cmd);
	if (!help_col || !cmd->help)
		fprintf(f, "%s%s\n", lead, line);
	else
		fprintf(f, "%s%-*s  %s\n", lead, help_col, line, cmd->help);
}

/*
 * The usage of @cmd, or of each of its subcommands: the first line after
 * @lead, the next ones indented as far. @help_col 0 leaves out the help text.
 */
static void print_cmd_usage(FILE *f, const char *lead, const struct gwctl_cmd *parent,
			    const struct gwctl_cmd *cmd, int help_col)
{
	const struct gwctl_cmd *s;
	char indent[32];

	/* "Usage: gwctl " continues as "       gwctl ". */
	if (!strncmp(lead, "Usage: ", 7))
		snprintf(indent, sizeof(indent), "       %s", lead + 7);
	else
		snprintf(indent, sizeof(indent), "%s", lead);
	if (!cmd->sub) {
		print_usage_line(f, lead, parent, cmd, help_col);
		return;
	}
	for (s = cmd->sub; s->name; s++)
		print_usage_line(f, s == cmd->sub ? lead : indent, cmd, s, help_col);
}

static void print_usage(FILE *f)
{
	const struct gwctl_cmd *c;
	int w = 0;

	fprintf(f,
		"Usage: gwctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Options (anywhere on the line):\n"
		"  -g, --gateway NAME   talk to the gateway NAME (" GWCTL_RUN_DIR "/NAME.sock)\n"
		"  -s, --socket PATH    talk to gatewayd at this unix socket\n"
		"  -o, --output FORMAT  text (default) or json\n"
		"  -j, --json           same as -o json\n"
		"  -t, --timeout MS     give up after MS milliseconds (default %d)\n"
		"  -h, --help           this text; \"gwctl help COMMAND\" for one command\n"
		"\n"
		"Commands (a unique prefix is enough: \"gwctl serv l\"):\n",
		GWCTL_DEFAULT_TIMEOUT_MS);
	for (c = gwctl_commands; c->name; c++)
		if (usage_width(NULL, c) > w)
			w = usage_width(NULL, c);
	for (c = gwctl_commands; c->name; c++)
		print_cmd_usage(f, "  ", NULL, c, w);
	fprintf(f, "\n"
		   "The socket is --socket, else --gateway, else $" GWCTL_SOCKET_ENV
		   ", else the only *.sock in " GWCTL_RUN_DIR ".\n"
		   "Exit codes: 0 ok, 1 refused by gatewayd, 2 usage error, 3 gatewayd "
		   "unreachable.\n");
}

static int usage_error(struct gwctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A bad command line: say what is wrong and how the command is used. */
static int usage_error(struct gwctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fputs("gwctl: ", ctl->err);
	va_start(ap, fmt);
	vfprintf(ctl->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctl->err);
	if (ctl->cmd)
		print_cmd_usage(ctl->err, "Usage: gwctl ", ctl->parent, ctl->cmd, 0);
	else
		fputs("Try 'gwctl --help'.\n", ctl->err);
	return GWCTL_EXIT_USAGE;
}

/* --- command lookup ------------------------------------------------------ */

int gwctl_cmd_find(const struct gwctl_cmd *cmds, const char *word, const struct gwctl_cmd **ret_cmd)
{
	const struct gwctl_cmd *c, *found = NULL;
	size_t len = strlen(word), n = 0;

	if (!len)
		return -ENOENT;
	for (c = cmds; c->name; c++) {
		if (!strcmp(c->name, word)) {
			*ret_cmd = c;
			return 0;
		}
		if (!strncmp(c->name, word, len)) {
			found = c;
			n++;
		}
	}
	if (!n)
		return -ENOENT;
	if (n > 1)
		return -ENOTUNIQ;
	*ret_cmd = found;
	return 0;
}

/* Look @word up in @cmds; on failure say why, with the candidates. */
static int cmd_lookup(struct gwctl *ctl, const struct gwctl_cmd *cmds, const char *what,
		      const char *word, const struct gwctl_cmd **ret_cmd)
{
	const struct gwctl_cmd *c;
	size_t len = strlen(word);
	const char *sep = "";
	int r = gwctl_cmd_find(cmds, word, ret_cmd);

	if (!r)
		return 0;
	fprintf(ctl->err, "gwctl: %s \"%s\" %s: ", what, word,
		r == -ENOTUNIQ ? "is ambiguous, it could be" : "is unknown, try one of");
	for (c = cmds; c->name; c++) {
		if (r == -ENOTUNIQ && strncmp(c->name, word, len))
			continue;
		fprintf(ctl->err, "%s%s", sep, c->name);
		sep = ", ";
	}
	fputc('\n', ctl->err);
	return r;
}

/* --- socket -------------------------------------------------------------- */

static int path_copy(const char *path, char *buf, size_t size, FILE *err)
{
	size_t len = strlen(path);

	if (len >= size || len >= SOCK_PATH_MAX) {
		fprintf(err, "gwctl: socket path too long (at most %zu bytes): %s\n",
			SOCK_PATH_MAX - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(buf, path, len + 1);
	return 0;
}

static int gateway_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len > GWCTL_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    name[i]))
			return 0;
	return 1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_socket(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_SOCK)
		return 1;
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
		return 0;
	return fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISSOCK(st.st_mode);
}

int gwctl_socket_resolve(const char *opt_socket, const char *opt_gateway, const char *env_socket,
			 const char *run_dir, char *buf, size_t size, FILE *err)
{
	char path[PATH_MAX], *names[LISTED_MAX];
	const struct dirent *de;
	size_t n = 0, len, i;
	DIR *d;
	int r;

	if (opt_socket && *opt_socket)
		return path_copy(opt_socket, buf, size, err);
	if (opt_gateway && *opt_gateway) {
		if (!gateway_name_ok(opt_gateway)) {
			fprintf(err,
				"gwctl: bad gateway name \"%s\": use letters, digits, '.', '_' "
				"and '-' (at most %d)\n",
				opt_gateway, GWCTL_NAME_MAX);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "%s/%s.sock", run_dir, opt_gateway);
		return path_copy(path, buf, size, err);
	}
	if (env_socket && *env_socket)
		return path_copy(env_socket, buf, size, err);

	d = opendir(run_dir);
	while (d && (de = readdir(d))) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".sock") || !is_socket(d, de))
			continue;
		if (n < LISTED_MAX) {
			names[n] = strdup(de->d_name);
			if (!names[n])
				break;
		}
		n++;
	}
	if (d)
		closedir(d);
	if (n == 1) {
		snprintf(path, sizeof(path), "%s/%s", run_dir, names[0]);
		r = path_copy(path, buf, size, err);
	} else if (n == 0) {
		fprintf(err,
			"gwctl: no gatewayd socket in %s: is gatewayd running?\n"
			"gwctl: (or name one with --gateway NAME, --socket PATH or "
			"$" GWCTL_SOCKET_ENV ")\n",
			run_dir);
		r = -ENOENT;
	} else {
		if (n <= LISTED_MAX)
			qsort(names, n, sizeof(names[0]), name_cmp);
		fprintf(err, "gwctl: several gateways run here, choose one with --gateway NAME:");
		for (i = 0; i < n && i < LISTED_MAX; i++)
			fprintf(err, " %.*s", (int)(strlen(names[i]) - 5), names[i]);
		fprintf(err, "%s\n", n > LISTED_MAX ? " ..." : "");
		r = -ENOTUNIQ;
	}
	for (i = 0; i < n && i < LISTED_MAX; i++)
		free(names[i]);
	return r;
}

/* --- calling gatewayd ---------------------------------------------------- */

static int unreachable(struct gwctl *ctl, const char *sock, int r)
{
	switch (r) {
	case -ETIMEDOUT:
		fprintf(ctl->err, "gwctl: gatewayd at %s did not answer within %d ms\n", sock,
			ctl->timeout_ms);
		break;
	case -EPROTO:
		fprintf(ctl->err,
			"gwctl: gatewayd at %s closed the connection without a valid answer\n",
			sock);
		break;
	case -EACCES:
	case -EPERM:
		fprintf(ctl->err,
			"gwctl: permission denied on %s: run as root or as a member of the "
			"socket's group\n",
			sock);
		return GWCTL_EXIT_UNREACHABLE;
	case -ECONNREFUSED:
		fprintf(ctl->err, "gwctl: nobody listens on %s (a stale socket)\n", sock);
		break;
	default:
		fprintf(ctl->err, "gwctl: cannot connect to gatewayd at %s: %s\n", sock,
			strerror(-r));
		break;
	}
	fprintf(ctl->err, "gwctl: is gatewayd running? Check with: systemctl status gatewayd\n");
	return GWCTL_EXIT_UNREACHABLE;
}

/* gatewayd said no: print its "error" (and "errors" lines) and return 1. */
static int refused(struct gwctl *ctl, const struct gwctl_answer *a, const json_t *j)
{
	const json_t *msg = json_object_get(j, "error"), *errs = json_object_get(j, "errors");
	size_t i;

	if (json_is_string(msg))
		fprintf(ctl->err, "gwctl: %s\n", json_string_value(msg));
	else
		fprintf(ctl->err, "gwctl: gatewayd answered HTTP %d%s%.200s\n", a->status,
			a->body_len ? ": " : "", a->body);
	for (i = 0; i < json_array_size(errs); i++)
		if (json_is_string(json_array_get(errs, i)))
			fprintf(ctl->err, "  %s\n", json_string_value(json_array_get(errs, i)));
	return GWCTL_EXIT_REFUSED;
}

/* Send one request (steals @body) and print the answer through @views. */
static int call(struct gwctl *ctl, const char *method, const char *target, json_t *body,
		const struct gwctl_view *views)
{
	struct gwctl_answer a = {0};
	char sock[SOCK_PATH_MAX], *b = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	int r, ret;

	r = gwctl_socket_resolve(ctl->opt_socket, ctl->opt_gateway, getenv(GWCTL_SOCKET_ENV),
				 ctl->run_dir, sock, sizeof(sock), ctl->err);
	if (r) {
		json_decref(body);
		return r == -ENOENT ? GWCTL_EXIT_UNREACHABLE : GWCTL_EXIT_USAGE;
	}
	if (body) {
		b = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!b) {
			fprintf(ctl->err, "gwctl: out of memory\n");
			return GWCTL_EXIT_REFUSED;
		}
	}
	r = gwctl_http(sock, ctl->timeout_ms, method, target, b, &a);
	free(b);
	if (r == -EMSGSIZE || r == -ENOMEM) {
		fprintf(ctl->err, "gwctl: %s\n",
			r == -ENOMEM ? "out of memory" : "the answer of gatewayd is too large");
		return GWCTL_EXIT_REFUSED;
	}
	if (r)
		return unreachable(ctl, sock, r);

	j = json_loadb(a.body, a.body_len, 0, &jerr);
	if (a.status < 200 || a.status > 299) {
		ret = refused(ctl, &a, j);
		goto out;
	}
	ret = GWCTL_EXIT_REFUSED;
	if (!j) {
		fprintf(ctl->err, "gwctl: the answer of gatewayd is not JSON: %s\n", jerr.text);
		goto out;
	}
	if (ctl->json) {
		json_dumpf(j, ctl->out, JSON_INDENT(2));
		fputc('\n', ctl->out);
	} else if (gwctl_print_views(ctl->out, ctl->err, views, j)) {
		goto out;
	}
	ret = GWCTL_EXIT_OK;
out:
	json_decref(j);
	gwctl_answer_done(&a);
	return ret;
}

/* --- commands ------------------------------------------------------------ */

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
		return usage_error(ctl, "%s \"%s\"",
				   argv[n][0] == '-' ? "unknown option" : "unexpected argument",
				   argv[n]);
	if (argc < n)
		return usage_error(ctl, "missing argument");
	return 0;
}

static int cmd_status(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0) ?: call(ctl, "GET", "/v1/status", NULL, status_views);
}

static int cmd_services_list(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: call(ctl, "GET", "/v1/services", NULL, services_views);
}

static int cmd_services_show(struct gwctl *ctl, int argc, char **argv)
{
	char target[TARGET_MAX], name[TARGET_MAX - 16];
	int r = want_args(ctl, argc, argv, 1);

	if (r)
		return r;
	if (gwctl_url_escape(argv[0], name, sizeof(name)))
		return usage_error(ctl, "service name too long");
	snprintf(target, sizeof(target), "/v1/services/%s", name);
	return call(ctl, "GET", target, NULL, service_views);
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
				return usage_error(ctl, "--service needs a service name");
			service = argv[i];
		} else if (!strncmp(argv[i], "--service=", 10)) {
			service = argv[i] + 10;
		} else {
			return usage_error(ctl, "%s \"%s\"",
					   argv[i][0] == '-' ? "unknown option"
							     : "unexpected argument",
					   argv[i]);
		}
	}
	if (!service)
		return call(ctl, "GET", "/v1/backends", NULL, backends_views);
	if (!*service || gwctl_url_escape(service, name, sizeof(name)))
		return usage_error(ctl, "bad service name \"%s\"", service);
	snprintf(target, sizeof(target), "/v1/backends?service=%s", name);
	return call(ctl, "GET", target, NULL, backends_views);
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
				return usage_error(ctl, "--site needs a site name");
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
		return usage_error(ctl, "empty service name");
	if (!backend_ok(argv[1]))
		return usage_error(ctl,
				   "bad backend \"%s\": use ADDR:PORT, e.g. 10.1.0.11:80 or "
				   "[fd00:1::11]:80",
				   argv[1]);
	if (n == 3) {
		errno = 0;
		weight = strtoull(argv[2], &end, 10);
		if (errno || *end || !*argv[2] || argv[2][0] == '-' || weight > GWCTL_WEIGHT_MAX)
			return usage_error(ctl, "bad weight \"%s\": use an integer from 0 to %d",
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
		return usage_error(ctl, "arguments must be UTF-8");
	return call(ctl, "POST", target, body, no_views);
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
	return want_args(ctl, argc, argv, 0) ?: call(ctl, "GET", "/v1/peers", NULL, peers_views);
}

static int cmd_sites(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0) ?: call(ctl, "GET", "/v1/sites", NULL, sites_views);
}

static int cmd_identities(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: call(ctl, "GET", "/v1/identities", NULL, identities_views);
}

static int cmd_sync_status(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: call(ctl, "GET", "/v1/sync/status", NULL, sync_views);
}

static int cmd_stats(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0) ?: call(ctl, "GET", "/v1/stats", NULL, stats_views);
}

static int cmd_config_reload(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0)
		       ?: call(ctl, "POST", "/v1/config/reload", NULL, reload_views);
}

static int cmd_config_show(struct gwctl *ctl, int argc, char **argv)
{
	return want_args(ctl, argc, argv, 0) ?: call(ctl, "GET", "/v1/config", NULL, config_views);
}

static int cmd_help(struct gwctl *ctl, int argc, char **argv);

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
	{"help", "[COMMAND]", "help on a command", NULL, cmd_help},
	{NULL, NULL, NULL, NULL, NULL},
};

static int cmd_help(struct gwctl *ctl, int argc, char **argv)
{
	const struct gwctl_cmd *c, *s;

	if (!argc) {
		print_usage(ctl->out);
		return GWCTL_EXIT_OK;
	}
	if (cmd_lookup(ctl, gwctl_commands, "command", argv[0], &c))
		return GWCTL_EXIT_USAGE;
	if (argc > 1 && c->sub) {
		if (cmd_lookup(ctl, c->sub, "subcommand", argv[1], &s))
			return GWCTL_EXIT_USAGE;
		print_cmd_usage(ctl->out, "Usage: gwctl ", c, s, usage_width(c, s));
		return GWCTL_EXIT_OK;
	}
	print_cmd_usage(ctl->out, "Usage: gwctl ", NULL, c, usage_width(NULL, c));
	return GWCTL_EXIT_OK;
}

/* --- main ---------------------------------------------------------------- */

/* "--name VALUE", "--name=VALUE", "-n VALUE" or "-nVALUE"; 1 if it matched. */
static int opt_value(const char *arg, const char *sopt, const char *lopt, int argc, char **argv,
		     int *i, const char **ret_value)
{
	size_t llen = strlen(lopt), slen = strlen(sopt);

	if (!strcmp(arg, lopt) || !strcmp(arg, sopt)) {
		*ret_value = *i + 1 < argc ? argv[++*i] : NULL;
		return 1;
	}
	if (!strncmp(arg, lopt, llen) && arg[llen] == '=') {
		*ret_value = arg + llen + 1;
		return 1;
	}
	if (!strncmp(arg, sopt, slen) && arg[slen]) {
		*ret_value = arg + slen;
		return 1;
	}
	return 0;
}

/*
 * Take the global options out of @argv wherever they are (up to "--") and
 * leave the rest, in order, in @rest. Returns 0 or an exit code.
 */
static int parse_globals(struct gwctl *ctl, int argc, char **argv, char **rest, int *ret_n,
			 int *ret_help)
{
	const char *v, *a;
	char *end;
	long t;
	int i, n = 0, done = 0;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (done || a[0] != '-' || !a[1]) {
			rest[n++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			done = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*ret_help = 1;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			ctl->json = 1;
		} else if (opt_value(a, "-s", "--socket", argc, argv, &i, &v)) {
			if (!v || !*v)
				return usage_error(ctl, "%s needs a socket path", a);
			ctl->opt_socket = v;
		} else if (opt_value(a, "-g", "--gateway", argc, argv, &i, &v)) {
			if (!v || !*v)
				return usage_error(ctl, "%s needs a gateway name", a);
			ctl->opt_gateway = v;
		} else if (opt_value(a, "-o", "--output", argc, argv, &i, &v)) {
			if (v && !strcmp(v, "json"))
				ctl->json = 1;
			else if (v && !strcmp(v, "text"))
				ctl->json = 0;
			else
				return usage_error(ctl, "output format must be text or json");
		} else if (opt_value(a, "-t", "--timeout", argc, argv, &i, &v)) {
			errno = 0;
			t = v ? strtol(v, &end, 10) : 0;
			if (!v || errno || *end || t < 1 || t > GWCTL_MAX_TIMEOUT_MS)
				return usage_error(ctl, "timeout must be 1 to %d milliseconds",
						   GWCTL_MAX_TIMEOUT_MS);
			ctl->timeout_ms = (int)t;
		} else {
			rest[n++] = argv[i]; /* the command's own option, or a mistake */
		}
	}
	*ret_n = n;
	return 0;
}

int gwctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct gwctl ctl = {
		.out = out,
		.err = err,
		.timeout_ms = GWCTL_DEFAULT_TIMEOUT_MS,
		.run_dir = GWCTL_RUN_DIR,
	};
	const struct gwctl_cmd *c, *s;
	int n = 0, help = 0, ret, first = 1;
	char **rest;

	rest = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*rest));
	if (!rest) {
		fprintf(err, "gwctl: out of memory\n");
		return GWCTL_EXIT_USAGE;
	}
	ret = parse_globals(&ctl, argc, argv, rest, &n, &help);
	if (ret)
		goto out;
	if (help) {
		ret = cmd_help(&ctl, n, rest);
		goto out;
	}
	if (!n) {
		ret = usage_error(&ctl, "no command given");
		goto out;
	}
	if (rest[0][0] == '-') {
		ret = usage_error(&ctl, "unknown option \"%s\"", rest[0]);
		goto out;
	}
	ret = GWCTL_EXIT_USAGE;
	if (cmd_lookup(&ctl, gwctl_commands, "command", rest[0], &c))
		goto out;
	/* A command with subcommands: the next word picks one, unless it is an
	 * option or absent and the command has a default. */
	if (c->sub && (n > 1 && rest[1][0] != '-')) {
		if (cmd_lookup(&ctl, c->sub, "subcommand", rest[1], &s)) {
			fprintf(err, "Try 'gwctl help %s'.\n", c->name);
			goto out;
		}
		ctl.parent = c;
		ctl.cmd = s;
		first = 2;
	} else if (c->sub && !c->run) {
		ctl.cmd = c;
		ret = usage_error(&ctl, "%s needs a subcommand", c->name);
		goto out;
	} else {
		ctl.cmd = c;
		if (c->sub) { /* the default subcommand, for usage messages */
			ctl.parent = c;
			ctl.cmd = c->sub;
		}
	}
	ret = ctl.cmd->run(&ctl, n - first, rest + first);
out:
	free(rest);
	fflush(out);
	return ret;
}
