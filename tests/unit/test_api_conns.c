/* Unit tests for the control API server's connections and sockets: request
 * size, connection and idle limits, clients that leave, the unix socket file,
 * the TCP listener, bad arguments and the counters (rig in api_test.h). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <uv.h>

#include "gw/api.h"
#include "api_test.h"

/* --- tests --------------------------------------------------------------- */

static void test_oversized(void **state)
{
	struct server *s = server_start(NULL);
	size_t big = GW_API_DEFAULT_MAX_REQUEST + 1000, fit = GW_API_DEFAULT_MAX_REQUEST - 200;
	char *pad = malloc(big + 1);
	struct client *c;
	struct reply r;

	assert_non_null(pad);
	memset(pad, 'x', big);
	pad[big] = '\0';

	/* Announced body over the limit: 413 before reading it, then close. */
	c = client_new(sock_path);
	client_sendf(c, "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", big);
	client_send(c, pad, big);
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 413);
	assert_true(reply_has_header(&r, "Connection: close"));
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);

	/* Headers over the limit. */
	c = client_new(sock_path);
	client_sendf(c, "GET /hello HTTP/1.1\r\nX-Pad: %s\r\n\r\n", pad);
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 413);
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);

	/* Chunked body over the limit. */
	c = client_new(sock_path);
	client_sendf(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", big);
	client_send(c, pad, big);
	client_sendf(c, "\r\n0\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 413);
	reply_done(&r);
	client_free(c);

	/* Just under the limit, across several reads: served. */
	c = client_new(sock_path);
	pad[fit - 100] = '\0';
	client_sendf(c, "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n{\"p\":\"%s\"}",
		     strlen(pad) + 8, pad);
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	reply_done(&r);
	client_free(c);
	free(pad);
	server_stop(s);
}

static void test_connection_limit(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c[GW_API_DEFAULT_MAX_CONNS], *extra;
	struct reply r;
	json_t *j;
	int i, ok = 0;

	for (i = 0; i < GW_API_DEFAULT_MAX_CONNS; i++) {
		c[i] = client_new(sock_path);
		client_sendf(c[i], "GET /hello HTTP/1.1\r\n\r\n");
		assert_int_equal(client_reply(c[i], &r), 0);
		assert_int_equal(r.status, 200);
		reply_done(&r);
	}
	/* The 65th is accepted by the kernel, then closed by the server. */
	extra = client_new(sock_path);
	assert_true(client_closed(extra));
	client_free(extra);

	client_sendf(c[0], "GET /stats HTTP/1.1\r\n\r\n");
	assert_int_equal(client_reply(c[0], &r), 0);
	j = reply_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "refused")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "active")),
			 GW_API_DEFAULT_MAX_CONNS);
	json_decref(j);
	reply_done(&r);

	/* A freed slot serves again (the close may be seen after the connect). */
	client_free(c[GW_API_DEFAULT_MAX_CONNS - 1]);
	for (i = 0; i < 50 && !ok; i++) {
		extra = client_new(sock_path);
		client_sendf(extra, "GET /hello HTTP/1.1\r\n\r\n");
		ok = client_reply(extra, &r) == 0 && r.status == 200;
		reply_done(&r);
		client_free(extra);
		if (!ok)
			usleep(20000);
	}
	assert_true(ok);
	for (i = 0; i < GW_API_DEFAULT_MAX_CONNS - 1; i++)
		client_free(c[i]);
	server_stop(s);
}

