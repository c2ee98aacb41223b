/* The control API's connections: HTTP/1.1 requests parsed with http-parser,
 * routed to their handler and answered one at a time (keep-alive,
 * pipelining, 100-continue, limits, idle timeouts, lingering close). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <jansson.h>
#include <uv.h>

#include "gw/api.h"
#include "api-int.h"

#define API_READ_BUF   16384
#define API_LINGER_MS  1000	     /* after a closing answer, drain input this long */
#define API_LINGER_MAX (1024 * 1024) /* ... or this many bytes, then close */

enum conn_state {
	CONN_READING, /* parsing a request */
	CONN_WRITING, /* one answer in flight; reading stopped, rest of input kept */
	CONN_LINGER,  /* answered with "Connection: close": drop input until EOF */
	CONN_CLOSING,
};

struct api_conn {
	struct gw_api *api;
	struct api_conn *prev, *next;
	union api_stream h;
	uv_timer_t timer;
	int open_handles;
	enum conn_state state;
	int reading;
	http_parser parser;

	/* The current request. */
	const char *exec_start; /* first byte of the current http_parser_execute() */
	size_t req_bytes;	/* bytes of this request consumed by earlier executes */
	char *url;
	size_t url_len, url_cap;
	char *body;
	size_t body_len, body_cap;
	int reject; /* status to answer when a callback stopped the parser */
	int complete;
	int keep_alive;
	int close_after;
	/* Just enough header tracking to honour "Expect: 100-continue". */
	int in_value;
	char hdr_name[8];
	size_t hdr_name_len;
	char hdr_value[16];
	size_t hdr_value_len;
	int expect_continue;

	size_t linger_bytes;
	uv_write_t wreq;
	uv_write_t creq; /* "100 Continue" */
	char *wbuf;
	uv_shutdown_t sreq;
	size_t rpos, rlen; /* unparsed input in rbuf */
	char rbuf[API_READ_BUF];
};

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void conn_parse(struct api_conn *c);
static const http_parser_settings api_parser_settings;

/* --- connections -------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
	struct api_conn *c = h->data;

	if (--c->open_handles)
		return;
	free(c->url);
	free(c->body);
	free(c->wbuf);
	gw_api_unref(c->api);
	free(c);
}

static void conn_close(struct api_conn *c)
{
	struct gw_api *api = c->api;

	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	if (c->prev)
		c->prev->next = c->next;
	else
		api->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	api->n_conns--;
	api->stats.conns_active--;
	uv_close(&c->h.handle, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void conn_timeout(uv_timer_t *t)
{
	struct api_conn *c = t->data;

	if (c->state != CONN_LINGER)
		c->api->stats.timeouts++;
	conn_close(c);
}

static void conn_timer_start(struct api_conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, conn_timeout, ms, 0);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct api_conn *c = h->data;

	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct api_conn *c = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		/* EOF or error: a partial request is dropped with the connection. */
		conn_close(c);
		return;
	}
	if (c->state == CONN_LINGER) {
		c->linger_bytes += (size_t)nread;
		if (c->linger_bytes > API_LINGER_MAX)
			conn_close(c);
		return;
	}
	if (c->state != CONN_READING)
		return;
	c->rpos = 0;
	c->rlen = (size_t)nread;
	conn_parse(c);
}

static void conn_read_start(struct api_conn *c)
{
	if (c->reading)
		return;
	if (uv_read_start(&c->h.stream, conn_alloc, conn_read) < 0) {
		conn_close(c);
		return;
	}
	c->reading = 1;
}

static void conn_read_stop(struct api_conn *c)
{
	if (!c->reading)
		return;
	uv_read_stop(&c->h.stream);
	c->reading = 0;
}

static void request_reset(struct api_conn *c)
{
	c->req_bytes = 0;
	c->url_len = 0;
	c->body_len = 0;
	c->reject = 0;
	c->complete = 0;
	c->in_value = 0;
	c->hdr_name_len = 0;
	c->hdr_value_len = 0;
	c->expect_continue = 0;
}

static void conn_shutdown_done(uv_shutdown_t *req, int status)
{
	struct api_conn *c = req->data;

	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	/* Reading on until the peer's EOF avoids a reset that could destroy
	 * our answer before the client read it. */
	conn_read_start(c);
}

