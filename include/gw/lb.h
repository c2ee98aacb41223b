/* Run-time load-balancing state of a gateway: services and backends from the
 * config, other sites' exports learned through cluster-syncd, peers and
 * their liveness, and what operators change (drain, weight); and the choice
 * of which backends each Maglev table gets. */
#ifndef GW_LB_H
#define GW_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/config-t.h"
#include "gw/maglev.h"

#define GW_LB_NAME_MAX 64
/* Probes whose answers still count: a late answer is proof of life too. */
#define GW_LB_PROBE_WINDOW 4

enum gw_lb_state {
	GW_LB_ACTIVE,
	GW_LB_DRAINING, /* drained by an operator, or weight 0: existing flows only */
	GW_LB_DOWN,	/* failed health checks, or its site has no live gateway */
};

struct gw_lb_backend {
	struct gw_ip addr;
	uint16_t port; /* 0: the port the client asked for */
	uint32_t weight;
	char site[GW_LB_NAME_MAX];
	uint16_t site_id;
	bool local;
	bool drained;
	bool healthy; /* local: our health checks; remote: as its site publishes */
	bool learned; /* from another site's export (cluster-syncd), not the config */
	/* found in a running data plane at start, in a table of its service,
	 * and known neither to the config nor (yet) to its site's export:
	 * its entry and the client tables of its family that name it are left
	 * as they are until that site's export arrives (site_id is known,
	 * site is not) or the hold ends (gw_lb_release_holds) */
	bool held;
	bool listed;		  /* scratch: named again by a site's update */
	uint32_t id;		  /* data-plane backend id */
	uint64_t key;		  /* stable Maglev key: site|address|port */
	uint8_t hc_rise, hc_fall; /* health-check streaks (local backends) */
};

struct gw_lb_service {
	char name[GW_LB_NAME_MAX];
	const struct gw_service_conf *conf; /* NULL: only known from other sites */
	struct gw_ip vips[GW_CONFIG_MAX_VIPS];
	size_t n_vips;
	struct gw_port_range ports[GW_CONFIG_MAX_PORTS];
	size_t n_ports;
	enum gw_affinity affinity;
	enum gw_l7 l7;
	uint32_t min_local_healthy;
	uint32_t id; /* data-plane service id */
	struct gw_lb_backend *backends;
	size_t n_backends;
	size_t cap_backends;
	uint32_t n_client;     /* backends in the client tables last chosen */
	uint32_t n_peer;       /* backends in the peer tables last chosen */
	uint64_t table_sig[4]; /* what each Maglev table was last built from */
	bool table_valid[4];   /* table_sig is what the data plane holds */
	bool dirty;	       /* tables or keys must be written again */
	/* only known from a running data plane's keys at start (vips and
	 * ports as they are there): its keys are left as they are until an
	 * export with one of its VIPs takes it over, or its held backends go */
	bool held;
	bool keys_dirty; /* VIPs or ports changed */
};

struct gw_lb_peer {
	char site[GW_LB_NAME_MAX];
	uint16_t site_id;
	char gateway[GW_LB_NAME_MAX];
	struct gw_ip addr;
	bool encrypt;
	bool configured; /* listed in the config's peers */
	bool learned;	 /* published by its site through etcd */
	/* neither: a slot the running data plane uses for this address (found
	 * in its pins at start), held until the peer is listed or learned
	 * again, so that it gets the id its flows name (gw_balancer_take_ids);
	 * the data plane keeps what it has for the slot meanwhile */
	bool held;
	bool up;
	/* The prober's state (gateway/probe.c); times are CLOCK_MONOTONIC. */
	bool probe_out;	  /* the last probe is neither answered nor missed yet */
	uint32_t misses;  /* probes missed in a row (unanswered in time) */
	uint32_t rtt_us;  /* last answered probe */
	uint32_t srtt_us; /* smoothed (1/8 per answer); 0: no answer yet */
	uint64_t last_seen_ms;
	uint32_t probe_seq;	/* of the last probe sent */
	uint64_t probe_sent_ns; /* when the last probe left; 0: none yet */
	/* send time of each of the last probes, by seq, to match answers that
	 * come after a newer probe left; 0 once answered */
	uint64_t probe_window[GW_LB_PROBE_WINDOW];
};

