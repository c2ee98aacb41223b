/* Unit tests for the etcd client's parsers, against answers recorded from a
 * real etcd 3.4 (tests/unit/etcd-fixtures/) and every malformed variant. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <uv.h>

#include "gw/etcd.h"

#define FIXTURES_DEFAULT "tests/unit/etcd-fixtures"

/* --- helpers ---------------------------------------------------------------------- */

static char *load(const char *name, size_t *ret_len)
{
	const char *dir = getenv("ETCD_FIXTURES");
	char path[512];
	char *buf;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : FIXTURES_DEFAULT, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository root or set ETCD_FIXTURES)",
			 path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	*ret_len = (size_t)len;
	return buf;
}

/* Sum of the counters a malformed answer may land in. */
static uint64_t errors(const struct cs_etcd_stats *st)
{
	return st->bad_json + st->bad_base64 + st->bad_field + st->too_large_response +
	       st->too_large_line + st->too_large_value + st->too_large_range + st->etcd_errors;
}

static int parse_fixture(enum cs_etcd_op_type op, const char *name, struct cs_etcd_stats *st,
			 struct cs_etcd_result *res)
{
	size_t len;
	char *body = load(name, &len);
	int err = cs_etcd_parse_response(op, body, len, NULL, st, res);

	free(body);
	return err;
}

static int parse_text(enum cs_etcd_op_type op, const char *text, const struct cs_etcd_limits *lim,
		      struct cs_etcd_stats *st)
{
	struct cs_etcd_result res;
	int err = cs_etcd_parse_response(op, text, strlen(text), lim, st, &res);

	cs_etcd_result_done(&res);
	return err;
}

static int watch_fixture(const char *name, struct cs_etcd_stats *st, struct cs_etcd_watch_msg *m)
{
	size_t len;
	char *line = load(name, &len);
	int err = cs_etcd_parse_watch_line(line, len, NULL, st, m);

	free(line);
	return err;
}

static int watch_text(const char *text, const struct cs_etcd_limits *lim, struct cs_etcd_stats *st)
{
	struct cs_etcd_watch_msg m;
	int err = cs_etcd_parse_watch_line(text, strlen(text), lim, st, &m);

	cs_etcd_watch_msg_done(&m);
	return err;
}

static void assert_kv(const struct cs_etcd_kv *kv, const char *key, const char *value,
		      int64_t create_rev, int64_t mod_rev, int64_t version)
{
	assert_string_equal(kv->key, key);
	assert_int_equal(kv->key_len, strlen(key));
	assert_string_equal(kv->value, value);
	assert_int_equal(kv->value_len, strlen(value));
	assert_int_equal(kv->create_revision, create_rev);
	assert_int_equal(kv->mod_revision, mod_rev);
	assert_int_equal(kv->version, version);
}

/* --- base64 -------------------------------------------------------------------------- */

static void test_base64(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",	      "Zg==",	  "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *const bad[] = {"Zg=",  "Zg",	   "Z===",   "Zm9v!", "Zm9v=Zm9", "Zh==",
					  "Zm9=", "Zm 9v", "Zm9v\n", "====",  "=Zm9"};
	unsigned char bin[256], back[300];
	char buf[400];

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(
			cs_etcd_base64_encode(plain[i], strlen(plain[i]), buf, sizeof(buf)),
			strlen(enc[i]));
		assert_string_equal(buf, enc[i]);
		assert_int_equal(cs_etcd_base64_decode(enc[i], strlen(enc[i]), buf, sizeof(buf)),
				 strlen(plain[i]));
		assert_string_equal(buf, plain[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cs_etcd_base64_decode(bad[i], strlen(bad[i]), buf, sizeof(buf)),
				 -EBADMSG);
	/* every byte value survives, at every length */
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(255 - i);
	for (size_t n = 0; n <= sizeof(bin); n++) {
		ssize_t len = cs_etcd_base64_encode(bin, n, buf, sizeof(buf));

		assert_true(len >= 0);
		assert_int_equal(cs_etcd_base64_decode(buf, (size_t)len, back, sizeof(back)), n);
		assert_memory_equal(back, bin, n);
	}
	/* sizes: room for the NUL is needed */
	assert_int_equal(cs_etcd_base64_encode("foo", 3, buf, 4), -ENOSPC);
	assert_int_equal(cs_etcd_base64_decode("Zm9v", 4, buf, 3), -ENOSPC);
}

/* --- recorded answers ------------------------------------------------------------------ */

static void test_range(void **state)
{
	struct cs_etcd_stats st = {0};
	struct cs_etcd_result res;

	assert_int_equal(parse_fixture(CS_ETCD_OP_RANGE, "range_kvs.json", &st, &res), 0);
	assert_int_equal(res.op, CS_ETCD_OP_RANGE);
	assert_int_equal(res.revision, 7);
	assert_true(res.cluster_id != 0 && res.member_id != 0);
	assert_int_equal(res.raft_term, 2);
	assert_int_equal(res.n_kvs, 2);
	assert_kv(&res.kvs[0], "/w/b", "y", 5, 6, 2);
	assert_kv(&res.kvs[1], "/w/d", "dd", 7, 7, 1);
	assert_int_equal(res.kvs[0].lease, 0);
	assert_int_equal(res.count, 2);
	assert_false(res.more);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_RANGE, "range_page.json", &st, &res), 0);
	assert_int_equal(res.n_kvs, 1);
	assert_true(res.more);
	assert_int_equal(res.count, 2);
	cs_etcd_result_done(&res);

	/* an empty range has no "kvs" at all */
	assert_int_equal(parse_fixture(CS_ETCD_OP_RANGE, "range_empty.json", &st, &res), 0);
	assert_int_equal(res.n_kvs, 0);
	assert_null(res.kvs);
	assert_int_equal(res.count, 0);
	assert_int_equal(res.revision, 7);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_RANGE, "range_count_only.json", &st, &res), 0);
	assert_int_equal(res.count, 2);
	assert_int_equal(res.n_kvs, 0);
	cs_etcd_result_done(&res);

	assert_int_equal(st.responses, 4);
	assert_int_equal(errors(&st), 0);
}

