/* Unary requests of the etcd client: paged ranges at one revision, put,
 * delete, txn (create-if-absent, compare-and-swap), leases; JSON bodies. */
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
	int64_t pin_rev; /* every page reads at this revision */
	struct cs_etcd_result acc;
	size_t acc_cap, acc_bytes;
	bool first_page_done;
};

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
	    json_object_set_new(r->page, "revision", cs_etcd__json_i64(r->pin_rev)) ||
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
		/* header.revision is the store's newest: the read's own revision
		 * unless one was asked for */
		if (!r->pin_rev)
			r->pin_rev = res->revision;
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
		return set(obj, "key", cs_etcd__json_b64(zero, 1))
			       ?: set(obj, "range_end", cs_etcd__json_b64(zero, 1));
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
		err = set(obj, "range_end",
			  len ? cs_etcd__json_b64(end, len) : cs_etcd__json_b64(zero, 1));
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
	static const char *const fields[] = {"version", "create_revision", "mod_revision", "value",
					     "lease"};
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
	r->pin_rev = q->revision;
	return req_start(r, body);
}

/* Sends a request whose body is ready; the body is consumed either way. */
static int req_send(struct cs_etcd *e, enum cs_etcd_op_type op, const char *path, json_t *body,
		    cs_etcd_cb cb, void *ud)
{
	struct etcd_req *r;
	int err = req_new(e, op, path, cb, ud, &r);

	if (err) {
		json_decref(body);
		return err;
	}
	return req_start(r, body);
}

int cs_etcd_put(struct cs_etcd *e, const struct cs_etcd_put_req *q, cs_etcd_cb cb, void *ud)
{
	json_t *body;
	int err = 0;

	if (!q || !e)
		return -EINVAL;
	body = put_json(e, q, &err);
	if (!body)
		return err;
	return req_send(e, CS_ETCD_OP_PUT, "/v3/kv/put", body, cb, ud);
}

int cs_etcd_delete(struct cs_etcd *e, const struct cs_etcd_delete_req *q, cs_etcd_cb cb, void *ud)
{
	json_t *body;
	int err = 0;

	if (!q)
		return -EINVAL;
	body = delete_json(q, &err);
	if (!body)
		return err;
	return req_send(e, CS_ETCD_OP_DELETE, "/v3/kv/deleterange", body, cb, ud);
}

int cs_etcd_txn(struct cs_etcd *e, const struct cs_etcd_txn_req *q, cs_etcd_cb cb, void *ud)
{
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
	if (err) {
		json_decref(body);
		return err;
	}
	return req_send(e, CS_ETCD_OP_TXN, "/v3/kv/txn", body, cb, ud);
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

void cs_etcd__requests_cancel_all(struct cs_etcd *e)
{
	while (!cs_etcd__list_empty(&e->requests)) {
		struct etcd_req *r = cs_etcd__container_of(e->requests.next, struct etcd_req, link);

		req_finish(r, -ECANCELED, NULL);
	}
}