/* What one remote site publishes (cluster-syncd → PUT /v1/remote/sites/S). */
struct gw_lb_remote_backend {
	struct gw_ip addr;
	uint16_t port;
	uint32_t weight;
	bool healthy;
};

struct gw_lb_remote_service {
	char name[GW_LB_NAME_MAX];
	struct gw_ip vips[GW_CONFIG_MAX_VIPS];
	size_t n_vips;
	struct gw_port_range ports[GW_CONFIG_MAX_PORTS];
	size_t n_ports;
	struct gw_lb_remote_backend *backends;
	size_t n_backends;
};

struct gw_lb_remote_gateway {
	char name[GW_LB_NAME_MAX];
	struct gw_ip addr;
};

/* States of a backend id (gw_balancer.backend_ids) and of a service id
 * (service_ids). A removed backend's id is retired, not freed: the data
 * plane's tables may name it until they are written again, and a backend
 * that took the id meanwhile would get the flows they send there. A removed
 * service's id likewise: its VIPs' keys lead to it until they are removed,
 * and a service that wrote its tables there meanwhile would get its flows.
 * gw_lb_release_ids frees them once nothing names them any more. */
#define GW_LB_ID_FREE	 0
#define GW_LB_ID_USED	 1
#define GW_LB_ID_RETIRED 2
/* No id (yet), or no service. */
#define GW_LB_NO_ID UINT32_MAX

struct gw_balancer {
	const struct gw_config *cfg;
	struct gw_lb_service **services;
	size_t n_services;
	struct gw_lb_peer *peers; /* peer id = index + 1 */
	size_t n_peers;
	uint8_t *backend_ids; /* GW_LB_ID_*, limits.backends of them */
	uint32_t *retired_by; /* a retired backend id: the service id whose tables named it */
	size_t n_retired;
	uint32_t *freed; /* backend ids gw_lb_release_ids freed, whose entries to clear */
	size_t n_freed;
	uint8_t *service_ids; /* GW_LB_ID_*, limits.services of them */
	size_t n_retired_services;
	uint64_t version; /* bumped whenever what this site exports changes */
	bool peers_dirty;
	uint64_t refused; /* remote entries refused by a limit */
};

/* Builds the state of cfg (which must outlive it or be replaced with
 * gw_balancer_rebind). NULL + errno. */
struct gw_balancer *gw_balancer_new(const struct gw_config *cfg);
void gw_balancer_free(struct gw_balancer *lb);
/* For a reload: gives lb's peers (new, from its config) the ids they had in
 * old, since conntrack entries name a flow's gateway by id, with their
 * liveness and probe state; old's learned peers stay learned until their
 * sites' exports are applied again. A peer the config no longer lists
 * keeps its id as a free slot, so that applying lb removes it from the data
 * plane. 0, -ENOMEM, or -ENOSPC when the ids in use and the new ones exceed
 * limits.peers. */
int gw_balancer_keep_peers(struct gw_balancer *lb, const struct gw_balancer *old);

/* For a reload, after gw_balancer_keep_learned: gives lb's services the
 * ids old had for them (by name), and their backends the ids old had for
 * the same backend of the same service (site, address, port), since the
 * data plane's keys and tables name them by id while lb is applied, one
 * service after another. The other services and backends take ids that
 * old used for nothing; those of old's that lb no longer has are retired
 * until the batch that applies lb is written (gw_lb_release_ids). 0,
 * -ENOMEM, or -ENOSPC when the ids kept, retired and new exceed
 * limits.services or limits.backends (a reload in two steps fits). On
 * failure lb is only fit to be freed. */
int gw_balancer_keep_ids(struct gw_balancer *lb, const struct gw_balancer *old);

/* The peer ids a running data plane uses, as gatewayd finds them in its
 * pins when it starts over one. */
struct gw_lb_peer_id {
	struct gw_ip addr;
	uint16_t site_id;
	uint32_t id; /* 1..limits.peers */
};