static void test_put_delete(void **state)
{
	struct cs_etcd_stats st = {0};
	struct cs_etcd_result res;

	assert_int_equal(parse_fixture(CS_ETCD_OP_PUT, "put.json", &st, &res), 0);
	assert_int_equal(res.revision, 2);
	assert_int_equal(res.n_prev_kvs, 0);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_PUT, "put_prev_kv.json", &st, &res), 0);
	assert_int_equal(res.revision, 3);
	assert_int_equal(res.n_prev_kvs, 1);
	assert_kv(&res.prev_kvs[0], "/w/a", "v1", 2, 2, 1);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_DELETE, "delete_prev_kvs.json", &st, &res), 0);
	assert_int_equal(res.deleted, 1);
	assert_int_equal(res.n_prev_kvs, 1);
	assert_kv(&res.prev_kvs[0], "/w/a", "v2", 2, 3, 2);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_DELETE, "delete.json", &st, &res), 0);
	assert_int_equal(res.deleted, 2);
	assert_int_equal(res.n_prev_kvs, 0);
	cs_etcd_result_done(&res);
	assert_int_equal(errors(&st), 0);
}

static void test_txn(void **state)
{
	struct cs_etcd_stats st = {0};
	struct cs_etcd_result res;

	assert_int_equal(parse_fixture(CS_ETCD_OP_TXN, "txn_succeeded.json", &st, &res), 0);
	assert_true(res.succeeded);
	assert_int_equal(res.revision, 5);
	assert_int_equal(res.n_responses, 2);
	assert_int_equal(res.responses[0].op, CS_ETCD_OP_PUT);
	assert_int_equal(res.responses[0].revision, 5);
	assert_int_equal(res.responses[1].op, CS_ETCD_OP_PUT);
	cs_etcd_result_done(&res);

	/* a failed txn has no "succeeded"; the failure branch read the key */
	assert_int_equal(parse_fixture(CS_ETCD_OP_TXN, "txn_failed.json", &st, &res), 0);
	assert_false(res.succeeded);
	assert_int_equal(res.n_responses, 1);
	assert_int_equal(res.responses[0].op, CS_ETCD_OP_RANGE);
	assert_int_equal(res.responses[0].n_kvs, 1);
	assert_kv(&res.responses[0].kvs[0], "/w/b", "x", 5, 5, 1);
	assert_int_equal(res.responses[0].count, 1);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_TXN, "txn_failed_empty.json", &st, &res), 0);
	assert_false(res.succeeded);
	assert_int_equal(res.n_responses, 0);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_TXN, "txn_cas.json", &st, &res), 0);
	assert_true(res.succeeded);
	assert_int_equal(res.n_responses, 2);
	assert_int_equal(res.responses[0].op, CS_ETCD_OP_PUT);
	assert_int_equal(res.responses[0].n_prev_kvs, 1);
	assert_kv(&res.responses[0].prev_kvs[0], "/w/b", "x", 5, 5, 1);
	assert_int_equal(res.responses[1].op, CS_ETCD_OP_DELETE);
	assert_int_equal(res.responses[1].deleted, 1);
	cs_etcd_result_done(&res);
	assert_int_equal(errors(&st), 0);
}

static void test_lease(void **state)
{
	struct cs_etcd_stats st = {0};
	struct cs_etcd_result res;
	int64_t id;

	assert_int_equal(parse_fixture(CS_ETCD_OP_LEASE_GRANT, "lease_grant.json", &st, &res), 0);
	assert_true(res.lease_id > 0);
	assert_int_equal(res.ttl, 30);
	id = res.lease_id;
	cs_etcd_result_done(&res);

	assert_int_equal(
		parse_fixture(CS_ETCD_OP_LEASE_KEEPALIVE, "lease_keepalive.json", &st, &res), 0);
	assert_int_equal(res.lease_id, id);
	assert_int_equal(res.ttl, 30);
	cs_etcd_result_done(&res);

	/* after revoke: the answer has no TTL */
	assert_int_equal(
		parse_fixture(CS_ETCD_OP_LEASE_KEEPALIVE, "lease_keepalive_gone.json", &st, &res),
		0);
	assert_int_equal(res.lease_id, id);
	assert_int_equal(res.ttl, 0);
	cs_etcd_result_done(&res);

	assert_int_equal(parse_fixture(CS_ETCD_OP_LEASE_REVOKE, "lease_revoke.json", &st, &res), 0);
	assert_int_equal(res.revision, 8);
	cs_etcd_result_done(&res);
	assert_int_equal(errors(&st), 0);
}

