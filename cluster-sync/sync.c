/* The sync engine of cluster-syncd: a view of other sites built from one
 * paged read of the prefix and a watch from its revision, pushed into
 * gatewayd site by site; and this site's records, written under one lease
 * from what gatewayd exports. Everything runs on one libuv loop. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/config.h"
#include "gw/etcd.h"
#include "gw/gwctl.h"
#include "gw/identity.h"
#include "gw/sync.h"

#define GW_HTTP_TIMEOUT_MS 3000
#define STATUS_EVERY_MS	   1000

struct cs_sync {
	uv_loop_t *loop;
	const struct gw_config *cfg;
	struct cs_sync_opts o;
	char prefix[128];
	char gw_socket[256];
	struct cs_etcd *etcd;

	/* what we publish */
	int64_t lease;
	bool lease_pending;
	struct cs_etcd_keepalive *ka;
	json_t *published; /* key -> value text last written (or found) */
	json_t *export;	   /* gatewayd's last GET /v1/export */
	int64_t export_version;
	char export_boot[40];
	bool need_publish;
	unsigned in_flight; /* puts and deletes not answered yet */

	/* what we learn */
	json_t *view;	    /* site -> {site_id, gateways: {name: rec}, services: {name: rec}} */
	json_t *dirty;	    /* site -> changes not pushed yet (a count) */
	json_t *pushed;	    /* site -> body pushed into gatewayd */
	json_t *push_retry; /* site -> [not before ms, backoff ms, dirty count] after a refused push
			     */
	struct cs_etcd_watch *watch;
	int64_t revision;
	bool range_pending;
	bool have_view;
	char gw_boot[40]; /* gatewayd's boot id of the last push */

	json_t *identities; /* config identity name -> id allocated in etcd */
	bool identities_pending;
	json_t *gc_seen; /* unused ids seen by the collector (see cs_identity_gc) */
	bool gc_running;
	uint64_t gc_last_ms;
	uint64_t gw_quiet_until; /* uv_now: no call to gatewayd before this */
	uint64_t gw_backoff_ms;
	uint64_t gc_deleted;

	uv_timer_t tick;
	uv_timer_t flush;
	uv_timer_t retry;
	uint64_t last_status_ms;
	uint64_t last_contact_ms;
	char last_error[256];
	struct cs_sync_stats st;
	int closing;
};

static void sync_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sync_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cluster-syncd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void set_error(struct cs_sync *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct cs_sync *s, const char *fmt, ...)
{
	char buf[sizeof(s->last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, s->last_error) != 0)
		sync_log("%s", buf);
	memcpy(s->last_error, buf, sizeof(buf));
}

static void contact(struct cs_sync *s)
{
	s->last_contact_ms = uv_now(s->loop);
}

/* ------------------------------------------------------------------ view */

static json_t *site_entry(struct cs_sync *s, const char *site)
{
	json_t *e = json_object_get(s->view, site);

	if (!e) {
		e = json_pack("{s:i,s:{},s:{}}", "site_id", 0, "gateways", "services");
		json_object_set_new(s->view, site, e);
	}
	return e;
}

static void flush_sites(uv_timer_t *t);

/* Pushes are coalesced: one flush on the next loop turn takes every site
 * that changed in the events etcd delivered together. */
static void mark_dirty(struct cs_sync *s, const char *site)
{
	json_t *gen = json_object_get(s->dirty, site);

	/* the value counts changes, so a push that failed knows whether the
	 * site changed since */
	json_object_set_new(s->dirty, site, json_integer((gen ? json_integer_value(gen) : 0) + 1));
	if (!s->closing && !uv_is_active((uv_handle_t *)&s->flush))
		uv_timer_start(&s->flush, flush_sites, 0, 0);
}

static const char *kind_dir(enum cs_record_kind k)
{
	return k == CS_REC_GATEWAY ? "gateways" : "services";
}

