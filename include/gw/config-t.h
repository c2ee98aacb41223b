/* Types of the site configuration (the conf/ files) as gatewayd sees it after
 * gw_config_load(): plain, already validated fields; see docs/config.md. */
#ifndef GW_CONFIG_T_H
#define GW_CONFIG_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on user-controlled sizes (STYLE.md rule 10); documented in docs/config.md. */
#define GW_CONFIG_NAME_MAX	 63	   /* site, gateway, service, identity, policy names */
#define GW_CONFIG_IFNAME_MAX	 15	   /* IFNAMSIZ - 1 */
#define GW_CONFIG_TUNNEL_MTU_MIN 1280	   /* gateway.external.mtu: IPv6's minimum link MTU */
#define GW_CONFIG_STR_MAX	 255	   /* labels, URLs, HTTP paths, trust domain */
#define GW_CONFIG_PATH_MAX	 4095	   /* file names */
#define GW_CONFIG_MAX_VIPS	 16	   /* per service */
#define GW_CONFIG_MAX_PORTS	 32	   /* per service or policy */
#define GW_CONFIG_MAX_CIDRS	 256	   /* per identity */
#define GW_CONFIG_MAX_LABELS	 32	   /* per identity, and selectors per policy */
#define GW_CONFIG_MAX_ENDPOINTS	 16	   /* etcd endpoints */
#define GW_CONFIG_MAX_HTTP_RULES 64	   /* per policy */
#define GW_CONFIG_MAX_VIP_PORTS	 (1 << 20) /* VIPs times port specs, all services */
#define GW_CONFIG_MAX_LIST	 65535	   /* any list of groups (services, backends, ...) */
#define GW_CONFIG_MAX_FILE_SIZE	 (16 << 20)
#define GW_CONFIG_MAX_ERRORS	 100 /* errors kept per load; the rest are counted */

enum gw_datapath {
	GW_DATAPATH_XDP,
	GW_DATAPATH_DPDK,
};

enum gw_xdp_mode {
	GW_XDP_MODE_NATIVE,
	GW_XDP_MODE_GENERIC,
	GW_XDP_MODE_AUTO, /* native, else generic with a warning (decided by gatewayd) */
};

enum gw_affinity {
	GW_AFFINITY_NONE,   /* any healthy backend of any site */
	GW_AFFINITY_LOCAL,  /* this site's backends only */
	GW_AFFINITY_REMOTE, /* other sites' backends only */
};

enum gw_lb {
	GW_LB_MAGLEV,
	GW_LB_RANDOM,
	GW_LB_ROUND_ROBIN,
};

enum gw_l7 {
	GW_L7_NONE,
	GW_L7_HTTP,
	GW_L7_HTTP2,
	GW_L7_GRPC,
	GW_L7_WEBSOCKET,
};

enum gw_health_type {
	GW_HEALTH_TCP,
	GW_HEALTH_HTTP,
	GW_HEALTH_NONE,
};

/* String syntaxes of the file, for gw_config_syntax_ok(). */
enum gw_syntax {
	GW_SYNTAX_NAME,		/* DNS label: [a-z0-9-]{1,63}, no '-' at either end */
	GW_SYNTAX_IFNAME,	/* no '/', ':' or spaces */
	GW_SYNTAX_TRUST_DOMAIN, /* [a-z0-9._-]+ */
	GW_SYNTAX_URL,		/* http(s)://HOST[:PORT] */
	GW_SYNTAX_ABS_PATH,	/* /... without control characters */
	GW_SYNTAX_ETCD_PREFIX,	/* /a/b: [A-Za-z0-9._/-], no trailing or double '/' */
	GW_SYNTAX_LABEL,	/* key=value */
	GW_SYNTAX_HTTP_METHOD,	/* [A-Z]+ */
	GW_SYNTAX_HTTP_PATH,	/* /... of visible ASCII */
};

/* Values are the IP protocol numbers, so they can go into maps as they are. */
enum gw_proto {
	GW_PROTO_TCP = 6,
	GW_PROTO_UDP = 17,
	GW_PROTO_SCTP = 132,
};

/* family is AF_INET or AF_INET6, 0 when unset; addr is in network byte order,
 * an IPv4 address in the first 4 bytes and the rest zero. */
struct gw_ip {
	uint8_t family;
	uint8_t addr[16];
};

/* A network: no host bits are set in addr. */
struct gw_cidr {
	struct gw_ip addr;
	uint8_t prefix_len;
};

/* "80/tcp" is {80, 80, 6}; "8000-8099/udp" is {8000, 8099, 17}. */
struct gw_port_range {
	uint16_t lo;
	uint16_t hi;
	uint8_t proto; /* enum gw_proto */
};

struct gw_endpoint {
	struct gw_ip addr;
	uint16_t port;
};

/* Every string below is NUL-terminated, validated and owned by the config;
 * optional strings are NULL when not given. */

struct gw_site_conf {
	const char *name;
	uint16_t id;
	const char *trust_domain;
};

struct gw_iface_conf {
	const char *interface;
	struct gw_ip address;
	struct gw_ip address6; /* internal side only; family 0 when not given */
	uint16_t mtu;	       /* external side only; 0: the interface's */
};