static void test_errors(void **state)
{
	static const struct {
		const char *file;
		enum cs_etcd_op_type op;
		int err, code;
		const char *msg;
	} cases[] = {
		{"error_compacted.json", CS_ETCD_OP_RANGE, -ESTALE, 11,
		 "etcdserver: mvcc: required revision has been compacted"},
		{"error_future_rev.json", CS_ETCD_OP_RANGE, -ERANGE, 11,
		 "etcdserver: mvcc: required revision is a future revision"},
		{"error_lease_not_found.json", CS_ETCD_OP_LEASE_REVOKE, -ENOENT, 5,
		 "etcdserver: requested lease not found"},
		{"error_duplicate_key.json", CS_ETCD_OP_TXN, -EINVAL, 3,
		 "etcdserver: duplicate key given in txn request"},
		/* a stream's error object, as a keepalive could end with */
		{"watch_error_no_leader.json", CS_ETCD_OP_LEASE_KEEPALIVE, -EAGAIN, 14,
		 "etcdserver: no leader"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_etcd_stats st = {0};
		struct cs_etcd_result res;

		assert_int_equal(parse_fixture(cases[i].op, cases[i].file, &st, &res),
				 cases[i].err);
		assert_int_equal(res.grpc_code, cases[i].code);
		assert_string_equal(res.message, cases[i].msg);
		assert_int_equal(res.n_kvs, 0);
		assert_int_equal(st.etcd_errors, 1);
		assert_int_equal(errors(&st), 1);
		assert_int_equal(st.responses, 0);
		cs_etcd_result_done(&res);
	}
}

static void test_grpc_errno(void **state)
{
	static const struct {
		int code, err;
	} map[] = {
		{1, -ECANCELED}, {2, -EIO},	{3, -EINVAL}, {4, -ETIMEDOUT}, {5, -ENOENT},
		{6, -EEXIST},	 {7, -EACCES},	{8, -ENOSPC}, {9, -EPERM},     {10, -ECANCELED},
		{11, -ERANGE},	 {12, -ENOSYS}, {13, -EIO},   {14, -EAGAIN},   {15, -EIO},
		{16, -EACCES},	 {99, -EIO},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_int_equal(cs_etcd_grpc_errno(map[i].code, NULL), map[i].err);
	assert_int_equal(cs_etcd_grpc_errno(11, "mvcc: required revision has been compacted"),
			 -ESTALE);
	assert_int_equal(cs_etcd_grpc_errno(0, NULL), 0);
}

/* --- watch lines ---------------------------------------------------------------------------- */

static void test_watch_lines(void **state)
{
	struct cs_etcd_stats st = {0};
	struct cs_etcd_watch_msg m;

	assert_int_equal(watch_fixture("watch_created.json", &st, &m), 0);
	assert_int_equal(m.type, CS_ETCD_WMSG_CREATED);
	assert_int_equal(m.revision, 1);
	assert_int_equal(m.watch_id, 0);
	cs_etcd_watch_msg_done(&m);

	assert_int_equal(watch_fixture("watch_put.json", &st, &m), 0);
	assert_int_equal(m.type, CS_ETCD_WMSG_EVENTS);
	assert_int_equal(m.n_events, 1);
	assert_int_equal(m.events[0].type, CS_ETCD_EV_PUT);
	assert_kv(&m.events[0].kv, "/w/a", "v1", 2, 2, 1);
	assert_false(m.events[0].has_prev_kv);
	cs_etcd_watch_msg_done(&m);

	assert_int_equal(watch_fixture("watch_put_prev_kv.json", &st, &m), 0);
	assert_int_equal(m.events[0].type, CS_ETCD_EV_PUT);
	assert_kv(&m.events[0].kv, "/w/a", "v2", 2, 3, 2);
	assert_true(m.events[0].has_prev_kv);
	assert_kv(&m.events[0].prev_kv, "/w/a", "v1", 2, 2, 1);
	cs_etcd_watch_msg_done(&m);

	assert_int_equal(watch_fixture("watch_delete.json", &st, &m), 0);
	assert_int_equal(m.n_events, 1);
	assert_int_equal(m.events[0].type, CS_ETCD_EV_DELETE);
	assert_kv(&m.events[0].kv, "/w/a", "", 0, 4, 0);
	assert_true(m.events[0].has_prev_kv);
	assert_kv(&m.events[0].prev_kv, "/w/a", "v2", 2, 3, 2);
	cs_etcd_watch_msg_done(&m);

	/* one txn, two events of one revision; an empty value is left out */
	assert_int_equal(watch_fixture("watch_txn.json", &st, &m), 0);
	assert_int_equal(m.n_events, 2);
	assert_kv(&m.events[0].kv, "/w/b", "x", 5, 5, 1);
	assert_kv(&m.events[1].kv, "/w/c", "", 5, 5, 1);
	cs_etcd_watch_msg_done(&m);

	assert_int_equal(watch_fixture("watch_progress.json", &st, &m), 0);
	assert_int_equal(m.type, CS_ETCD_WMSG_PROGRESS);
	assert_int_equal(m.revision, 6);
	cs_etcd_watch_msg_done(&m);

	assert_int_equal(watch_fixture("watch_compacted.json", &st, &m), 0);
	assert_int_equal(m.type, CS_ETCD_WMSG_CANCELED);
	assert_int_equal(m.compact_revision, 6);
	assert_int_equal(m.revision, 0); /* etcd leaves the revision out here */
	cs_etcd_watch_msg_done(&m);
	assert_int_equal(errors(&st), 0);

	/* error objects end a stream: both formats */
	assert_int_equal(watch_fixture("watch_error_no_leader.json", &st, &m), 0);
	assert_int_equal(m.type, CS_ETCD_WMSG_ERROR);
	assert_int_equal(m.grpc_code, 14);
	assert_string_equal(m.message, "etcdserver: no leader");
	cs_etcd_watch_msg_done(&m);
	assert_int_equal(watch_fixture("watch_error_request.json", &st, &m), 0);
	assert_int_equal(m.type, CS_ETCD_WMSG_ERROR);
	assert_int_equal(m.grpc_code, 2);
	cs_etcd_watch_msg_done(&m);
	assert_int_equal(st.etcd_errors, 2);
	assert_int_equal(errors(&st), 2);
}

/* The whole recorded stream, line by line: events in revision order. */
static void test_watch_stream(void **state)
{
	static const int64_t want[] = {2, 3, 4, 5, 5, 6, 6};
	struct cs_etcd_stats st = {0};
	size_t len, n_events = 0, lines = 0;
	char *text = load("watch_stream.txt", &len), *p = text;

	while (*p) {
		struct cs_etcd_watch_msg m;
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		assert_int_equal(cs_etcd_parse_watch_line(p, n, NULL, &st, &m), 0);
		if (lines++ == 0)
			assert_int_equal(m.type, CS_ETCD_WMSG_CREATED);
		for (size_t i = 0; i < m.n_events; i++) {
			assert_true(n_events < sizeof(want) / sizeof(want[0]));
			assert_int_equal(m.events[i].kv.mod_revision, want[n_events++]);
		}
		cs_etcd_watch_msg_done(&m);
		p += n + (nl ? 1 : 0);
	}
	assert_int_equal(n_events, sizeof(want) / sizeof(want[0]));
	assert_true(lines >= 7);
	assert_int_equal(errors(&st), 0);
	free(text);
}

/* --- malformed answers ------------------------------------------------------------------------ */

#define HDR                                                                                        \
	"\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"7\",\"raft_term\":"   \
	"\"2\"}"

struct bad_case {
	const char *what;
	enum cs_etcd_op_type op;
	const char *body;
	int err;
	size_t counter; /* offsetof(struct cs_etcd_stats, ...) */
};

#define C(f) offsetof(struct cs_etcd_stats, f)

static const struct bad_case bad_cases[] = {
	{"empty body", CS_ETCD_OP_RANGE, "", -EBADMSG, C(bad_json)},
	{"truncated JSON", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":[", -EBADMSG, C(bad_json)},
	{"not JSON", CS_ETCD_OP_PUT, "Not Found", -EBADMSG, C(bad_json)},
	{"an array", CS_ETCD_OP_RANGE, "[1,2]", -EBADMSG, C(bad_json)},
	{"a number", CS_ETCD_OP_RANGE, "42", -EBADMSG, C(bad_json)},
	{"a string", CS_ETCD_OP_RANGE, "\"x\"", -EBADMSG, C(bad_json)},
	{"null", CS_ETCD_OP_RANGE, "null", -EBADMSG, C(bad_json)},
	{"garbage after", CS_ETCD_OP_PUT, "{" HDR "} x", -EBADMSG, C(bad_json)},
	{"two objects", CS_ETCD_OP_PUT, "{" HDR "}{" HDR "}", -EBADMSG, C(bad_json)},
	{"duplicate key", CS_ETCD_OP_PUT, "{" HDR "," HDR "}", -EBADMSG, C(bad_json)},
	{"missing header", CS_ETCD_OP_RANGE, "{\"kvs\":[],\"count\":\"0\"}", -EBADMSG,
	 C(bad_field)},
	{"header not an object", CS_ETCD_OP_PUT, "{\"header\":\"7\"}", -EBADMSG, C(bad_field)},
	{"revision a word", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":\"abc\"}}", -EBADMSG,
	 C(bad_field)},
	{"revision empty", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":\"\"}}", -EBADMSG,
	 C(bad_field)},
	{"revision trailing", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":\"12x\"}}", -EBADMSG,
	 C(bad_field)},
	{"revision space", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":\" 12\"}}", -EBADMSG,
	 C(bad_field)},
	{"revision plus", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":\"+12\"}}", -EBADMSG,
	 C(bad_field)},
	{"revision real", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":1.5}}", -EBADMSG,
	 C(bad_field)},
	{"revision bool", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":true}}", -EBADMSG,
	 C(bad_field)},
	{"revision overflow", CS_ETCD_OP_PUT, "{\"header\":{\"revision\":\"9223372036854775808\"}}",
	 -EBADMSG, C(bad_field)},
	{"cluster_id negative", CS_ETCD_OP_PUT, "{\"header\":{\"cluster_id\":\"-1\"}}", -EBADMSG,
	 C(bad_field)},
	{"kvs an object", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":{}}", -EBADMSG, C(bad_field)},
	{"kvs a string", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":\"L3cv\"}", -EBADMSG, C(bad_field)},
	{"kv not an object", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":[1]}", -EBADMSG, C(bad_field)},
	{"kv without key", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":[{\"value\":\"eA==\"}]}", -EBADMSG,
	 C(bad_field)},
	{"kv key a number", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":[{\"key\":5}]}", -EBADMSG,
	 C(bad_field)},
	{"kv value a number", CS_ETCD_OP_RANGE,
	 "{" HDR ",\"kvs\":[{\"key\":\"eA==\",\"value\":5}]}", -EBADMSG, C(bad_field)},
	{"kv mod_revision a word", CS_ETCD_OP_RANGE,
	 "{" HDR ",\"kvs\":[{\"key\":\"eA==\",\"mod_revision\":\"x\"}]}", -EBADMSG, C(bad_field)},
	{"second kv bad", CS_ETCD_OP_RANGE,
	 "{" HDR ",\"kvs\":[{\"key\":\"eA==\",\"value\":\"eA==\"},{\"key\":null}]}", -EBADMSG,
	 C(bad_field)},
	{"more a string", CS_ETCD_OP_RANGE, "{" HDR ",\"more\":\"true\"}", -EBADMSG, C(bad_field)},
	{"count a word", CS_ETCD_OP_RANGE, "{" HDR ",\"count\":\"many\"}", -EBADMSG, C(bad_field)},
	{"bad base64 key", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":[{\"key\":\"L3c!\"}]}", -EBADMSG,
	 C(bad_base64)},
	{"bad base64 key length", CS_ETCD_OP_RANGE, "{" HDR ",\"kvs\":[{\"key\":\"L3c\"}]}",
	 -EBADMSG, C(bad_base64)},
	{"bad base64 value", CS_ETCD_OP_RANGE,
	 "{" HDR ",\"kvs\":[{\"key\":\"L3cv\",\"value\":\"djF=\"}]}", -EBADMSG, C(bad_base64)},
	{"bad base64 prev_kv", CS_ETCD_OP_PUT, "{" HDR ",\"prev_kv\":{\"key\":\"@@@@\"}}", -EBADMSG,
	 C(bad_base64)},
	{"prev_kv an array", CS_ETCD_OP_PUT, "{" HDR ",\"prev_kv\":[]}", -EBADMSG, C(bad_field)},
	{"prev_kvs an object", CS_ETCD_OP_DELETE, "{" HDR ",\"prev_kvs\":{}}", -EBADMSG,
	 C(bad_field)},
	{"deleted a bool", CS_ETCD_OP_DELETE, "{" HDR ",\"deleted\":true}", -EBADMSG, C(bad_field)},
	{"succeeded a string", CS_ETCD_OP_TXN, "{" HDR ",\"succeeded\":\"true\"}", -EBADMSG,
	 C(bad_field)},
	{"responses an object", CS_ETCD_OP_TXN, "{" HDR ",\"responses\":{}}", -EBADMSG,
	 C(bad_field)},
	{"response of unknown kind", CS_ETCD_OP_TXN,
	 "{" HDR ",\"responses\":[{\"response_x\":{}}]}", -EBADMSG, C(bad_field)},
	{"response of two kinds", CS_ETCD_OP_TXN,
	 "{" HDR ",\"responses\":[{\"response_put\":{},\"response_range\":{}}]}", -EBADMSG,
	 C(bad_field)},
	{"nested txn", CS_ETCD_OP_TXN, "{" HDR ",\"responses\":[{\"response_txn\":{}}]}", -EBADMSG,
	 C(bad_field)},
	{"bad kv inside txn", CS_ETCD_OP_TXN,
	 "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"%%%%\"}]}}]}", -EBADMSG,
	 C(bad_base64)},
	{"lease ID a word", CS_ETCD_OP_LEASE_GRANT, "{" HDR ",\"ID\":\"x\",\"TTL\":\"5\"}",
	 -EBADMSG, C(bad_field)},
	{"keepalive without result", CS_ETCD_OP_LEASE_KEEPALIVE, "{" HDR ",\"ID\":\"1\"}", -EBADMSG,
	 C(bad_field)},
	{"keepalive result a string", CS_ETCD_OP_LEASE_KEEPALIVE, "{\"result\":\"x\"}", -EBADMSG,
	 C(bad_field)},
	{"error code a word", CS_ETCD_OP_RANGE,
	 "{\"error\":\"x\",\"message\":\"x\",\"code\":\"x\"}", -EBADMSG, C(bad_field)},
	{"error code zero", CS_ETCD_OP_RANGE, "{\"error\":\"x\",\"message\":\"x\",\"code\":0}",
	 -EBADMSG, C(bad_field)},
	{"error message a number", CS_ETCD_OP_RANGE, "{\"error\":\"x\",\"message\":5,\"code\":3}",
	 -EBADMSG, C(bad_field)},
	{"stream error without code", CS_ETCD_OP_RANGE, "{\"error\":{\"message\":\"x\"}}", -EBADMSG,
	 C(bad_field)},
	{"error object", CS_ETCD_OP_RANGE,
	 "{\"error\":\"etcdserver: permission denied\",\"message\":\"etcdserver: permission "
	 "denied\",\"code\":7}",
	 -EACCES, C(etcd_errors)},
	{"error without message", CS_ETCD_OP_PUT,
	 "{\"error\":\"etcdserver: no leader\",\"code\":14}", -EAGAIN, C(etcd_errors)},
};

static void test_bad_answers(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct cs_etcd_stats st = {0};
		uint64_t counter;

		print_message("  %s\n", c->what);
		assert_int_equal(parse_text(c->op, c->body, NULL, &st), c->err);
		memcpy(&counter, (char *)&st + c->counter, sizeof(counter));
		assert_int_equal(counter, 1);
		assert_int_equal(errors(&st), 1);
		assert_int_equal(st.responses, 0);
	}
}

static void test_limits(void **state)
{
	struct cs_etcd_limits lim = {.max_value = 4};
	struct cs_etcd_stats st = {0};
	struct cs_etcd_result res;
	size_t big = 4 << 20, len;
	char *body, *fix;

	/* a 5-byte value over max_value 4, a 2-byte one under it */
	assert_int_equal(parse_text(CS_ETCD_OP_RANGE,
				    "{" HDR ",\"kvs\":[{\"key\":\"L3cv\",\"value\":\"aGVsbG8=\"}]}",
				    &lim, &st),
			 -EMSGSIZE);
	assert_int_equal(st.too_large_value, 1);
	assert_int_equal(errors(&st), 1);
	fix = load("range_kvs.json", &len);
	assert_int_equal(cs_etcd_parse_response(CS_ETCD_OP_RANGE, fix, len, &lim, &st, &res), 0);
	cs_etcd_result_done(&res);
	/* keys count too */
	lim.max_value = 3;
	assert_int_equal(cs_etcd_parse_response(CS_ETCD_OP_RANGE, fix, len, &lim, &st, &res),
			 -EMSGSIZE);
	cs_etcd_result_done(&res);
	assert_int_equal(st.too_large_value, 2);

	/* the whole answer over max_response */
	lim = (struct cs_etcd_limits){.max_response = len - 1};
	memset(&st, 0, sizeof(st));
	assert_int_equal(cs_etcd_parse_response(CS_ETCD_OP_RANGE, fix, len, &lim, &st, &res),
			 -EMSGSIZE);
	cs_etcd_result_done(&res);
	assert_int_equal(st.too_large_response, 1);
	assert_int_equal(errors(&st), 1);
	free(fix);

	/* a huge value against the default limit (1.5 MiB), never decoded */
	body = malloc(big + 256);
	assert_non_null(body);
	len = (size_t)sprintf(body, "{" HDR ",\"kvs\":[{\"key\":\"L3cv\",\"value\":\"");
	memset(body + len, 'A', big);
	strcpy(body + len + big, "\"}]}");
	memset(&st, 0, sizeof(st));
	assert_int_equal(parse_text(CS_ETCD_OP_RANGE, body, NULL, &st), -EMSGSIZE);
	assert_int_equal(st.too_large_value, 1);
	assert_int_equal(errors(&st), 1);
	free(body);

	/* a watch line over max_line */
	lim = (struct cs_etcd_limits){.max_line = 64};
	memset(&st, 0, sizeof(st));
	fix = load("watch_put.json", &len);
	assert_true(len > 64);
	{
		struct cs_etcd_watch_msg m;

		assert_int_equal(cs_etcd_parse_watch_line(fix, len, &lim, &st, &m), -EMSGSIZE);
		cs_etcd_watch_msg_done(&m);
	}
	assert_int_equal(st.too_large_line, 1);
	assert_int_equal(errors(&st), 1);
	free(fix);
}

#define WHDR "\"header\":{\"revision\":\"9\"}"

static void test_bad_watch_lines(void **state)
{
	static const struct {
		const char *what, *line;
		size_t counter;
	} cases[] = {
		{"not JSON", "{\"result\":", C(bad_json)},
		{"an array", "[]", C(bad_json)},
		{"no result", "{" WHDR "}", C(bad_field)},
		{"result a string", "{\"result\":\"x\"}", C(bad_field)},
		{"no header", "{\"result\":{\"created\":true}}", C(bad_field)},
		{"revision a word",
		 "{\"result\":{\"header\":{\"revision\":\"x\"},\"created\":true}}", C(bad_field)},
		{"created a string", "{\"result\":{" WHDR ",\"created\":\"true\"}}", C(bad_field)},
		{"events an object", "{\"result\":{" WHDR ",\"events\":{}}}", C(bad_field)},
		{"event not an object", "{\"result\":{" WHDR ",\"events\":[7]}}", C(bad_field)},
		{"event without kv", "{\"result\":{" WHDR ",\"events\":[{\"type\":\"DELETE\"}]}}",
		 C(bad_field)},
		{"event of unknown type",
		 "{\"result\":{" WHDR
		 ",\"events\":[{\"type\":\"EXPIRE\",\"kv\":{\"key\":\"eA==\"}}]}}",
		 C(bad_field)},
		{"event kv bad base64",
		 "{\"result\":{" WHDR ",\"events\":[{\"kv\":{\"key\":\"e\"}}]}}", C(bad_base64)},
		{"event prev_kv bad",
		 "{\"result\":{" WHDR ",\"events\":[{\"kv\":{\"key\":\"eA==\"},\"prev_kv\":{}}]}}",
		 C(bad_field)},
		{"compact_revision a word",
		 "{\"result\":{" WHDR ",\"canceled\":true,\"compact_revision\":\"x\"}}",
		 C(bad_field)},
		{"cancel_reason a number",
		 "{\"result\":{" WHDR ",\"canceled\":true,\"cancel_reason\":1}}", C(bad_field)},
		{"fragment", "{\"result\":{" WHDR ",\"fragment\":true,\"events\":[]}}",
		 C(bad_field)},
		{"error code a word", "{\"error\":{\"grpc_code\":\"x\",\"message\":\"m\"}}",
		 C(bad_field)},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_etcd_stats st = {0};
		uint64_t counter;

		print_message("  %s\n", cases[i].what);
		assert_int_equal(watch_text(cases[i].line, NULL, &st), -EBADMSG);
		memcpy(&counter, (char *)&st + cases[i].counter, sizeof(counter));
		assert_int_equal(counter, 1);
		assert_int_equal(errors(&st), 1);
	}
}

/* Every prefix and many one-byte corruptions of every recorded answer: no
 * crash, and each failure counted exactly once. */
static void test_mutations(void **state)
{
	static const struct {
		const char *file;
		int watch;
		enum cs_etcd_op_type op;
	} files[] = {
		{"range_kvs.json", 0, CS_ETCD_OP_RANGE},
		{"txn_cas.json", 0, CS_ETCD_OP_TXN},
		{"txn_failed.json", 0, CS_ETCD_OP_TXN},
		{"delete_prev_kvs.json", 0, CS_ETCD_OP_DELETE},
		{"lease_keepalive.json", 0, CS_ETCD_OP_LEASE_KEEPALIVE},
		{"error_compacted.json", 0, CS_ETCD_OP_RANGE},
		{"watch_delete.json", 1, 0},
		{"watch_txn.json", 1, 0},
		{"watch_compacted.json", 1, 0},
		{"watch_error_no_leader.json", 1, 0},
	};
	static const char subst[] = "\"{}[],:0aZ=/\\ -\x80";
	unsigned int seed = 12345;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		char *orig = load(files[f].file, &len), *buf = malloc(len + 1);

		assert_non_null(buf);
		for (size_t cut = 0; cut <= len + 2000; cut++) {
			struct cs_etcd_stats st = {0};
			size_t n = cut < len ? cut : len;
			int err;

			memcpy(buf, orig, len + 1);
			if (cut > len) /* one substituted byte, at a random place */
				buf[rand_r(&seed) % len] =
					subst[rand_r(&seed) % (sizeof(subst) - 1)];
			if (files[f].watch) {
				struct cs_etcd_watch_msg m;

				err = cs_etcd_parse_watch_line(buf, n, NULL, &st, &m);
				cs_etcd_watch_msg_done(&m);
			} else {
				struct cs_etcd_result res;

				err = cs_etcd_parse_response(files[f].op, buf, n, NULL, &st, &res);
				cs_etcd_result_done(&res);
			}
			if (err == 0 || st.etcd_errors)
				assert_int_equal(errors(&st), st.etcd_errors);
			else
				assert_int_equal(errors(&st), 1);
			if (cut < len)
				assert_int_not_equal(err, 0);
		}
		free(buf);
		free(orig);
	}
}

