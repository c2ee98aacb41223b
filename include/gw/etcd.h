/* etcd v3 client over the JSON gateway (/v3/...): libcurl multi driven by a
 * libuv loop, jansson for JSON. Types are in gw/etcd-t.h. */
#ifndef GW_ETCD_H
#define GW_ETCD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "gw/etcd-t.h"

struct cs_etcd;
struct cs_etcd_watch;
struct cs_etcd_keepalive;

/*
 * Conventions
 *
 * Everything runs on @loop's thread and never blocks. An asynchronous call
 * returns 0 and later calls its callback exactly once from the loop (never
 * from inside the call), or returns -errno and never calls it:
 * -EINVAL (bad arguments), -EBUSY (max_requests reached), -ENOMEM.
 *
 * Errors given to callbacks:
 *   -ECONNREFUSED  no endpoint could be reached (connect, DNS or TLS handshake
 *                  failed)
 *   -ETIMEDOUT     request_timeout_ms passed
 *   -ECONNRESET    the connection broke after the request was sent (also a
 *                  TLS 1.3 server refusing the client certificate)
 *   -EPROTO        not an etcd answer: an HTTP status other than 200
 *                  without an etcd error object
 *   -EBADMSG       malformed answer: bad JSON or not an object, bad base64,
 *                  missing or wrong-typed field (int64 fields are accepted
 *                  as decimal strings, as etcd writes them, or JSON integers)
 *   -EMSGSIZE      answer, value or paged range over a limit
 *   -ECANCELED     cs_etcd_free() ran first
 *   an etcd error object maps its gRPC code (res->grpc_code, res->message):
 *   INVALID_ARGUMENT -EINVAL, NOT_FOUND -ENOENT, ALREADY_EXISTS -EEXIST,
 *   PERMISSION_DENIED and UNAUTHENTICATED -EACCES, RESOURCE_EXHAUSTED
 *   -ENOSPC, FAILED_PRECONDITION -EPERM, ABORTED and CANCELLED -ECANCELED,
 *   OUT_OF_RANGE -ESTALE when the revision was compacted, else -ERANGE,
 *   UNIMPLEMENTED -ENOSYS, UNAVAILABLE -EAGAIN, DEADLINE_EXCEEDED
 *   -ETIMEDOUT, others -EIO.
 *   For transport errors res->message is libcurl's description.
 *
 * Failover: requests go to the preferred endpoint (initially the first).
 * A transport failure or an UNAVAILABLE answer (no leader) moves the
 * preferred endpoint to the next one, so the next request goes there. The
 * failed request itself is tried again at once on the new preferred one, up
 * to max_attempts tries, if it cannot have reached etcd (connect refused or
 * timed out, DNS, TLS handshake) or if it is safe to repeat: everything but
 * a TXN and a lease grant without an ID (a TXN may have been applied; a
 * repeated grant would create a second lease).
 *
 * Callbacks may call any function of this file, cs_etcd_free() included.
 */

/*
 * Create a client on @loop. No connection is made before the first request.
 * Returns NULL with errno EINVAL (no or too many endpoints, an endpoint that
 * is not http(s)://), ENOMEM, or EIO (libcurl failed). The TLS files apply
 * to https:// endpoints.
 * libcurl's global init must have been done (curl_global_init()) before, as
 * for any multi-threaded libcurl user; cs_etcd_new() does it if not.
 */
struct cs_etcd *cs_etcd_new(uv_loop_t *loop, const struct cs_etcd_opts *opts);

/*
 * Cancel everything and release the client; accepts NULL. Pending requests
 * get -ECANCELED; watches and keepalives stop without a callback and their
 * handles become invalid. The last memory is released by the loop (handle
 * close callbacks): run it once more before uv_loop_close().
 */
void cs_etcd_free(struct cs_etcd *etcd);

/* Counters; see CS_ETCD_STATS in gw/etcd-t.h. */
const struct cs_etcd_stats *cs_etcd_stats(const struct cs_etcd *etcd);

/* Name of counter @i (0 .. cs_etcd_stat_count() - 1), in field order. */
size_t cs_etcd_stat_count(void);
const char *cs_etcd_stat_name(size_t i);

/* The endpoint requests go to now. */
const char *cs_etcd_endpoint(const struct cs_etcd *etcd);

/* --- unary requests ------------------------------------------------------------ */

int cs_etcd_range(struct cs_etcd *etcd, const struct cs_etcd_range_req *req, cs_etcd_cb cb,
		  void *ud);
int cs_etcd_put(struct cs_etcd *etcd, const struct cs_etcd_put_req *req, cs_etcd_cb cb, void *ud);
int cs_etcd_delete(struct cs_etcd *etcd, const struct cs_etcd_delete_req *req, cs_etcd_cb cb,
		   void *ud);
int cs_etcd_txn(struct cs_etcd *etcd, const struct cs_etcd_txn_req *req, cs_etcd_cb cb, void *ud);

/* Create @key with @value only if it does not exist: a TXN comparing
 * create_revision with 0. res->succeeded says whether it was created; when
 * not, res->responses[0].kvs holds the existing pair. */
int cs_etcd_create(struct cs_etcd *etcd, const char *key, const void *value, size_t value_len,
		   int64_t lease, cs_etcd_cb cb, void *ud);

/* Compare-and-swap: put @value only if @key's mod_revision is @mod_revision
 * (0: only if absent). When it fails, res->responses[0].kvs holds the
 * current pair (none if absent). */
