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
		finish(a, r, r ? 0 : id);
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