/* One key from etcd: a PUT (value) or a DELETE (value NULL). */
static void apply_kv(struct cs_sync *s, const struct cs_etcd_kv *kv, bool del)
{
	struct cs_record_key k;
	json_t *rec = NULL, *e;
	char why[160];
	int r;

	if (cs_record_key_parse(s->prefix, kv->key, kv->key_len, &k)) {
		s->st.refused[CS_REFUSE_bad_key]++;
		set_error(s, "refused key %.*s: outside the schema",
			  (int)(kv->key_len > 200 ? 200 : kv->key_len), kv->key);
		return;
	}
	if (k.kind != CS_REC_GATEWAY && k.kind != CS_REC_SERVICE && k.kind != CS_REC_SITE)
		return; /* identities and policies: not used here yet */
	if (strcmp(k.site, s->cfg->site.name) == 0) {
		/* Ours: remember it so a stale one (from before a restart) is
		 * removed by the next publish. */
		char key[512];

		snprintf(key, sizeof(key), "%.*s", (int)kv->key_len, kv->key);
		if (del)
			json_object_del(s->published, key);
		else if (!json_object_get(s->published, key))
			json_object_set_new(s->published, key, json_string("(found)"));
		s->st.own_ignored++;
		return;
	}
	if (del) {
		e = json_object_get(s->view, k.site);
		if (!e)
			return;
		if (k.kind == CS_REC_SITE)
			return; /* the site record carries nothing we push */
		json_object_del(json_object_get(e, kind_dir(k.kind)), k.name);
		mark_dirty(s, k.site);
		return;
	}
	r = cs_record_check(&k, kv->value, kv->value_len, &rec, why, sizeof(why));
	if (r) {
		/* A bad record changes nothing: what was known stays. */
		s->st.refused[r - 1]++;
		set_error(s, "refused %.*s (%s): %s", (int)(kv->key_len > 200 ? 200 : kv->key_len),
			  kv->key, cs_refusal_name(r - 1), why);
		return;
	}
	/* The view keeps what it needs compactly: a gateway's address, a
	 * service's checked record as text (parsed again when pushed). */
	e = site_entry(s, k.site);
	if (k.kind == CS_REC_SITE) {
		json_object_set(e, "site_id", json_object_get(rec, "id"));
	} else {
		json_t *kept = k.kind == CS_REC_GATEWAY
				       ? json_incref(json_object_get(rec, "address"))
				       : json_stringn(kv->value, kv->value_len);

		json_object_set(e, "site_id", json_object_get(rec, "site_id"));
		json_object_set_new(json_object_get(e, kind_dir(k.kind)), k.name, kept);
	}
	json_decref(rec);
	mark_dirty(s, k.site);
}

/* The body of PUT /v1/remote/sites/SITE as text, or NULL when nothing is
 * left (or on lack of memory). */
static char *site_body(json_t *e)
{
	json_t *gws = json_array(), *svcs = json_array(), *v, *out;
	const char *name;
	char *text = NULL;

	json_object_foreach(json_object_get(e, "gateways"), name, v)
		json_array_append_new(gws, json_pack("{s:s,s:O}", "name", name, "address", v));
	json_object_foreach(json_object_get(e, "services"), name, v)
	{
		json_t *rec = json_loads(json_string_value(v), 0, NULL);

		if (rec)
			json_array_append_new(svcs,
					      json_pack("{s:s,s:O,s:O,s:O}", "name", name, "vips",
							json_object_get(rec, "vips"), "ports",
							json_object_get(rec, "ports"), "backends",
							json_object_get(rec, "backends")));
		json_decref(rec);
	}
	if (json_array_size(gws) || json_array_size(svcs)) {
		out = json_pack("{s:O,s:o,s:o}", "site_id", json_object_get(e, "site_id"),
				"gateways", gws, "services", svcs);
		text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(out);
	} else {
		json_decref(gws);
		json_decref(svcs);
	}
	return text;
}

/* What was pushed is remembered as a digest of the body, not the body. */
static json_t *body_digest(const char *text)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char hex[24];

	for (; *text; text++)
		h = (h ^ (unsigned char)*text) * 0x100000001b3ull;
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
	return json_string(hex);
}

/* A gatewayd that hangs (its socket still accepts, nobody answers) must not
 * hold this loop, which also keeps the lease alive: without a lease, other
 * sites would withdraw this site while its data plane runs fine. After a
 * call times out, calls fail at once for a while (1 s, doubling to 8 s,
 * reset by any answer), so the loop is held at most one timeout per
 * backoff. A dead gatewayd refuses at once and needs no such care. */
#define GW_QUIET_MIN_MS 1000
#define GW_QUIET_MAX_MS 8000

