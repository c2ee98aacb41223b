/* What the control API's server (api.c), its connections (api-conn.c),
 * listening sockets (api-listen.c) and reply helpers (api-msg.c) share. */
#ifndef GW_API_INT_H
#define GW_API_INT_H

#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "gw/api.h"

#define API_JSON    "application/json"
#define API_BACKLOG 128

struct stat;
struct api_conn;

union api_stream {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
};

struct gw_api {
	uv_loop_t *loop;
	union api_stream listener;
	int is_unix;
	char path[GW_API_UNIX_PATH_MAX + 1];
	dev_t dev; /* identity of our socket file: unlink only that */
	ino_t ino;
	const struct gw_api_route *routes;
	size_t n_routes;
	struct gw_api_limits limits;
	void *ud;
	struct api_conn *conns;
	unsigned int n_conns;
	unsigned int refs; /* listener + connections + refused: freed at 0 when closing */
	int closing;
	struct gw_api_stats stats;
};

/* The server (api.c): drop a reference (the last one of a closing server
 * frees it); init a pipe or TCP handle, as the server listens on. */
void gw_api_unref(struct gw_api *api);
int gw_api_stream_init(struct gw_api *api, union api_stream *h);

/* Connections (api-conn.c). Accept one from the listener and start reading
 * its requests: 0 (a failed accept closes the connection), or -ENOMEM when
 * nothing was accepted, so the caller can refuse it. */
int gw_api_conn_accept(struct gw_api *api, uv_stream_t *server);
/* Close every connection (their memory goes when the loop closes them). */
void gw_api_conns_close(struct gw_api *api);

/* Sets the answer, taking body (malloc'd, or NULL) over. */
void gw_api_resp_set(struct gw_api_response *resp, int status, const char *ctype, char *body,
		     size_t len);
/* Last resort when even building an error fails: status and a fixed body. */
void gw_api_resp_fixed(struct gw_api_response *resp, int status, const char *json);
/* Decodes len bytes of s into out (room for size bytes with the NUL);
 * 0, -EINVAL (bad escape, NUL) or -ENOSPC. */
int gw_api_pct_decode(const char *s, size_t len, int plus_is_space, char *out, size_t size);

/* Listening sockets (api-listen.c), non-blocking, fd or -errno. A unix
 * socket's parent directory is created, a stale socket file (nobody
 * answers) removed, and the socket made 0660 before it listens; ret_st
 * identifies the file, so that only this one is removed at exit. */
int gw_api_listen_unix(const char *path, struct stat *ret_st);
/* "host:port" or "[v6]:port", numeric host only. */
int gw_api_listen_tcp(const char *address);

#endif
