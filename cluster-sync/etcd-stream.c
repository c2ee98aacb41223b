/* Watches and lease keepalives of the etcd client: watch streams resumed
 * from the last delivered revision, and periodic keepalive POSTs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "gw/etcd.h"
#include "etcd-int.h"

enum stream_kind {
	STREAM_WATCH,
	STREAM_KEEPALIVE,
};

/* First member of both stream types: e->streams links them. */
struct stream_head {
	struct cs_etcd__link link;
	enum stream_kind kind;
};

enum watch_state {
	W_CONNECTING, /* request sent, "created" not seen yet */
	W_STREAMING,
	W_WAITING, /* backoff before reconnecting */
	W_FINISHED,
};

struct cs_etcd_watch {
	struct stream_head h;
	struct cs_etcd *e;
	struct cs_etcd__xfer x;
	uv_timer_t timer; /* connect timeout, idle timeout or backoff */
	cs_etcd_event_cb cb;
	void *ud;
	json_t *create; /* the create_request, start_revision set per connection */
	int64_t start_rev;
	int64_t last_rev;  /* every event up to it delivered */
	int64_t floor_rev; /* this connection: events at or below it were delivered */
	uint32_t backoff_ms;
	unsigned int gen; /* bumped when the connection is dropped */
	enum watch_state state;
	bool ever_created;
	bool stopped;
};

struct cs_etcd_keepalive {
	struct stream_head h;
	struct cs_etcd *e;
	struct cs_etcd__xfer x;
	uv_timer_t timer;
	cs_etcd_keepalive_cb cb;
	void *ud;
	int64_t id;
	uint32_t interval_ms;
	int64_t ttl;	  /* last granted, seconds */
	uint64_t last_ok; /* uv_now() of the last refresh */
	uint32_t backoff_ms;
	bool sent_once;
	bool expired_reported;
	bool finished;
	bool stopped;
};

static int stream_admit(struct cs_etcd *e)
{
	if (!e)
		return -EINVAL;
	if (e->closing)
		return -ECANCELED;
	if (e->n_streams >= e->opts.max_streams) {
		e->stats.refused++;
		return -EBUSY;
	}
	return 0;
}

/* --- watch -------------------------------------------------------------------------------- */

static void watch_connect(struct cs_etcd_watch *w);

static void watch_timer_cb(uv_timer_t *t);

static void watch_deliver(struct cs_etcd_watch *w, enum cs_etcd_event_type type, int64_t rev,
			  int err, int grpc_code, const char *message)
{
	struct cs_etcd_event ev = {
		.type = type,
		.revision = rev,
		.err = err,
		.grpc_code = grpc_code,
		.message = message,
	};

	w->cb(w->ud, &ev);
}

/* The connection is lost or given up: try again later, elsewhere. */
static void watch_break(struct cs_etcd_watch *w)
{
	struct cs_etcd *e = w->e;

	cs_etcd__xfer_abort(&w->x);
	w->gen++;
	cs_etcd__failover(e, w->x.endpoint);
	w->backoff_ms = cs_etcd__backoff(e, w->backoff_ms);
	w->state = W_WAITING;
	uv_timer_start(&w->timer, watch_timer_cb, w->backoff_ms, 0);
}

/* RESYNC or ERROR: no more events from this watch. */
static void watch_finish(struct cs_etcd_watch *w)
{
	cs_etcd__xfer_abort(&w->x);
	w->gen++;
	w->state = W_FINISHED;
	uv_timer_stop(&w->timer);
}

static void watch_error(struct cs_etcd_watch *w, const struct cs_etcd_watch_msg *m)
{
	int err = cs_etcd_grpc_errno(m->grpc_code, m->message);

	switch (m->grpc_code) {
	case CS_ETCD_GRPC_OUT_OF_RANGE:
		if (err != -ESTALE)
			break;
		w->e->stats.watch_resyncs++;
		watch_finish(w);
		watch_deliver(w, CS_ETCD_EV_RESYNC, 0, err, m->grpc_code, m->message);
		return;
	case CS_ETCD_GRPC_UNAVAILABLE: /* no leader: another member may have one */
	case CS_ETCD_GRPC_CANCELLED:
	case CS_ETCD_GRPC_DEADLINE_EXCEEDED:
	case CS_ETCD_GRPC_RESOURCE_EXHAUSTED:
	case CS_ETCD_GRPC_ABORTED:
	case CS_ETCD_GRPC_INTERNAL:
		watch_break(w);
		return;
	default:
		break;
	}
	watch_finish(w);
	watch_deliver(w, CS_ETCD_EV_ERROR, w->last_rev, err, m->grpc_code, m->message);
}

