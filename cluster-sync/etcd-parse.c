/* Parsers of etcd's JSON gateway answers: every field type-checked, int64s as
 * decimal strings, strict base64, error objects mapped to -errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/etcd.h"
#include "etcd-int.h"

#define COUNT(st, field)                                                                           \
	do {                                                                                       \
		if (st)                                                                            \
			(st)->field++;                                                             \
	} while (0)

void cs_etcd__limits_fill(struct cs_etcd_limits *dst, const struct cs_etcd_limits *src)
{
	static const struct cs_etcd_limits zero;

	if (!src)
		src = &zero;
	dst->max_response = src->max_response ? src->max_response : CS_ETCD_DEFAULT_MAX_RESPONSE;
	dst->max_line = src->max_line ? src->max_line : CS_ETCD_DEFAULT_MAX_LINE;
	dst->max_value = src->max_value ? src->max_value : CS_ETCD_DEFAULT_MAX_VALUE;
	dst->max_range = src->max_range ? src->max_range : CS_ETCD_DEFAULT_MAX_RANGE;
}

/* --- base64 --------------------------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t cs_etcd_base64_encode(const void *in, size_t len, char *out, size_t size)
{
	const unsigned char *p = in;
	size_t need = (len + 2) / 3 * 4, o = 0, i;

	if (len > SIZE_MAX / 2 || need + 1 > size)
		return -ENOSPC;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (ssize_t)o;
}

ssize_t cs_etcd_base64_decode(const char *in, size_t len, void *out, size_t size)
{
	unsigned char *q = out;
	size_t pad = 0, n, o = 0;

	if (len % 4)
		return -EBADMSG;
	if (len && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n = len / 4 * 3 - pad;
	if (n + 1 > size)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int v[4];
		uint32_t w;

		for (int k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64_value((unsigned char)in[i + k]);
			if (v[k] < 0)
				return -EBADMSG;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		q[o++] = w >> 16;
		if (last && pad == 2) {
			if (w & 0xffff) /* non-zero bits in the padding: not canonical */
				return -EBADMSG;
			break;
		}
		q[o++] = (w >> 8) & 0xff;
		if (last && pad == 1) {
			if (w & 0xff)
				return -EBADMSG;
			break;
		}
		q[o++] = w & 0xff;
	}
	q[o] = '\0';
	return (ssize_t)o;
}

/* --- errors ------------------------------------------------------------------------ */

