/* Types of the etcd v3 client (cluster-sync/etcd*.c): options, limits,
 * requests, results, watch events and counters. Functions are in gw/etcd.h. */
#ifndef GW_ETCD_T_H
#define GW_ETCD_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults used for a zero field of struct cs_etcd_opts. */
#define CS_ETCD_MAX_ENDPOINTS		   16
#define CS_ETCD_DEFAULT_DIAL_TIMEOUT_MS	   1000
#define CS_ETCD_DEFAULT_REQUEST_TIMEOUT_MS 2000
#define CS_ETCD_DEFAULT_WATCH_IDLE_TIMEOUT_MS                                                      \
	(11 * 60 * 1000) /* etcd's progress interval + 1 min */
#define CS_ETCD_DEFAULT_RECONNECT_MIN_MS 100
#define CS_ETCD_DEFAULT_RECONNECT_MAX_MS 5000
#define CS_ETCD_DEFAULT_MAX_RESPONSE	 (16 << 20)    /* bytes of one HTTP answer */
#define CS_ETCD_DEFAULT_MAX_LINE	 (16 << 20)    /* bytes of one watch line */
#define CS_ETCD_DEFAULT_MAX_VALUE	 (1536 * 1024) /* etcd's own --max-request-bytes */
#define CS_ETCD_DEFAULT_MAX_RANGE	 (256 << 20)   /* decoded bytes of a paged range */
#define CS_ETCD_DEFAULT_MAX_REQUESTS	 64
#define CS_ETCD_DEFAULT_MAX_STREAMS	 64  /* watches + keepalives */
#define CS_ETCD_MAX_TXN_OPS		 128 /* etcd's --max-txn-ops default */

/* The gRPC status codes etcd puts in "code" of an error answer. */
enum cs_etcd_grpc_code {
	CS_ETCD_GRPC_OK = 0,
	CS_ETCD_GRPC_CANCELLED = 1,
	CS_ETCD_GRPC_UNKNOWN = 2,
	CS_ETCD_GRPC_INVALID_ARGUMENT = 3,
	CS_ETCD_GRPC_DEADLINE_EXCEEDED = 4,
	CS_ETCD_GRPC_NOT_FOUND = 5,
	CS_ETCD_GRPC_ALREADY_EXISTS = 6,
	CS_ETCD_GRPC_PERMISSION_DENIED = 7,
	CS_ETCD_GRPC_RESOURCE_EXHAUSTED = 8,
	CS_ETCD_GRPC_FAILED_PRECONDITION = 9,
	CS_ETCD_GRPC_ABORTED = 10,
	CS_ETCD_GRPC_OUT_OF_RANGE = 11,
	CS_ETCD_GRPC_UNIMPLEMENTED = 12,
	CS_ETCD_GRPC_INTERNAL = 13,
	CS_ETCD_GRPC_UNAVAILABLE = 14,
	CS_ETCD_GRPC_DATA_LOSS = 15,
	CS_ETCD_GRPC_UNAUTHENTICATED = 16,
};

/*
 * Limits on what etcd may send; a zero field takes the CS_ETCD_DEFAULT_*
 * value. Going over one is an error (-EMSGSIZE), counted in stats.
 *
 * @max_response: bytes of one unary HTTP answer (one page of a range).
 * @max_line:     bytes of one watch line (one WatchResponse); over it, the
 *                watch reports CS_ETCD_EV_RESYNC (a paged range is the way
 *                to catch up with that much).
 * @max_value:    decoded bytes of one key or value.
 * @max_range:    decoded bytes (keys + values) of all pages of one range.
 */
struct cs_etcd_limits {
	size_t max_response;
	size_t max_line;
	size_t max_value;
	size_t max_range;
};