static void watch_events(struct cs_etcd_watch *w, const struct cs_etcd_watch_msg *m)
{
	struct cs_etcd *e = w->e;
	unsigned int gen = w->gen;

	for (size_t i = 0; i < m->n_events; i++) {
		const struct cs_etcd_watch_event *we = &m->events[i];
		struct cs_etcd_event ev = {
			.type = we->type,
			.kv = &we->kv,
			.prev_kv = we->has_prev_kv ? &we->prev_kv : NULL,
			.revision = we->kv.mod_revision,
		};

		if (we->kv.mod_revision <= w->floor_rev) {
			e->stats.watch_duplicates++;
			continue;
		}
		if (we->kv.mod_revision > w->last_rev)
			w->last_rev = we->kv.mod_revision;
		e->stats.watch_events++;
		w->cb(w->ud, &ev);
		if (w->stopped || e->closing || w->gen != gen)
			return;
	}
}

static void watch_line(struct cs_etcd_watch *w, const char *line, size_t len)
{
	struct cs_etcd *e = w->e;
	struct cs_etcd_watch_msg m;
	int err;

	err = cs_etcd_parse_watch_line(line, len, &e->limits, &e->stats, &m);
	if (err == -EMSGSIZE) {
		e->stats.watch_resyncs++;
		watch_finish(w);
		watch_deliver(w, CS_ETCD_EV_RESYNC, 0, err, 0, "watch answer over limits.max_line");
		return;
	}
	if (err) {
		/* Skipping the line could skip events: fetch them again. */
		watch_break(w);
		return;
	}
	if (w->state == W_STREAMING)
		uv_timer_start(&w->timer, watch_timer_cb, e->opts.watch_idle_timeout_ms, 0);
	switch (m.type) {
	case CS_ETCD_WMSG_CREATED:
		if (w->state != W_CONNECTING)
			break; /* one create per stream: ignore a stray one */
		if (!w->floor_rev && !w->last_rev && !w->start_rev) {
			/* from now: everything up to the current revision is "before" */
			w->last_rev = w->floor_rev = m.revision;
		}
		w->state = W_STREAMING;
		w->backoff_ms = 0;
		e->stats.watch_connects++;
		if (w->ever_created)
			e->stats.watch_reconnects++;
		w->ever_created = true;
		uv_timer_start(&w->timer, watch_timer_cb, e->opts.watch_idle_timeout_ms, 0);
		watch_deliver(w, CS_ETCD_EV_CREATED, m.revision, 0, 0, NULL);
		break;
	case CS_ETCD_WMSG_EVENTS:
		watch_events(w, &m);
		break;
	case CS_ETCD_WMSG_PROGRESS:
		e->stats.watch_progress++;
		if (m.revision > w->last_rev)
			w->last_rev = m.revision;
		watch_deliver(w, CS_ETCD_EV_PROGRESS, w->last_rev, 0, 0, NULL);
		break;
	case CS_ETCD_WMSG_CANCELED:
		watch_finish(w);
		if (m.compact_revision > 0) {
			e->stats.watch_resyncs++;
			watch_deliver(w, CS_ETCD_EV_RESYNC, m.compact_revision, -ESTALE,
				      CS_ETCD_GRPC_OUT_OF_RANGE,
				      "required revision has been compacted");
		} else {
			watch_deliver(w, CS_ETCD_EV_ERROR, w->last_rev, -ECANCELED, 0,
				      m.message ? m.message : "watch canceled by etcd");
		}
		break;
	case CS_ETCD_WMSG_ERROR:
		watch_error(w, &m);
		break;
	}
	cs_etcd_watch_msg_done(&m);
}