static void test_idle_timeout(void **state)
{
	struct gw_api_limits lim = {.idle_timeout_ms = 200};
	struct server *s = server_start(&lim);
	struct client *c = client_new(sock_path);
	struct client *partial = client_new(sock_path);
	struct timespec t0, t1;
	struct reply r;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A request that never completes does not hold the connection either. */
	client_sendf(partial, "GET /hello HTTP/1.1\r\nHost:");
	assert_true(client_closed(c));
	assert_true(client_closed(partial));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 150 && ms < 3000);
	client_free(c);
	client_free(partial);

	/* Trickling a byte at a time does not extend the deadline. */
	c = client_new(sock_path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	client_sendf(c, "GET /hello HTTP/1.1\r\nX-Slow: ");
	for (ms = 0; ms < 40; ms++) {
		if (send(c->fd, "a", 1, MSG_NOSIGNAL) != 1)
			break;
		usleep(50000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(client_closed(c));
	assert_true(ms < 1500);
	client_free(c);

	assert_int_equal(request(sock_path, "GET /stats HTTP/1.1\r\n\r\n", &r), 200);
	assert_non_null(strstr(r.body, "\"timeouts\":3"));
	reply_done(&r);
	server_stop(s);
}

static void test_socket_mode(void **state)
{
	char dir[160], path[192], addr[256];
	struct server *s;
	struct stat st;

	/* The missing parent directory is created 0755. */
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	snprintf(path, sizeof(path), "%s/gw2.sock", dir);
	s = server_start_at(path, NULL);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	server_stop(s);
	/* gw_api_free() removed the socket. */
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* "unix:" prefix form. */
	snprintf(addr, sizeof(addr), "unix:%s", path);
	s = server_start_at(addr, NULL);
	assert_int_equal(stat(path, &st), 0);
	server_stop(s);
}

static void test_stale_socket_replaced(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct server *s;
	struct reply r;
	struct stat st;
	int fd;

	/* A socket file with no listener: what a crashed daemon leaves. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(unix_connect(sock_path), -ECONNREFUSED);

	s = server_start(NULL);
	assert_int_equal(request(sock_path, "GET /hello HTTP/1.1\r\n\r\n", &r), 200);
	reply_done(&r);
	server_stop(s);
}

static void test_live_socket_refused(void **state)
{
	struct server *s = server_start(NULL);
	uv_loop_t loop;
	struct reply r;
	struct stat st;
	FILE *f;

	assert_int_equal(uv_loop_init(&loop), 0);
	errno = 0;
	assert_null(gw_api_new(&loop, sock_path, routes, 1, NULL, NULL));
	assert_int_equal(errno, EADDRINUSE);
	/* The running server is untouched. */
	assert_int_equal(request(sock_path, "GET /hello HTTP/1.1\r\n\r\n", &r), 200);
	reply_done(&r);
	server_stop(s);

	/* A path that is not a socket is left alone. */
	f = fopen(sock_path, "w");
	assert_non_null(f);
	fputs("keep me", f);
	fclose(f);
	errno = 0;
	assert_null(gw_api_new(&loop, sock_path, routes, 1, NULL, NULL));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(sock_path);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_arguments(void **state)
{
	static const struct gw_api_route bad_route[] = {{"GET", "no-slash", 0, h_hello}};
	static const char *const bad_addr[] = {
		"",	      "unix:", "localhost:80", "1.2.3.4", "1.2.3.4:99999",
		"1.2.3.4:-1", "[::1]", "1.2.3.4:",
	};
	struct gw_api_limits lim = {.max_request = (size_t)1 << 40};
	char longpath[256];
	uv_loop_t loop;
	size_t i;

	assert_int_equal(uv_loop_init(&loop), 0);
	for (i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		errno = 0;
		assert_null(gw_api_new(&loop, bad_addr[i], routes, 1, NULL, NULL));
		if (errno != EINVAL)
			fail_msg("%s: %s", bad_addr[i], strerror(errno));
	}
	errno = 0;
	assert_null(gw_api_new(&loop, sock_path, bad_route, 1, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(gw_api_new(&loop, sock_path, routes, 1, &lim, NULL));
	assert_int_equal(errno, EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	errno = 0;
	assert_null(gw_api_new(&loop, longpath, routes, 1, NULL, NULL));
	assert_int_equal(errno, ENAMETOOLONG);
	gw_api_free(NULL);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_client_gone(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c;
	struct reply r;
	char buf[4096];
	int i;

	/* Clients that leave in the middle of a large answer. */
	for (i = 0; i < 3; i++) {
		c = client_new(sock_path);
		client_sendf(c, "GET /big HTTP/1.1\r\n\r\n");
		assert_true(recv(c->fd, buf, sizeof(buf), 0) > 0);
		client_free(c);
	}
	/* ... and one that leaves before its answer. */
	c = client_new(sock_path);
	client_sendf(c, "GET /hello HTTP/1.1\r\n\r\n");
	client_free(c);

	assert_int_equal(request(sock_path, "GET /hello HTTP/1.1\r\n\r\n", &r), 200);
	reply_done(&r);
	server_stop(s);
}

static void test_tcp(void **state)
{
	struct server *s = server_start_at("127.0.0.1:0", NULL);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct client *c = calloc(1, sizeof(*c));
	struct reply r;
	int port;

	assert_non_null(c);
	port = gw_api_local_port(s->srv.api);
	assert_true(port > 0);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fd_timeouts(c->fd);
	client_sendf(c, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "gw_up 1\n");
	reply_done(&r);
	client_free(c);
	server_stop(s);
}

static void test_counters(void **state)
{
	struct server *s = server_start(NULL);
	struct reply r;
	json_t *j;

	assert_int_equal(request(sock_path, "GET /hello HTTP/1.1\r\n\r\n", &r), 200);
	reply_done(&r);
	assert_int_equal(request(sock_path, "GET /nope HTTP/1.1\r\n\r\n", &r), 404);
	reply_done(&r);
	assert_int_equal(request(sock_path, "BAD\r\n\r\n", &r), 400);
	reply_done(&r);
	j = get_stats(); /* counted when its answer is sent: after the snapshot */
	assert_int_equal(json_integer_value(json_object_get(j, "requests")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "errors")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "refused")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "accepted")), 4);
	json_decref(j);
	server_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_socket_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
	};

	/* As gatewayd must (see gw_api_new()). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