/*
 * Client options; copied by cs_etcd_new(). A zero field takes its default.
 *
 * @endpoints:      1..CS_ETCD_MAX_ENDPOINTS base URLs, "http://HOST:PORT" or
 *                  "https://HOST:PORT" (no path).
 * @dial_timeout_ms:    connect (and TLS handshake) to one member.
 * @request_timeout_ms: one unary request, connect included; each page of a
 *                  paged range and each keepalive gets its own.
 * @max_attempts:   tries of one request over the endpoints, default one per
 *                  endpoint; see "Failover" in gw/etcd.h.
 * @watch_idle_timeout_ms: a watch that receives nothing (no event, no
 *                  progress notification) this long is reconnected. etcd
 *                  sends progress notifications every 10 min by default
 *                  (--experimental-watch-progress-notify-interval); set this
 *                  above that interval.
 * @reconnect_min_ms, @reconnect_max_ms: backoff of watch reconnects and of
 *                  keepalive retries, doubled per failure.
 * @max_requests:   unary requests in flight (a paged range counts once);
 *                  more are refused with -EBUSY (stats.refused).
 * @max_streams:    watches + keepalives; more are refused with EBUSY.
 * @tls_ca, @tls_cert, @tls_key: PEM files, each NULL when not given; @tls_ca
 *                  verifies the members (else the system store), @tls_cert
 *                  and @tls_key authenticate this client.
 */
struct cs_etcd_opts {
	const char *const *endpoints;
	size_t n_endpoints;
	uint32_t dial_timeout_ms;
	uint32_t request_timeout_ms;
	uint32_t max_attempts;
	uint32_t watch_idle_timeout_ms;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	uint32_t max_requests;
	uint32_t max_streams;
	struct cs_etcd_limits limits;
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
};

/*
 * Counters since cs_etcd_new(), one list for the struct and the names
 * (cs_etcd_stat_name()). Malformed answers count in exactly one of bad_*,
 * too_large_* or etcd_errors.
 */
#define CS_ETCD_STATS(X)                                                                           \
	X(requests, "HTTP requests sent (each page, attempt, watch connect, keepalive)")           \
	X(responses, "answers parsed and accepted")                                                \
	X(transport_errors, "requests failed below HTTP (refused, reset, TLS, timeout)")           \
	X(timeouts, "requests that timed out (also counted in transport_errors)")                  \
	X(failovers, "retries on another endpoint after a transport failure")                      \
	X(refused, "requests or streams refused: max_requests or max_streams reached")             \
	X(etcd_errors, "answers that were an etcd error object")                                   \
	X(http_errors, "answers with an HTTP status other than 200 and no etcd error object")      \
	X(bad_json, "answers that were not JSON or not an object")                                 \
	X(bad_base64, "keys or values that were not valid base64")                                 \
	X(bad_field, "answers with a missing or wrong-typed field")                                \
	X(too_large_response, "answers over limits.max_response")                                  \
	X(too_large_line, "watch lines over limits.max_line")                                      \
	X(too_large_value, "keys or values over limits.max_value")                                 \
	X(too_large_range, "paged ranges over limits.max_range")                                   \
	X(watch_connects, "watch streams created (first and resumed)")                             \
	X(watch_reconnects, "watch streams resumed after a break")                                 \
	X(watch_idle_timeouts, "watch streams closed by watch_idle_timeout_ms")                    \
	X(watch_events, "watch events delivered")                                                  \
	X(watch_duplicates, "watch events below the resume revision, dropped")                     \
	X(watch_progress, "progress notifications received")                                       \
	X(watch_resyncs, "CS_ETCD_EV_RESYNC reported (compacted or too large)")                    \
	X(keepalives, "lease keepalives answered")                                                 \
	X(keepalive_errors, "lease keepalives that failed")

struct cs_etcd_stats {
#define CS_ETCD_STAT_FIELD(name, desc) uint64_t name;
	CS_ETCD_STATS(CS_ETCD_STAT_FIELD)
#undef CS_ETCD_STAT_FIELD
};

/* --- requests --------------------------------------------------------------
 * Keys are NUL-terminated strings (the Isthmus schema has no binary keys);
 * values are bytes with a length. */

/*
 * @key:        first key; "" with @from_key means every key.
 * @range_end:  NULL or "": only @key; else keys in [@key, @range_end).
 * @prefix:     every key starting with @key (overrides @range_end).
 * @from_key:   every key >= @key (overrides @range_end).
 * @revision:   read at this revision; 0 = the newest. All pages of a paged
 *              range are read at the revision of the first page.
 * @limit:      0 = every key of the range; else at most this many (res->more
 *              says whether there were more).
 * @page_size:  0 = one request; else request this many keys at a time until
 *              etcd says there are no more, and deliver them all at once.
 * @serializable: answer from the member's local state (no quorum).
 * @keys_only:  values are not returned.
 * @count_only: only res->count.
 */
