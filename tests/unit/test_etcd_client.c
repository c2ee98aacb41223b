/* Unit tests for the etcd client's arguments and limits, without a network
 * (nothing is sent before the loop runs), and its counter names. */
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
		cmocka_unit_test(test_client_args),
		cmocka_unit_test(test_stat_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