int cs_etcd_grpc_errno(int code, const char *message)
{
	switch (code) {
	case CS_ETCD_GRPC_OK:
		return 0;
	case CS_ETCD_GRPC_CANCELLED:
	case CS_ETCD_GRPC_ABORTED:
		return -ECANCELED;
	case CS_ETCD_GRPC_INVALID_ARGUMENT:
		return -EINVAL;
	case CS_ETCD_GRPC_DEADLINE_EXCEEDED:
		return -ETIMEDOUT;
	case CS_ETCD_GRPC_NOT_FOUND:
		return -ENOENT;
	case CS_ETCD_GRPC_ALREADY_EXISTS:
		return -EEXIST;
	case CS_ETCD_GRPC_PERMISSION_DENIED:
	case CS_ETCD_GRPC_UNAUTHENTICATED:
		return -EACCES;
	case CS_ETCD_GRPC_RESOURCE_EXHAUSTED:
		return -ENOSPC;
	case CS_ETCD_GRPC_FAILED_PRECONDITION:
		return -EPERM;
	case CS_ETCD_GRPC_OUT_OF_RANGE:
		/* "mvcc: required revision has been compacted" vs "... is a future revision" */
		return message && strstr(message, "compacted") ? -ESTALE : -ERANGE;
	case CS_ETCD_GRPC_UNIMPLEMENTED:
		return -ENOSYS;
	case CS_ETCD_GRPC_UNAVAILABLE:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* --- fields -------------------------------------------------------------------------- */

struct pctx {
	const struct cs_etcd_limits *lim;
	struct cs_etcd_stats *st;
};

static int bad_field(const struct pctx *c)
{
	COUNT(c->st, bad_field);
	return -EBADMSG;
}

static int parse_i64_text(const char *s, int64_t *ret)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* An int64 field: absent is 0; a decimal string or a JSON integer. */
static int get_i64(const struct pctx *c, const json_t *obj, const char *name, int64_t *ret)
{
	const json_t *j = json_object_get(obj, name);

	*ret = 0;
	if (!j)
		return 0;
	if (json_is_integer(j)) {
		*ret = json_integer_value(j);
		return 0;
	}
	if (json_is_string(j) && !parse_i64_text(json_string_value(j), ret))
		return 0;
	return bad_field(c);
}

static int get_u64(const struct pctx *c, const json_t *obj, const char *name, uint64_t *ret)
{
	const json_t *j = json_object_get(obj, name);
	const char *s;
	char *end;

	*ret = 0;
	if (!j)
		return 0;
	if (json_is_integer(j) && json_integer_value(j) >= 0) {
		*ret = (uint64_t)json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j))
		return bad_field(c);
	s = json_string_value(j);
	if (*s < '0' || *s > '9')
		return bad_field(c);
	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (errno || *end)
		return bad_field(c);
	return 0;
}

static int get_bool(const struct pctx *c, const json_t *obj, const char *name, bool *ret)
{
	const json_t *j = json_object_get(obj, name);

	*ret = false;
	if (!j)
		return 0;
	if (!json_is_boolean(j))
		return bad_field(c);
	*ret = json_is_true(j);
	return 0;
}

/* An optional object or array member: NULL when absent, -EBADMSG when of
 * another type. */
static int get_typed(const struct pctx *c, const json_t *obj, const char *name, json_type type,
		     json_t **ret)
{
	json_t *j = json_object_get(obj, name);

	*ret = NULL;
	if (!j)
		return 0;
	if (json_typeof(j) != type)
		return bad_field(c);
	*ret = j;
	return 0;
}

/* A base64 bytes field, decoded into a NUL-terminated copy; absent is "". */
static int get_bytes(const struct pctx *c, const json_t *obj, const char *name, char **ret,
		     size_t *ret_len)
{
	const json_t *j = json_object_get(obj, name);
	const char *s = "";
	size_t len = 0;
	ssize_t n;
	char *buf;

	if (j) {
		if (!json_is_string(j))
			return bad_field(c);
		s = json_string_value(j);
		len = json_string_length(j);
	}
	if (len / 4 * 3 > c->lim->max_value + 2) {
		COUNT(c->st, too_large_value);
		return -EMSGSIZE;
	}
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	n = cs_etcd_base64_decode(s, len, buf, len / 4 * 3 + 1);
	if (n < 0) {
		free(buf);
		COUNT(c->st, bad_base64);
		return -EBADMSG;
	}
	if ((size_t)n > c->lim->max_value) {
		free(buf);
		COUNT(c->st, too_large_value);
		return -EMSGSIZE;
	}
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

static void kv_done(struct cs_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int parse_kv(const struct pctx *c, const json_t *j, struct cs_etcd_kv *kv)
{
	int err;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(j))
		return bad_field(c);
	if (!json_is_string(json_object_get(j, "key")))
		return bad_field(c); /* a pair always has a key */
	err = get_bytes(c, j, "key", &kv->key, &kv->key_len);
	if (!err)
		err = get_bytes(c, j, "value", &kv->value, &kv->value_len);
	if (!err)
		err = get_i64(c, j, "create_revision", &kv->create_revision);
	if (!err)
		err = get_i64(c, j, "mod_revision", &kv->mod_revision);
	if (!err)
		err = get_i64(c, j, "version", &kv->version);
	if (!err)
		err = get_i64(c, j, "lease", &kv->lease);
	if (err)
		kv_done(kv);
	return err;
}

/* An optional array of pairs. */
static int parse_kvs(const struct pctx *c, const json_t *obj, const char *name,
		     struct cs_etcd_kv **ret, size_t *ret_n)
{
	json_t *arr;
	size_t n;
	int err;

	err = get_typed(c, obj, name, JSON_ARRAY, &arr);
	if (err || !arr || !json_array_size(arr))
		return err;
	n = json_array_size(arr);
	*ret = calloc(n, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		err = parse_kv(c, json_array_get(arr, i), &(*ret)[i]);
		if (err)
			return err; /* the ones parsed so far are released by the caller */
		*ret_n = i + 1;
	}
	return 0;
}

static int parse_header(const struct pctx *c, const json_t *obj, bool required,
			struct cs_etcd_result *res)
{
	json_t *h;
	int err;

	err = get_typed(c, obj, "header", JSON_OBJECT, &h);
	if (err)
		return err;
	if (!h)
		return required ? bad_field(c) : 0;
	err = get_i64(c, h, "revision", &res->revision);
	if (!err)
		err = get_u64(c, h, "cluster_id", &res->cluster_id);
	if (!err)
		err = get_u64(c, h, "member_id", &res->member_id);
	if (!err)
		err = get_i64(c, h, "raft_term", &res->raft_term);
	return err;
}

/*
 * An error answer: {"error":"...","message":"...","code":N} (unary) or
 * {"error":{"grpc_code":N,"http_code":N,"message":"...","http_status":"..."}}
 * (end of a stream). Returns 0 when @root is not one (a LeaseGrantResponse
 * also has an "error" string, without "code"), the mapped -errno when it is,
 * or -EBADMSG when it is malformed.
 */
static int parse_error(const struct pctx *c, const json_t *root, int *ret_code, char **ret_msg)
{
	const json_t *e = json_object_get(root, "error");
	const json_t *code, *msg;
	int64_t v;

	if (!e)
		return 0;
	if (json_is_object(e)) {
		code = json_object_get(e, "grpc_code");
		msg = json_object_get(e, "message");
	} else if (json_is_string(e) && json_object_get(root, "code")) {
		code = json_object_get(root, "code");
		msg = json_object_get(root, "message");
		if (!msg)
			msg = e;
	} else {
		return 0;
	}
	if (json_is_integer(code))
		v = json_integer_value(code);
	else if (!json_is_string(code) || parse_i64_text(json_string_value(code), &v))
		return bad_field(c);
	if (v <= 0 || v > 100 || (msg && !json_is_string(msg)))
		return bad_field(c); /* code 0 would be success: not an error we can report */
	*ret_code = (int)v;
	*ret_msg = msg ? strdup(json_string_value(msg)) : NULL;
	if (msg && !*ret_msg)
		return -ENOMEM;
	COUNT(c->st, etcd_errors);
	return cs_etcd_grpc_errno((int)v, *ret_msg);
}

/* --- unary answers ----------------------------------------------------------------------- */

static int parse_range_body(const struct pctx *c, const json_t *obj, struct cs_etcd_result *res)
{
	int err = parse_kvs(c, obj, "kvs", &res->kvs, &res->n_kvs);

	if (!err)
		err = get_bool(c, obj, "more", &res->more);
	if (!err)
		err = get_i64(c, obj, "count", &res->count);
	return err;
}

static int parse_put_body(const struct pctx *c, const json_t *obj, struct cs_etcd_result *res)
{
	json_t *prev;
	int err = get_typed(c, obj, "prev_kv", JSON_OBJECT, &prev);

	if (err || !prev)
		return err;
	res->prev_kvs = calloc(1, sizeof(*res->prev_kvs));
	if (!res->prev_kvs)
		return -ENOMEM;
	err = parse_kv(c, prev, res->prev_kvs);
	if (!err)
		res->n_prev_kvs = 1;
	return err;
}

static int parse_delete_body(const struct pctx *c, const json_t *obj, struct cs_etcd_result *res)
{
	int err = get_i64(c, obj, "deleted", &res->deleted);

	if (!err)
		err = parse_kvs(c, obj, "prev_kvs", &res->prev_kvs, &res->n_prev_kvs);
	return err;
}

static int parse_txn_body(const struct pctx *c, const json_t *obj, struct cs_etcd_result *res)
{
	static const struct {
		const char *name;
		enum cs_etcd_op_type op;
		int (*parse)(const struct pctx *, const json_t *, struct cs_etcd_result *);
	} kinds[] = {
		{"response_range", CS_ETCD_OP_RANGE, parse_range_body},
		{"response_put", CS_ETCD_OP_PUT, parse_put_body},
		{"response_delete_range", CS_ETCD_OP_DELETE, parse_delete_body},
	};
	json_t *arr;
	size_t n;
	int err;

	err = get_bool(c, obj, "succeeded", &res->succeeded);
	if (!err)
		err = get_typed(c, obj, "responses", JSON_ARRAY, &arr);
	if (err || !arr || !json_array_size(arr))
		return err;
	n = json_array_size(arr);
	if (n > CS_ETCD_MAX_TXN_OPS)
		return bad_field(c);
	res->responses = calloc(n, sizeof(*res->responses));
	if (!res->responses)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_array_get(arr, i), *body = NULL;
		struct cs_etcd_result *sub = &res->responses[i];
		size_t k;

		res->n_responses = i + 1;
		if (!json_is_object(item) || json_object_size(item) != 1)
			return bad_field(c);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			body = json_object_get(item, kinds[k].name);
			if (body)
				break;
		}
		if (!body || !json_is_object(body))
			return bad_field(c); /* response_txn: we never send nested txns */
		sub->op = kinds[k].op;
		err = parse_header(c, body, false, sub);
		if (!err)
			err = kinds[k].parse(c, body, sub);
		if (err)
			return err;
	}
	return 0;
}

