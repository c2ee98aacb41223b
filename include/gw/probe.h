/* Inter-gateway probes: a small UDP echo to every peer each interval,
 * answered by the peer's XDP program; a peer that misses enough of them in
 * a row is down, and up again at its first answer. */
#ifndef GW_PROBE_H
#define GW_PROBE_H

#include <stdint.h>

#include <uv.h>

#include "gw/lb.h"

struct gw_probe_opts {
	uint32_t interval_ms; /* default 100 */
	uint32_t down_after;  /* misses in a row; default 3 */
	struct gw_ip src;     /* this gateway's external address */
	uint16_t site_id;
	uint16_t port; /* the peers' probe port (GW_PROBE_PORT) */
};

struct gw_prober;

/* changed(ud) runs when a peer went up or down (lb's services are marked
 * dirty then). NULL + errno. */
struct gw_prober *gw_prober_new(uv_loop_t *loop, struct gw_balancer *lb,
				const struct gw_probe_opts *opts, void (*changed)(void *ud),
				void *ud);
/* After a reload the balancer is a new one. */
void gw_prober_set_balancer(struct gw_prober *p, struct gw_balancer *lb);
/* Closes asynchronously (run the loop afterwards). NULL ok. */
void gw_prober_free(struct gw_prober *p);

struct gw_probe_stats {
	uint64_t sent;
	uint64_t answered;
	uint64_t bad; /* malformed or unexpected answers */
	uint64_t send_errors;
};
void gw_prober_stats(const struct gw_prober *p, struct gw_probe_stats *ret);

#endif
