/* etcd v3 client core: libcurl multi on a libuv loop, POST transfers with
 * endpoint failover, and the unary requests (paged range, put, delete, txn,
 * leases). Streams are in etcd-stream.c, parsers in etcd-parse.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
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

/* One unary request; a paged range is one request of several pages. */
struct etcd_req {
	struct cs_etcd *e;
	struct cs_etcd__xfer x;
	struct cs_etcd__link link; /* e->requests */
	enum cs_etcd_op_type op;
	cs_etcd_cb cb;
	void *ud;
	unsigned int attempts;
	bool repeatable; /* may be sent again after it may have reached etcd */
	/* paged range */
	json_t *page; /* the request body, rewritten for the next page */
	int64_t page_size, limit;
	struct cs_etcd_result acc;
	size_t acc_cap, acc_bytes;
	bool first_page_done;
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
		if (!p)
			return 0;
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
	x->too_large = false;
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
	if (len > ETCD_URL_MAX || (size_t)(host - url) >= len || memchr(host, '/', len - (host - url)))
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
		e->watch_headers = curl_slist_append(e->watch_headers, "Grpc-Metadata-hasleader: true");
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

/* --- unary requests ---------------------------------------------------------------------- */

static void req_free(struct etcd_req *r)
{
	cs_etcd__xfer_done(&r->x);
	json_decref(r->page);
	cs_etcd_result_done(&r->acc);
	free(r);
}

/* Deliver and release. */
static void req_finish(struct etcd_req *r, int err, struct cs_etcd_result *res)
{
	struct cs_etcd *e = r->e;
	struct cs_etcd_result empty = {.op = r->op};

	cs_etcd__list_del(&r->link);
	e->n_requests--;
	cs_etcd__xfer_abort(&r->x);
	if (!res)
		res = &empty;
	r->cb(r->ud, err, res);
	cs_etcd_result_done(res);
	req_free(r);
}

static void req_fail_transport(struct etcd_req *r, int err)
{
	struct cs_etcd_result res = {.op = r->op};

	if (r->x.errbuf[0])
		res.message = strdup(r->x.errbuf);
	req_finish(r, err, &res);
}

/* Try the request again on the next endpoint, if allowed. */
static bool req_retry(struct etcd_req *r, bool sent)
{
	struct cs_etcd *e = r->e;

	if ((sent && !r->repeatable) || r->attempts >= e->opts.max_attempts)
		return false;
	r->attempts++;
	e->stats.failovers++;
	if (cs_etcd__xfer_resend(&r->x))
		return false;
	return true;
}

static int range_next_page(struct etcd_req *r, const struct cs_etcd_kv *last)
{
	char *key = malloc(last->key_len + 1);
	int64_t want = r->page_size;
	json_t *k;

	if (!key)
		return -ENOMEM;
	memcpy(key, last->key, last->key_len);
	key[last->key_len] = '\0'; /* the smallest key after @last */
	k = cs_etcd__json_b64(key, last->key_len + 1);
	free(key);
	if (r->limit && r->limit - (int64_t)r->acc.n_kvs < want)
		want = r->limit - (int64_t)r->acc.n_kvs;
	if (!k || json_object_set_new(r->page, "key", k) ||
	    json_object_set_new(r->page, "revision", cs_etcd__json_i64(r->acc.revision)) ||
	    json_object_set_new(r->page, "limit", cs_etcd__json_i64(want)))
		return -ENOMEM;
	r->attempts = 1;
	return cs_etcd__xfer_send(&r->x, json_dumps(r->page, JSON_COMPACT));
}

/* A page arrived: move its pairs into r->acc. Returns 1 when another page
 * has been asked for, 0 when the range is complete, or -errno. */
static int range_page(struct etcd_req *r, struct cs_etcd_result *res)
{
	struct cs_etcd *e = r->e;
	bool more;

	if (!r->first_page_done) {
		struct cs_etcd_kv *kvs = r->acc.kvs;

		r->acc = *res;
		r->acc.kvs = kvs;
		r->acc.n_kvs = 0;
		r->acc.message = NULL;
		r->first_page_done = true;
	}
	if (r->acc.n_kvs + res->n_kvs > r->acc_cap) {
		size_t cap = r->acc_cap ? r->acc_cap : 64;
		struct cs_etcd_kv *p;

		while (cap < r->acc.n_kvs + res->n_kvs)
			cap *= 2;
		p = realloc(r->acc.kvs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->acc.kvs = p;
		r->acc_cap = cap;
	}
	for (size_t i = 0; i < res->n_kvs; i++) {
		r->acc_bytes += res->kvs[i].key_len + res->kvs[i].value_len;
		r->acc.kvs[r->acc.n_kvs++] = res->kvs[i];
	}
	res->n_kvs = 0; /* moved */
	if (r->acc_bytes > e->limits.max_range) {
		e->stats.too_large_range++;
		return -EMSGSIZE;
	}
	more = res->more && (!r->limit || (int64_t)r->acc.n_kvs < r->limit);
	if (!r->page_size || !more) {
		r->acc.more = res->more;
		return 0;
	}
	if (!r->acc.n_kvs) {
		e->stats.bad_field++; /* "more" without a key to go on from */
		return -EBADMSG;
	}
	return range_next_page(r, &r->acc.kvs[r->acc.n_kvs - 1]) ?: 1;
}

static void req_done(struct cs_etcd__xfer *x, CURLcode rc)
{
	struct etcd_req *r = cs_etcd__container_of(x, struct etcd_req, x);
	struct cs_etcd *e = r->e;
	struct cs_etcd_result res;
	long status;
	bool sent;
	int err;

	if (rc != CURLE_OK) {
		err = cs_etcd__xfer_errno(x, rc, &sent);
		if (err != -EMSGSIZE) {
			/* even when not repeated here: the next request goes elsewhere */
			cs_etcd__failover(e, x->endpoint);
			if (req_retry(r, sent))
				return;
		}
		req_fail_transport(r, err);
		return;
	}
	status = cs_etcd__xfer_status(x);
	if (status == 200) {
		err = cs_etcd_parse_response(r->op, x->buf, x->len, &e->limits, &e->stats, &res);
	} else {
		struct cs_etcd_stats scratch = {0};

		err = cs_etcd_parse_response(r->op, x->buf, x->len, &e->limits, &scratch, &res);
		if (res.grpc_code) {
			e->stats.etcd_errors++;
		} else {
			e->stats.http_errors++;
			cs_etcd_result_done(&res);
			res.op = r->op;
			if (asprintf(&res.message, "HTTP status %ld", status) < 0)
				res.message = NULL;
			err = -EPROTO;
		}
	}
	if (err == -EAGAIN)
		cs_etcd__failover(e, x->endpoint); /* no leader there */
	if (err == -EAGAIN && req_retry(r, true)) {
		cs_etcd_result_done(&res);
		return;
	}
	if (!err && r->op == CS_ETCD_OP_RANGE) {
		err = range_page(r, &res);
		cs_etcd_result_done(&res);
		if (err > 0)
			return; /* next page on its way */
		if (!err) {
			res = r->acc;
			memset(&r->acc, 0, sizeof(r->acc));
		}
	}
	req_finish(r, err, &res);
}

static int req_new(struct cs_etcd *e, enum cs_etcd_op_type op, const char *path, cs_etcd_cb cb,
		   void *ud, struct etcd_req **ret)
{
	struct etcd_req *r;
	int err;

	if (!e || !cb)
		return -EINVAL;
	if (e->closing)
		return -ECANCELED;
	if (e->n_requests >= e->opts.max_requests) {
		e->stats.refused++;
		return -EBUSY;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = cs_etcd__xfer_init(e, &r->x, path, false, req_done, NULL);
	if (err) {
		free(r);
		return err;
	}
	r->e = e;
	r->op = op;
	r->cb = cb;
	r->ud = ud;
	r->attempts = 1;
	r->repeatable = op != CS_ETCD_OP_TXN;
	*ret = r;
	return 0;
}

/* Send @body (a reference is taken) for a new request. */
static int req_start(struct etcd_req *r, json_t *body)
{
	struct cs_etcd *e = r->e;
	int err;

	if (!body) {
		req_free(r);
		return -ENOMEM;
	}
	err = cs_etcd__xfer_send(&r->x, json_dumps(body, JSON_COMPACT));
	if (err) {
		json_decref(body);
		req_free(r);
		return err;
	}
	if (r->op == CS_ETCD_OP_RANGE)
		r->page = body;
	else
		json_decref(body);
	cs_etcd__list_add(&e->requests, &r->link);
	e->n_requests++;
	return 0;
}

/* --- JSON bodies --------------------------------------------------------------------------- */

json_t *cs_etcd__json_b64(const void *p, size_t len)
{
	size_t size = (len + 2) / 3 * 4 + 1;
	char *buf = malloc(size);
	json_t *j = NULL;
	ssize_t n;

	if (!buf)
		return NULL;
	n = cs_etcd_base64_encode(p, len, buf, size);
	if (n >= 0)
		j = json_stringn(buf, (size_t)n);
	free(buf);
	return j;
}

json_t *cs_etcd__json_i64(int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

static int set(json_t *obj, const char *name, json_t *v)
{
	return v && !json_object_set_new(obj, name, v) ? 0 : -ENOMEM;
}

int cs_etcd__json_range(json_t *obj, const char *key, const char *range_end, bool prefix,
			bool from_key)
{
	static const char zero[1];
	size_t len;
	char *end;
	int err;

	if (!key || (!*key && !prefix && !from_key))
		return -EINVAL;
	len = strlen(key);
	if (!len) /* every key: [ "\0", "\0" ) in etcd's terms */
		return set(obj, "key", cs_etcd__json_b64(zero, 1)) ?:
			       set(obj, "range_end", cs_etcd__json_b64(zero, 1));
	err = set(obj, "key", cs_etcd__json_b64(key, len));
	if (err)
		return err;
	if (from_key)
		return set(obj, "range_end", cs_etcd__json_b64(zero, 1));
	if (prefix) {
		end = strndup(key, len);
		if (!end)
			return -ENOMEM;
		while (len && (unsigned char)end[len - 1] == 0xff)
			len--;
		if (len)
			end[len - 1]++;
		err = set(obj, "range_end", len ? cs_etcd__json_b64(end, len)
						: cs_etcd__json_b64(zero, 1));
		free(end);
		return err;
	}
	if (range_end && *range_end)
		return set(obj, "range_end", cs_etcd__json_b64(range_end, strlen(range_end)));
	return 0;
}

static int put_bool(json_t *obj, const char *name, bool v)
{
	return v ? set(obj, name, json_true()) : 0;
}

static int put_i64(json_t *obj, const char *name, int64_t v)
{
	return v ? set(obj, name, cs_etcd__json_i64(v)) : 0;
}

static json_t *range_json(const struct cs_etcd_range_req *q, int64_t limit, int *ret_err)
{
	json_t *o = json_object();
	int err = o ? 0 : -ENOMEM;

	if (!err && (q->revision < 0 || q->limit < 0 || q->page_size < 0))
		err = -EINVAL;
	if (!err)
		err = cs_etcd__json_range(o, q->key, q->range_end, q->prefix, q->from_key);
	if (!err)
		err = put_i64(o, "limit", limit);
	if (!err)
		err = put_i64(o, "revision", q->revision);
	if (!err)
		err = put_bool(o, "serializable", q->serializable);
	if (!err)
		err = put_bool(o, "keys_only", q->keys_only);
	if (!err)
		err = put_bool(o, "count_only", q->count_only);
	if (err) {
		json_decref(o);
		*ret_err = err;
		return NULL;
	}
	return o;
}

static json_t *put_json(const struct cs_etcd *e, const struct cs_etcd_put_req *q, int *ret_err)
{
	json_t *o = json_object();
	int err = o ? 0 : -ENOMEM;

	if (!err && (!q->key || !*q->key || (!q->value && q->value_len) || q->lease < 0))
		err = -EINVAL;
	if (!err && q->value_len > e->limits.max_value)
		err = -EMSGSIZE;
	if (!err)
		err = cs_etcd__json_range(o, q->key, NULL, false, false);
	if (!err && q->value_len)
		err = set(o, "value", cs_etcd__json_b64(q->value, q->value_len));
	if (!err)
		err = put_i64(o, "lease", q->lease);
	if (!err)
		err = put_bool(o, "prev_kv", q->prev_kv);
	if (err) {
		json_decref(o);
		*ret_err = err;
		return NULL;
	}
	return o;
}

static json_t *delete_json(const struct cs_etcd_delete_req *q, int *ret_err)
{
	json_t *o = json_object();
	int err = o ? 0 : -ENOMEM;

	if (!err)
		err = cs_etcd__json_range(o, q->key, q->range_end, q->prefix, q->from_key);
	if (!err)
		err = put_bool(o, "prev_kv", q->prev_kv);
	if (err) {
		json_decref(o);
		*ret_err = err;
		return NULL;
	}
	return o;
}

static json_t *cmp_json(const struct cs_etcd *e, const struct cs_etcd_cmp *c, int *ret_err)
{
	static const char *const targets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
	static const char *const fields[] = {"version", "create_revision", "mod_revision",
					     "value", "lease"};
	static const char *const results[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
	json_t *o = json_object();
	int err = o ? 0 : -ENOMEM;

	if (!err && ((unsigned int)c->target > CS_ETCD_CMP_LEASE ||
		     (unsigned int)c->result > CS_ETCD_CMP_NOT_EQUAL ||
		     (c->target == CS_ETCD_CMP_VALUE && !c->value && c->value_len)))
		err = -EINVAL;
	if (!err)
		err = cs_etcd__json_range(o, c->key, NULL, false, false);
	if (!err)
		err = set(o, "target", json_string(targets[c->target]));
	if (!err)
		err = set(o, "result", json_string(results[c->result]));
	/* Written even when zero or empty: "create_revision":"0" is the point. */
	if (!err && c->target == CS_ETCD_CMP_VALUE)
		err = set(o, fields[c->target], cs_etcd__json_b64(c->value, c->value_len));
	else if (!err)
		err = set(o, fields[c->target], cs_etcd__json_i64(c->number));
	if (err) {
		json_decref(o);
		*ret_err = err;
		return NULL;
	}
	return o;
}

static int ops_json(const struct cs_etcd *e, json_t *txn, const char *name,
		    const struct cs_etcd_txn_op *ops, size_t n)
{
	json_t *arr;
	int err = 0;

	if (!n)
		return 0;
	if (!ops || n > CS_ETCD_MAX_TXN_OPS)
		return -EINVAL;
	arr = json_array();
	if (!arr || json_object_set_new(txn, name, arr))
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		json_t *op = json_object(), *body = NULL;
		const char *kind = NULL;

		if (!op || json_array_append_new(arr, op))
			return -ENOMEM;
		switch (ops[i].type) {
		case CS_ETCD_OP_RANGE:
			kind = "request_range";
			body = range_json(&ops[i].range, ops[i].range.limit, &err);
			break;
		case CS_ETCD_OP_PUT:
			kind = "request_put";
			body = put_json(e, &ops[i].put, &err);
			break;
		case CS_ETCD_OP_DELETE:
			kind = "request_delete_range";
			body = delete_json(&ops[i].del, &err);
			break;
		default:
			return -EINVAL;
		}
		if (!err)
			err = set(op, kind, body);
	}
	return err;
}

/* --- requests ------------------------------------------------------------------------------- */

int cs_etcd_range(struct cs_etcd *e, const struct cs_etcd_range_req *q, cs_etcd_cb cb, void *ud)
{
	struct etcd_req *r;
	int64_t limit;
	json_t *body;
	int err = 0;

	if (!q)
		return -EINVAL;
	limit = q->limit;
	if (q->page_size && (!limit || q->page_size < limit))
		limit = q->page_size;
	body = range_json(q, limit, &err);
	if (!body)
		return err;
	err = req_new(e, CS_ETCD_OP_RANGE, "/v3/kv/range", cb, ud, &r);
	if (err) {
		json_decref(body);
		return err;
	}
	r->page_size = q->count_only ? 0 : q->page_size;
	r->limit = q->limit;
	return req_start(r, body);
}

int cs_etcd_put(struct cs_etcd *e, const struct cs_etcd_put_req *q, cs_etcd_cb cb, void *ud)
{
	struct etcd_req *r;
	json_t *body;
	int err = 0;

	if (!q || !e)
		return -EINVAL;
	body = put_json(e, q, &err);
	if (!body)
		return err;
	err = req_new(e, CS_ETCD_OP_PUT, "/v3/kv/put", cb, ud, &r);
	if (err) {
		json_decref(body);
		return err;
	}
	return req_start(r, body);
}

int cs_etcd_delete(struct cs_etcd *e, const struct cs_etcd_delete_req *q, cs_etcd_cb cb, void *ud)
{
	struct etcd_req *r;
	json_t *body;
	int err = 0;

	if (!q)
		return -EINVAL;
	body = delete_json(q, &err);
	if (!body)
		return err;
	err = req_new(e, CS_ETCD_OP_DELETE, "/v3/kv/deleterange", cb, ud, &r);
	if (err) {
		json_decref(body);
		return err;
	}
	return req_start(r, body);
}

int cs_etcd_txn(struct cs_etcd *e, const struct cs_etcd_txn_req *q, cs_etcd_cb cb, void *ud)
{
	struct etcd_req *r;
	json_t *body, *arr;
	int err = 0;

	if (!q || !e || q->n_cmp > CS_ETCD_MAX_TXN_OPS || (q->n_cmp && !q->cmp))
		return -EINVAL;
	body = json_object();
	if (!body)
		return -ENOMEM;
	if (q->n_cmp) {
		arr = json_array();
		if (!arr || json_object_set_new(body, "compare", arr))
			err = -ENOMEM;
		for (size_t i = 0; i < q->n_cmp && !err; i++) {
			json_t *c = cmp_json(e, &q->cmp[i], &err);

			if (c && json_array_append_new(arr, c))
				err = -ENOMEM;
		}
	}
	if (!err)
		err = ops_json(e, body, "success", q->success, q->n_success);
	if (!err)
		err = ops_json(e, body, "failure", q->failure, q->n_failure);
	if (!err)
		err = req_new(e, CS_ETCD_OP_TXN, "/v3/kv/txn", cb, ud, &r);
	if (err) {
		json_decref(body);
		return err;
	}
	return req_start(r, body);
}

int cs_etcd_create(struct cs_etcd *e, const char *key, const void *value, size_t value_len,
		   int64_t lease, cs_etcd_cb cb, void *ud)
{
	return cs_etcd_cas(e, key, 0, value, value_len, lease, cb, ud);
}

int cs_etcd_cas(struct cs_etcd *e, const char *key, int64_t mod_revision, const void *value,
		size_t value_len, int64_t lease, cs_etcd_cb cb, void *ud)
{
	struct cs_etcd_cmp cmp = {
		.key = key,
		.target = mod_revision ? CS_ETCD_CMP_MOD : CS_ETCD_CMP_CREATE,
		.result = CS_ETCD_CMP_EQUAL,
		.number = mod_revision,
	};
	struct cs_etcd_txn_op put = {
		.type = CS_ETCD_OP_PUT,
		.put = {.key = key, .value = value, .value_len = value_len, .lease = lease},
	};
	struct cs_etcd_txn_op get = {.type = CS_ETCD_OP_RANGE, .range = {.key = key}};
	struct cs_etcd_txn_req txn = {&cmp, 1, &put, 1, &get, 1};

	if (mod_revision < 0)
		return -EINVAL;
	return cs_etcd_txn(e, &txn, cb, ud);
}

static int lease_req(struct cs_etcd *e, enum cs_etcd_op_type op, const char *path, int64_t ttl,
		     int64_t id, cs_etcd_cb cb, void *ud)
{
	struct etcd_req *r;
	json_t *body;
	int err;

	if (id < 0 || ttl < 0 || (op != CS_ETCD_OP_LEASE_GRANT && !id))
		return -EINVAL;
	body = json_object();
	if (!body)
		return -ENOMEM;
	err = put_i64(body, "ID", id);
	if (!err && op == CS_ETCD_OP_LEASE_GRANT)
		err = set(body, "TTL", cs_etcd__json_i64(ttl));
	if (!err)
		err = req_new(e, op, path, cb, ud, &r);
	if (err) {
		json_decref(body);
		return err;
	}
	/* a second grant without an ID would create a second lease */
	r->repeatable = op != CS_ETCD_OP_LEASE_GRANT || id;
	return req_start(r, body);
}

int cs_etcd_lease_grant(struct cs_etcd *e, int64_t ttl_s, int64_t id, cs_etcd_cb cb, void *ud)
{
	if (ttl_s <= 0)
		return -EINVAL;
	return lease_req(e, CS_ETCD_OP_LEASE_GRANT, "/v3/lease/grant", ttl_s, id, cb, ud);
}

int cs_etcd_lease_revoke(struct cs_etcd *e, int64_t id, cs_etcd_cb cb, void *ud)
{
	return lease_req(e, CS_ETCD_OP_LEASE_REVOKE, "/v3/lease/revoke", 0, id, cb, ud);
}

int cs_etcd_lease_keepalive_once(struct cs_etcd *e, int64_t id, cs_etcd_cb cb, void *ud)
{
	return lease_req(e, CS_ETCD_OP_LEASE_KEEPALIVE, "/v3/lease/keepalive", 0, id, cb, ud);
}

/* --- the rest --------------------------------------------------------------------------------- */

void cs_etcd_free(struct cs_etcd *e)
{
	if (!e || e->closing)
		return;
	e->closing = true;
	cs_etcd__enter(e);
	while (!cs_etcd__list_empty(&e->requests)) {
		struct etcd_req *r =
			cs_etcd__container_of(e->requests.next, struct etcd_req, link);

		req_finish(r, -ECANCELED, NULL);
	}
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

static void run_timer_cb(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

int cs_etcd_run_until(uv_loop_t *loop, const int *done, uint64_t timeout_ms)
{
	uv_timer_t t;
	int fired = 0;

	uv_timer_init(loop, &t);
	t.data = &fired;
	uv_timer_start(&t, run_timer_cb, timeout_ms, 0);
	while (!*done && !fired)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT); /* runs the close: @t lives on this stack */
	return *done ? 0 : -ETIMEDOUT;
}