/* --- client (no network: nothing is sent before the loop runs) ----------------------------- */

static void count_cb(void *ud, int err, const struct cs_etcd_result *res)
{
	int *n = ud;

	assert_int_equal(err, -ECANCELED);
	assert_non_null(res);
	(*n)++;
}

static void event_cb(void *ud, const struct cs_etcd_event *ev)
{
	fail_msg("no event expected");
}

static void ka_cb(void *ud, int err, int64_t ttl)
{
	fail_msg("no keepalive expected");
}

static void test_client_args(void **state)
{
	static const char *const good[] = {"http://127.0.0.1:1", "https://[::1]:2379/"};
	static const char *const bad[][1] = {{"127.0.0.1:2379"},   {"ftp://x"},	   {"http://"},
					     {"http://host/path"}, {"http://a b"}, {NULL}};
	struct cs_etcd_opts o = {
		.endpoints = good, .n_endpoints = 2, .max_requests = 2, .max_streams = 1};
	struct cs_etcd_range_req rq = {.key = "/a", .prefix = true, .page_size = 10};
	struct cs_etcd_put_req pq = {.key = "/a", .value = "v", .value_len = 1};
	struct cs_etcd_watch_req wq = {.key = "/a", .prefix = true};
	struct cs_etcd_keepalive *ka;
	struct cs_etcd_watch *w;
	struct cs_etcd *e;
	uv_loop_t loop;
	int cancelled = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cs_etcd_opts b = {.endpoints = bad[i], .n_endpoints = 1};

		errno = 0;
		assert_null(cs_etcd_new(&loop, &b));
		assert_int_equal(errno, EINVAL);
	}
	o.n_endpoints = 0;
	assert_null(cs_etcd_new(&loop, &o));
	o.n_endpoints = CS_ETCD_MAX_ENDPOINTS + 1;
	assert_null(cs_etcd_new(&loop, &o));
	o.n_endpoints = 2;
	e = cs_etcd_new(&loop, &o);
	assert_non_null(e);
	assert_string_equal(cs_etcd_endpoint(e), "http://127.0.0.1:1");

	/* bad requests never call back */
	assert_int_equal(
		cs_etcd_range(e, &(struct cs_etcd_range_req){.key = ""}, count_cb, &cancelled),
		-EINVAL);
	assert_int_equal(
		cs_etcd_range(e, &(struct cs_etcd_range_req){.key = NULL}, count_cb, &cancelled),
		-EINVAL);
	assert_int_equal(cs_etcd_range(e, &rq, NULL, NULL), -EINVAL);
	assert_int_equal(cs_etcd_put(e, &(struct cs_etcd_put_req){.key = "/a", .value_len = 3},
				     count_cb, &cancelled),
			 -EINVAL);
	pq.value_len = CS_ETCD_DEFAULT_MAX_VALUE + 1;
	assert_int_equal(cs_etcd_put(e, &pq, count_cb, &cancelled), -EMSGSIZE);
	pq.value_len = 1;
	assert_int_equal(cs_etcd_lease_grant(e, 0, 0, count_cb, &cancelled), -EINVAL);
	assert_int_equal(cs_etcd_lease_revoke(e, 0, count_cb, &cancelled), -EINVAL);
	assert_int_equal(
		cs_etcd_txn(e, &(struct cs_etcd_txn_req){.n_cmp = 1}, count_cb, &cancelled),
		-EINVAL);

	/* max_requests, then max_streams */
	assert_int_equal(cs_etcd_range(e, &rq, count_cb, &cancelled), 0);
	assert_int_equal(cs_etcd_put(e, &pq, count_cb, &cancelled), 0);
	assert_int_equal(cs_etcd_put(e, &pq, count_cb, &cancelled), -EBUSY);
	w = cs_etcd_watch_start(e, &wq, event_cb, NULL);
	assert_non_null(w);
	errno = 0;
	assert_null(cs_etcd_lease_keepalive_start(e, 5, 0, ka_cb, NULL));
	assert_int_equal(errno, EBUSY);
	assert_int_equal(cs_etcd_stats(e)->refused, 2);
	cs_etcd_watch_stop(w);
	ka = cs_etcd_lease_keepalive_start(e, 5, 0, ka_cb, NULL);
	assert_non_null(ka);

	/* freeing cancels the requests (callback) and the streams (none) */
	assert_int_equal(cancelled, 0);
	cs_etcd_free(e);
	assert_int_equal(cancelled, 2);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_stat_names(void **state)
{
	assert_int_equal(cs_etcd_stat_count() * sizeof(uint64_t), sizeof(struct cs_etcd_stats));
	assert_string_equal(cs_etcd_stat_name(0), "requests");
	assert_string_equal(
		cs_etcd_stat_name(offsetof(struct cs_etcd_stats, bad_base64) / sizeof(uint64_t)),
		"bad_base64");
	assert_null(cs_etcd_stat_name(cs_etcd_stat_count()));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),	     cmocka_unit_test(test_range),
		cmocka_unit_test(test_put_delete),   cmocka_unit_test(test_txn),
		cmocka_unit_test(test_lease),	     cmocka_unit_test(test_errors),
		cmocka_unit_test(test_grpc_errno),   cmocka_unit_test(test_watch_lines),
		cmocka_unit_test(test_watch_stream), cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_limits),	     cmocka_unit_test(test_bad_watch_lines),
		cmocka_unit_test(test_mutations),    cmocka_unit_test(test_client_args),
		cmocka_unit_test(test_stat_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
