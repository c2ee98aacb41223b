/* Run-time load-balancing state of a gateway: services and backends from the
 * config plus what changes at run time (drain, weight, health, peer
 * liveness), and the choice of which backends each Maglev table gets. */
#ifndef GW_LB_H
#define GW_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/config-t.h"
#include "gw/maglev.h"

enum gw_lb_state {
	GW_LB_ACTIVE,
	GW_LB_DRAINING, /* drained by an operator: existing flows only */
	GW_LB_DOWN,     /* failed health checks, or its site's gateway is down */
};

struct gw_lb_backend {
	const struct gw_backend_conf *conf;
	uint32_t id;     /* data-plane backend id */
	uint32_t weight; /* current weight (config, or set at run time) */
	bool drained;
	bool healthy;
	uint32_t peer; /* remote: peer id (index in cfg->peers + 1) fronting its site */
	uint64_t key;  /* stable Maglev key: site|address|port */
};

struct gw_lb_service {
	const struct gw_service_conf *conf;
	uint32_t id; /* data-plane service id */
	struct gw_lb_backend *backends;
	size_t n_backends;
	uint32_t n_client; /* backends in the client tables last chosen */
	uint32_t n_peer;   /* backends in the peer tables last chosen */
};

struct gw_balancer {
	const struct gw_config *cfg;
	struct gw_lb_service *services;
	size_t n_services;
	bool *peer_up; /* by peer id; [0] unused */
};

/* Builds the state of cfg (which must outlive it); backend ids are given in
 * config order, so the same config gives the same ids. NULL + errno. */
struct gw_balancer *gw_balancer_new(const struct gw_config *cfg);
void gw_balancer_free(struct gw_balancer *lb);

struct gw_lb_service *gw_lb_service_find(struct gw_balancer *lb, const char *name);

/* Finds a backend of svc by "ADDR:PORT" or "[ADDR6]:PORT" (PORT may be
 * omitted for a backend without a port). NULL when there is none. */
struct gw_lb_backend *gw_lb_backend_find(struct gw_lb_service *svc, const char *addr_port);

enum gw_lb_state gw_lb_backend_state(const struct gw_balancer *lb, const struct gw_lb_backend *be);
const char *gw_lb_state_name(enum gw_lb_state s);

/* Which backends of address family (AF_INET / AF_INET6) table t
 * (GW_MAGLEV_CLIENT / GW_MAGLEV_PEER) of svc gets, with their weights,
 * following the service's affinity and spillover: out must have room for
 * svc->n_backends entries. Returns the count. */
size_t gw_lb_select(const struct gw_balancer *lb, const struct gw_lb_service *svc, int table,
		    int family, struct gw_maglev_backend *out);

/* "ADDR:PORT" text of a backend into buf. */
void gw_lb_backend_name(const struct gw_lb_backend *be, char *buf, size_t n);

#endif
