/* What cluster-syncd publishes: this site's records, written under one
 * lease from what gatewayd exports, and its identities allocated in etcd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/config.h"
#include "gw/etcd.h"
#include "gw/identity.h"
#include "gw/sync.h"
#include "sync-int.h"

/* ------------------------------------------------------------------ publishing */

static void on_keepalive(void *ud, int err, int64_t ttl)
{
	struct cs_sync *s = ud;

	if (!err && ttl > 0) {
		cs_sync__contact(s);
		return;
	}
	if (err == -ENOENT || (!err && ttl <= 0)) {
		/* The lease expired (etcd was away longer than its TTL): our
		 * keys are gone; publish everything again under a new one. */
		cs_sync__set_error(s, "lease %lld expired: granting a new one",
				   (long long)s->lease);
		cs_etcd_lease_keepalive_stop(s->ka);
		s->ka = NULL;
		s->lease = 0;
		json_object_clear(s->published);
		s->need_publish = true;
		cs_sync__grant_lease(s);
		return;
	}
	cs_sync__set_error(s, "lease keepalive failed: %s", strerror(-err));
}

static void on_grant(void *ud, int err, const struct cs_etcd_result *res)
{
	struct cs_sync *s = ud;

	s->lease_pending = false;
	if (err) {
		cs_sync__set_error(s, "lease grant failed: %s (retrying)", strerror(-err));
		return; /* the tick tries again */
	}
	cs_sync__contact(s);
	s->lease = res->lease_id;
	s->st.leases++;
	s->ka = cs_etcd_lease_keepalive_start(s->etcd, s->lease, 0, on_keepalive, s);
	s->need_publish = true;
}

void cs_sync__grant_lease(struct cs_sync *s)
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
		cs_sync__set_error(s, "writing %s failed: %s", p->key, strerror(-err));
	} else {
		cs_sync__contact(s);
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
void cs_sync__publish(struct cs_sync *s)
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
		cs_sync__set_error(s, "identity %s: allocation failed: %s (retrying)", j->name,
				   strerror(-err));
	else {
		json_object_set_new(s->identities, j->name, json_integer(id));
		s->need_publish = true; /* our use of it, under the lease */
	}
	s->identities_pending = false;
	free(j);
}

/* This site's config identities get their ids through etcd, one at a time. */
void cs_sync__allocate_identities(struct cs_sync *s)
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
		cs_sync__set_error(s, "identity collection failed: %s", strerror(-err));
	if (deleted)
		cs_sync__log("identities: %u unused for %d s, collected", deleted,
			     CS_IDENTITY_GC_GRACE_MS / 1000);
	s->gc_deleted += deleted;
}

/* Every site collects: the transactions make concurrent passes safe. */
void cs_sync__collect_identities(struct cs_sync *s)
{
	uint64_t now = uv_now(s->loop);

	if (s->gc_running || now - s->gc_last_ms < CS_IDENTITY_GC_EVERY_MS || !s->have_view)
		return;
	s->gc_last_ms = now;
	if (cs_identity_gc(s->etcd, s->prefix, s->gc_seen, now, CS_IDENTITY_GC_GRACE_MS, on_gc,
			   s) == 0)
		s->gc_running = true;
}
