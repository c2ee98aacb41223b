/* The site configuration's schema: every key with its type, range and
 * default (a keyword table walked by config-walk.c), and what is derived
 * from it alone: enum names, the list of known keys, the JSON dump. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <jansson.h>

#include "gw/config.h"
#include "config-int.h"

/* ---- the schema ------------------------------------------------------ */

static const char *const datapath_names[] = {"xdp", "dpdk", NULL};
static const char *const xdp_mode_names[] = {"native", "generic", "auto", NULL};
static const char *const affinity_names[] = {"none", "local", "remote", NULL};
static const char *const lb_names[] = {"maglev", "random", "round_robin", NULL};
static const char *const l7_names[] = {"none", "http", "http2", "grpc", "websocket", NULL};
static const char *const health_names[] = {"tcp", "http", "none", NULL};

#define EXPECT_NAME  "a name of 1..63 characters a-z, 0-9 and '-', not starting or ending with '-'"
#define EXPECT_PATH  "an absolute file name"
#define EXPECT_LABEL "a label \"key=value\" (key: A-Z a-z 0-9 . _ / -, value: A-Z a-z 0-9 . _ -)"

#define FSIZE(T, f)  sizeof(((T *)0)->f)

#define KSTR(n, T, f, fl, lo, hi, syn, ex, d)                                                      \
	{                                                                                          \
		.name = n, .kind = K_STR, .flags = fl, .off = offsetof(T, f), .min = lo,           \
		.max = hi, .syntax = syn, .expect = ex, .def_str = d                               \
	}
#define KNAME(n, T, f, fl)                                                                         \
	KSTR(n, T, f, fl, 1, GW_CONFIG_NAME_MAX, GW_SYNTAX_NAME, EXPECT_NAME, NULL)
#define KPATH(n, T, f, fl)                                                                         \
	KSTR(n, T, f, fl, 1, GW_CONFIG_PATH_MAX, GW_SYNTAX_ABS_PATH, EXPECT_PATH, NULL)
#define KINT(n, T, f, fl, lo, hi, d)                                                               \
	{                                                                                          \
		.name = n, .kind = K_INT, .flags = fl, .off = offsetof(T, f), .size = FSIZE(T, f), \
		.min = lo, .max = hi, .def = d                                                     \
	}
#define KBOOL(n, T, f, d)                                                                          \
	{                                                                                          \
		.name = n, .kind = K_BOOL, .off = offsetof(T, f), .size = FSIZE(T, f), .def = d    \
	}
#define KENUM(n, T, f, nm, d)                                                                      \
	{                                                                                          \
		.name = n, .kind = K_ENUM, .off = offsetof(T, f), .size = FSIZE(T, f),             \
		.names = nm, .def = d                                                              \
	}
#define KIP(n, T, f, fl, fam)                                                                      \
	{                                                                                          \
		.name = n, .kind = K_IP, .flags = fl, .off = offsetof(T, f), .family = fam         \
	}
#define KGROUP(n, T, f, fl, s)                                                                     \
	{                                                                                          \
		.name = n, .kind = K_GROUP, .flags = fl, .off = offsetof(T, f), .sub = s           \
	}
#define KLIST(n, T, f, cnt, ET, s, fl)                                                             \
	{                                                                                          \
		.name = n, .kind = K_LIST, .flags = fl, .off = offsetof(T, f),                     \
		.off_n = offsetof(T, cnt), .size = sizeof(ET), .min = 0,                           \
		.max = GW_CONFIG_MAX_LIST, .sub = s                                                \
	}
#define KARRAY(n, T, f, cnt, ET, el, fl, lo, hi)                                                   \
	{                                                                                          \
		.name = n, .kind = K_ARRAY, .flags = fl, .off = offsetof(T, f),                    \
		.off_n = offsetof(T, cnt), .size = sizeof(ET), .min = lo, .max = hi, .sub = &el    \
	}
#define KEND                                                                                       \
	{                                                                                          \
		.name = NULL                                                                       \
	}

/* Array elements: only kind and syntax matter. */
static const struct key el_vip = {.name = "", .kind = K_IP};
static const struct key el_ports = {.name = "", .kind = K_PORTS};
static const struct key el_cidr = {.name = "", .kind = K_CIDR};
static const struct key el_label = {.name = "",
				    .kind = K_STR,
				    .min = 2,
				    .max = GW_CONFIG_STR_MAX,
				    .syntax = GW_SYNTAX_LABEL,
				    .expect = EXPECT_LABEL};