struct cs_etcd_range_req {
	const char *key;
	const char *range_end;
	bool prefix;
	bool from_key;
	int64_t revision;
	int64_t limit;
	int64_t page_size;
	bool serializable;
	bool keys_only;
	bool count_only;
};

/* @lease: 0 = none. @prev_kv: return the previous pair in res->prev_kvs. */
struct cs_etcd_put_req {
	const char *key;
	const void *value;
	size_t value_len;
	int64_t lease;
	bool prev_kv;
};

/* @range_end, @prefix, @from_key as in struct cs_etcd_range_req. */
struct cs_etcd_delete_req {
	const char *key;
	const char *range_end;
	bool prefix;
	bool from_key;
	bool prev_kv;
};

enum cs_etcd_op_type {
	CS_ETCD_OP_RANGE,
	CS_ETCD_OP_PUT,
	CS_ETCD_OP_DELETE,
	CS_ETCD_OP_TXN,
	CS_ETCD_OP_LEASE_GRANT,
	CS_ETCD_OP_LEASE_REVOKE,
	CS_ETCD_OP_LEASE_KEEPALIVE,
};

/* One operation of a transaction: RANGE (no paging), PUT or DELETE. */
struct cs_etcd_txn_op {
	enum cs_etcd_op_type type;
	union {
		struct cs_etcd_range_req range;
		struct cs_etcd_put_req put;
		struct cs_etcd_delete_req del;
	};
};

enum cs_etcd_cmp_target {
	CS_ETCD_CMP_VERSION,
	CS_ETCD_CMP_CREATE, /* create_revision; 0 = the key does not exist */
	CS_ETCD_CMP_MOD,    /* mod_revision */
	CS_ETCD_CMP_VALUE,
	CS_ETCD_CMP_LEASE,
};

enum cs_etcd_cmp_result {
	CS_ETCD_CMP_EQUAL,
	CS_ETCD_CMP_GREATER,
	CS_ETCD_CMP_LESS,
	CS_ETCD_CMP_NOT_EQUAL,
};

/* key <result> <target value>: @number for VERSION, CREATE, MOD and LEASE,
 * @value/@value_len for VALUE. */
struct cs_etcd_cmp {
	const char *key;
	enum cs_etcd_cmp_target target;
	enum cs_etcd_cmp_result result;
	int64_t number;
	const void *value;
	size_t value_len;
};

/* If every compare holds, run @success, else @failure (each up to
 * CS_ETCD_MAX_TXN_OPS). */
struct cs_etcd_txn_req {
	const struct cs_etcd_cmp *cmp;
	size_t n_cmp;
	const struct cs_etcd_txn_op *success;
	size_t n_success;
	const struct cs_etcd_txn_op *failure;
	size_t n_failure;
};

/* --- results ---------------------------------------------------------------- */

/* One key-value pair. @key and @value are NUL-terminated copies (the NUL is
 * not counted in the lengths; values may contain NULs). A deleted pair in a
 * watch event has only @key and @mod_revision. */
struct cs_etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

/*
 * The answer to one request, valid only during the callback. Fields etcd
 * leaves out read 0/false/NULL.
 *
 * @revision:     header.revision: the store's newest revision when etcd
 *                answered (for a read at the newest revision, the one it
 *                reflects; a read at an older revision still gets the newest).
 * @kvs:          RANGE (all pages), the pairs in key order.
 * @count:        RANGE: number of keys in the range (of the first page).
 * @more:         RANGE: more keys exist (only when the request's limit cut them).
 * @prev_kvs:     PUT (0 or 1) and DELETE with prev_kv.
 * @deleted:      DELETE: keys deleted.
 * @succeeded:    TXN: the compares held.
 * @responses:    TXN: one result per executed operation, in order (each with
 *                op RANGE, PUT or DELETE).
 * @lease_id, @ttl: LEASE_GRANT / LEASE_KEEPALIVE (ttl 0: lease not found).
 * @grpc_code, @message: when err != 0: etcd's code and message, or for a
 *                transport error (grpc_code 0) libcurl's message; NULL if none.
 */