int cs_etcd_cas(struct cs_etcd *etcd, const char *key, int64_t mod_revision, const void *value,
		size_t value_len, int64_t lease, cs_etcd_cb cb, void *ud);

/* Grant a lease of @ttl_s seconds (@id 0: etcd picks it): res->lease_id,
 * res->ttl. */
int cs_etcd_lease_grant(struct cs_etcd *etcd, int64_t ttl_s, int64_t id, cs_etcd_cb cb, void *ud);

/* Revoke a lease; its keys are deleted. -ENOENT if it does not exist. */
int cs_etcd_lease_revoke(struct cs_etcd *etcd, int64_t id, cs_etcd_cb cb, void *ud);

/* One keepalive of a lease: res->ttl (0 when the lease does not exist). */
int cs_etcd_lease_keepalive_once(struct cs_etcd *etcd, int64_t id, cs_etcd_cb cb, void *ud);

/* --- streams ---------------------------------------------------------------------- */

/*
 * Watch a key or range from @req->start_revision, calling @cb per event in
 * revision order (the events of one revision, one txn, come together, in
 * one answer). When the stream breaks (member down, idle timeout, a member
 * without a leader: watches carry etcd's "hasleader" requirement, malformed
 * line) it is resumed, with backoff, on the next endpoint from the last
 * revision delivered (or known through a progress notification) + 1; no
 * event is lost and none delivered twice (any event at or below that
 * revision is dropped and counted in watch_duplicates). A compaction that
 * removed revisions not yet delivered is reported as CS_ETCD_EV_RESYNC,
 * never skipped. Watches ask etcd for progress notifications; only
 * periodic ones exist in 3.4 (see watch_idle_timeout_ms).
 *
 * Returns the watch, or NULL with errno EINVAL, EBUSY (max_streams), ENOMEM.
 * @req is copied.
 */
struct cs_etcd_watch *cs_etcd_watch_start(struct cs_etcd *etcd, const struct cs_etcd_watch_req *req,
					  cs_etcd_event_cb cb, void *ud);

/* Every event up to this revision has been delivered (0: none known yet). */
int64_t cs_etcd_watch_revision(const struct cs_etcd_watch *w);

/* Stop and release; accepts NULL; may be called from its own callback. */
void cs_etcd_watch_stop(struct cs_etcd_watch *w);

/*
 * Keep lease @id alive until stopped: a keepalive now and then every
 * @interval_ms (0: a third of the TTL etcd answers), as one short POST
 * /v3/lease/keepalive each (etcd's HTTP/1.1 gateway holds a streamed answer
 * until the request body ends, so one long-lived keepalive stream cannot
 * work over plain HTTP). Failures are retried with backoff (at most
 * @interval_ms apart) on the next endpoint. @cb reports as documented for
 * cs_etcd_keepalive_cb; -ETIME needs one answered keepalive first (the TTL
 * comes from etcd's answers).
 *
 * Returns the keepalive, or NULL with errno EINVAL, EBUSY, ENOMEM.
 */
struct cs_etcd_keepalive *cs_etcd_lease_keepalive_start(struct cs_etcd *etcd, int64_t id,
							uint32_t interval_ms,
							cs_etcd_keepalive_cb cb, void *ud);

/* Stop and release; accepts NULL; may be called from its own callback. */
void cs_etcd_lease_keepalive_stop(struct cs_etcd_keepalive *ka);

/* --- helpers ------------------------------------------------------------------------ */

/* Run @loop until *@done is non-zero, or @timeout_ms passed (-ETIMEDOUT).
 * For tests and tools; a daemon runs its loop itself. */
int cs_etcd_run_until(uv_loop_t *loop, const int *done, uint64_t timeout_ms);

/* --- parsers (exported for tests and fuzzing) ------------------------------------------ */

/*
 * Parse and check one answer of etcd's JSON gateway to a request of type
 * @op. On success fills @res (release it with cs_etcd_result_done()) and
 * returns 0. Otherwise returns the error as documented above, counts it in
 * @stats (may be NULL), and leaves in @res only grpc_code and message (release
 * it too). @lim may be NULL (defaults).
 */
int cs_etcd_parse_response(enum cs_etcd_op_type op, const char *body, size_t len,
			   const struct cs_etcd_limits *lim, struct cs_etcd_stats *stats,
			   struct cs_etcd_result *res);

/* Release what a result holds and zero it; accepts NULL. */
void cs_etcd_result_done(struct cs_etcd_result *res);

/* Parse one line of a watch stream, as cs_etcd_parse_response(). */
int cs_etcd_parse_watch_line(const char *line, size_t len, const struct cs_etcd_limits *lim,
			     struct cs_etcd_stats *stats, struct cs_etcd_watch_msg *msg);

void cs_etcd_watch_msg_done(struct cs_etcd_watch_msg *msg);

/* The -errno for gRPC @code with etcd's @message (may be NULL). */
int cs_etcd_grpc_errno(int code, const char *message);

/* Standard base64 with padding, as etcd's gateway writes it. Decode is
 * strict (alphabet, padding, length); it writes a NUL after the bytes, so
 * @out needs base64_decoded_size + 1. Return the length or -EBADMSG/-ENOSPC. */
ssize_t cs_etcd_base64_encode(const void *in, size_t len, char *out, size_t size);
ssize_t cs_etcd_base64_decode(const char *in, size_t len, void *out, size_t size);

#endif /* GW_ETCD_H */