static int gw_call_text(struct cs_sync *s, const char *method, const char *target, const char *text,
			json_t **ret)
{
	struct gwctl_answer a = {0};
	int r;

	if (uv_now(s->loop) < s->gw_quiet_until)
		return -EAGAIN;
	r = gwctl_http(s->gw_socket, GW_HTTP_TIMEOUT_MS, method, target, text, &a);
	uv_update_time(s->loop);
	if (r == -ETIMEDOUT) {
		s->gw_backoff_ms = s->gw_backoff_ms ? s->gw_backoff_ms * 2 : GW_QUIET_MIN_MS;
		if (s->gw_backoff_ms > GW_QUIET_MAX_MS)
			s->gw_backoff_ms = GW_QUIET_MAX_MS;
		s->gw_quiet_until = uv_now(s->loop) + s->gw_backoff_ms;
		s->st.gw_timeouts++;
		set_error(s, "gatewayd did not answer %s %s within %d ms: not asking for %llu ms",
			  method, target, GW_HTTP_TIMEOUT_MS, (unsigned long long)s->gw_backoff_ms);
		return r;
	}
	if (r)
		return r;
	s->gw_backoff_ms = 0;
	if (ret)
		*ret = json_loadb(a.body, a.body_len, 0, NULL);
	r = a.status >= 200 && a.status < 300 ? 0 : -a.status;
	if (r)
		set_error(s, "gatewayd %s %s: %d %.200s", method, target, a.status, a.body);
	gwctl_answer_done(&a);
	return r;
}

static int gw_call(struct cs_sync *s, const char *method, const char *target, json_t *body,
		   json_t **ret)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int r = gw_call_text(s, method, target, text, ret);

	free(text);
	return r;
}

/* A push gatewayd refused is tried again after a backoff (0.25 s doubling
 * to 8 s), or at once when the site's view changed. */
#define PUSH_BACKOFF_MIN_MS 250
#define PUSH_BACKOFF_MAX_MS 8000

static bool push_waits(struct cs_sync *s, const char *site, json_t *gen)
{
	json_t *r = json_object_get(s->push_retry, site);

	if (!r)
		return false;
	if (!json_equal(json_array_get(r, 2), gen)) {
		json_object_del(s->push_retry, site);
		return false;
	}
	return uv_now(s->loop) < (uint64_t)json_integer_value(json_array_get(r, 0));
}

static void push_failed(struct cs_sync *s, const char *site, json_t *gen)
{
	json_t *r = json_object_get(s->push_retry, site);
	json_int_t backoff = r ? json_integer_value(json_array_get(r, 1)) * 2 : PUSH_BACKOFF_MIN_MS;

	if (backoff > PUSH_BACKOFF_MAX_MS)
		backoff = PUSH_BACKOFF_MAX_MS;
	json_object_set_new(
		s->push_retry, site,
		json_pack("[I,I,O]", (json_int_t)uv_now(s->loop) + backoff, backoff, gen));
}

static void flush_sites(uv_timer_t *t)
{
	struct cs_sync *s = t->data;
	json_t *dirty = json_copy(s->dirty), *v, *digest, *e;
	const char *site;
	char *body;
	char target[160];
	int r;

	json_object_foreach(dirty, site, v)
	{
		if (push_waits(s, site, v))
			continue; /* refused before, nothing changed since: back off */
		e = json_object_get(s->view, site);
		body = e ? site_body(e) : NULL;
		snprintf(target, sizeof(target), "/v1/remote/sites/%s", site);
		if (!body) {
			if (!json_object_get(s->pushed, site)) {
				json_object_del(s->dirty, site);
				continue;
			}
			r = gw_call(s, "DELETE", target, NULL, NULL);
			if (r == 0 || r == -404) {
				json_object_del(s->pushed, site);
				json_object_del(s->dirty, site);
				s->st.withdrawals++;
				sync_log("site %s: no gateway or service left in etcd: withdrawn",
					 site);
			} else {
				s->st.push_errors++;
			}
			continue;
		}
		digest = body_digest(body);
		if (json_equal(digest, json_object_get(s->pushed, site))) {
			json_object_del(s->dirty, site);
		} else {
			r = gw_call_text(s, "PUT", target, body, NULL);
			if (r == 0) {
				json_object_set(s->pushed, site, digest);
				json_object_del(s->dirty, site);
				json_object_del(s->push_retry, site);
				s->st.pushes++;
			} else {
				push_failed(s, site, v);
				s->st.push_errors++;
			}
		}
		json_decref(digest);
		free(body);
	}
	json_decref(dirty);
}

