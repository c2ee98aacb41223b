/* Unit tests for the etcd client's parsers on good input: answers and watch
 * lines recorded from a real etcd 3.4 (tests/unit/etcd-fixtures/), base64. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gw/etcd.h"
#include "etcd_test.h"

static int parse_fixture(enum cs_etcd_op_type op, const char *name, struct cs_etcd_stats *st,
			 struct cs_etcd_result *res)
{
	size_t len;
	char *body = load(name, &len);
	int err = cs_etcd_parse_response(op, body, len, NULL, st, res);

	free(body);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),	     cmocka_unit_test(test_range),
		cmocka_unit_test(test_put_delete),   cmocka_unit_test(test_txn),
		cmocka_unit_test(test_lease),	     cmocka_unit_test(test_errors),
		cmocka_unit_test(test_grpc_errno),   cmocka_unit_test(test_watch_lines),
		cmocka_unit_test(test_watch_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
