/* Control API server: HTTP/1.1 + JSON on a unix socket (or TCP, for
 * /metrics) driven by a libuv loop, with a static route table. */
#ifndef GW_API_H
#define GW_API_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "gw/api-t.h"

/*
 * Start serving on @address:
 *   "unix:/run/isthmus/gw1.sock" or "/run/isthmus/gw1.sock"  unix socket
 *   "127.0.0.1:9400", "[::1]:9400"                           TCP (numeric host;
 *                                                            port 0 picks one)
 *
 * A unix socket is created with mode 0660; a missing parent directory is
 * created with mode 0755 (one level). An existing socket file nobody answers
 * on (left by a crashed daemon) is replaced; one that answers is not touched.
 *
 * @routes must stay valid until gw_api_free(); @limits may be NULL (defaults)
 * and is copied; @ud is passed to every handler.
 *
 * The process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)), as every libuv
 * program on Linux: libuv writes with write(2), and a client that goes away
 * while its answer is written would otherwise kill the daemon.
 *
 * Returns the server, or NULL with errno:
 *   EINVAL        bad address, route or limit;
 *   ENAMETOOLONG  unix path longer than GW_API_UNIX_PATH_MAX;
 *   EADDRINUSE    another process answers on the socket, or the TCP port is taken;
 *   EEXIST        the path exists and is not a socket (left alone);
 *   ENOMEM, or the errno of mkdir/bind/listen/chmod.
 */
struct gw_api *gw_api_new(uv_loop_t *loop, const char *address, const struct gw_api_route *routes,
			  size_t n_routes, const struct gw_api_limits *limits, void *ud);

/*
 * Stop serving: close the listener and every connection and unlink the unix
 * socket (if it is still ours). Handles close asynchronously: the memory is
 * released by the loop, so run the loop (uv_run) before uv_loop_close().
 * NULL is ok. Must not be called from a handler.
 */
void gw_api_free(struct gw_api *api);

/* Counters since gw_api_new(); call it on the loop thread. */
void gw_api_stats(const struct gw_api *api, struct gw_api_stats *ret_stats);

/* The bound TCP port (useful after port 0), or -EAFNOSUPPORT for a unix socket. */
int gw_api_local_port(const struct gw_api *api);

/* Answer @status with @body serialised compactly (steals @body; NULL answers 500). */
void gw_api_reply_json(struct gw_api_response *resp, int status, json_t *body);

/* Answer @status with {"error": "<printf-formatted message>"}. */
void gw_api_reply_error(struct gw_api_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Answer @status with @len bytes of @text (copied), e.g. Prometheus text. */
void gw_api_reply_text(struct gw_api_response *resp, int status, const char *content_type,
		       const char *text, size_t len);

/*
 * Parse the request body as a JSON object. On failure answer 400 (naming the
 * JSON error) in @resp and return NULL. The caller owns the result.
 */
json_t *gw_api_body_json(const struct gw_api_request *req, struct gw_api_response *resp);

/*
 * Copy the percent-decoded value of query parameter @key ("+" is a space)
 * into @buf. Returns 0, -ENOENT (absent), -ENOSPC (@size too small) or
 * -EINVAL (bad percent-encoding or an encoded NUL).
 */
int gw_api_query_get(const struct gw_api_request *req, const char *key, char *buf, size_t size);

#endif /* GW_API_H */