/* ------------------------------------------------------------------ etcd read + watch */

static void start_view(struct cs_sync *s);

static void on_event(void *ud, const struct cs_etcd_event *ev)
{
	struct cs_sync *s = ud;

	contact(s);
	switch (ev->type) {
	case CS_ETCD_EV_PUT:
	case CS_ETCD_EV_DELETE:
		s->st.events++;
		apply_kv(s, ev->kv, ev->type == CS_ETCD_EV_DELETE);
		s->revision = ev->revision;
		break;
	case CS_ETCD_EV_CREATED:
	case CS_ETCD_EV_PROGRESS:
		break;
	case CS_ETCD_EV_RESYNC:
	case CS_ETCD_EV_ERROR:
		set_error(s, "watch ended (%s): reading the prefix again",
			  ev->type == CS_ETCD_EV_RESYNC ? "compacted" : strerror(-ev->err));
		cs_etcd_watch_stop(s->watch);
		s->watch = NULL;
		s->st.resyncs++;
		start_view(s);
		break;
	}
}

static void retry_view(uv_timer_t *t)
{
	start_view(t->data);
}

static void on_range(void *ud, int err, const struct cs_etcd_result *res)
{
	struct cs_sync *s = ud;
	struct cs_etcd_watch_req wr = {0};
	json_t *old_view = s->view;
	const char *site;
	json_t *v;
	size_t i;

	s->range_pending = false;
	if (err) {
		/* Fail static: the view and what gatewayd has stay as they are. */
		set_error(s, "reading %s/ from etcd failed: %s (retrying)", s->prefix,
			  strerror(-err));
		uv_timer_start(&s->retry, retry_view, s->o.retry_ms, 0);
		return;
	}
	contact(s);
	s->view = json_object();
	for (i = 0; i < res->n_kvs; i++)
		apply_kv(s, &res->kvs[i], false);
	/* Sites that were known but have no key any more are withdrawn. */
	json_object_foreach(old_view, site, v) if (!json_object_get(s->view, site))
		mark_dirty(s, site);
	json_object_foreach(s->pushed, site, v) if (!json_object_get(s->view, site))
		mark_dirty(s, site);
	json_decref(old_view);
	s->have_view = true;
	s->revision = res->revision;
	wr.key = s->prefix;
	wr.prefix = true;
	wr.start_revision = res->revision + 1;
	s->watch = cs_etcd_watch_start(s->etcd, &wr, on_event, s);
	if (!s->watch) {
		set_error(s, "cannot watch %s/: %s", s->prefix, strerror(errno));
		uv_timer_start(&s->retry, retry_view, s->o.retry_ms, 0);
	}
}

static void start_view(struct cs_sync *s)
{
	struct cs_etcd_range_req rq = {0};
	char key[160];

	if (s->range_pending || s->closing)
		return;
	snprintf(key, sizeof(key), "%s/", s->prefix);
	rq.key = key;
	rq.prefix = true;
	rq.page_size = 1000;
	if (cs_etcd_range(s->etcd, &rq, on_range, s) == 0)
		s->range_pending = true;
	else
		uv_timer_start(&s->retry, retry_view, s->o.retry_ms, 0);
}

/* ------------------------------------------------------------------ publishing */

static void grant_lease(struct cs_sync *s);

static void on_keepalive(void *ud, int err, int64_t ttl)
{
	struct cs_sync *s = ud;

	if (!err && ttl > 0) {
		contact(s);
		return;
	}
	if (err == -ENOENT || (!err && ttl <= 0)) {
		/* The lease expired (etcd was away longer than its TTL): our
		 * keys are gone; publish everything again under a new one. */
		set_error(s, "lease %lld expired: granting a new one", (long long)s->lease);
		cs_etcd_lease_keepalive_stop(s->ka);
		s->ka = NULL;
		s->lease = 0;
		json_object_clear(s->published);
		s->need_publish = true;
		grant_lease(s);
		return;
	}
	set_error(s, "lease keepalive failed: %s", strerror(-err));
}

