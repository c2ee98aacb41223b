/* What the balancer's config and selection side (lb.c) and its other sites'
 * side (lb-remote.c) share. */
#ifndef GW_LB_INT_H
#define GW_LB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gw/lb.h"

/* Is p the gateway of site site_id at addr? */
static inline bool gw_lb_peer_is(const struct gw_lb_peer *p, uint16_t site_id,
				 const struct gw_ip *addr)
{
	return p->site_id == site_id && memcmp(&p->addr, addr, sizeof(*addr)) == 0;
}

/* A slot no peer is in: neither configured, learned nor held. */
static inline bool gw_lb_slot_free(const struct gw_lb_peer *p)
{
	return !p->configured && !p->learned && !p->held;
}

/* b's Maglev key, from its site, address and port. */
void gw_lb_backend_key(struct gw_lb_backend *b);
/* A new backend of s (zeroed, healthy) with a free id; NULL if none is. */
struct gw_lb_backend *gw_lb_backend_add(struct gw_balancer *lb, struct gw_lb_service *s);
/* Removes s's backend i; its id is retired, not freed. */
void gw_lb_backend_remove_at(struct gw_balancer *lb, struct gw_lb_service *s, size_t i);
/* A new service of lb with a free id; NULL if none is. */
struct gw_lb_service *gw_lb_service_add(struct gw_balancer *lb, const char *name);

#endif