struct cs_etcd_result {
	enum cs_etcd_op_type op;
	int64_t revision;
	uint64_t cluster_id;
	uint64_t member_id;
	int64_t raft_term;
	struct cs_etcd_kv *kvs;
	size_t n_kvs;
	int64_t count;
	bool more;
	struct cs_etcd_kv *prev_kvs;
	size_t n_prev_kvs;
	int64_t deleted;
	bool succeeded;
	struct cs_etcd_result *responses;
	size_t n_responses;
	int64_t lease_id;
	int64_t ttl;
	int grpc_code;
	char *message;
};

/* Completion of a unary request: called once, from the loop, never from
 * inside the call that started it. @res is never NULL. */
typedef void (*cs_etcd_cb)(void *ud, int err, const struct cs_etcd_result *res);

/* --- watch -------------------------------------------------------------------- */

/*
 * @key, @range_end, @prefix, @from_key: as in struct cs_etcd_range_req.
 * @start_revision: first revision to report; 0 = from now. To follow a range
 *              without a gap, pass the range's res->revision + 1.
 * @prev_kv:    events carry the previous pair.
 */
struct cs_etcd_watch_req {
	const char *key;
	const char *range_end;
	bool prefix;
	bool from_key;
	int64_t start_revision;
	bool prev_kv;
};

enum cs_etcd_event_type {
	CS_ETCD_EV_PUT,
	CS_ETCD_EV_DELETE,
	/* The stream is (re)established; @revision: etcd's current revision. */
	CS_ETCD_EV_CREATED,
	/* etcd says every event up to @revision has been sent. */
	CS_ETCD_EV_PROGRESS,
	/* Events were lost to a compaction (@err -ESTALE, @revision = the
	 * compact revision, 0 if etcd did not say) or cannot be caught up with
	 * (@err -EMSGSIZE: a line over max_line). The watch is finished: stop
	 * it, read the range (paged) and start a new watch from that read's
	 * revision + 1. */
	CS_ETCD_EV_RESYNC,
	/* etcd refused the watch for good (@err, @grpc_code, @message: e.g.
	 * permission denied, invalid range). The watch is finished. */
	CS_ETCD_EV_ERROR,
};

/*
 * One watch event, valid only during the callback.
 *
 * @kv:       PUT: the new pair; DELETE: key and mod_revision (the deletion).
 * @prev_kv:  with prev_kv requested and known, else NULL.
 * @revision: PUT/DELETE: kv.mod_revision; others: see the types.
 */
struct cs_etcd_event {
	enum cs_etcd_event_type type;
	const struct cs_etcd_kv *kv;
	const struct cs_etcd_kv *prev_kv;
	int64_t revision;
	int err;
	int grpc_code;
	const char *message;
};

typedef void (*cs_etcd_event_cb)(void *ud, const struct cs_etcd_event *ev);

/*
 * Lease keepalive progress: @err 0 and the @ttl etcd granted after each
 * refresh; -ETIME (once per outage) when no refresh succeeded for a whole
 * TTL, the lease has probably expired (retries go on); -ENOENT when etcd says
 * the lease does not exist (the keepalive is finished: stop it). Transient
 * failures are retried and only counted.
 */
typedef void (*cs_etcd_keepalive_cb)(void *ud, int err, int64_t ttl);

/* --- parsed watch line (exported for tests and fuzzing) ----------------------- */

enum cs_etcd_watch_msg_type {
	CS_ETCD_WMSG_CREATED,
	CS_ETCD_WMSG_EVENTS,
	CS_ETCD_WMSG_PROGRESS,
	CS_ETCD_WMSG_CANCELED, /* compact_revision > 0: compacted */
	CS_ETCD_WMSG_ERROR,    /* an {"error":...} object: grpc_code, message */
};

struct cs_etcd_watch_event {
	enum cs_etcd_event_type type; /* PUT or DELETE */
	struct cs_etcd_kv kv;
	struct cs_etcd_kv prev_kv;
	bool has_prev_kv;
};

struct cs_etcd_watch_msg {
	enum cs_etcd_watch_msg_type type;
	int64_t revision; /* header.revision */
	int64_t watch_id;
	int64_t compact_revision;
	struct cs_etcd_watch_event *events;
	size_t n_events;
	int grpc_code;
	char *message; /* error message or cancel_reason */
};

#endif /* GW_ETCD_T_H */