struct gw_gateway_conf {
	const char *name;
	struct gw_iface_conf internal;
	struct gw_iface_conf external;
	enum gw_datapath datapath;
	enum gw_xdp_mode xdp_mode;
};

struct gw_tls_files {
	const char *ca;
	const char *cert;
	const char *key;
};

struct gw_etcd_conf {
	const char *const *endpoints;
	size_t n_endpoints;
	const char *prefix;
	uint32_t lease_ttl; /* seconds */
	uint32_t dial_timeout_ms;
	uint32_t request_timeout_ms;
	struct gw_tls_files tls; /* each NULL when not given */
};

struct gw_tls_conf {
	bool enabled; /* the tls group is present; then ca, cert and key are set */
	const char *ca;
	const char *cert;
	const char *key;
	uint32_t rekey_interval; /* seconds */
};

struct gw_peer_conf {
	const char *site;
	uint16_t site_id;
	const char *gateway;
	struct gw_ip address;
	bool encrypt;
};

struct gw_health_conf {
	enum gw_health_type type;
	uint32_t interval_ms;
	uint32_t timeout_ms;
	uint8_t rise;
	uint8_t fall;
	uint16_t port; /* 0: the backend's port (or the service's first port) */
	const char *path;
	uint16_t expect_status;
};

struct gw_backend_conf {
	struct gw_ip address;
	uint16_t port;		/* 0: keep the client's destination port */
	uint16_t weight;	/* 0: drained, gets no new flows */
	const char *site;	/* always set after loading: this site's name when not given */
	uint16_t site_id;	/* resolved from site and peers */
	bool local;		/* site is this site */
	int32_t toplevel_index; /* index in the top-level backends list, -1 if inline */
};

struct gw_service_conf {
	const char *name;
	const struct gw_ip *vips;
	size_t n_vips;
	const struct gw_port_range *ports;
	size_t n_ports;
	enum gw_affinity affinity;
	enum gw_lb lb;
	enum gw_l7 l7;
	uint32_t min_local_healthy;
	struct gw_health_conf health;
	/* Inline backends first, then those of the top-level backends list. */
	const struct gw_backend_conf *backends;
	size_t n_backends;
};

struct gw_identity_conf {
	const char *name;
	uint32_t id; /* 0: allocated through etcd */
	const struct gw_cidr *cidrs;
	size_t n_cidrs;
	const char *const *labels; /* "key=value" */
	size_t n_labels;
	const char *site; /* always set after loading */
	uint16_t site_id;
	bool local;
};

struct gw_http_rule_conf {
	const char *method; /* NULL: any method */
	const char *path;   /* path prefix; NULL: any path */
};

struct gw_policy_conf {
	const char *name;
	const char *const *from; /* label selectors, "key=value" */
	size_t n_from;
	const char *to;			   /* service name */
	size_t to_service;		   /* index in gw_config.services */
	const struct gw_port_range *ports; /* none: every port of the service */
	size_t n_ports;
	const struct gw_http_rule_conf *http;
	size_t n_http;
};

struct gw_observability_conf {
	struct gw_endpoint metrics_listen;
	const char *flow_log; /* NULL: no flow log file */
	uint64_t capture_max_bytes;
	uint32_t capture_max_packets;
};

/* Liveness of peer gateways: a probe every interval_ms; one unanswered
 * fast_interval_ms after it left is missed, and is followed at once by
 * another; a peer that missed down_after in a row is down. */
struct gw_probes_conf {
	uint32_t interval_ms;
	uint32_t fast_interval_ms;
	uint32_t down_after;
};

struct gw_limits_conf {
	uint32_t conntrack_entries;
	uint32_t flow_cache_entries; /* per CPU; 0: no flow cache */
	uint32_t services;
	uint32_t backends;
	uint32_t peers;
	uint32_t identities;
	uint32_t maglev_table_size;
	uint16_t snat_port_min;
	uint16_t snat_port_max;
};

struct gw_config_priv;

/* Immutable once loaded: share it as const, free it with gw_config_free(). */
struct gw_config {
	const char *path; /* the file it was loaded from */
	struct gw_site_conf site;
	struct gw_gateway_conf gateway;
	struct gw_etcd_conf etcd;
	struct gw_tls_conf tls;
	const struct gw_peer_conf *peers;
	size_t n_peers;
	const struct gw_service_conf *services;
	size_t n_services;
	const struct gw_identity_conf *identities;
	size_t n_identities;
	const struct gw_policy_conf *policies;
	size_t n_policies;
	struct gw_observability_conf observability;
	struct gw_probes_conf probes;
	struct gw_limits_conf limits;
	struct gw_config_priv *priv; /* memory and source lines; not for callers */
};

/* What went wrong in one load. Zero-initialise, pass to gw_config_load()
 * (which appends), release with gw_config_errors_done(). Each message is
 * "FILE:LINE: KEY: expected X; found Y" or libconfig's "FILE:LINE: text". */
struct gw_config_errors {
	size_t n;
	char **msg;
	size_t n_warn; /* warnings do not make a load fail */
	char **warn;
	size_t n_dropped; /* messages not kept past GW_CONFIG_MAX_ERRORS or for lack of memory */
};

#endif /* GW_CONFIG_T_H */
