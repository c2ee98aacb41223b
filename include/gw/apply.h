/* Puts a config and the run-time load-balancing state into the data plane's
 * maps: site parameters, peers, identities, policies, services, backends and
 * Maglev tables. Every step is idempotent, so a restart re-applies it all. */
#ifndef GW_APPLY_H
#define GW_APPLY_H

#include "gw/config-t.h"
#include "gw/dataplane.h"
#include "gw/lb.h"

/* Writes everything of cfg and lb; stale services are removed. On error
 * *ret_what names the step that failed. 0 or -errno. */
int gw_apply_all(struct gw_dp *dp, const struct gw_config *cfg, struct gw_balancer *lb,
		 const char **ret_what);

/* Writes the site parameters (gw_cfg), with the tunnel MTU as
 * gw_apply_tunnel_mtu() finds it now. 0 or -errno. */
int gw_apply_cfg(struct gw_dp *dp, const struct gw_config *cfg);

/* The largest packet the underlay carries between gateways (an IP MTU):
 * gateway.external.mtu, else the external interface's MTU now. The MTU,
 * or -errno when the interface's cannot be read. */
int gw_apply_tunnel_mtu(const struct gw_config *cfg);

/* Before the first gw_apply_all over a data plane that was already
 * running, what it knows that the config does not: gives lb's peers the ids
 * the data plane uses for them and holds the others'
 * (gw_balancer_take_peer_ids), gives its services and backends the ids the
 * data plane's keys and tables name them by and retires the others
 * (gw_balancer_take_ids), and starts the local backends it has down
 * (failed health checks) down. 0 or -errno. */
int gw_apply_take_over(struct gw_dp *dp, struct gw_balancer *lb);

/* Writes what changed in lb since the last call (peers, dirty services,
 * removed services). 0 or -errno. */
int gw_apply_dirty(struct gw_dp *dp, struct gw_balancer *lb, const char **ret_what);

/* Rebuilds and swaps both Maglev tables of one service (after a drain, a
 * weight change, a health or peer change). 0 or -errno. */
int gw_apply_service_tables(struct gw_dp *dp, struct gw_balancer *lb, struct gw_lb_service *svc);

/* The identity a config identity gets: its id, or one derived from its
 * site and its position among that site's identities. */
uint32_t gw_apply_identity_id(const struct gw_config *cfg, size_t idx);

#endif
