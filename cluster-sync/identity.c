/* Identity allocation through etcd: a label set's id is created in one
 * transaction that also claims the id and moves the "next" counter, and
 * only if nobody created that label set first; whoever loses reads the
 * winner's id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/identity.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cs_identity_canonical(const char *const *labels, size_t n, char *buf, size_t size)
{
	const char *sorted[CS_IDENTITY_MAX_LABELS];
	size_t i, len = 0;

	if (n == 0 || n > CS_IDENTITY_MAX_LABELS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const char *eq = strchr(labels[i], '=');

		if (!eq || eq == labels[i] || strchr(labels[i], ','))
			return -EINVAL;
		sorted[i] = labels[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), cmp_str);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		int w;

		if (i && strcmp(sorted[i], sorted[i - 1]) == 0)
			continue; /* a set: duplicates collapse */
		w = snprintf(buf + len, size - len, "%s%s", len ? "," : "", sorted[i]);
		if (w < 0 || (size_t)w >= size - len)
			return -ENOSPC;
		len += w;
	}
	return 0;
}

void cs_identity_label_key(const char *canonical, char *buf, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p;

	for (p = (const unsigned char *)canonical; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	snprintf(buf, size, "%016llx", (unsigned long long)h);
}

struct alloc {
	struct cs_etcd *etcd;
	char site[64];
	char canon[1024];
	char k_labels[256], k_next[256], k_id[256];
	uint32_t candidate;
	int64_t next_mod; /* mod_revision of "next"; 0: absent */
	int attempts;
	uint32_t found; /* an existing id being touched */
	cs_identity_cb cb;
	void *ud;
};

static void finish(struct alloc *a, int err, uint32_t id)
{
	a->cb(a->ud, err, id);
	free(a);
}

/* The id in a labels/<hash> value, checked against our label set. */
static int labels_value_id(const struct alloc *a, const struct cs_etcd_kv *kv, uint32_t *ret)
{
	json_t *o = json_loadb(kv->value, kv->value_len, 0, NULL);
	json_t *id = json_object_get(o, "id");
	const char *labels = json_string_value(json_object_get(o, "labels"));
	int r = -EBADMSG;

	if (json_is_integer(id) && json_integer_value(id) >= CS_IDENTITY_MIN &&
	    json_integer_value(id) <= CS_IDENTITY_MAX && labels) {
		/* Another set with the same hash would be a collision: refuse
		 * rather than share an id. */
		if (strcmp(labels, a->canon) == 0) {
			*ret = json_integer_value(id);
			r = 0;
		} else {
			r = -EEXIST;
		}
	}
	json_decref(o);
	return r;
}

static int next_value(const struct cs_etcd_kv *kv, uint32_t *ret)
{
	json_t *o = json_loadb(kv->value, kv->value_len, 0, NULL);
	json_t *n = json_object_get(o, "next");
	int r = -EBADMSG;

	if (json_is_integer(n) && json_integer_value(n) >= CS_IDENTITY_MIN &&
	    json_integer_value(n) <= CS_IDENTITY_MAX + 1) {
		*ret = json_integer_value(n);
		r = 0;
	}
	json_decref(o);
	return r;
}

static int try_claim(struct alloc *a);

static void on_touch(void *ud, int err, const struct cs_etcd_result *res)
{
	struct alloc *a = ud;
	int r;

	if (err) {
		finish(a, err, 0);
		return;
	}
	/* written, or touched by another user at the same moment: it lives */
	if (res->succeeded || (res->n_responses && res->responses[0].n_kvs)) {
		finish(a, 0, a->found);
		return;
	}
	/* collected between our read and our touch: allocate afresh */
	r = try_claim(a);
	if (r)
		finish(a, r, 0);
}

/* Taking an existing id rewrites its label set's record (same value, new
 * mod_revision), which tells the collector it is wanted again. */
static int touch(struct alloc *a, const struct cs_etcd_kv *kv, uint32_t id)
{
	a->found = id;
	return cs_etcd_cas(a->etcd, a->k_labels, kv->mod_revision, kv->value, kv->value_len, 0,
			   on_touch, a);
}

static void on_txn(void *ud, int err, const struct cs_etcd_result *res)
{
	struct alloc *a = ud;
	const struct cs_etcd_result *lab, *nxt;
	uint32_t id;
	int r;

	if (err) {
		finish(a, err, 0);
		return;
	}
	if (res->succeeded) {
		finish(a, 0, a->candidate);
		return;
	}
	if (res->n_responses < 2) {
		finish(a, -EBADMSG, 0);
		return;
	}
	lab = &res->responses[0];
	nxt = &res->responses[1];
	if (lab->n_kvs) { /* somebody created this label set first */
		r = labels_value_id(a, &lab->kvs[0], &id);
		if (r) {
			finish(a, r, 0);
			return;
		}
		r = touch(a, &lab->kvs[0], id);
		if (r)
			finish(a, r, 0);
		return;
	}
	if (nxt->n_kvs && nxt->kvs[0].mod_revision != a->next_mod) {
		/* the counter moved: take its new value */
		r = next_value(&nxt->kvs[0], &a->candidate);
		if (r) {
			finish(a, r, 0);
			return;
		}
		a->next_mod = nxt->kvs[0].mod_revision;
	} else {
		/* the counter did not move, so the candidate id itself is taken
		 * (written by hand, or by an older allocator): skip it */
		a->candidate++;
	}
	r = try_claim(a);
	if (r)
		finish(a, r, 0);
}

/* One transaction: create the label set, claim the candidate id and move
 * the counter, all only if nobody did any of it since we looked. 0 (on_txn
 * will run) or -errno. */
static int try_claim(struct alloc *a)
{
	char v_labels[1200], v_id[1300], v_next[64];
	struct cs_etcd_cmp cmp[3];
	struct cs_etcd_txn_op ok[3], ko[2];
	struct cs_etcd_txn_req tx;

	if (++a->attempts > CS_IDENTITY_ATTEMPTS)
		return -EAGAIN;
	if (a->candidate > CS_IDENTITY_MAX)
		return -ENOSPC;
	{
		char *slash = strrchr(a->k_id, '/');

		snprintf(slash + 1, sizeof(a->k_id) - (slash + 1 - a->k_id), "%u", a->candidate);
	}
	snprintf(v_labels, sizeof(v_labels), "{\"version\":1,\"id\":%u,\"labels\":\"%s\"}",
		 a->candidate, a->canon);
	snprintf(v_id, sizeof(v_id), "{\"version\":1,\"labels\":\"%s\",\"site\":\"%s\"}", a->canon,
		 a->site);
	snprintf(v_next, sizeof(v_next), "{\"version\":1,\"next\":%u}", a->candidate + 1);

	memset(cmp, 0, sizeof(cmp));
	cmp[0].key = a->k_labels;
	cmp[0].target = CS_ETCD_CMP_CREATE;
	cmp[0].result = CS_ETCD_CMP_EQUAL;
	cmp[0].number = 0;
	cmp[1].key = a->k_next;
	cmp[1].target = a->next_mod ? CS_ETCD_CMP_MOD : CS_ETCD_CMP_CREATE;
	cmp[1].result = CS_ETCD_CMP_EQUAL;
	cmp[1].number = a->next_mod;
	cmp[2].key = a->k_id;
	cmp[2].target = CS_ETCD_CMP_CREATE;
	cmp[2].result = CS_ETCD_CMP_EQUAL;
	cmp[2].number = 0;

	memset(ok, 0, sizeof(ok));
	ok[0].type = CS_ETCD_OP_PUT;
	ok[0].put.key = a->k_labels;
	ok[0].put.value = v_labels;
	ok[0].put.value_len = strlen(v_labels);
	ok[1].type = CS_ETCD_OP_PUT;
	ok[1].put.key = a->k_id;
	ok[1].put.value = v_id;
	ok[1].put.value_len = strlen(v_id);
	ok[2].type = CS_ETCD_OP_PUT;
	ok[2].put.key = a->k_next;
	ok[2].put.value = v_next;
	ok[2].put.value_len = strlen(v_next);

	memset(ko, 0, sizeof(ko));
	ko[0].type = CS_ETCD_OP_RANGE;
	ko[0].range.key = a->k_labels;
	ko[1].type = CS_ETCD_OP_RANGE;
	ko[1].range.key = a->k_next;

	memset(&tx, 0, sizeof(tx));
	tx.cmp = cmp;
	tx.n_cmp = 3;
	tx.success = ok;
	tx.n_success = 3;
	tx.failure = ko;
	tx.n_failure = 2;
	return cs_etcd_txn(a->etcd, &tx, on_txn, a);
}

int cs_identity_allocate(struct cs_etcd *etcd, const char *prefix, const char *const *labels,
			 size_t n, const char *site, cs_identity_cb cb, void *ud)
{
	struct alloc *a;
	char hash[24];
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = cs_identity_canonical(labels, n, a->canon, sizeof(a->canon));
	if (r || strchr(a->canon, '"') || strchr(a->canon, '\\')) {
		free(a);
		return r ? r : -EINVAL;
	}
	cs_identity_label_key(a->canon, hash, sizeof(hash));
	a->etcd = etcd;
	a->cb = cb;
	a->ud = ud;
	a->candidate = CS_IDENTITY_MIN;
	snprintf(a->site, sizeof(a->site), "%s", site);
	snprintf(a->k_labels, sizeof(a->k_labels), "%s/identities/labels/%s", prefix, hash);
	snprintf(a->k_next, sizeof(a->k_next), "%s/identities/next", prefix);
	snprintf(a->k_id, sizeof(a->k_id), "%s/identities/id/%u", prefix, a->candidate);
	/* The first round reads nothing: a failed transaction returns the
	 * label set (if it exists) and the counter in one answer. */
	r = try_claim(a);
	if (r)
		free(a);
	return r;
}

/* --- collection of unused ids ---------------------------------------------- */

struct gc {
	struct cs_etcd *etcd;
	char prefix[128];
	json_t *seen; /* the caller's: id -> [first unused ms, labels mod_revision] */
	uint64_t now_ms, grace_ms;
	json_t *used;	/* id -> true */
	json_t *ids;	/* id -> [mod_revision, labels key] */
	json_t *labels; /* labels key -> mod_revision */
	json_t *doomed; /* [id, ...] to delete */
	size_t next;
	unsigned deleted;
	cs_identity_gc_cb cb;
	void *ud;
};

static void gc_finish(struct gc *g, int err)
{
	g->cb(g->ud, err, g->deleted);
	json_decref(g->used);
	json_decref(g->ids);
	json_decref(g->labels);
	json_decref(g->doomed);
	free(g);
}

static int gc_range(struct gc *g, const char *dir, bool keys_only, cs_etcd_cb cb)
{
	struct cs_etcd_range_req rq = {0};
	char key[200];

	snprintf(key, sizeof(key), "%s/identities/%s/", g->prefix, dir);
	rq.key = key;
	rq.prefix = true;
	rq.keys_only = keys_only;
	rq.page_size = 1000;
	return cs_etcd_range(g->etcd, &rq, cb, g);
}

/* The segment after "<prefix>/identities/<dir>/" of a key. */
static const char *key_tail(const struct gc *g, const struct cs_etcd_kv *kv, const char *dir,
			    char *buf, size_t n)
{
	int plen = snprintf(buf, n, "%s/identities/%s/", g->prefix, dir);
	size_t len;

	if (plen < 0 || kv->key_len <= (size_t)plen || memcmp(kv->key, buf, plen) != 0)
		return NULL;
	len = kv->key_len - plen;
	if (len >= n)
		return NULL;
	memcpy(buf, kv->key + plen, len);
	buf[len] = '\0';
	return buf;
}

static void gc_delete_next(struct gc *g);

static void on_gc_delete(void *ud, int err, const struct cs_etcd_result *res)
{
	struct gc *g = ud;
	const char *id = json_string_value(json_array_get(g->doomed, g->next - 1));

	if (err) {
		gc_finish(g, err);
		return;
	}
	if (res->succeeded)
		g->deleted++;
	json_object_del(g->seen, id); /* gone, or wanted again: start over */
	gc_delete_next(g);
}

/* Deletes an id and its label set only if neither changed since read. */
static void gc_delete_next(struct gc *g)
{
	struct cs_etcd_cmp cmp[2];
	struct cs_etcd_txn_op del[2];
	struct cs_etcd_txn_req tx;
	char k_id[200];
	json_t *rec;
	const char *id, *k_lab;
	int r;

	if (g->next >= json_array_size(g->doomed)) {
		gc_finish(g, 0);
		return;
	}
	id = json_string_value(json_array_get(g->doomed, g->next++));
	rec = json_object_get(g->ids, id);
	k_lab = json_string_value(json_array_get(rec, 1));
	snprintf(k_id, sizeof(k_id), "%s/identities/id/%s", g->prefix, id);
	memset(cmp, 0, sizeof(cmp));
	cmp[0].key = k_id;
	cmp[0].target = CS_ETCD_CMP_MOD;
	cmp[0].number = json_integer_value(json_array_get(rec, 0));
	cmp[1].key = k_lab;
	cmp[1].target = json_object_get(g->labels, k_lab) ? CS_ETCD_CMP_MOD : CS_ETCD_CMP_CREATE;
	cmp[1].number = json_integer_value(json_object_get(g->labels, k_lab));
	memset(del, 0, sizeof(del));
	del[0].type = CS_ETCD_OP_DELETE;
	del[0].del.key = k_id;
	del[1].type = CS_ETCD_OP_DELETE;
	del[1].del.key = k_lab;
	memset(&tx, 0, sizeof(tx));
	tx.cmp = cmp;
	tx.n_cmp = 2;
	tx.success = del;
	tx.n_success = 2;
	r = cs_etcd_txn(g->etcd, &tx, on_gc_delete, g);
	if (r)
		gc_finish(g, r);
}

static void on_gc_labels(void *ud, int err, const struct cs_etcd_result *res)
{
	struct gc *g = ud;
	const char *id;
	json_t *rec;
	size_t i;

	if (err) {
		gc_finish(g, err);
		return;
	}
	for (i = 0; i < res->n_kvs; i++) {
		char key[256];

		snprintf(key, sizeof(key), "%.*s", (int)res->kvs[i].key_len, res->kvs[i].key);
		json_object_set_new(g->labels, key, json_integer(res->kvs[i].mod_revision));
	}
	/* Decide: an unused id is collected once it has been unused, with its
	 * label set untouched, for the whole grace period. */
	json_object_foreach(g->ids, id, rec)
	{
		json_int_t lab_mod = json_integer_value(
			json_object_get(g->labels, json_string_value(json_array_get(rec, 1))));
		json_t *seen = json_object_get(g->seen, id);

		if (json_object_get(g->used, id)) {
			json_object_del(g->seen, id);
			continue;
		}
		if (!seen || json_integer_value(json_array_get(seen, 1)) != lab_mod) {
			json_object_set_new(g->seen, id,
					    json_pack("[I,I]", (json_int_t)g->now_ms, lab_mod));
			if (g->grace_ms)
				continue;
			seen = json_object_get(g->seen, id);
		}
		if (g->now_ms - (uint64_t)json_integer_value(json_array_get(seen, 0)) >=
		    g->grace_ms)
			json_array_append_new(g->doomed, json_string(id));
	}
	gc_delete_next(g);
}

static void on_gc_ids(void *ud, int err, const struct cs_etcd_result *res)
{
	struct gc *g = ud;
	char buf[160], canon[1024], hash[24], k_lab[300];
	size_t i;
	int r;

	if (err) {
		gc_finish(g, err);
		return;
	}
	for (i = 0; i < res->n_kvs; i++) {
		const char *id = key_tail(g, &res->kvs[i], "id", buf, sizeof(buf));
		json_t *o = json_loadb(res->kvs[i].value, res->kvs[i].value_len, 0, NULL);
		const char *labels = json_string_value(json_object_get(o, "labels"));

		if (id && labels && strlen(labels) < sizeof(canon)) {
			snprintf(canon, sizeof(canon), "%s", labels);
			cs_identity_label_key(canon, hash, sizeof(hash));
			snprintf(k_lab, sizeof(k_lab), "%s/identities/labels/%s", g->prefix, hash);
			json_object_set_new(
				g->ids, id,
				json_pack("[I,s]", (json_int_t)res->kvs[i].mod_revision, k_lab));
		}
		json_decref(o);
	}
	r = gc_range(g, "labels", false, on_gc_labels);
	if (r)
		gc_finish(g, r);
}

static void on_gc_users(void *ud, int err, const struct cs_etcd_result *res)
{
	struct gc *g = ud;
	char buf[160];
	size_t i;
	int r;

	if (err) {
		gc_finish(g, err);
		return;
	}
	for (i = 0; i < res->n_kvs; i++) {
		const char *tail = key_tail(g, &res->kvs[i], "users", buf, sizeof(buf));
		char *slash = tail ? strchr(tail, '/') : NULL;

		if (slash) {
			*slash = '\0';
			json_object_set_new(g->used, tail, json_true());
		}
	}
	r = gc_range(g, "id", false, on_gc_ids);
	if (r)
		gc_finish(g, r);
}

int cs_identity_gc(struct cs_etcd *etcd, const char *prefix, json_t *seen, uint64_t now_ms,
		   uint64_t grace_ms, cs_identity_gc_cb cb, void *ud)
{
	struct gc *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->etcd = etcd;
	snprintf(g->prefix, sizeof(g->prefix), "%s", prefix);
	g->seen = seen;
	g->now_ms = now_ms;
	g->grace_ms = grace_ms;
	g->used = json_object();
	g->ids = json_object();
	g->labels = json_object();
	g->doomed = json_array();
	g->cb = cb;
	g->ud = ud;
	r = gc_range(g, "users", true, on_gc_users);
	if (r) {
		json_decref(g->used);
		json_decref(g->ids);
		json_decref(g->labels);
		json_decref(g->doomed);
		free(g);
	}
	return r;
}