static const struct key el_url = {.name = "",
				  .kind = K_STR,
				  .min = 1,
				  .max = GW_CONFIG_STR_MAX,
				  .syntax = GW_SYNTAX_URL,
				  .expect = "a URL http://HOST[:PORT] or https://HOST[:PORT]"};

static const struct key k_site[] = {
	KNAME("name", struct gw_site_conf, name, KF_REQUIRED),
	KINT("id", struct gw_site_conf, id, KF_REQUIRED, 1, 65535, 0),
	KSTR("trust_domain", struct gw_site_conf, trust_domain, 0, 1, GW_CONFIG_STR_MAX,
	     GW_SYNTAX_TRUST_DOMAIN,
	     "a trust domain of 1..255 characters a-z, 0-9, '.', '-' and '_'", "isthmus.local"),
	KEND,
};

#define IFACE_KEYS(fam)                                                                            \
	KSTR("interface", struct gw_iface_conf, interface, KF_REQUIRED, 1, GW_CONFIG_IFNAME_MAX,   \
	     GW_SYNTAX_IFNAME, "an interface name of 1..15 characters without '/', ':' or spaces", \
	     NULL),                                                                                \
		KIP("address", struct gw_iface_conf, address, KF_REQUIRED, fam)

static const struct key k_internal[] = {
	IFACE_KEYS(AF_INET),
	KIP("address6", struct gw_iface_conf, address6, 0, AF_INET6),
	KEND,
};

/* The tunnel's outer header is IPv4 (include/gw/pipeline/geneve.h). */
static const struct key k_external[] = {
	IFACE_KEYS(AF_INET),
	KINT("mtu", struct gw_iface_conf, mtu, 0, GW_CONFIG_TUNNEL_MTU_MIN, 65535, 0),
	KEND,
};

static const struct key k_gateway[] = {
	KNAME("name", struct gw_gateway_conf, name, KF_REQUIRED),
	KGROUP("internal", struct gw_gateway_conf, internal, KF_REQUIRED, k_internal),
	KGROUP("external", struct gw_gateway_conf, external, KF_REQUIRED, k_external),
	KENUM("datapath", struct gw_gateway_conf, datapath, datapath_names, GW_DATAPATH_XDP),
	KENUM("xdp_mode", struct gw_gateway_conf, xdp_mode, xdp_mode_names, GW_XDP_MODE_NATIVE),
	KEND,
};

static const struct key k_etcd_tls[] = {
	KPATH("ca", struct gw_tls_files, ca, 0),
	KPATH("cert", struct gw_tls_files, cert, 0),
	KPATH("key", struct gw_tls_files, key, 0),
	KEND,
};

static const struct key k_etcd[] = {
	KARRAY("endpoints", struct gw_etcd_conf, endpoints, n_endpoints, char *, el_url, 0, 1,
	       GW_CONFIG_MAX_ENDPOINTS),
	KSTR("prefix", struct gw_etcd_conf, prefix, 0, 2, GW_CONFIG_STR_MAX, GW_SYNTAX_ETCD_PREFIX,
	     "a key prefix such as \"/isthmus/v1\" (A-Z a-z 0-9 . _ / -, no trailing '/')",
	     "/isthmus/v1"),
	KINT("lease_ttl", struct gw_etcd_conf, lease_ttl, 0, 2, 3600, 10),
	KINT("dial_timeout_ms", struct gw_etcd_conf, dial_timeout_ms, 0, 10, 60000, 1000),
	KINT("request_timeout_ms", struct gw_etcd_conf, request_timeout_ms, 0, 10, 600000, 2000),
	KGROUP("tls", struct gw_etcd_conf, tls, 0, k_etcd_tls),
	KEND,
};

static const struct key k_tls[] = {
	KPATH("ca", struct gw_tls_conf, ca, KF_REQUIRED),
	KPATH("cert", struct gw_tls_conf, cert, KF_REQUIRED),
	KPATH("key", struct gw_tls_conf, key, KF_REQUIRED),
	KINT("rekey_interval", struct gw_tls_conf, rekey_interval, 0, 60, 604800, 3600),
	KEND,
};

static const struct key k_peer[] = {
	KNAME("site", struct gw_peer_conf, site, KF_REQUIRED),
	KINT("site_id", struct gw_peer_conf, site_id, KF_REQUIRED, 1, 65535, 0),
	KNAME("gateway", struct gw_peer_conf, gateway, KF_REQUIRED),
	KIP("address", struct gw_peer_conf, address, KF_REQUIRED, 0),
	KBOOL("encrypt", struct gw_peer_conf, encrypt, false),
	KEND,
};