static void on_grant(void *ud, int err, const struct cs_etcd_result *res)
{
	struct cs_sync *s = ud;

	s->lease_pending = false;
	if (err) {
		set_error(s, "lease grant failed: %s (retrying)", strerror(-err));
		return; /* the tick tries again */
	}
	contact(s);
	s->lease = res->lease_id;
	s->st.leases++;
	s->ka = cs_etcd_lease_keepalive_start(s->etcd, s->lease, 0, on_keepalive, s);
	s->need_publish = true;
}

static void grant_lease(struct cs_sync *s)
{
	if (s->lease || s->lease_pending)
		return;
	if (cs_etcd_lease_grant(s->etcd, s->cfg->etcd.lease_ttl, 0, on_grant, s) == 0)
		s->lease_pending = true;
}

struct put_ctx {
	struct cs_sync *s;
	char key[256];
	char *value; /* NULL: a delete */
};

static void on_written(void *ud, int err, const struct cs_etcd_result *res)
{
	struct put_ctx *p = ud;
	struct cs_sync *s = p->s;

	s->in_flight--;
	if (err) {
		s->st.put_errors++;
		s->need_publish = true;
		set_error(s, "writing %s failed: %s", p->key, strerror(-err));
	} else {
		contact(s);
		s->st.puts++;
		if (p->value)
			json_object_set_new(s->published, p->key, json_string(p->value));
		else
			json_object_del(s->published, p->key);
	}
	free(p->value);
	free(p);
}

static void write_key(struct cs_sync *s, const char *key, json_t *rec, int64_t lease)
{
	struct put_ctx *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return;
	p->s = s;
	snprintf(p->key, sizeof(p->key), "%s", key);
	if (rec) {
		struct cs_etcd_put_req pr = {0};

		p->value = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
		pr.key = p->key;
		pr.value = p->value;
		pr.value_len = p->value ? strlen(p->value) : 0;
		pr.lease = lease;
		r = p->value ? cs_etcd_put(s->etcd, &pr, on_written, p) : -ENOMEM;
	} else {
		struct cs_etcd_delete_req dr = {0};

		dr.key = p->key;
		r = cs_etcd_delete(s->etcd, &dr, on_written, p);
	}
	if (r) {
		s->need_publish = true;
		free(p->value);
		free(p);
		return;
	}
	s->in_flight++;
}

/* Writes what differs between gatewayd's export and what etcd holds. */
static void publish(struct cs_sync *s)
{
	const struct gw_config *cfg = s->cfg;
	json_t *want = json_object(), *svc, *rec, *v;
	const char *key;
	char k[256];
	size_t i;

	s->need_publish = false;
	snprintf(k, sizeof(k), "%s/sites/%s", s->prefix, cfg->site.name);
	json_object_set_new(want, k,
			    cs_record_site(cfg->site.name, cfg->site.id, cfg->site.trust_domain));
	snprintf(k, sizeof(k), "%s/gateways/%s/%s", s->prefix, cfg->site.name, cfg->gateway.name);
	json_object_set_new(want, k, cs_record_gateway(s->export));
	/* the ids this site uses: the collector leaves them alone */
	json_object_foreach(s->identities, key, v)
	{
		snprintf(k, sizeof(k), "%s/identities/users/%lld/%s", s->prefix,
			 (long long)json_integer_value(v), cfg->site.name);
		json_object_set_new(want, k,
				    json_pack("{s:i,s:s,s:s}", "version", CS_RECORD_VERSION, "site",
					      cfg->site.name, "identity", key));
	}
	json_array_foreach(json_object_get(s->export, "services"), i, svc)
	{
		snprintf(k, sizeof(k), "%s/services/%s/%s", s->prefix, cfg->site.name,
			 json_string_value(json_object_get(svc, "name")));
		json_object_set_new(want, k, cs_record_service(s->export, svc));
	}
	json_object_foreach(want, key, rec)
	{
		char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
		const char *had = json_string_value(json_object_get(s->published, key));
		bool same = text && had && strcmp(text, had) == 0;

		free(text);
		if (same)
			continue;
		/* The site record outlives gateways; the rest lives with the lease. */
		write_key(s, key, rec, strstr(key, "/sites/") ? 0 : s->lease);
	}
	json_object_foreach(s->published, key,
			    v) if (!json_object_get(want, key) && !strstr(key, "/sites/"))
		write_key(s, key, NULL, 0);
	json_decref(want);
}