static void conn_linger(struct api_conn *c)
{
	unsigned int ms = c->api->limits.idle_timeout_ms;

	c->state = CONN_LINGER;
	conn_timer_start(c, ms < API_LINGER_MS ? ms : API_LINGER_MS);
	if (uv_shutdown(&c->sreq, &c->h.stream, conn_shutdown_done) < 0)
		conn_close(c);
}

static void conn_write_done(uv_write_t *req, int status)
{
	struct api_conn *c = req->data;

	free(c->wbuf);
	c->wbuf = NULL;
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->close_after) {
		conn_linger(c);
		return;
	}
	request_reset(c);
	c->state = CONN_READING;
	http_parser_pause(&c->parser, 0);
	conn_timer_start(c, c->api->limits.idle_timeout_ms);
	if (c->rpos < c->rlen)
		conn_parse(c); /* a pipelined request is already here */
	if (c->state == CONN_READING)
		conn_read_start(c);
}

static void continue_done(uv_write_t *req, int status)
{
	/* Nothing to free; a failed write shows up on the answer's write. */
}

static const char *status_reason(int status)
{
	const char *s = http_status_str((enum http_status)status);

	return s[0] == '<' ? "Unknown" : s;
}

/* Queue the answer and stop reading until it is written. */
static void conn_send(struct api_conn *c, struct gw_api_response *resp, const char *allow)
{
	const char *ctype = resp->content_type[0] ? resp->content_type : API_JSON;
	const char *conn_hdr = "";
	char head[512];
	uv_buf_t buf;
	int status = resp->status, n;

	if (status < 100 || status > 599) {
		status = 500;
		gw_api_resp_fixed(resp, 500, "{\"error\":\"handler gave an invalid status\"}\n");
	}
	if (c->close_after)
		conn_hdr = "Connection: close\r\n";
	else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
		conn_hdr = "Connection: keep-alive\r\n";
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s%s\r\n",
		     status, status_reason(status), ctype, resp->body_len,
		     allow && allow[0] ? "Allow: " : "", allow ? allow : "",
		     allow && allow[0] ? "\r\n" : "", conn_hdr);
	c->api->stats.requests++;
	if (status >= 400)
		c->api->stats.errors++;
	conn_read_stop(c);
	if (n < 0 || (size_t)n >= sizeof(head))
		c->wbuf = NULL;
	else
		c->wbuf = malloc((size_t)n + resp->body_len);
	if (!c->wbuf) {
		conn_close(c);
		return;
	}
	memcpy(c->wbuf, head, (size_t)n);
	if (resp->body_len)
		memcpy(c->wbuf + n, resp->body, resp->body_len);
	buf = uv_buf_init(c->wbuf, (unsigned int)((size_t)n + resp->body_len));
	c->state = CONN_WRITING;
	/* The client gets a whole idle period to read the answer. */
	conn_timer_start(c, c->api->limits.idle_timeout_ms);
	if (uv_write(&c->wreq, &c->h.stream, &buf, 1, conn_write_done) < 0)
		conn_close(c);
}

/* Answer a request that cannot be parsed (or is too large) and close. */
static void conn_fail(struct api_conn *c, int status, const char *what)
{
	struct gw_api_response resp = {0};

	if (status == 413)
		gw_api_reply_error(&resp, 413, "request too large: the limit is %zu bytes",
				   c->api->limits.max_request);
	else
		gw_api_reply_error(&resp, status, "malformed HTTP request: %s", what);
	c->close_after = 1;
	conn_send(c, &resp, NULL);
	free(resp.body);
}

/* First route matching path and method; else fill @allow with the methods
 * that would match the path. */
static const struct gw_api_route *route_find(const struct gw_api *api, const char *method,
					     const char *path, const char **ret_tail, char *allow,
					     size_t allow_size)
{
	const struct gw_api_route *r;
	size_t i, plen, used = 0;
	const char *tail;

	for (i = 0; i < api->n_routes; i++) {
		r = &api->routes[i];
		plen = strlen(r->path);
		if (r->prefix) {
			if (strncmp(path, r->path, plen) || !path[plen])
				continue;
			tail = path + plen;
		} else {
			if (strcmp(path, r->path))
				continue;
			tail = "";
		}
		if (!strcmp(method, r->method)) {
			*ret_tail = tail;
			return r;
		}
		/* List each method once, in route order. */
		if (!strstr(allow, r->method) && used + strlen(r->method) + 3 < allow_size) {
			used += (size_t)snprintf(allow + used, allow_size - used, "%s%s",
						 used ? ", " : "", r->method);
		}
	}
	return NULL;
}

