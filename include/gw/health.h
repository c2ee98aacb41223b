/* Active health checks of this site's backends (TCP connect, or HTTP GET
 * with an expected status), with per-service interval, timeout and
 * rise/fall thresholds from the config. */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include <uv.h>

#include "gw/lb.h"

struct gw_health;

/* Starts a check for every local backend of every config service whose
 * health type is not "none". changed(ud) runs after a backend's health
 * flipped (its service is marked dirty and lb->version bumped). NULL +
 * errno. */
struct gw_health *gw_health_new(uv_loop_t *loop, struct gw_balancer *lb, void (*changed)(void *ud),
				void *ud);
/* Stops every check; closes asynchronously (run the loop afterwards). */
void gw_health_free(struct gw_health *h);

struct gw_health_stats {
	uint64_t checks;
	uint64_t failures;
	uint64_t transitions;
	uint32_t running;
};
void gw_health_stats(const struct gw_health *h, struct gw_health_stats *ret);

#endif