/* ------------------------------------------------------------------ identities */

struct ident_job {
	struct cs_sync *s;
	char name[64];
};

static void on_identity(void *ud, int err, uint32_t id)
{
	struct ident_job *j = ud;
	struct cs_sync *s = j->s;

	if (err)
		set_error(s, "identity %s: allocation failed: %s (retrying)", j->name,
			  strerror(-err));
	else {
		json_object_set_new(s->identities, j->name, json_integer(id));
		s->need_publish = true; /* our use of it, under the lease */
	}
	s->identities_pending = false;
	free(j);
}

/* This site's config identities get their ids through etcd, one at a time. */
static void allocate_identities(struct cs_sync *s)
{
	const struct gw_config *cfg = s->cfg;
	struct ident_job *j;
	size_t i;

	if (s->identities_pending)
		return;
	for (i = 0; i < cfg->n_identities; i++) {
		const struct gw_identity_conf *ic = &cfg->identities[i];

		if (!ic->local || !ic->n_labels || json_object_get(s->identities, ic->name))
			continue;
		j = calloc(1, sizeof(*j));
		if (!j)
			return;
		j->s = s;
		snprintf(j->name, sizeof(j->name), "%s", ic->name);
		if (cs_identity_allocate(s->etcd, s->prefix, ic->labels, ic->n_labels,
					 cfg->site.name, on_identity, j)) {
			free(j);
			return;
		}
		s->identities_pending = true;
		return;
	}
}

static void on_gc(void *ud, int err, unsigned deleted)
{
	struct cs_sync *s = ud;

	s->gc_running = false;
	if (err)
		set_error(s, "identity collection failed: %s", strerror(-err));
	if (deleted)
		sync_log("identities: %u unused for %d s, collected", deleted,
			 CS_IDENTITY_GC_GRACE_MS / 1000);
	s->gc_deleted += deleted;
}

/* Every site collects: the transactions make concurrent passes safe. */
static void collect_identities(struct cs_sync *s)
{
	uint64_t now = uv_now(s->loop);

	if (s->gc_running || now - s->gc_last_ms < CS_IDENTITY_GC_EVERY_MS || !s->have_view)
		return;
	s->gc_last_ms = now;
	if (cs_identity_gc(s->etcd, s->prefix, s->gc_seen, now, CS_IDENTITY_GC_GRACE_MS, on_gc,
			   s) == 0)
		s->gc_running = true;
}

/* ------------------------------------------------------------------ the tick */

static void push_status(struct cs_sync *s)
{
	json_t *st = cs_sync_status(s);

	gw_call(s, "PUT", "/v1/sync/status", st, NULL);
	json_decref(st);
}

static void tick(uv_timer_t *t)
{
	struct cs_sync *s = t->data;
	json_t *ex = NULL;
	const char *boot;
	json_t *v;
	const char *site;
	int r;

	r = gw_call(s, "GET", "/v1/export", NULL, &ex);
	if (r == 0 && json_is_object(ex)) {
		boot = json_string_value(json_object_get(ex, "boot"));
		if (boot && strcmp(boot, s->gw_boot) != 0) {
			/* a new gatewayd: it knows nothing of other sites yet */
			snprintf(s->gw_boot, sizeof(s->gw_boot), "%s", boot);
			json_object_clear(s->pushed);
			json_object_foreach(s->view, site, v) mark_dirty(s, site);
			s->need_publish = true;
		}
		if (json_integer_value(json_object_get(ex, "version")) != s->export_version) {
			s->export_version = json_integer_value(json_object_get(ex, "version"));
			s->need_publish = true;
		}
		json_decref(s->export);
		s->export = ex;
		ex = NULL;
	}
	json_decref(ex);
	if (!s->lease)
		grant_lease(s);
	allocate_identities(s);
	collect_identities(s);
	if (s->export && s->lease && s->need_publish && s->in_flight == 0)
		publish(s);
	if (json_object_size(s->dirty))
		flush_sites(&s->flush);
	if (uv_now(s->loop) - s->last_status_ms >= STATUS_EVERY_MS) {
		s->last_status_ms = uv_now(s->loop);
		push_status(s);
	}
}

/* ------------------------------------------------------------------ lifecycle */