/* For a start over a running data plane: conntrack entries and flow cache
 * slots name a remote flow's gateway by peer id, so each peer must get the
 * id it had. Configured peers take theirs; the id of a peer not (yet)
 * listed is held for its address until its site's export makes it a peer
 * again. Ids out of range or taken twice are ignored. 0 or -ENOMEM. */
int gw_balancer_take_peer_ids(struct gw_balancer *lb, const struct gw_lb_peer_id *ids, size_t n);

/* A key of a running data plane's gw_svcs: the service id a VIP, port and
 * protocol lead to (port 0 and protocol 0: the VIP's marker). */
struct gw_lb_svc_key_id {
	struct gw_ip vip;
	uint16_t port;
	uint8_t proto;
	uint32_t id;
};

/* An entry of a running data plane's gw_backends, and the service id of a
 * Maglev table that names it (one of them, should several). */
struct gw_lb_backend_id {
	struct gw_ip addr;
	uint16_t port;
	uint16_t site_id;
	bool remote;
	uint32_t id;
	uint32_t named_by; /* GW_LB_NO_ID: no table names it */
};

/* What a running data plane names by id, as gatewayd finds it in its pins
 * when it starts over one. */
struct gw_lb_dp_ids {
	const struct gw_lb_svc_key_id *keys;
	size_t n_keys;
	const uint32_t *tables; /* service ids that have a Maglev table */
	size_t n_tables;
	const struct gw_lb_backend_id *backends;
	size_t n_backends;
};

/* For a start over a running data plane, as gw_balancer_keep_ids for a
 * reload: a service takes the id its VIPs' keys lead to (the first key
 * whose id no service took before it); a backend of such a service the id
 * of an entry that is the same backend (site, address, port) and that its
 * service's tables name, else that no table names (it was down). The
 * other ids the keys, tables and tables' entries use are retired until the
 * first batch is written, and the services and backends without an id
 * take free ones. Should too few be free (the config changed much while
 * gatewayd was away), retired ones are taken last, as peers take held
 * slots: gatewayd must start.
 * What the config does not know is held, as learned peers' slots are: a
 * key whose service id no service took and that has a table becomes a
 * held service (gw_lb_service.held) of that id, and a remote backend
 * entry that a table of a kept or held service names, and that no
 * backend of the config took, a held backend of that service, until its
 * site's export arrives or GW_LB_HOLD_MS pass. 0 or -ENOMEM. */
int gw_balancer_take_ids(struct gw_balancer *lb, const struct gw_lb_dp_ids *dp);

struct gw_lb_service *gw_lb_service_find(struct gw_balancer *lb, const char *name);

/* Finds a backend of svc by "ADDR:PORT" or "[ADDR6]:PORT", and optionally
 * site (NULL: any site; the first match wins). */
struct gw_lb_backend *gw_lb_backend_find(struct gw_lb_service *svc, const char *addr_port,
					 const char *site);

enum gw_lb_state gw_lb_backend_state(const struct gw_balancer *lb, const struct gw_lb_backend *be);
const char *gw_lb_state_name(enum gw_lb_state s);

/* Is there a live gateway (peer) for site? */
bool gw_lb_site_up(const struct gw_balancer *lb, uint16_t site_id);
/* The peer id to send a site's traffic to (a live one), or 0. */
uint32_t gw_lb_site_peer(const struct gw_balancer *lb, uint16_t site_id);

/* Which backends of address family (AF_INET / AF_INET6) table t
 * (GW_MAGLEV_CLIENT / GW_MAGLEV_PEER) of svc gets, with their weights,
 * following the service's affinity and spillover: out must have room for
 * svc->n_backends entries. Returns the count. */
size_t gw_lb_select(const struct gw_balancer *lb, const struct gw_lb_service *svc, int table,
		    int family, struct gw_maglev_backend *out);

/* Replaces what is known of remote site `site` (id site_id) from its export:
 * its gateways become peers, its backends those of the named services
 * (services only it has are created), everything else of that site learned
 * before is forgotten. A backend it still lists keeps its id (and its
 * drain). Marks changed services dirty. 0 or -errno (-ENOSPC when a limit
 * refused part of it: the rest is applied and counted). */
