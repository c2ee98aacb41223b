/* Unit tests for the etcd client's parsers on bad input: every malformed
 * answer and watch line, the size limits, and mutated recordings. */
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

static int parse_text(enum cs_etcd_op_type op, const char *text, const struct cs_etcd_limits *lim,
		      struct cs_etcd_stats *st)
{
	struct cs_etcd_result res;
	int err = cs_etcd_parse_response(op, text, strlen(text), lim, st, &res);

	cs_etcd_result_done(&res);
	return err;
}

static int watch_text(const char *text, const struct cs_etcd_limits *lim, struct cs_etcd_stats *st)
{
	struct cs_etcd_watch_msg m;
	int err = cs_etcd_parse_watch_line(text, strlen(text), lim, st, &m);

	cs_etcd_watch_msg_done(&m);
	return err;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_watch_lines),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