static int parse_lease_body(const struct pctx *c, const json_t *obj, struct cs_etcd_result *res)
{
	int err = get_i64(c, obj, "ID", &res->lease_id);

	if (!err)
		err = get_i64(c, obj, "TTL", &res->ttl);
	return err;
}

static int parse_none(const struct pctx *c, const json_t *obj, struct cs_etcd_result *res)
{
	return 0;
}

int cs_etcd_parse_response(enum cs_etcd_op_type op, const char *body, size_t len,
			   const struct cs_etcd_limits *lim, struct cs_etcd_stats *stats,
			   struct cs_etcd_result *res)
{
	int (*parse)(const struct pctx *, const json_t *, struct cs_etcd_result *);
	struct cs_etcd_limits limits;
	struct pctx c = {&limits, stats};
	const json_t *obj;
	json_t *root;
	int err;

	memset(res, 0, sizeof(*res));
	res->op = op;
	cs_etcd__limits_fill(&limits, lim);
	switch (op) {
	case CS_ETCD_OP_RANGE:
		parse = parse_range_body;
		break;
	case CS_ETCD_OP_PUT:
		parse = parse_put_body;
		break;
	case CS_ETCD_OP_DELETE:
		parse = parse_delete_body;
		break;
	case CS_ETCD_OP_TXN:
		parse = parse_txn_body;
		break;
	case CS_ETCD_OP_LEASE_GRANT:
	case CS_ETCD_OP_LEASE_KEEPALIVE:
		parse = parse_lease_body;
		break;
	case CS_ETCD_OP_LEASE_REVOKE:
		parse = parse_none;
		break;
	default:
		return -EINVAL;
	}
	if (len > limits.max_response) {
		COUNT(stats, too_large_response);
		return -EMSGSIZE;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		COUNT(stats, bad_json);
		return -EBADMSG;
	}
	err = parse_error(&c, root, &res->grpc_code, &res->message);
	if (err)
		goto out;
	obj = root;
	if (op == CS_ETCD_OP_LEASE_KEEPALIVE) {
		/* a streamed answer: {"result":{...}} */
		obj = json_object_get(root, "result");
		if (!json_is_object(obj)) {
			err = bad_field(&c);
			goto out;
		}
	}
	err = parse_header(&c, obj, true, res);
	if (!err)
		err = parse(&c, obj, res);
out:
	json_decref(root);
	if (err) {
		int code = res->grpc_code;
		char *msg = res->message;

		res->message = NULL;
		cs_etcd_result_done(res);
		res->op = op;
		res->grpc_code = code;
		res->message = msg;
		return err;
	}
	COUNT(stats, responses);
	return 0;
}