int gw_lb_remote_site_set(struct gw_balancer *lb, const char *site, uint16_t site_id,
			  const struct gw_lb_remote_gateway *gws, size_t n_gws,
			  const struct gw_lb_remote_service *svcs, size_t n_svcs);

/* For a reload: copies into lb what old learned from other sites' exports
 * (backends, with their health and drains, and services only other sites
 * have), so that they stay in the tables while lb is applied, and a drain
 * holds when the exports are set into lb again (gw_daemon_remote_restore,
 * before lb's first write). A backend the config
 * lists too (a static entry the export named) is that entry, in the
 * export's state. 0 or -ENOSPC, -ENOMEM. */
int gw_balancer_keep_learned(struct gw_balancer *lb, const struct gw_balancer *old);

/* How long what a restart found of other sites' exports in the running
 * data plane is held (gw_balancer_take_ids) when no export of its site
 * arrives: cluster-syncd pushes every site as soon as it sees a restarted
 * gatewayd, so only a site that left etcd meanwhile, or a cluster-syncd
 * that is down, leaves holds this long. */
#define GW_LB_HOLD_MS 30000

/* Ends the holds of site_id's backends (0: of every site): they leave
 * their services, whose tables are written again without them, and a held
 * service left without backends goes (its keys and tables too). Marks what
 * changed dirty. gw_lb_remote_site_set calls it for the site it sets. */
void gw_lb_release_holds(struct gw_balancer *lb, uint16_t site_id);
/* Does lb hold anything (of any site)? */
bool gw_lb_holds(const struct gw_balancer *lb);
/* Does svc hold a backend of family (AF_INET, AF_INET6)? Its client table
 * of that family is not written meanwhile. */
bool gw_lb_service_holds(const struct gw_lb_service *svc, int family);

/* For gw_balancer_take_ids: a held service of data-plane id id, and a
 * held backend of svc; no id is allocated (the caller's plan has them).
 * NULL on -ENOMEM. */
struct gw_lb_service *gw_lb_held_service_add(struct gw_balancer *lb, uint32_t id);
struct gw_lb_backend *gw_lb_held_backend_add(struct gw_lb_service *svc, uint32_t id,
					     const struct gw_ip *addr, uint16_t port,
					     uint16_t site_id);

/* Frees the retired backend ids that no Maglev table of the data plane can
 * name any more: those of services whose tables were written since (not
 * dirty), or that were removed; and the retired service ids. For the end
 * of a batch of map writes (gw_apply_dirty), once the keys and tables of
 * retired service ids are gone; until then a new backend or service never
 * takes such an id. */
void gw_lb_release_ids(struct gw_balancer *lb);
/* The backend ids freed since the last call (their gw_backends entries are
 * stale: the caller clears them); *ret_n of them, valid until the next
 * gw_lb_release_ids. */
const uint32_t *gw_lb_take_freed(struct gw_balancer *lb, size_t *ret_n);

/* Forgets everything learned of a remote site (its keys left etcd): its
 * learned gateways and backends. The config's static entries for the site,
 * which its export replaced, come back. 0, or -ENOSPC when limits.backends
 * refused some of them (counted). */
int gw_lb_remote_site_del(struct gw_balancer *lb, const char *site);

/* Marks a peer up or down; services with backends of its site become dirty
 * when the site's liveness changes. Returns true if anything changed. */
bool gw_lb_peer_set_up(struct gw_balancer *lb, uint32_t peer_id, bool up);

/* "ADDR:PORT" text of a backend into buf. */
void gw_lb_backend_name(const struct gw_lb_backend *be, char *buf, size_t n);

/* Removes services that are learned only and have no backend left; they
 * are returned through removed (room for lb->n_services). Returns the count. */
size_t gw_lb_gc_services(struct gw_balancer *lb, struct gw_lb_service **removed);
/* Frees a service taken out of lb; its id and its backends' are retired
 * (gw_lb_release_ids). NULL ok. */
void gw_lb_service_free(struct gw_balancer *lb, struct gw_lb_service *svc);

#endif