static const struct key k_health[] = {
	KENUM("type", struct gw_health_conf, type, health_names, GW_HEALTH_TCP),
	KINT("interval_ms", struct gw_health_conf, interval_ms, 0, 10, 3600000, 1000),
	KINT("timeout_ms", struct gw_health_conf, timeout_ms, 0, 1, 3600000, 500),
	KINT("rise", struct gw_health_conf, rise, 0, 1, 100, 2),
	KINT("fall", struct gw_health_conf, fall, 0, 1, 100, 3),
	KINT("port", struct gw_health_conf, port, 0, 0, 65535, 0),
	KSTR("path", struct gw_health_conf, path, 0, 1, GW_CONFIG_STR_MAX, GW_SYNTAX_HTTP_PATH,
	     "an HTTP path starting with '/', without spaces", "/"),
	KINT("expect_status", struct gw_health_conf, expect_status, 0, 100, 599, 200),
	KEND,
};

/* The same keys inline in a service (m empty) and in the top-level list (m "b."). */
#define BACKEND_KEYS(T, m)                                                                         \
	KIP("address", T, m address, KF_REQUIRED, 0), KINT("port", T, m port, 0, 1, 65535, 0),     \
		KINT("weight", T, m weight, 0, 0, 65535, 100), KNAME("site", T, m site, 0)

static const struct key k_backend[] = {
	BACKEND_KEYS(struct gw_backend_conf, ),
	KEND,
};

static const struct key k_tl_backend[] = {
	KNAME("service", struct tl_backend, service, KF_REQUIRED),
	BACKEND_KEYS(struct tl_backend, b.),
	KEND,
};

static const struct key k_service[] = {
	KNAME("name", struct gw_service_conf, name, KF_REQUIRED),
	KARRAY("vips", struct gw_service_conf, vips, n_vips, struct gw_ip, el_vip, KF_REQUIRED, 1,
	       GW_CONFIG_MAX_VIPS),
	KARRAY("ports", struct gw_service_conf, ports, n_ports, struct gw_port_range, el_ports,
	       KF_REQUIRED, 1, GW_CONFIG_MAX_PORTS),
	KENUM("affinity", struct gw_service_conf, affinity, affinity_names, GW_AFFINITY_NONE),
	KENUM("lb", struct gw_service_conf, lb, lb_names, GW_LB_MAGLEV),
	KENUM("l7", struct gw_service_conf, l7, l7_names, GW_L7_NONE),
	KINT("min_local_healthy", struct gw_service_conf, min_local_healthy, 0, 0, 65535, 0),
	KGROUP("health", struct gw_service_conf, health, 0, k_health),
	KLIST("backends", struct gw_service_conf, backends, n_backends, struct gw_backend_conf,
	      k_backend, 0),
	KEND,
};

static const struct key k_identity[] = {
	KNAME("name", struct gw_identity_conf, name, KF_REQUIRED),
	KINT("id", struct gw_identity_conf, id, 0, 1, UINT32_MAX, 0),
	KARRAY("cidrs", struct gw_identity_conf, cidrs, n_cidrs, struct gw_cidr, el_cidr, 0, 0,
	       GW_CONFIG_MAX_CIDRS),
	KARRAY("labels", struct gw_identity_conf, labels, n_labels, char *, el_label, KF_REQUIRED,
	       1, GW_CONFIG_MAX_LABELS),
	KNAME("site", struct gw_identity_conf, site, 0),
	KEND,
};

static const struct key k_http_rule[] = {
	KSTR("method", struct gw_http_rule_conf, method, 0, 1, 16, GW_SYNTAX_HTTP_METHOD,
	     "an HTTP method of 1..16 letters A-Z, such as \"GET\"", NULL),
	KSTR("path", struct gw_http_rule_conf, path, 0, 1, GW_CONFIG_STR_MAX, GW_SYNTAX_HTTP_PATH,
	     "an HTTP path starting with '/', without spaces", NULL),
	KEND,
};

