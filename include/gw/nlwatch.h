/* Route, neighbour and link changes in gatewayd's network namespace, as the
 * kernel announces them on rtnetlink: the flow cache keeps next hops, so
 * each burst of changes moves the data plane's epoch on. */
#ifndef GW_NLWATCH_H
#define GW_NLWATCH_H

#include <stdint.h>

#include <uv.h>

struct gw_nlwatch;

struct gw_nlwatch_stats {
	uint64_t messages; /* route, neighbour and link messages seen */
	uint64_t bursts;   /* calls of changed() */
	uint64_t overruns; /* socket overflows (treated as a change) */
};

/* changed(ud) runs once per burst of messages read together. NULL + errno. */
struct gw_nlwatch *gw_nlwatch_new(uv_loop_t *loop, void (*changed)(void *ud), void *ud);
/* Closes asynchronously (run the loop afterwards). NULL ok. */
void gw_nlwatch_free(struct gw_nlwatch *w);
void gw_nlwatch_stats(const struct gw_nlwatch *w, struct gw_nlwatch_stats *ret);

#endif