static void conn_dispatch(struct api_conn *c)
{
	struct gw_api *api = c->api;
	struct gw_api_response resp = {0};
	struct gw_api_request req;
	const struct gw_api_route *route;
	struct http_parser_url u;
	const char *method = http_method_str((enum http_method)c->parser.method), *tail = "";
	char *path = NULL, *query = NULL, allow[128] = "";
	size_t plen;

	if (!c->keep_alive || c->parser.upgrade)
		c->close_after = 1; /* after an upgrade the input is not HTTP any more */
	if (c->parser.http_major != 1) {
		c->close_after = 1;
		gw_api_reply_error(&resp, 505, "HTTP/%u.%u is not supported: use HTTP/1.1",
				   c->parser.http_major, c->parser.http_minor);
		goto send;
	}
	http_parser_url_init(&u);
	if (!c->url_len ||
	    http_parser_parse_url(c->url, c->url_len, c->parser.method == HTTP_CONNECT, &u) ||
	    !(u.field_set & (1 << UF_PATH))) {
		gw_api_reply_error(&resp, 400, "bad request target");
		goto send;
	}
	plen = u.field_data[UF_PATH].len;
	path = malloc(plen + 1);
	if (!path) {
		gw_api_resp_fixed(&resp, 500, "{\"error\":\"out of memory\"}\n");
		goto send;
	}
	if (gw_api_pct_decode(c->url + u.field_data[UF_PATH].off, plen, 0, path, plen + 1)) {
		gw_api_reply_error(&resp, 400, "bad percent-encoding in the path");
		goto send;
	}
	if (u.field_set & (1 << UF_QUERY))
		query = strndup(c->url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
	else
		query = strdup("");
	if (!query) {
		gw_api_resp_fixed(&resp, 500, "{\"error\":\"out of memory\"}\n");
		goto send;
	}
	route = route_find(api, method, path, &tail, allow, sizeof(allow));
	if (!route) {
		if (allow[0])
			gw_api_reply_error(&resp, 405,
					   "method %s is not allowed on %s (allowed: %s)", method,
					   path, allow);
		else
			gw_api_reply_error(&resp, 404, "no API path \"%s\"", path);
		goto send;
	}
	allow[0] = '\0';
	req.method = method;
	req.path = path;
	req.tail = tail;
	req.query = query;
	req.body = c->body_len ? c->body : "";
	req.body_len = c->body_len;
	route->fn(api->ud, &req, &resp);
	if (!resp.status)
		gw_api_resp_fixed(&resp, 500, "{\"error\":\"the handler gave no answer\"}\n");
send:
	conn_send(c, &resp, allow);
	free(resp.body);
	free(path);
	free(query);
}

static void conn_parse(struct api_conn *c)
{
	const char *data = c->rbuf + c->rpos;
	size_t len = c->rlen - c->rpos, n;
	enum http_errno err;

	c->exec_start = data;
	n = http_parser_execute(&c->parser, &api_parser_settings, data, len);
	c->rpos += n;
	c->req_bytes += n;
	err = HTTP_PARSER_ERRNO(&c->parser);
	if (c->reject)
		conn_fail(c, c->reject, "");
	else if (err == HPE_HEADER_OVERFLOW || c->req_bytes > c->api->limits.max_request)
		conn_fail(c, 413, "");
	else if (c->complete)
		conn_dispatch(c);
	else if (err != HPE_OK)
		conn_fail(c, 400, http_errno_description(err));
	else if (n != len)
		conn_fail(c, 400, "unexpected data");
}

/* --- http-parser callbacks ---------------------------------------------- */

static struct api_conn *parser_conn(http_parser *p)
{
	return p->data;
}

/* Request size so far, counting up to @end in the current input. */
static int over_limit(struct api_conn *c, const char *end)
{
	return c->req_bytes + (size_t)(end - c->exec_start) > c->api->limits.max_request;
}

static int buf_append(char **buf, size_t *len, size_t *cap, const char *at, size_t n)
{
	size_t want = *len + n + 1;
	char *nb;

	if (want > *cap) {
		if (want < 2 * *cap)
			want = 2 * *cap;
		nb = realloc(*buf, want);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = want;
	}
	memcpy(*buf + *len, at, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = parser_conn(p);

	if (over_limit(c, at + n)) {
		c->reject = 413;
		return -1;
	}
	return buf_append(&c->url, &c->url_len, &c->url_cap, at, n) ? -1 : 0;
}

/* A header name and value are complete: note "Expect: 100-continue". */
static void header_done(struct api_conn *c)
{
	if (c->hdr_name_len == 6 && !strncasecmp(c->hdr_name, "expect", 6) &&
	    c->hdr_value_len == 12 && !strncasecmp(c->hdr_value, "100-continue", 12))
		c->expect_continue = 1;
	c->hdr_name_len = 0;
	c->hdr_value_len = 0;
}

static void hdr_copy(char *dst, size_t size, size_t *len, const char *at, size_t n)
{
	/* Longer than any header we look for: remember only that it is long. */
	if (*len + n > size) {
		*len = size + 1;
		return;
	}
	memcpy(dst + *len, at, n);
	*len += n;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = parser_conn(p);

	if (over_limit(c, at + n)) {
		c->reject = 413;
		return -1;
	}
	if (c->in_value) {
		header_done(c);
		c->in_value = 0;
	}
	hdr_copy(c->hdr_name, sizeof(c->hdr_name), &c->hdr_name_len, at, n);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = parser_conn(p);

	if (over_limit(c, at + n)) {
		c->reject = 413;
		return -1;
	}
	c->in_value = 1;
	hdr_copy(c->hdr_value, sizeof(c->hdr_value), &c->hdr_value_len, at, n);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct api_conn *c = parser_conn(p);
	uv_buf_t buf;

	if (c->in_value)
		header_done(c);
	c->in_value = 0;
	/* Refuse a too large body before the client sends it. */
	if (p->content_length != ULLONG_MAX && p->content_length > c->api->limits.max_request) {
		c->reject = 413;
		return -1;
	}
	if (c->expect_continue && p->http_major == 1 && p->http_minor >= 1 &&
	    p->content_length != 0) {
		buf = uv_buf_init((char *)continue_100, sizeof(continue_100) - 1);
		if (uv_write(&c->creq, &c->h.stream, &buf, 1, continue_done) < 0)
			return -1;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = parser_conn(p);

	if (over_limit(c, at + n)) {
		c->reject = 413;
		return -1;
	}
	return buf_append(&c->body, &c->body_len, &c->body_cap, at, n) ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
	struct api_conn *c = parser_conn(p);

	c->complete = 1;
	c->keep_alive = http_should_keep_alive(p);
	/* One request at a time: the rest of the input waits in rbuf. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings api_parser_settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* --- for the server (api.c) --------------------------------------------- */

int gw_api_conn_accept(struct gw_api *api, uv_stream_t *server)
{
	struct api_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->api = api;
	c->h.handle.data = c;
	c->timer.data = c;
	c->wreq.data = c;
	c->creq.data = c;
	c->sreq.data = c;
	c->parser.data = c;
	http_parser_init(&c->parser, HTTP_REQUEST);
	gw_api_stream_init(api, &c->h);
	uv_timer_init(api->loop, &c->timer);
	c->open_handles = 2;
	api->refs++;
	c->next = api->conns;
	if (api->conns)
		api->conns->prev = c;
	api->conns = c;
	api->n_conns++;
	api->stats.conns_active++;
	if (uv_accept(server, &c->h.stream) < 0) {
		conn_close(c);
		return 0;
	}
	api->stats.accepted++;
	if (!api->is_unix)
		uv_tcp_nodelay(&c->h.tcp, 1);
	request_reset(c);
	conn_timer_start(c, api->limits.idle_timeout_ms);
	conn_read_start(c);
	return 0;
}

void gw_api_conns_close(struct gw_api *api)
{
	while (api->conns)
		conn_close(api->conns);
}
