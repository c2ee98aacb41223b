/* Types of the control API server (gateway/api.c): requests, responses,
 * routes, limits and counters. Functions are in gw/api.h. */
#ifndef GW_API_T_H
#define GW_API_T_H

#include <stddef.h>
#include <stdint.h>

/* Defaults used for a zero field of struct gw_api_limits. */
#define GW_API_DEFAULT_MAX_CONNS       64
#define GW_API_DEFAULT_MAX_REQUEST     (64 * 1024) /* request line + headers + body */
#define GW_API_DEFAULT_IDLE_TIMEOUT_MS 10000

/* Longest unix socket path (sizeof(sockaddr_un.sun_path) - 1). */
#define GW_API_UNIX_PATH_MAX 107

struct gw_api;

/*
 * One parsed request, valid only during the handler call.
 *
 * @method: "GET", "POST", ...
 * @path:   percent-decoded path without the query, e.g. "/v1/services/web".
 * @tail:   for a prefix route, the part of @path after the route's path (never
 *          empty, may contain '/'); "" for an exact route.
 * @query:  raw query string after '?', still percent-encoded; "" if none.
 *          Read it with gw_api_query_get().
 * @body:   request body, NUL-terminated for convenience (it may also contain
 *          NULs: use @body_len); "" if none.
 */
struct gw_api_request {
	const char *method;
	const char *path;
	const char *tail;
	const char *query;
	const char *body;
	size_t body_len;
};

/*
 * What a handler answers. Set it only through gw_api_reply_json(),
 * gw_api_reply_error() or gw_api_reply_text(); the last call wins. A handler
 * that sets nothing answers 500. The server owns @body and frees it.
 */
struct gw_api_response {
	int status;
	char content_type[64];
	char *body;
	size_t body_len;
};

/* Handlers run on the loop thread and must not block; @ud is gw_api_new()'s. */
typedef void (*gw_api_handler_fn)(void *ud, const struct gw_api_request *req,
				  struct gw_api_response *resp);

/*
 * One route. @path matches the request path exactly, or with @prefix set any
 * longer path that starts with it ("/v1/services/" matches
 * "/v1/services/web", not "/v1/services/"). The first route matching both
 * path and method wins; a path that matches only with other methods answers
 * 405 with an Allow header, no match at all answers 404.
 */
struct gw_api_route {
	const char *method;
	const char *path;
	int prefix;
	gw_api_handler_fn fn;
};

/*
 * Resource limits; a zero field takes the GW_API_DEFAULT_* value.
 *
 * @max_conns:       open connections; more are accepted and closed at once
 *                   (counted in refused).
 * @max_request:     request line + headers + body; more answers 413 and closes.
 * @idle_timeout_ms: a connection must deliver a whole request within this
 *                   time of opening or of its previous answer (slow senders
 *                   cannot hold it by trickling bytes), and take an answer
 *                   within it; else it is closed (counted in timeouts).
 */
struct gw_api_limits {
	unsigned int max_conns;
	size_t max_request;
	unsigned int idle_timeout_ms;
};

/* Counters since gw_api_new(). */
struct gw_api_stats {
	uint64_t requests;     /* requests answered, errors included */
	uint64_t errors;       /* answers with status >= 400 (400/413 on bad input too) */
	uint64_t refused;      /* connections closed at once: max_conns reached */
	uint64_t timeouts;     /* connections closed by the idle timeout */
	uint64_t accepted;     /* connections accepted and served */
	uint64_t conns_active; /* connections open now */
};

#endif /* GW_API_T_H */