/* Hand every complete line over; with @eof also the unterminated rest (an
 * error object ends a stream without a newline). */
static void watch_lines(struct cs_etcd_watch *w, bool eof)
{
	struct cs_etcd__xfer *x = &w->x;
	unsigned int gen = w->gen;

	while (!w->stopped && !w->e->closing && w->gen == gen && x->used < x->len) {
		char *start = x->buf + x->used;
		size_t avail = x->len - x->used, n;
		char *nl = memchr(start, '\n', avail);

		if (!nl && !eof)
			break;
		n = nl ? (size_t)(nl - start) : avail;
		x->used += nl ? n + 1 : n;
		while (n && (start[n - 1] == '\r' || start[n - 1] == ' '))
			n--;
		if (n)
			watch_line(w, start, n);
	}
	if (w->stopped || w->e->closing || w->gen != gen || !x->used)
		return;
	memmove(x->buf, x->buf + x->used, x->len - x->used);
	x->len -= x->used;
	x->line_scan = x->line_scan > x->used ? x->line_scan - x->used : 0;
	x->used = 0;
}

static void watch_data(struct cs_etcd__xfer *x)
{
	watch_lines(cs_etcd__container_of(x, struct cs_etcd_watch, x), false);
}

static void watch_done(struct cs_etcd__xfer *x, CURLcode rc)
{
	struct cs_etcd_watch *w = cs_etcd__container_of(x, struct cs_etcd_watch, x);
	struct cs_etcd *e = w->e;
	unsigned int gen = w->gen;
	bool sent;
	int err;

	watch_lines(w, rc == CURLE_OK);
	if (w->stopped || e->closing || w->gen != gen || w->state == W_FINISHED)
		return;
	if (rc != CURLE_OK) {
		err = cs_etcd__xfer_errno(x, rc, &sent);
		if (err == -EMSGSIZE) {
			e->stats.watch_resyncs++;
			watch_finish(w);
			watch_deliver(w, CS_ETCD_EV_RESYNC, 0, err, 0,
				      "watch answer over limits.max_line");
			return;
		}
	}
	watch_break(w);
}

static void watch_connect(struct cs_etcd_watch *w)
{
	struct cs_etcd *e = w->e;
	int64_t rev = w->last_rev ? w->last_rev + 1 : w->start_rev;
	json_t *body;
	int err = -ENOMEM;

	w->floor_rev = rev ? rev - 1 : 0;
	if (rev) {
		err = json_object_set_new(w->create, "start_revision", cs_etcd__json_i64(rev));
	} else {
		json_object_del(w->create, "start_revision"); /* absent is fine */
		err = 0;
	}
	body = json_pack("{s:O}", "create_request", w->create);
	if (!err && body)
		err = cs_etcd__xfer_send(&w->x, json_dumps(body, JSON_COMPACT));
	json_decref(body);
	if (err) {
		w->backoff_ms = cs_etcd__backoff(e, w->backoff_ms);
		w->state = W_WAITING;
		uv_timer_start(&w->timer, watch_timer_cb, w->backoff_ms, 0);
		return;
	}
	w->state = W_CONNECTING;
	/* connect plus the "created" answer, as a unary request */
	uv_timer_start(&w->timer, watch_timer_cb, e->opts.request_timeout_ms, 0);
}

static void watch_timer_cb(uv_timer_t *t)
{
	struct cs_etcd_watch *w = t->data;
	struct cs_etcd *e = w->e;

	cs_etcd__enter(e);
	switch (w->state) {
	case W_CONNECTING:
		e->stats.timeouts++;
		watch_break(w);
		break;
	case W_STREAMING:
		e->stats.watch_idle_timeouts++;
		watch_break(w);
		break;
	case W_WAITING:
		watch_connect(w);
		break;
	case W_FINISHED:
		break;
	}
	cs_etcd__leave(e);
}