static void kvs_free(struct cs_etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kv_done(&kvs[i]);
	free(kvs);
}

void cs_etcd_result_done(struct cs_etcd_result *res)
{
	if (!res)
		return;
	/* parse_kvs() may leave a partly filled array: n counts the parsed ones,
	 * the rest are zero, so freeing every slot up to n is enough. */
	kvs_free(res->kvs, res->n_kvs);
	kvs_free(res->prev_kvs, res->n_prev_kvs);
	for (size_t i = 0; i < res->n_responses; i++)
		cs_etcd_result_done(&res->responses[i]);
	free(res->responses);
	free(res->message);
	memset(res, 0, sizeof(*res));
}

/* --- watch lines ---------------------------------------------------------------------------- */

static int parse_event(const struct pctx *c, const json_t *j, struct cs_etcd_watch_event *ev)
{
	const json_t *type, *kv;
	json_t *prev;
	int err;

	if (!json_is_object(j))
		return bad_field(c);
	type = json_object_get(j, "type");
	if (!type || (json_is_string(type) && !strcmp(json_string_value(type), "PUT")))
		ev->type = CS_ETCD_EV_PUT;
	else if (json_is_string(type) && !strcmp(json_string_value(type), "DELETE"))
		ev->type = CS_ETCD_EV_DELETE;
	else if (json_is_integer(type) && json_integer_value(type) >= 0 &&
		 json_integer_value(type) <= 1)
		ev->type = json_integer_value(type) ? CS_ETCD_EV_DELETE : CS_ETCD_EV_PUT;
	else
		return bad_field(c);
	kv = json_object_get(j, "kv");
	if (!kv)
		return bad_field(c);
	err = parse_kv(c, kv, &ev->kv);
	if (!err)
		err = get_typed(c, j, "prev_kv", JSON_OBJECT, &prev);
	if (!err && prev) {
		err = parse_kv(c, prev, &ev->prev_kv);
		ev->has_prev_kv = !err;
	}
	return err;
}

