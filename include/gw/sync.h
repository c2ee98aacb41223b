/* cluster-syncd's engine: publishes this gateway's site, liveness and
 * services to etcd under one lease, watches every other site's records,
 * and pushes the merged view into gatewayd. Fails static: while etcd is
 * unreachable nothing is withdrawn. */
#ifndef GW_SYNC_H
#define GW_SYNC_H

#include <stdint.h>

#include <uv.h>

#include "gw/config-t.h"
#include "gw/records.h"

struct cs_sync_opts {
	const struct gw_config *cfg;
	const char *gw_socket; /* gatewayd's control socket */
	uint32_t poll_ms;      /* gatewayd export poll; default 50 */
	uint32_t retry_ms;     /* etcd read retry; default 500 */
};

#define CS_SYNC_STATS(X)                                                                           \
	X(pushes, "site views pushed into gatewayd")                                               \
	X(push_errors, "pushes gatewayd refused or missed")                                        \
	X(gw_timeouts, "calls gatewayd accepted but did not answer in time")                       \
	X(withdrawals, "sites withdrawn because etcd deleted their keys")                          \
	X(puts, "records written to etcd")                                                         \
	X(put_errors, "record writes that failed")                                                 \
	X(events, "watch events handled")                                                          \
	X(resyncs, "full reads of the prefix after a compaction or error")                         \
	X(leases, "leases granted")                                                                \
	X(own_ignored, "records of this site seen (not applied)")

struct cs_sync_stats {
#define CS_SYNC_STAT_FIELD(name, help) uint64_t name;
	CS_SYNC_STATS(CS_SYNC_STAT_FIELD)
#undef CS_SYNC_STAT_FIELD
	uint64_t refused[CS_REFUSE__COUNT];
};

struct cs_sync;

/* Starts: reads the prefix, watches it, grants the lease and publishes.
 * NULL + errno. */
struct cs_sync *cs_sync_new(uv_loop_t *loop, const struct cs_sync_opts *opts);
/* Stops; the lease is left to expire (a restart takes over its keys by
 * writing them again). Closes asynchronously. NULL ok. */
void cs_sync_free(struct cs_sync *s);

/* Status as JSON (endpoint, revision, lag, last error, counters). */
json_t *cs_sync_status(const struct cs_sync *s);

#endif