struct cs_etcd_watch *cs_etcd_watch_start(struct cs_etcd *e, const struct cs_etcd_watch_req *req,
					  cs_etcd_event_cb cb, void *ud)
{
	struct cs_etcd_watch *w;
	int err;

	err = stream_admit(e);
	if (!err && (!req || !cb || req->start_revision < 0))
		err = -EINVAL;
	if (err) {
		errno = -err;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->h.kind = STREAM_WATCH;
	w->e = e;
	w->cb = cb;
	w->ud = ud;
	w->start_rev = req->start_revision;
	w->create = json_object();
	err = w->create ? 0 : -ENOMEM;
	if (!err)
		err = cs_etcd__json_range(w->create, req->key, req->range_end, req->prefix,
					  req->from_key);
	if (!err && (json_object_set_new(w->create, "progress_notify", json_true()) ||
		     (req->prev_kv && json_object_set_new(w->create, "prev_kv", json_true()))))
		err = -ENOMEM;
	if (!err)
		err = cs_etcd__xfer_init(e, &w->x, "/v3/watch", true, watch_done, watch_data);
	if (err) {
		json_decref(w->create);
		free(w);
		errno = -err;
		return NULL;
	}
	uv_timer_init(e->loop, &w->timer);
	w->timer.data = w;
	e->open_handles++;
	cs_etcd__list_add(&e->streams, &w->h.link);
	e->n_streams++;
	watch_connect(w);
	return w;
}

int64_t cs_etcd_watch_revision(const struct cs_etcd_watch *w)
{
	return w->last_rev;
}

static void watch_closed(uv_handle_t *h)
{
	struct cs_etcd_watch *w = h->data;
	struct cs_etcd *e = w->e;

	free(w);
	cs_etcd__handle_closed(e);
}

void cs_etcd_watch_stop(struct cs_etcd_watch *w)
{
	if (!w || w->stopped)
		return;
	w->stopped = true;
	cs_etcd__list_del(&w->h.link);
	w->e->n_streams--;
	cs_etcd__xfer_done(&w->x);
	json_decref(w->create);
	w->create = NULL;
	uv_timer_stop(&w->timer);
	uv_close((uv_handle_t *)&w->timer, watch_closed);
}

/* --- lease keepalive ------------------------------------------------------------------------ */

static void ka_timer_cb(uv_timer_t *t);

static void ka_schedule(struct cs_etcd_keepalive *ka, uint64_t ms)
{
	uv_timer_start(&ka->timer, ka_timer_cb, ms, 0);
}

static uint32_t ka_interval(const struct cs_etcd_keepalive *ka)
{
	int64_t ms;

	if (ka->interval_ms)
		return ka->interval_ms;
	ms = ka->ttl * 1000 / 3;
	return ms < 100 ? 100 : ms > 3600000 ? 3600000 : (uint32_t)ms;
}

static void ka_done(struct cs_etcd__xfer *x, CURLcode rc)
{
	struct cs_etcd_keepalive *ka = cs_etcd__container_of(x, struct cs_etcd_keepalive, x);
	struct cs_etcd *e = ka->e;
	struct cs_etcd_result res = {0};
	uint64_t now = uv_now(e->loop);
	uint32_t delay;
	bool sent;
	int err;

	if (rc != CURLE_OK) {
		err = cs_etcd__xfer_errno(x, rc, &sent);
	} else if (cs_etcd__xfer_status(x) == 200) {
		err = cs_etcd_parse_response(CS_ETCD_OP_LEASE_KEEPALIVE, x->buf, x->len, &e->limits,
					     &e->stats, &res);
	} else {
		struct cs_etcd_stats scratch = {0};

		err = cs_etcd_parse_response(CS_ETCD_OP_LEASE_KEEPALIVE, x->buf, x->len, &e->limits,
					     &scratch, &res);
		if (res.grpc_code) {
			e->stats.etcd_errors++;
		} else {
			e->stats.http_errors++;
			err = -EPROTO;
		}
	}
	if (!err && res.ttl > 0) {
		e->stats.keepalives++;
		ka->ttl = res.ttl;
		ka->last_ok = now;
		ka->expired_reported = false;
		ka->backoff_ms = 0;
		ka_schedule(ka, ka_interval(ka));
		cs_etcd_result_done(&res);
		ka->cb(ka->ud, 0, ka->ttl);
		return;
	}
	cs_etcd_result_done(&res);
	if (!err || err == -ENOENT) {
		ka->finished = true;
		ka->cb(ka->ud, -ENOENT, 0);
		return;
	}
	e->stats.keepalive_errors++;
	cs_etcd__failover(e, x->endpoint);
	ka->backoff_ms = cs_etcd__backoff(e, ka->backoff_ms);
	delay = ka->backoff_ms < ka_interval(ka) ? ka->backoff_ms : ka_interval(ka);
	ka_schedule(ka, delay);
	if (ka->ttl && !ka->expired_reported && now - ka->last_ok >= (uint64_t)ka->ttl * 1000) {
		ka->expired_reported = true;
		ka->cb(ka->ud, -ETIME, 0);
	}
}

static void ka_timer_cb(uv_timer_t *t)
{
	struct cs_etcd_keepalive *ka = t->data;
	struct cs_etcd *e = ka->e;
	int err;

	cs_etcd__enter(e);
	if (ka->x.active || ka->finished) {
		/* still waiting (request_timeout_ms ends it), or the lease is gone */
	} else if (ka->sent_once) {
		err = cs_etcd__xfer_resend(&ka->x);
		if (err)
			ka_schedule(ka, ka_interval(ka));
	} else {
		char *body = NULL;

		if (asprintf(&body, "{\"ID\":\"%lld\"}", (long long)ka->id) < 0)
			body = NULL;
		err = cs_etcd__xfer_send(&ka->x, body);
		if (err)
			ka_schedule(ka, ka_interval(ka));
		else
			ka->sent_once = true;
	}
	cs_etcd__leave(e);
}

struct cs_etcd_keepalive *cs_etcd_lease_keepalive_start(struct cs_etcd *e, int64_t id,
							uint32_t interval_ms,
							cs_etcd_keepalive_cb cb, void *ud)
{
	struct cs_etcd_keepalive *ka;
	int err;

	err = stream_admit(e);
	if (!err && (id <= 0 || !cb))
		err = -EINVAL;
	if (err) {
		errno = -err;
		return NULL;
	}
	ka = calloc(1, sizeof(*ka));
	if (!ka) {
		errno = ENOMEM;
		return NULL;
	}
	err = cs_etcd__xfer_init(e, &ka->x, "/v3/lease/keepalive", false, ka_done, NULL);
	if (err) {
		free(ka);
		errno = -err;
		return NULL;
	}
	ka->h.kind = STREAM_KEEPALIVE;
	ka->e = e;
	ka->cb = cb;
	ka->ud = ud;
	ka->id = id;
	ka->interval_ms = interval_ms;
	ka->last_ok = uv_now(e->loop);
	uv_timer_init(e->loop, &ka->timer);
	ka->timer.data = ka;
	e->open_handles++;
	cs_etcd__list_add(&e->streams, &ka->h.link);
	e->n_streams++;
	ka_schedule(ka, 0);
	return ka;
}

static void ka_closed(uv_handle_t *h)
{
	struct cs_etcd_keepalive *ka = h->data;
	struct cs_etcd *e = ka->e;

	free(ka);
	cs_etcd__handle_closed(e);
}

void cs_etcd_lease_keepalive_stop(struct cs_etcd_keepalive *ka)
{
	if (!ka || ka->stopped)
		return;
	ka->stopped = true;
	cs_etcd__list_del(&ka->h.link);
	ka->e->n_streams--;
	cs_etcd__xfer_done(&ka->x);
	uv_timer_stop(&ka->timer);
	uv_close((uv_handle_t *)&ka->timer, ka_closed);
}

void cs_etcd__streams_stop_all(struct cs_etcd *e)
{
	while (!cs_etcd__list_empty(&e->streams)) {
		struct stream_head *h =
			cs_etcd__container_of(e->streams.next, struct stream_head, link);

		if (h->kind == STREAM_WATCH)
			cs_etcd_watch_stop((struct cs_etcd_watch *)h);
		else
			cs_etcd_lease_keepalive_stop((struct cs_etcd_keepalive *)h);
	}
}
