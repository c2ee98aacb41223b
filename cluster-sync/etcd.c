/* etcd v3 client core: libcurl multi on a libuv loop, HTTP POST transfers
 * with endpoint failover, client life cycle. Requests are in etcd-kv.c,
 * streams in etcd-stream.c, parsers in etcd-parse.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "gw/etcd.h"
#include "etcd-int.h"

#define ETCD_URL_MAX	    512
#define ETCD_BUF_MIN	    16384
#define ETCD_STREAM_SLACK   (4 << 20) /* complete lines curl may hand over in one go */
#define ETCD_MAX_ATTEMPTS   64
#define ETCD_TCP_KEEPIDLE_S 10
#define ETCD_TCP_KEEPINTV_S 5

struct etcd_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct cs_etcd *e;
};

static const char *const stat_names[] = {
#define CS_ETCD_STAT_NAME(name, desc) #name,
	CS_ETCD_STATS(CS_ETCD_STAT_NAME)
#undef CS_ETCD_STAT_NAME
};

/* --- libuv <-> curl multi ---------------------------------------------------------- */

static void process_streams(struct cs_etcd *e)
{
	struct cs_etcd__link *l;

again:
	for (l = e->active.next; l != &e->active; l = l->next) {
		struct cs_etcd__xfer *x = cs_etcd__container_of(l, struct cs_etcd__xfer, link);

		if (x->pending) {
			x->pending = false;
			x->data(x);
			if (e->closing)
				return;
			goto again; /* the callbacks may have changed the list */
		}
	}
}

static void check_done(struct cs_etcd *e)
{
	CURLMsg *m;
	int left;

	while (!e->closing && (m = curl_multi_info_read(e->multi, &left))) {
		struct cs_etcd__xfer *x = NULL;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(e->multi, easy);
		x->active = false;
		cs_etcd__list_del(&x->link);
		x->done(x, rc);
	}
}

/* After curl ran: hand stream data over, then finish transfers. User
 * callbacks run here, never inside curl's. */
static void after_action(struct cs_etcd *e)
{
	if (!e->closing)
		process_streams(e);
	if (!e->closing)
		check_done(e);
}

void cs_etcd__enter(struct cs_etcd *e)
{
	e->depth++;
}

static void teardown(struct cs_etcd *e);

void cs_etcd__leave(struct cs_etcd *e)
{
	if (--e->depth == 0 && e->closing && !e->torn_down)
		teardown(e);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct etcd_sock *s = h->data;
	struct cs_etcd *e = s->e;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	cs_etcd__enter(e);
	curl_multi_socket_action(e->multi, s->fd, flags, &running);
	after_action(e);
	cs_etcd__leave(e);
}

static void sock_closed(uv_handle_t *h)
{
	struct etcd_sock *s = h->data;
	struct cs_etcd *e = s->e;

	free(s);
	cs_etcd__handle_closed(e);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct cs_etcd *e = userp;
	struct etcd_sock *s = socketp;
	int ev = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, sock_closed);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		if (uv_poll_init_socket(e->loop, &s->poll, fd)) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->e = e;
		s->poll.data = s;
		e->open_handles++;
		curl_multi_assign(e->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	return uv_poll_start(&s->poll, ev, poll_cb) ? -1 : 0;
}

static void timer_cb(uv_timer_t *t)
{
	struct cs_etcd *e = t->data;
	int running;

	cs_etcd__enter(e);
	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	after_action(e);
	cs_etcd__leave(e);
}