static const struct key k_policy[] = {
	KNAME("name", struct gw_policy_conf, name, KF_REQUIRED),
	KARRAY("from", struct gw_policy_conf, from, n_from, char *, el_label, KF_REQUIRED, 1,
	       GW_CONFIG_MAX_LABELS),
	KNAME("to", struct gw_policy_conf, to, KF_REQUIRED),
	KARRAY("ports", struct gw_policy_conf, ports, n_ports, struct gw_port_range, el_ports, 0, 0,
	       GW_CONFIG_MAX_PORTS),
	KLIST("http", struct gw_policy_conf, http, n_http, struct gw_http_rule_conf, k_http_rule,
	      0),
	KEND,
};

static const struct key k_observability[] = {
	{.name = "metrics_listen",
	 .kind = K_LISTEN,
	 .off = offsetof(struct gw_observability_conf, metrics_listen),
	 .def_str = "127.0.0.1:9400"},
	KPATH("flow_log", struct gw_observability_conf, flow_log, 0),
	KINT("capture_max_bytes", struct gw_observability_conf, capture_max_bytes, 0, 4096,
	     INT64_C(1) << 40, 64 << 20),
	KINT("capture_max_packets", struct gw_observability_conf, capture_max_packets, 0, 1,
	     100000000, 100000),
	KEND,
};

static const struct key k_probes[] = {
	KINT("interval_ms", struct gw_probes_conf, interval_ms, 0, 10, 10000, 100),
	KINT("fast_interval_ms", struct gw_probes_conf, fast_interval_ms, 0, 5, 10000, 25),
	KINT("down_after", struct gw_probes_conf, down_after, 0, 1, 100, 3),
	KEND,
};

static const struct key k_limits[] = {
	KINT("conntrack_entries", struct gw_limits_conf, conntrack_entries, 0, 1024, 1 << 27,
	     262144),
	KINT("flow_cache_entries", struct gw_limits_conf, flow_cache_entries, 0, 0, 1 << 20, 65536),
	KINT("services", struct gw_limits_conf, services, 0, 1, 65535, 1024),
	KINT("backends", struct gw_limits_conf, backends, 0, 1, 1 << 20, 16384),
	KINT("peers", struct gw_limits_conf, peers, 0, 1, 4096, 64),
	KINT("identities", struct gw_limits_conf, identities, 0, 1, 1 << 20, 4096),
	KINT("maglev_table_size", struct gw_limits_conf, maglev_table_size, 0, 7, 1 << 24, 16381),
	KINT("snat_port_min", struct gw_limits_conf, snat_port_min, 0, 1024, 65535, 61000),
	KINT("snat_port_max", struct gw_limits_conf, snat_port_max, 0, 1024, 65535, 65535),
	KEND,
};

#define B struct config_block
const struct key gw_config_keys[] = {
	KGROUP("site", B, cfg.site, KF_REQUIRED, k_site),
	KGROUP("gateway", B, cfg.gateway, KF_REQUIRED, k_gateway),
	KGROUP("etcd", B, cfg.etcd, 0, k_etcd),
	KGROUP("tls", B, cfg.tls, 0, k_tls),
	KLIST("peers", B, cfg.peers, cfg.n_peers, struct gw_peer_conf, k_peer, 0),
	KLIST("services", B, cfg.services, cfg.n_services, struct gw_service_conf, k_service,
	      KF_REQUIRED),
	KLIST("backends", B, priv.tl, priv.n_tl, struct tl_backend, k_tl_backend, KF_NODUMP),
	KLIST("identities", B, cfg.identities, cfg.n_identities, struct gw_identity_conf,
	      k_identity, 0),
	KLIST("policies", B, cfg.policies, cfg.n_policies, struct gw_policy_conf, k_policy, 0),
	KGROUP("observability", B, cfg.observability, 0, k_observability),
	KGROUP("probes", B, cfg.probes, 0, k_probes),
	KGROUP("limits", B, cfg.limits, 0, k_limits),
	KEND,
};
#undef B

/* ---- names, keys and JSON --------------------------------------------- */

/* n bounds names, which also ends with NULL. */
static const char *enum_name(const char *const *names, size_t n, unsigned int v)
{
	size_t i;

	for (i = 0; i < n && names[i]; i++)
		if (i == v)
			return names[i];
	return "?";
}

#define ENUM_NAME(fn, type, names)                                                                 \
	const char *fn(type v)                                                                     \
	{                                                                                          \
		return enum_name(names, sizeof(names) / sizeof(names[0]), (unsigned int)v);        \
	}

