/* Unit tests for the control API server: a real server on a temporary unix
 * socket (its loop in a thread) answering real requests over real sockets. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <uv.h>

#include "gw/api.h"
#include "api_server.h"

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

static json_int_t stat_get(const char *name)
{
	json_t *j = get_stats();
	json_int_t v = json_integer_value(json_object_get(j, name));

	json_decref(j);
	return v;
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

/* --- tests --------------------------------------------------------------- */

static void test_json_round_trip(void **state)
{
	struct server *s = server_start(NULL);
	const char *body = "{\"service\":\"web\",\"backend\":\"10.1.0.11:80\"}";
	struct client *c = client_new(sock_path);
	struct reply r;
	json_t *j;

	client_sendf(c,
		     "POST /echo?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     strlen(body), body);
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(reply_has_header(&r, "Content-Type: application/json"));
	assert_true(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/echo");
	assert_string_equal(json_string_value(json_object_get(j, "query")), "x=1");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "body"), "backend")),
		"10.1.0.11:80");
	json_decref(j);
	reply_done(&r);

	/* Text answers keep their content type. */
	client_sendf(c, "GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(reply_has_header(&r, "Content-Type: text/plain; version=0.0.4"));
	assert_string_equal(r.body, "gw_up 1\n");
	reply_done(&r);
	client_free(c);
	server_stop(s);
}

static void test_keep_alive(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c = client_new(sock_path);
	struct reply r;

	client_sendf(c, "GET /hello HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_false(reply_has_header(&r, "Connection: close"));
	reply_done(&r);

	client_sendf(c, "GET /v1/services HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"services\":[]}\n");
	reply_done(&r);

	/* Pipelined: three requests in one write, three answers in order. */
	client_sendf(c, "GET /hello HTTP/1.1\r\nHost: gw\r\n\r\n"
			"POST /echo HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
			"GET /v1/services/db HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_string_equal(r.body, "{\"hello\":\"world\"}\n");
	reply_done(&r);
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"body\":{\"a\":1}"));
	reply_done(&r);
	assert_int_equal(client_reply(c, &r), 0);
	assert_string_equal(r.body, "{\"tail\":\"db\"}\n");
	reply_done(&r);

	/* Connection: close is honoured. */
	client_sendf(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(reply_has_header(&r, "Connection: close"));
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);

	/* HTTP/1.0 closes unless asked not to. */
	c = client_new(sock_path);
	client_sendf(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_true(reply_has_header(&r, "Connection: keep-alive"));
	reply_done(&r);
	client_sendf(c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);
	server_stop(s);
}

static void test_not_found(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c = client_new(sock_path);
	struct reply r;
	json_t *j;

	client_sendf(c, "GET /v2/nothing HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(reply_has_header(&r, "Content-Type: application/json"));
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "no API path \"/v2/nothing\"");
	json_decref(j);
	reply_done(&r);

	/* A prefix route needs something after the prefix. */
	client_sendf(c, "GET /v1/services/ HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 404);
	reply_done(&r);

	/* The connection survives a 404. */
	client_sendf(c, "GET /v1/services/a%%2Fb HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"tail\":\"a/b\"}\n");
	reply_done(&r);

	/* Bad percent-encoding in the path. */
	client_sendf(c, "GET /v1/services/%%zz HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 400);
	reply_done(&r);
	client_sendf(c, "GET /v1/services/a%%00b HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 400);
	reply_done(&r);

	/* A handler that answers nothing yields 500. */
	client_sendf(c, "GET /noanswer HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 500);
	reply_done(&r);
	client_free(c);
	server_stop(s);
}

static void test_method_not_allowed(void **state)
{
	struct server *s = server_start(NULL);
	struct reply r;
	json_t *j;

	assert_int_equal(
		request(sock_path, "POST /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r), 405);
	assert_true(reply_has_header(&r, "Allow: GET"));
	j = reply_json(&r);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "POST"));
	json_decref(j);
	reply_done(&r);

	assert_int_equal(request(sock_path, "GET /echo HTTP/1.1\r\n\r\n", &r), 405);
	assert_true(reply_has_header(&r, "Allow: POST, PUT"));
	reply_done(&r);

	/* A POST without a JSON body is the handler's 400. */
	assert_int_equal(
		request(sock_path, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]", &r), 400);
	reply_done(&r);
	assert_int_equal(
		request(sock_path, "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\n{bad", &r),
		400);
	j = reply_json(&r);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "invalid JSON"));
	json_decref(j);
	reply_done(&r);
	server_stop(s);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"GET /hello HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		"GET /hello XTTP/1.1\r\n\r\n",
		"GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET /hello HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};
	struct server *s = server_start(NULL);
	struct client *c;
	struct reply r;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = client_new(sock_path);
		client_send(c, bad[i], strlen(bad[i]));
		assert_int_equal(client_reply(c, &r), 0);
		if (r.status != 400)
			fail_msg("%s: status %d", bad[i], r.status);
		assert_true(reply_has_header(&r, "Connection: close"));
		j = reply_json(&r);
		assert_non_null(
			strstr(json_string_value(json_object_get(j, "error")), "malformed"));
		json_decref(j);
		reply_done(&r);
		assert_true(client_closed(c));
		client_free(c);
	}
	assert_true(stat_get("errors") >= (json_int_t)i);

	/* Well-formed, but not HTTP/1.x. */
	c = client_new(sock_path);
	client_sendf(c, "GET /hello HTTP/9.9\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 505);
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);
	server_stop(s);
}

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

static void test_expect_continue(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c = client_new(sock_path);
	struct reply r;

	client_sendf(c, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 100);
	reply_done(&r);
	client_sendf(c, "{\"a\":2}");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	reply_done(&r);
	client_free(c);
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

static void test_query(void **state)
{
	struct gw_api_request req = {.query = "a=1&service=web%2Dv2&empty&sp=a+b&bad=%zz"};
	char buf[16], tiny[3];

	assert_int_equal(gw_api_query_get(&req, "service", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "web-v2");
	assert_int_equal(gw_api_query_get(&req, "a", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
	assert_int_equal(gw_api_query_get(&req, "empty", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(gw_api_query_get(&req, "sp", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a b");
	assert_int_equal(gw_api_query_get(&req, "bad", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(gw_api_query_get(&req, "nope", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(gw_api_query_get(&req, "service", tiny, sizeof(tiny)), -ENOSPC);
	req.query = "";
	assert_int_equal(gw_api_query_get(&req, "a", buf, sizeof(buf)), -ENOENT);
}

static void test_query_over_http(void **state)
{
	struct server *s = server_start(NULL);
	struct reply r;

	assert_int_equal(request(sock_path, "GET /query?service=db%2D1 HTTP/1.1\r\n\r\n", &r), 200);
	assert_string_equal(r.body, "{\"service\":\"db-1\"}\n");
	reply_done(&r);
	assert_int_equal(request(sock_path, "GET /query HTTP/1.1\r\n\r\n", &r), 400);
	reply_done(&r);
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
		cmocka_unit_test_setup_teardown(test_json_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_socket_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test(test_query),
		cmocka_unit_test_setup_teardown(test_query_over_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
	};

	/* As gatewayd must (see gw_api_new()). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