static int multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct cs_etcd *e = userp;

	if (timeout_ms < 0)
		uv_timer_stop(&e->timer);
	else
		uv_timer_start(&e->timer, timer_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

/* --- transfers ----------------------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct cs_etcd__xfer *x = userdata;
	struct cs_etcd *e = x->e;
	size_t n = size * nmemb;

	if (n > x->max - x->len)
		goto too_large;
	if (x->len + n > x->cap) {
		size_t cap = x->cap ? x->cap : ETCD_BUF_MIN;
		char *p;

		while (cap < x->len + n)
			cap *= 2;
		if (cap > x->max)
			cap = x->max;
		p = realloc(x->buf, cap + 1);
		if (!p) {
			x->oom = true;
			return 0;
		}
		x->buf = p;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, ptr, n);
	x->len += n;
	x->buf[x->len] = '\0';
	if (x->stream) {
		const char *nl = memrchr(ptr, '\n', n);

		if (nl)
			x->line_scan = x->len - n + (size_t)(nl - ptr) + 1;
		if (x->len - x->line_scan > e->limits.max_line)
			goto too_large;
		x->pending = true;
	}
	return n;
too_large:
	x->too_large = true;
	if (x->stream)
		e->stats.too_large_line++;
	else
		e->stats.too_large_response++;
	return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
}

int cs_etcd__xfer_init(struct cs_etcd *e, struct cs_etcd__xfer *x, const char *path, bool stream,
		       cs_etcd__done_fn done, cs_etcd__data_fn data)
{
	CURL *c;

	memset(x, 0, sizeof(*x));
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	x->e = e;
	x->easy = c;
	x->path = path;
	x->stream = stream;
	x->done = done;
	x->data = data;
	x->max = stream ? e->limits.max_line + ETCD_STREAM_SLACK : e->limits.max_response;
	x->timeout_ms = stream ? 0 : e->opts.request_timeout_ms;
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, stream ? e->watch_headers : e->headers);
	/* The same on http and https: the gateway's streams are HTTP/1.1 lines. */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)e->opts.dial_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, x->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, (long)ETCD_TCP_KEEPIDLE_S);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, (long)ETCD_TCP_KEEPINTV_S);
	if (e->tls_ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->tls_ca);
	if (e->tls_cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->tls_cert);
	if (e->tls_key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->tls_key);
	return 0;
}

void cs_etcd__xfer_abort(struct cs_etcd__xfer *x)
{
	if (x->active) {
		curl_multi_remove_handle(x->e->multi, x->easy);
		cs_etcd__list_del(&x->link);
		x->active = false;
	}
	x->pending = false;
}

void cs_etcd__xfer_done(struct cs_etcd__xfer *x)
{
	if (!x->easy)
		return;
	cs_etcd__xfer_abort(x);
	curl_easy_cleanup(x->easy);
	free(x->body);
	free(x->buf);
	memset(x, 0, sizeof(*x));
}

int cs_etcd__xfer_resend(struct cs_etcd__xfer *x)
{
	struct cs_etcd *e = x->e;
	char url[ETCD_URL_MAX + 64];

	cs_etcd__xfer_abort(x);
	x->endpoint = e->preferred;
	snprintf(url, sizeof(url), "%s%s", e->endpoints[x->endpoint], x->path);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	x->len = x->used = x->line_scan = 0;
	x->too_large = x->oom = false;
	x->errbuf[0] = '\0';
	if (curl_multi_add_handle(e->multi, x->easy) != CURLM_OK)
		return -ENOMEM;
	x->active = true;
	cs_etcd__list_add(&e->active, &x->link);
	e->stats.requests++;
	return 0;
}

int cs_etcd__xfer_send(struct cs_etcd__xfer *x, char *body)
{
	if (!body)
		return -ENOMEM;
	free(x->body);
	x->body = body;
	x->body_len = strlen(body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)x->body_len);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
	return cs_etcd__xfer_resend(x);
}

long cs_etcd__xfer_status(struct cs_etcd__xfer *x)
{
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

int cs_etcd__xfer_errno(struct cs_etcd__xfer *x, CURLcode rc, bool *ret_sent)
{
	struct cs_etcd *e = x->e;
	curl_off_t pre = 0;

	*ret_sent = true;
	if (rc == CURLE_WRITE_ERROR && x->too_large)
		return -EMSGSIZE; /* counted in write_cb */
	if (rc == CURLE_WRITE_ERROR && x->oom)
		return -ENOMEM;
	e->stats.transport_errors++;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		*ret_sent = false;
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		e->stats.timeouts++;
		curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
		*ret_sent = pre > 0;
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -ECONNRESET;
	}
}

