/* What cluster-syncd learns: one paged read of the prefix and a watch from
 * its revision build a view of other sites, pushed into gatewayd site by site. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/config.h"
#include "gw/etcd.h"
#include "gw/sync.h"
#include "sync-int.h"

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

/* Pushes are coalesced: one flush on the next loop turn takes every site
 * that changed in the events etcd delivered together. */
void cs_sync__mark_dirty(struct cs_sync *s, const char *site)
{
	json_t *gen = json_object_get(s->dirty, site);

	/* the value counts changes, so a push that failed knows whether the
	 * site changed since */
	json_object_set_new(s->dirty, site, json_integer((gen ? json_integer_value(gen) : 0) + 1));
	if (!s->closing && !uv_is_active((uv_handle_t *)&s->flush))
		uv_timer_start(&s->flush, cs_sync__flush_sites, 0, 0);
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
		cs_sync__set_error(s, "refused key %.*s: outside the schema",
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
		cs_sync__mark_dirty(s, k.site);
		return;
	}
	r = cs_record_check(&k, kv->value, kv->value_len, &rec, why, sizeof(why));
	if (r) {
		/* A bad record changes nothing: what was known stays. */
		s->st.refused[r - 1]++;
		cs_sync__set_error(s, "refused %.*s (%s): %s",
				   (int)(kv->key_len > 200 ? 200 : kv->key_len), kv->key,
				   cs_refusal_name(r - 1), why);
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
	cs_sync__mark_dirty(s, k.site);
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

void cs_sync__flush_sites(uv_timer_t *t)
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
			r = cs_sync__gw_call(s, "DELETE", target, NULL, NULL);
			if (r == 0 || r == -404) {
				json_object_del(s->pushed, site);
				json_object_del(s->dirty, site);
				s->st.withdrawals++;
				cs_sync__log(
					"site %s: no gateway or service left in etcd: withdrawn",
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
			r = cs_sync__gw_call_text(s, "PUT", target, body, NULL);
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

static void on_event(void *ud, const struct cs_etcd_event *ev)
{
	struct cs_sync *s = ud;

	cs_sync__contact(s);
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
		cs_sync__set_error(s, "watch ended (%s): reading the prefix again",
				   ev->type == CS_ETCD_EV_RESYNC ? "compacted"
								 : strerror(-ev->err));
		cs_etcd_watch_stop(s->watch);
		s->watch = NULL;
		s->st.resyncs++;
		cs_sync__start_view(s);
		break;
	}
}

static void retry_view(uv_timer_t *t)
{
	cs_sync__start_view(t->data);
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
		cs_sync__set_error(s, "reading %s/ from etcd failed: %s (retrying)", s->prefix,
				   strerror(-err));
		uv_timer_start(&s->retry, retry_view, s->o.retry_ms, 0);
		return;
	}
	cs_sync__contact(s);
	s->view = json_object();
	for (i = 0; i < res->n_kvs; i++)
		apply_kv(s, &res->kvs[i], false);
	/* Sites that were known but have no key any more are withdrawn. */
	json_object_foreach(old_view, site, v) if (!json_object_get(s->view, site))
		cs_sync__mark_dirty(s, site);
	json_object_foreach(s->pushed, site, v) if (!json_object_get(s->view, site))
		cs_sync__mark_dirty(s, site);
	json_decref(old_view);
	s->have_view = true;
	s->revision = res->revision;
	wr.key = s->prefix;
	wr.prefix = true;
	wr.start_revision = res->revision + 1;
	s->watch = cs_etcd_watch_start(s->etcd, &wr, on_event, s);
	if (!s->watch) {
		cs_sync__set_error(s, "cannot watch %s/: %s", s->prefix, strerror(errno));
		uv_timer_start(&s->retry, retry_view, s->o.retry_ms, 0);
	}
}

void cs_sync__start_view(struct cs_sync *s)
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