static int parse_watch_result(const struct pctx *c, const json_t *r, struct cs_etcd_watch_msg *msg)
{
	struct cs_etcd_result hdr = {0};
	const json_t *reason;
	bool created, canceled, fragment;
	json_t *events;
	int err;

	err = parse_header(c, r, true, &hdr);
	msg->revision = hdr.revision;
	if (!err)
		err = get_i64(c, r, "watch_id", &msg->watch_id);
	if (!err)
		err = get_bool(c, r, "created", &created);
	if (!err)
		err = get_bool(c, r, "canceled", &canceled);
	if (!err)
		err = get_bool(c, r, "fragment", &fragment);
	if (!err)
		err = get_i64(c, r, "compact_revision", &msg->compact_revision);
	if (!err)
		err = get_typed(c, r, "events", JSON_ARRAY, &events);
	if (err)
		return err;
	reason = json_object_get(r, "cancel_reason");
	if (reason && !json_is_string(reason))
		return bad_field(c);
	if (fragment)
		return bad_field(c); /* never requested: one line is one whole answer */
	if (canceled) {
		msg->type = CS_ETCD_WMSG_CANCELED;
		if (reason) {
			msg->message = strdup(json_string_value(reason));
			if (!msg->message)
				return -ENOMEM;
		}
		return 0;
	}
	if (created) {
		msg->type = CS_ETCD_WMSG_CREATED;
		return 0;
	}
	if (!events || !json_array_size(events)) {
		msg->type = CS_ETCD_WMSG_PROGRESS;
		return 0;
	}
	msg->type = CS_ETCD_WMSG_EVENTS;
	msg->events = calloc(json_array_size(events), sizeof(*msg->events));
	if (!msg->events)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(events); i++) {
		msg->n_events = i + 1;
		err = parse_event(c, json_array_get(events, i), &msg->events[i]);
		if (err)
			return err;
	}
	return 0;
}

int cs_etcd_parse_watch_line(const char *line, size_t len, const struct cs_etcd_limits *lim,
			     struct cs_etcd_stats *stats, struct cs_etcd_watch_msg *msg)
{
	struct cs_etcd_limits limits;
	struct pctx c = {&limits, stats};
	const json_t *r;
	json_t *root;
	int err;

	memset(msg, 0, sizeof(*msg));
	cs_etcd__limits_fill(&limits, lim);
	if (len > limits.max_line) {
		COUNT(stats, too_large_line);
		return -EMSGSIZE;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		COUNT(stats, bad_json);
		return -EBADMSG;
	}
	err = parse_error(&c, root, &msg->grpc_code, &msg->message);
	if (err < 0 && msg->grpc_code) {
		/* a well-formed error object is a message of the stream */
		msg->type = CS_ETCD_WMSG_ERROR;
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	r = json_object_get(root, "result");
	if (!json_is_object(r)) {
		err = bad_field(&c);
		goto out;
	}
	err = parse_watch_result(&c, r, msg);
out:
	json_decref(root);
	if (err) {
		cs_etcd_watch_msg_done(msg);
		return err;
	}
	return 0;
}

void cs_etcd_watch_msg_done(struct cs_etcd_watch_msg *msg)
{
	if (!msg)
		return;
	for (size_t i = 0; i < msg->n_events; i++) {
		kv_done(&msg->events[i].kv);
		kv_done(&msg->events[i].prev_kv);
	}
	free(msg->events);
	free(msg->message);
	memset(msg, 0, sizeof(*msg));
}
