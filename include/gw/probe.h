/* Inter-gateway probes: a small UDP echo to every peer each interval,
 * answered by the peer's XDP program. A probe unanswered fast_interval after
 * it left is missed and another follows at once; a peer that misses
 * down_after in a row is down, and up again at its first answer. */
#ifndef GW_PROBE_H
#define GW_PROBE_H

#include <stdint.h>

#include <uv.h>

#include "gw/lb.h"

struct gw_probe_opts {
	uint32_t interval_ms;	   /* default 100 */
	uint32_t fast_interval_ms; /* answer timeout and re-probe pace; default 25 */
	uint32_t down_after;	   /* misses in a row; default 3 */
	struct gw_ip src;	   /* this gateway's external address */
	uint16_t site_id;
	uint16_t port; /* the probe port, ours and the peers' (GW_PROBE_PORT) */
};

struct gw_prober;

/* changed(ud) runs when a peer went up or down (lb's services are marked
 * dirty then). NULL + errno (EINVAL: fast_interval_ms not below
 * interval_ms). */
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
	uint64_t late;	 /* answered after they were counted missed (in answered) */
	uint64_t missed; /* unanswered fast_interval_ms after they left */
	uint64_t downs;	 /* times a peer was declared down */
	uint64_t bad;	 /* malformed, unexpected or duplicate answers */
	uint64_t send_errors;
};
void gw_prober_stats(const struct gw_prober *p, struct gw_probe_stats *ret);

/* The rules for one peer, apart from sockets and timers: the prober drives
 * them from its loop, unit tests from a clock of their own. Times are
 * CLOCK_MONOTONIC nanoseconds; opts are complete (no zero defaults). */
enum {
	GW_PROBE_MISSED = 1, /* the last probe was not answered in time */
	GW_PROBE_DOWN = 2,   /* ... and that made down_after in a row: take p down */
	GW_PROBE_SEND = 4,   /* send p a probe now (then call gw_probe_sent) */
};
/* Judges p at now, which must be read before the answers already queued are
 * taken in (a late loop then still sees them first). GW_PROBE_* flags. */
unsigned int gw_probe_judge(const struct gw_probe_opts *o, struct gw_lb_peer *p, uint64_t now);
/* How long a probe to p may go unanswered (fast_interval_ms, longer on a
 * slow path; see probe.c). */
uint64_t gw_probe_deadline(const struct gw_probe_opts *o, const struct gw_lb_peer *p);
/* When p must be judged next. */
uint64_t gw_probe_next(const struct gw_probe_opts *o, const struct gw_lb_peer *p);
/* A probe to p left at now; returns the sequence number it carries. */
uint32_t gw_probe_sent(struct gw_lb_peer *p, uint64_t now);
/* An answer from p to probe seq sent at sent_ns arrived at now: 0 in time,
 * 1 late (counted missed already, still proof of life), -ENOENT when it
 * answers none of p's last GW_LB_PROBE_WINDOW probes or one answered
 * already. The caller brings p up on >= 0. */
int gw_probe_answered(struct gw_lb_peer *p, uint32_t seq, uint64_t sent_ns, uint64_t now);

#endif