ENUM_NAME(gw_datapath_name, enum gw_datapath, datapath_names)
ENUM_NAME(gw_xdp_mode_name, enum gw_xdp_mode, xdp_mode_names)
ENUM_NAME(gw_affinity_name, enum gw_affinity, affinity_names)
ENUM_NAME(gw_lb_name, enum gw_lb, lb_names)
ENUM_NAME(gw_l7_name, enum gw_l7, l7_names)
ENUM_NAME(gw_health_type_name, enum gw_health_type, health_names)

const char *gw_proto_name(enum gw_proto v)
{
	switch (v) {
	case GW_PROTO_TCP:
		return "tcp";
	case GW_PROTO_UDP:
		return "udp";
	case GW_PROTO_SCTP:
		return "sctp";
	}
	return "?";
}

#define MAX_KEYS     160
#define KEY_POOL_LEN 8192

static struct {
	pthread_once_t once;
	const char *v[MAX_KEYS];
	size_t n;
	char pool[KEY_POOL_LEN];
	size_t used;
} known = {.once = PTHREAD_ONCE_INIT};

static void known_add(const struct key *keys, const char *parent)
{
	const struct key *k;

	for (k = keys; k->name; k++) {
		char *p = known.pool + known.used;
		int n = snprintf(p, KEY_POOL_LEN - known.used, "%s%s%s", parent,
				 parent[0] ? "." : "", k->name);

		if (n < 0 || (size_t)n >= KEY_POOL_LEN - known.used || known.n == MAX_KEYS)
			return; /* the doc-coverage test notices a short list */
		known.used += (size_t)n + 1;
		known.v[known.n++] = p;
		if (k->kind == K_GROUP || k->kind == K_LIST)
			known_add(k->sub, p);
	}
}

static void known_init(void)
{
	known_add(gw_config_keys, "");
}

const char *const *gw_config_known_keys(size_t *ret_n)
{
	pthread_once(&known.once, known_init);
	*ret_n = known.n;
	return known.v;
}

static json_t *dump_value(const struct key *k, const void *p)
{
	char buf[GW_CONFIG_STR_MAX + 64];

	switch (k->kind) {
	case K_STR:
		return *(const char *const *)p ? json_string(*(const char *const *)p) : json_null();
	case K_INT:
		/* 0 below the minimum means "not given" (backend port, identity id). */
		if (!load_int(p, k->size) && k->min > 0)
			return json_null();
		return json_integer(load_int(p, k->size));
	case K_BOOL:
		return json_boolean(*(const bool *)p);
	case K_ENUM:
		return json_string(
			enum_name(k->names, SIZE_MAX, (unsigned int)load_int(p, k->size)));
	case K_IP:
		if (!((const struct gw_ip *)p)->family)
			return json_null();
		return json_string(gw_ip_format(p, buf, sizeof(buf)));
	case K_CIDR:
		return json_string(gw_cidr_format(p, buf, sizeof(buf)));
	case K_PORTS:
		return json_string(gw_port_range_format(p, buf, sizeof(buf)));
	case K_LISTEN:
		return json_string(gw_endpoint_format(p, buf, sizeof(buf)));
	default:
		return NULL;
	}
}

static json_t *dump_group(const struct key *keys, const void *obj)
{
	json_t *o = json_object();
	const struct key *k;

	if (!o)
		return NULL;
	for (k = keys; k->name; k++) {
		const char *f = (const char *)obj + k->off;
		json_t *v;
		size_t i, n;

		if (k->flags & KF_NODUMP)
			continue;
		switch (k->kind) {
		case K_GROUP:
			v = dump_group(k->sub, f);
			break;
		case K_LIST:
		case K_ARRAY:
			v = json_array();
			n = *(const size_t *)((const char *)obj + k->off_n);
			for (i = 0; v && i < n; i++) {
				const char *e = *(const char *const *)f + i * k->size;
				json_t *ev = k->kind == K_LIST ? dump_group(k->sub, e)
							       : dump_value(k->sub, e);

				if (json_array_append_new(v, ev)) {
					json_decref(v);
					v = NULL;
				}
			}
			break;
		default:
			v = dump_value(k, f);
			break;
		}
		if (json_object_set_new(o, k->name, v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *gw_config_dump_json(const struct gw_config *cfg)
{
	/* Configs only come from load_text(), so cfg starts a config_block. */
	json_t *o = dump_group(gw_config_keys, (const struct config_block *)cfg);

	if (o && !cfg->tls.enabled && json_object_set_new(o, "tls", json_null())) {
		json_decref(o);
		return NULL;
	}
	return o;
}