static void sync_release(struct cs_sync *s)
{
	json_decref(s->published);
	json_decref(s->export);
	json_decref(s->view);
	json_decref(s->dirty);
	json_decref(s->pushed);
	json_decref(s->identities);
	json_decref(s->gc_seen);
	json_decref(s->push_retry);
	free(s);
}

struct cs_sync *cs_sync_new(uv_loop_t *loop, const struct cs_sync_opts *opts)
{
	const struct gw_config *cfg = opts->cfg;
	struct cs_etcd_opts eo = {0};
	struct cs_sync *s;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->loop = loop;
	s->cfg = cfg;
	s->o = *opts;
	if (!s->o.poll_ms)
		s->o.poll_ms = 50;
	if (!s->o.retry_ms)
		s->o.retry_ms = 500;
	snprintf(s->prefix, sizeof(s->prefix), "%s",
		 cfg->etcd.prefix ? cfg->etcd.prefix : CS_DEFAULT_PREFIX);
	snprintf(s->gw_socket, sizeof(s->gw_socket), "%s", opts->gw_socket);
	s->published = json_object();
	s->view = json_object();
	s->dirty = json_object();
	s->pushed = json_object();
	s->identities = json_object();
	s->gc_seen = json_object();
	s->push_retry = json_object();
	eo.endpoints = cfg->etcd.endpoints;
	eo.n_endpoints = cfg->etcd.n_endpoints;
	eo.dial_timeout_ms = cfg->etcd.dial_timeout_ms;
	eo.request_timeout_ms = cfg->etcd.request_timeout_ms;
	eo.tls_ca = cfg->etcd.tls.ca;
	eo.tls_cert = cfg->etcd.tls.cert;
	eo.tls_key = cfg->etcd.tls.key;
	s->etcd = cs_etcd_new(loop, &eo);
	if (!s->etcd) {
		int e = errno;

		sync_release(s);
		errno = e;
		return NULL;
	}
	uv_timer_init(loop, &s->tick);
	uv_timer_init(loop, &s->flush);
	uv_timer_init(loop, &s->retry);
	s->tick.data = s->flush.data = s->retry.data = s;
	snprintf(s->last_error, sizeof(s->last_error), "none");
	start_view(s);
	grant_lease(s);
	uv_timer_start(&s->tick, tick, 0, s->o.poll_ms);
	return s;
}

static void closed(uv_handle_t *h)
{
	struct cs_sync *s = h->data;

	if (--s->closing == 0)
		sync_release(s);
}

void cs_sync_free(struct cs_sync *s)
{
	if (!s)
		return;
	cs_etcd_watch_stop(s->watch);
	cs_etcd_lease_keepalive_stop(s->ka);
	cs_etcd_free(s->etcd);
	s->closing = 3;
	uv_close((uv_handle_t *)&s->tick, closed);
	uv_close((uv_handle_t *)&s->flush, closed);
	uv_close((uv_handle_t *)&s->retry, closed);
}

json_t *cs_sync_status(const struct cs_sync *s)
{
	json_t *o = json_object(), *c = json_object(), *ref = json_object();
	int i;

#define CS_SYNC_STAT_JSON(name, help) json_object_set_new(c, #name, json_integer(s->st.name));
	CS_SYNC_STATS(CS_SYNC_STAT_JSON)
#undef CS_SYNC_STAT_JSON
	for (i = 0; i < CS_REFUSE__COUNT; i++)
		json_object_set_new(ref, cs_refusal_name(i), json_integer(s->st.refused[i]));
	json_object_set_new(o, "endpoint", json_string(cs_etcd_endpoint(s->etcd)));
	json_object_set_new(o, "revision", json_integer(s->revision));
	json_object_set_new(o, "watching", json_boolean(s->watch != NULL));
	json_object_set_new(o, "lease", json_integer(s->lease));
	json_object_set_new(o, "lag_ms",
			    s->last_contact_ms ? json_integer(uv_now(s->loop) - s->last_contact_ms)
					       : json_null());
	json_object_set_new(o, "last_error", json_string(s->last_error));
	json_object_set_new(o, "sites", json_integer(json_object_size(s->view)));
	json_object_set_new(o, "identities", json_deep_copy(s->identities));
	json_object_set_new(o, "identities_collected", json_integer(s->gc_deleted));
	json_object_set_new(o, "counters", c);
	json_object_set_new(o, "refused", ref);
	return o;
}