void cs_etcd__failover(struct cs_etcd *e, size_t failed)
{
	if (e->n_endpoints > 1 && e->preferred == failed)
		e->preferred = (failed + 1) % e->n_endpoints;
}

uint32_t cs_etcd__backoff(const struct cs_etcd *e, uint32_t prev_ms)
{
	uint64_t next = prev_ms ? (uint64_t)prev_ms * 2 : e->opts.reconnect_min_ms;

	return next > e->opts.reconnect_max_ms ? e->opts.reconnect_max_ms : (uint32_t)next;
}

/* --- client ----------------------------------------------------------------------------- */

static int endpoint_copy(const char *url, char **ret)
{
	size_t len;
	const char *host;

	if (!url)
		return -EINVAL;
	len = strlen(url);
	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else
		return -EINVAL;
	while (len && url[len - 1] == '/')
		len--;
	if (len > ETCD_URL_MAX || (size_t)(host - url) >= len ||
	    memchr(host, '/', len - (host - url)))
		return -EINVAL; /* empty host, or a path */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return -EINVAL;
	*ret = strndup(url, len);
	return *ret ? 0 : -ENOMEM;
}

static void final_free(struct cs_etcd *e)
{
	for (size_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	curl_slist_free_all(e->headers);
	curl_slist_free_all(e->watch_headers);
	free(e->tls_ca);
	free(e->tls_cert);
	free(e->tls_key);
	free(e);
	curl_global_cleanup();
}

void cs_etcd__handle_closed(struct cs_etcd *e)
{
	if (--e->open_handles == 0 && e->torn_down)
		final_free(e);
}

static void timer_closed(uv_handle_t *h)
{
	cs_etcd__handle_closed(h->data);
}

static void teardown(struct cs_etcd *e)
{
	e->torn_down = true;
	while (!cs_etcd__list_empty(&e->active)) {
		struct cs_etcd__xfer *x =
			cs_etcd__container_of(e->active.next, struct cs_etcd__xfer, link);

		cs_etcd__xfer_abort(x);
	}
	if (e->multi)
		curl_multi_cleanup(e->multi); /* closes the cached connections: REMOVE */
	e->multi = NULL;
	uv_timer_stop(&e->timer);
	uv_close((uv_handle_t *)&e->timer, timer_closed);
}

struct cs_etcd *cs_etcd_new(uv_loop_t *loop, const struct cs_etcd_opts *opts)
{
	struct cs_etcd *e;
	int err = -EINVAL;

	if (!loop || !opts || !opts->endpoints || !opts->n_endpoints ||
	    opts->n_endpoints > CS_ETCD_MAX_ENDPOINTS) {
		errno = EINVAL;
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		errno = EIO;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		curl_global_cleanup();
		errno = ENOMEM;
		return NULL;
	}
	e->loop = loop;
	e->opts = *opts;
	e->opts.endpoints = NULL;
	cs_etcd__list_init(&e->active);
	cs_etcd__list_init(&e->requests);
	cs_etcd__list_init(&e->streams);
#define DEFAULT(f, v)                                                                              \
	do {                                                                                       \
		if (!e->opts.f)                                                                    \
			e->opts.f = (v);                                                           \
	} while (0)
	DEFAULT(dial_timeout_ms, CS_ETCD_DEFAULT_DIAL_TIMEOUT_MS);
	DEFAULT(request_timeout_ms, CS_ETCD_DEFAULT_REQUEST_TIMEOUT_MS);
	DEFAULT(max_attempts, (uint32_t)opts->n_endpoints);
	DEFAULT(watch_idle_timeout_ms, CS_ETCD_DEFAULT_WATCH_IDLE_TIMEOUT_MS);
	DEFAULT(reconnect_min_ms, CS_ETCD_DEFAULT_RECONNECT_MIN_MS);
	DEFAULT(reconnect_max_ms, CS_ETCD_DEFAULT_RECONNECT_MAX_MS);
	DEFAULT(max_requests, CS_ETCD_DEFAULT_MAX_REQUESTS);
	DEFAULT(max_streams, CS_ETCD_DEFAULT_MAX_STREAMS);
#undef DEFAULT
	if (e->opts.max_attempts > ETCD_MAX_ATTEMPTS)
		e->opts.max_attempts = ETCD_MAX_ATTEMPTS;
	if (e->opts.reconnect_max_ms < e->opts.reconnect_min_ms)
		e->opts.reconnect_max_ms = e->opts.reconnect_min_ms;
	cs_etcd__limits_fill(&e->limits, &opts->limits);
	e->opts.limits = e->limits;
	for (size_t i = 0; i < opts->n_endpoints; i++) {
		err = endpoint_copy(opts->endpoints[i], &e->endpoints[i]);
		if (err)
			goto fail;
		e->n_endpoints = i + 1;
	}
	err = -ENOMEM;
	if ((opts->tls_ca && !(e->tls_ca = strdup(opts->tls_ca))) ||
	    (opts->tls_cert && !(e->tls_cert = strdup(opts->tls_cert))) ||
	    (opts->tls_key && !(e->tls_key = strdup(opts->tls_key))))
		goto fail;
	e->opts.tls_ca = e->tls_ca;
	e->opts.tls_cert = e->tls_cert;
	e->opts.tls_key = e->tls_key;
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->headers)
		e->headers = curl_slist_append(e->headers, "Expect:");
	/* etcd cancels a watch whose member lost its leader: we resume elsewhere */
	e->watch_headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->watch_headers)
		e->watch_headers =
			curl_slist_append(e->watch_headers, "Grpc-Metadata-hasleader: true");
	if (!e->headers || !e->watch_headers)
		goto fail;
	e->multi = curl_multi_init();
	if (!e->multi) {
		err = -EIO;
		goto fail;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	uv_timer_init(loop, &e->timer);
	e->timer.data = e;
	e->open_handles = 1;
	return e;
fail:
	final_free(e);
	errno = -err;
	return NULL;
}

