/* Control API server: HTTP/1.1 (http-parser) + JSON (jansson) on a unix
 * socket or TCP, driven by libuv; keep-alive, one request at a time per
 * connection (api-conn.c). This is the server's life: limits, routes, the
 * listener, and connections refused over the limit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "gw/api.h"
#include "api-int.h"

#define API_MAX_CONNS_LIMIT 65536
#define API_MAX_REQ_LIMIT   (64 * 1024 * 1024)
#define API_MAX_IDLE_LIMIT  (3600 * 1000)

/* A connection refused over max_conns: accepted only to be closed. */
struct api_refused {
	struct gw_api *api;
	union api_stream h;
};

void gw_api_unref(struct gw_api *api)
{
	if (--api->refs == 0 && api->closing)
		free(api);
}

/* --- listener ----------------------------------------------------------- */

int gw_api_stream_init(struct gw_api *api, union api_stream *h)
{
	if (api->is_unix)
		return uv_pipe_init(api->loop, &h->pipe, 0);
	return uv_tcp_init(api->loop, &h->tcp);
}

static void refused_closed(uv_handle_t *h)
{
	struct api_refused *r = h->data;

	gw_api_unref(r->api);
	free(r);
}

static void api_refuse(struct gw_api *api, uv_stream_t *server)
{
	struct api_refused *r = calloc(1, sizeof(*r));

	/* Without memory the connection stays in the backlog until one closes. */
	if (!r)
		return;
	r->api = api;
	r->h.handle.data = r;
	gw_api_stream_init(api, &r->h);
	api->refs++;
	api->stats.refused++;
	uv_accept(server, &r->h.stream);
	uv_close(&r->h.handle, refused_closed);
}

static void api_connection(uv_stream_t *server, int status)
{
	struct gw_api *api = server->data;

	if (status < 0 || api->closing)
		return;
	if (api->n_conns >= api->limits.max_conns || gw_api_conn_accept(api, server) < 0)
		api_refuse(api, server);
}

static int limits_apply(struct gw_api_limits *l, const struct gw_api_limits *in)
{
	if (in)
		*l = *in;
	if (!l->max_conns)
		l->max_conns = GW_API_DEFAULT_MAX_CONNS;
	if (!l->max_request)
		l->max_request = GW_API_DEFAULT_MAX_REQUEST;
	if (!l->idle_timeout_ms)
		l->idle_timeout_ms = GW_API_DEFAULT_IDLE_TIMEOUT_MS;
	if (l->max_conns > API_MAX_CONNS_LIMIT || l->max_request > API_MAX_REQ_LIMIT ||
	    l->idle_timeout_ms > API_MAX_IDLE_LIMIT)
		return -EINVAL;
	return 0;
}

static int routes_check(const struct gw_api_route *routes, size_t n)
{
	size_t i;

	if (n && !routes)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!routes[i].method || !routes[i].path || routes[i].path[0] != '/' ||
		    !routes[i].fn)
			return -EINVAL;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	gw_api_unref(h->data);
}

struct gw_api *gw_api_new(uv_loop_t *loop, const char *address, const struct gw_api_route *routes,
			  size_t n_routes, const struct gw_api_limits *limits, void *ud)
{
	struct gw_api *api;
	int fd, r;

	if (!loop || !address)
		return errno = EINVAL, NULL;
	api = calloc(1, sizeof(*api));
	if (!api)
		return NULL;
	r = limits_apply(&api->limits, limits);
	if (!r)
		r = routes_check(routes, n_routes);
	if (r)
		goto err_free;
	api->loop = loop;
	api->routes = routes;
	api->n_routes = n_routes;
	api->ud = ud;
	if (!strncmp(address, "unix:", 5) || address[0] == '/') {
		const char *path = address[0] == '/' ? address : address + 5;
		struct stat st;

		api->is_unix = 1;
		fd = gw_api_listen_unix(path, &st);
		if (fd >= 0) {
			snprintf(api->path, sizeof(api->path), "%s", path);
			api->dev = st.st_dev;
			api->ino = st.st_ino;
		}
	} else {
		fd = gw_api_listen_tcp(address);
	}
	if (fd < 0) {
		r = fd;
		goto err_free;
	}
	/* From here the handle exists and only the loop can release it. */
	api->refs = 1;
	gw_api_stream_init(api, &api->listener);
	api->listener.handle.data = api;
	r = api->is_unix ? uv_pipe_open(&api->listener.pipe, fd)
			 : uv_tcp_open(&api->listener.tcp, fd);
	if (r < 0) {
		close(fd);
		goto err_close;
	}
	r = uv_listen(&api->listener.stream, API_BACKLOG, api_connection);
	if (r < 0)
		goto err_close;
	return api;

err_close:
	gw_api_free(api);
	errno = -r;
	return NULL;
err_free:
	free(api);
	errno = -r;
	return NULL;
}

void gw_api_free(struct gw_api *api)
{
	struct stat st;

	if (!api || api->closing)
		return;
	api->closing = 1;
	/* Unlink only our socket file: a newer daemon may own the path now. */
	if (api->is_unix && api->path[0] && stat(api->path, &st) == 0 && st.st_dev == api->dev &&
	    st.st_ino == api->ino)
		unlink(api->path);
	gw_api_conns_close(api);
	uv_close(&api->listener.handle, listener_closed);
}

void gw_api_stats(const struct gw_api *api, struct gw_api_stats *ret_stats)
{
	*ret_stats = api->stats;
}

int gw_api_local_port(const struct gw_api *api)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), r;

	if (api->is_unix)
		return -EAFNOSUPPORT;
	r = uv_tcp_getsockname(&api->listener.tcp, (struct sockaddr *)&ss, &len);
	if (r < 0)
		return r;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}
