/* A control-API server (gateway/api.c) on a thread of its own, for the
 * tests that talk to one: test_api_http.c and test_api_conns.c (the server
 * itself, through api_test.h) and test_gwctl.c (gwctl against canned answers). */
#ifndef GW_TESTS_API_SERVER_H
#define GW_TESTS_API_SERVER_H

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <uv.h>

#include "gw/api.h"

struct api_server {
	uv_loop_t loop;
	uv_async_t stop;
	struct gw_api *api;
	pthread_t thread;
};

static inline void api_server_stop_cb(uv_async_t *a)
{
	struct api_server *s = a->data;

	gw_api_free(s->api);
	uv_close((uv_handle_t *)a, NULL);
}

static inline void *api_server_thread(void *arg)
{
	struct api_server *s = arg;

	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Serves routes on address; handlers get ud. Fails the test if it cannot. */
static inline void api_server_start(struct api_server *s, const char *address,
				    const struct gw_api_route *routes, size_t n_routes,
				    const struct gw_api_limits *limits, void *ud)
{
	assert_int_equal(uv_loop_init(&s->loop), 0);
	s->api = gw_api_new(&s->loop, address, routes, n_routes, limits, ud);
	if (!s->api)
		fail_msg("gw_api_new(%s): %s", address, strerror(errno));
	assert_int_equal(uv_async_init(&s->loop, &s->stop, api_server_stop_cb), 0);
	s->stop.data = s;
	assert_int_equal(pthread_create(&s->thread, NULL, api_server_thread, s), 0);
}

static inline void api_server_stop(struct api_server *s)
{
	uv_async_send(&s->stop);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	/* 0 only if every handle of the server was closed. */
	assert_int_equal(uv_loop_close(&s->loop), 0);
}

#endif