/* --- the rest --------------------------------------------------------------------------------- */

void cs_etcd_free(struct cs_etcd *e)
{
	if (!e || e->closing)
		return;
	e->closing = true;
	cs_etcd__enter(e);
	cs_etcd__requests_cancel_all(e);
	cs_etcd__streams_stop_all(e);
	cs_etcd__leave(e);
}

const struct cs_etcd_stats *cs_etcd_stats(const struct cs_etcd *e)
{
	return &e->stats;
}

size_t cs_etcd_stat_count(void)
{
	return sizeof(stat_names) / sizeof(stat_names[0]);
}

const char *cs_etcd_stat_name(size_t i)
{
	return i < cs_etcd_stat_count() ? stat_names[i] : NULL;
}

const char *cs_etcd_endpoint(const struct cs_etcd *e)
{
	return e->endpoints[e->preferred];
}

struct run_ctx {
	const int *done;
	int fired;
};

static void run_timer_cb(uv_timer_t *t)
{
	struct run_ctx *c = t->data;

	c->fired = 1;
	uv_stop(t->loop);
}

/* Before the loop blocks for I/O: a callback run by the timers phase may
 * have set *done, and UV_RUN_ONCE would still block in poll. */
static void run_prepare_cb(uv_prepare_t *p)
{
	struct run_ctx *c = p->data;

	if (*c->done)
		uv_stop(p->loop);
}

int cs_etcd_run_until(uv_loop_t *loop, const int *done, uint64_t timeout_ms)
{
	struct run_ctx c = {done, 0};
	uv_prepare_t p;
	uv_timer_t t;

	uv_timer_init(loop, &t);
	uv_prepare_init(loop, &p);
	t.data = p.data = &c;
	uv_timer_start(&t, run_timer_cb, timeout_ms, 0);
	uv_prepare_start(&p, run_prepare_cb);
	while (!*done && !c.fired)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_close((uv_handle_t *)&p, NULL);
	uv_run(loop, UV_RUN_NOWAIT); /* runs the closes: both live on this stack */
	return *done ? 0 : -ETIMEDOUT;
}
