/* The rig of the control-API suites (test_api_http.c, test_api_conns.c): a
 * server with canned routes on a temporary unix socket, its loop in a thread,
 * and a raw HTTP client that talks to it over real sockets. */
#ifndef GW_TESTS_API_TEST_H
#define GW_TESTS_API_TEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "gw/api.h"
#include "api_server.h"

/* Plain static functions: both suites use every one of them (a helper only
 * one suite needs, like stat_get(), stays in that suite). */

#define IO_TIMEOUT_MS 5000

/* --- a server with its loop in a thread ---------------------------------- */

struct server {
	struct api_server srv;
	char address[128];
};

static char tmpdir[64];
static char sock_path[128];

static void h_hello(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	gw_api_reply_json(resp, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_echo(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	json_t *body = gw_api_body_json(req, resp);

	if (!body)
		return;
	gw_api_reply_json(resp, 200,
			  json_pack("{s:s, s:s, s:s, s:o, s:I}", "method", req->method, "path",
				    req->path, "query", req->query, "body", body, "len",
				    (json_int_t)req->body_len));
}

static void h_service(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	gw_api_reply_json(resp, 200, json_pack("{s:s}", "tail", req->tail));
}

static void h_services(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	gw_api_reply_json(resp, 200, json_pack("{s:[]}", "services"));
}

static void h_stats(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct server *s = ud;
	struct gw_api_stats st;

	gw_api_stats(s->srv.api, &st);
	gw_api_reply_json(resp, 200,
			  json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
				    (json_int_t)st.requests, "errors", (json_int_t)st.errors,
				    "refused", (json_int_t)st.refused, "timeouts",
				    (json_int_t)st.timeouts, "accepted", (json_int_t)st.accepted,
				    "active", (json_int_t)st.conns_active));
}

static void h_noanswer(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
}

static void h_query(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	char v[32];
	int r = gw_api_query_get(req, "service", v, sizeof(v));

	if (r)
		gw_api_reply_error(resp, 400, "query: %s", strerror(-r));
	else
		gw_api_reply_json(resp, 200, json_pack("{s:s}", "service", v));
}

static void h_metrics(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	static const char text[] = "gw_up 1\n";

	gw_api_reply_text(resp, 200, "text/plain; version=0.0.4", text, sizeof(text) - 1);
}

/* An answer larger than any socket buffer. */
static void h_big(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	size_t len = 8 << 20;
	char *text = malloc(len);

	assert_non_null(text);
	memset(text, 'a', len);
	gw_api_reply_text(resp, 200, "text/plain", text, len);
	free(text);
}

static const struct gw_api_route routes[] = {
	{"GET", "/hello", 0, h_hello},
	{"POST", "/echo", 0, h_echo},
	{"PUT", "/echo", 0, h_echo},
	{"GET", "/v1/services", 0, h_services},
	{"GET", "/v1/services/", 1, h_service},
	{"GET", "/stats", 0, h_stats},
	{"GET", "/noanswer", 0, h_noanswer},
	{"GET", "/query", 0, h_query},
	{"GET", "/metrics", 0, h_metrics},
	{"GET", "/big", 0, h_big},
};

static struct server *server_start_at(const char *address, const struct gw_api_limits *limits)
{
	struct server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	snprintf(s->address, sizeof(s->address), "%s", address);
	api_server_start(&s->srv, address, routes, sizeof(routes) / sizeof(routes[0]), limits, s);
	return s;
}

static struct server *server_start(const struct gw_api_limits *limits)
{
	return server_start_at(sock_path, limits);
}

static void server_stop(struct server *s)
{
	api_server_stop(&s->srv);
	free(s);
}

/* --- a raw HTTP client ---------------------------------------------------- */

struct client {
	int fd;
	char buf[256 * 1024];
	size_t len;
};

struct reply {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
};

static void fd_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_MS / 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -errno;
	}
	fd_timeouts(fd);
	return fd;
}

static struct client *client_new(const char *path)
{
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = unix_connect(path);
	assert_true(c->fd >= 0);
	return c;
}

static void client_free(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void client_send(struct client *c, const char *data, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(c->fd, data, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

static void client_sendf(struct client *c, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	client_send(c, s, (size_t)n);
	free(s);
}

/* Read more input; 0 on EOF or reset, else bytes read. */
static ssize_t client_fill(struct client *c)
{
	ssize_t n;

	assert_true(c->len < sizeof(c->buf));
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		fail_msg("no answer within %d ms", IO_TIMEOUT_MS);
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return n;
}

/* Read one response; returns 0, or -1 if the connection ended first. */
static int client_reply(struct client *c, struct reply *r)
{
	char *end, *cl;
	size_t hlen, clen, total;

	memset(r, 0, sizeof(*r));
	for (;;) {
		end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end)
			break;
		if (!client_fill(c))
			return -1;
	}
	hlen = (size_t)(end - c->buf) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, c->buf, hlen);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	cl = strcasestr(r->head, "\r\nContent-Length: ");
	clen = cl ? strtoul(cl + 18, NULL, 10) : 0;
	total = hlen + clen;
	while (c->len < total)
		if (!client_fill(c))
			return -1;
	r->body = malloc(clen + 1);
	assert_non_null(r->body);
	memcpy(r->body, c->buf + hlen, clen);
	r->body[clen] = '\0';
	r->body_len = clen;
	memmove(c->buf, c->buf + total, c->len - total);
	c->len -= total;
	return 0;
}

static void reply_done(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}

static int reply_has_header(const struct reply *r, const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strstr(r->head, want) != NULL;
}

static json_t *reply_json(const struct reply *r)
{
	json_error_t err;
	json_t *j = json_loadb(r->body, r->body_len, 0, &err);

	if (!j)
		fail_msg("bad JSON answer (%s): %s", err.text, r->body);
	return j;
}

/* True if the server closed the connection (EOF or reset) with nothing more. */
static int client_closed(struct client *c)
{
	char b[64];
	ssize_t n = recv(c->fd, b, sizeof(b), 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		fail_msg("connection still open after %d ms", IO_TIMEOUT_MS);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* One request on a new connection; returns the status, body in @r. */
static int request(const char *path, const char *raw, struct reply *r)
{
	struct client *c = client_new(path);
	int ret;

	client_send(c, raw, strlen(raw));
	ret = client_reply(c, r);
	client_free(c);
	return ret ? -1 : r->status;
}

static json_t *get_stats(void)
{
	struct reply r;
	json_t *j;

	assert_int_equal(request(sock_path, "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
	j = reply_json(&r);
	reply_done(&r);
	return j;
}

/* --- fixtures ------------------------------------------------------------ */

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gw-test-api.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/gw1.sock", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
