/* Integration tests of the etcd client's watches against real etcd 3.4
 * processes: order, latency, progress, idle timeout, cuts, compaction,
 * line limit, kill -9 and restart, a 3-member cluster losing members. */
#include "etcd-harness.h"

/* A watch answer over max_line cannot be caught up with: RESYNC. */
static void test_watch_line_limit(void **state)
{
	struct cs_etcd_opts o = {.limits = {.max_line = 600}};
	struct cs_etcd *e = client_new(main_url, 1, &o);
	struct recorder r;
	char big[1000];
	int64_t rev;

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rec_init(&r);
	rec_start(&r, e, "/wl/", 0);
	rec_wait_count(&r, &r.created, 1, 5000);
	assert_int_equal(do_put(e, "/wl/small", "s", 0, &rev), 0);
	rec_wait_rev(&r, rev, 5000);
	assert_int_equal(do_put(e, "/wl/big", big, 0, NULL), 0);
	rec_wait_count(&r, &r.resync, 1, 5000);
	assert_int_equal(r.resync_err, -EMSGSIZE);
	assert_int_equal(r.n, 1);
	assert_int_equal(cs_etcd_stats(e)->too_large_line, 1);
	rec_done(&r);
	client_free(e);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* PUT and DELETE in order with the writes' revisions; then put->callback
 * latency on loopback. */
static void test_watch_order(void **state)
{
	struct cs_etcd *e = client_new(main_url, 1, NULL);
	struct recorder r;
	int64_t revs[4];
	struct call c;
	uint64_t lat[200];

	rec_init(&r);
	rec_start(&r, e, "/wo/", 0);
	rec_wait_count(&r, &r.created, 1, 5000);
	assert_int_equal(do_put(e, "/wo/a", "1", 0, &revs[0]), 0);
	assert_int_equal(do_put(e, "/wo/b", "2", 0, &revs[1]), 0);
	assert_int_equal(do_put(e, "/wx/other", "x", 0, NULL), 0); /* not watched */
	{
		struct cs_etcd_delete_req d = {.key = "/wo/a"};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_delete(e, &d, call_cb, &c)), 0);
		revs[2] = c.res.revision;
		call_done(&c);
	}
	{
		struct cs_etcd_txn_op ops[2] = {
			{.type = CS_ETCD_OP_PUT,
			 .put = {.key = "/wo/c", .value = "3", .value_len = 1}},
			{.type = CS_ETCD_OP_PUT,
			 .put = {.key = "/wo/d", .value = "4", .value_len = 1}},
		};
		struct cs_etcd_txn_req t = {.success = ops, .n_success = 2};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_txn(e, &t, call_cb, &c)), 0);
		revs[3] = c.res.revision;
		call_done(&c);
	}
	rec_wait_rev(&r, revs[3], 5000);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.ev[0].type, CS_ETCD_EV_PUT);
	assert_string_equal(r.ev[0].key, "/wo/a");
	assert_string_equal(r.ev[0].value, "1");
	assert_int_equal(r.ev[0].rev, revs[0]);
	assert_int_equal(r.ev[0].create_rev, revs[0]);
	assert_int_equal(r.ev[1].rev, revs[1]);
	assert_int_equal(r.ev[2].type, CS_ETCD_EV_DELETE);
	assert_string_equal(r.ev[2].key, "/wo/a");
	assert_int_equal(r.ev[2].rev, revs[2]);
	assert_int_equal(r.ev[3].rev, revs[3]);
	assert_int_equal(r.ev[4].rev, revs[3]);
	assert_string_equal(r.ev[4].key, "/wo/d");
	rec_assert_ordered(&r);
	assert_int_equal(cs_etcd_watch_revision(r.w), revs[3]);

	/* latency: put issued -> event callback */
	for (int i = 0; i < 200; i++) {
		size_t n0 = r.n;
		uint64_t t0 = uv_hrtime();
		struct cs_etcd_put_req q = {.key = "/wo/lat", .value = "x", .value_len = 1};

		call_init(&c);
		assert_int_equal(cs_etcd_put(e, &q, call_cb, &c), 0);
		while (r.n == n0)
			uv_run(&loop, UV_RUN_ONCE);
		lat[i] = r.ev[n0].t - t0;
		call_wait(&c, 0);
		call_done(&c);
	}
	qsort(lat, 200, sizeof(lat[0]), cmp_u64);
	print_message(
		"  watch latency put->callback (200 puts, loopback): p50 %.2f ms, p90 %.2f ms, "
		"p99 %.2f ms, max %.2f ms\n",
		lat[100] / 1e6, lat[180] / 1e6, lat[198] / 1e6, lat[199] / 1e6);
	assert_int_equal(cs_etcd_stats(e)->watch_duplicates, 0);
	rec_done(&r);
	client_free(e);
}

/* Progress notifications advance the known revision; a silent stream is
 * dropped by the idle timeout and resumed without loss. */
static void test_watch_progress_idle(void **state)
{
	struct cs_etcd_opts o = {.watch_idle_timeout_ms = 2500};
	struct cs_etcd *direct = client_new(main_url, 1, NULL);
	struct proxy p;
	const char *urls[1];
	struct cs_etcd *e;
	struct recorder r;
	int64_t rev, before;

	proxy_start(&p, main_etcd.client_port);
	urls[0] = p.url;
	e = client_new(urls, 1, &o);
	rec_init(&r);
	rec_start(&r, e, "/wp/", 0);
	rec_wait_count(&r, &r.created, 1, 5000);
	before = cs_etcd_watch_revision(r.w);
	assert_int_equal(do_put(direct, "/elsewhere", "x", 0, &rev), 0);
	rec_wait_count(&r, &r.progress, r.progress + 2, 5000);
	assert_true(r.last_progress >= rev);
	assert_true(cs_etcd_watch_revision(r.w) >= rev);
	assert_true(rev > before);

	/* freeze: no bytes flow, the connection stays; the idle timeout resumes */
	proxy_freeze(&p);
	assert_int_equal(do_put(direct, "/wp/during-freeze", "1", 0, &rev), 0);
	rec_wait_rev(&r, rev, 10000);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.ev[0].key, "/wp/during-freeze");
	assert_true(cs_etcd_stats(e)->watch_idle_timeouts >= 1);
	assert_true(cs_etcd_stats(e)->watch_reconnects >= 1);
	print_message("  idle timeout 2.5 s: %" PRIu64 " timeouts, %zu progress notifications\n",
		      cs_etcd_stats(e)->watch_idle_timeouts, r.progress);
	rec_done(&r);
	client_free(e);
	client_free(direct);
	proxy_stop(&p);
}

/* Writes while the watch's connection is cut are delivered after it comes
 * back; then a compaction while cut is reported as RESYNC, and the caller's
 * resync (paged range + new watch) sees everything after. */
static void test_watch_cut_and_compaction(void **state)
{
	struct cs_etcd *direct = client_new(main_url, 1, NULL);
	struct proxy p;
	const char *urls[1];
	struct cs_etcd *e;
	struct recorder r;
	int64_t rev, last;
	char key[32];

	proxy_start(&p, main_etcd.client_port);
	urls[0] = p.url;
	e = client_new(urls, 1, NULL);
	rec_init(&r);
	r.stop_on_finish = true;
	rec_start(&r, e, "/wc/", 0);
	rec_wait_count(&r, &r.created, 1, 5000);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "/wc/a%d", i);
		assert_int_equal(do_put(direct, key, "x", 0, &rev), 0);
	}
	rec_wait_rev(&r, rev, 5000);

	proxy_cut(&p, true);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "/wc/b%d", i);
		assert_int_equal(do_put(direct, key, "y", 0, &last), 0);
	}
	run_for(300);
	proxy_cut(&p, false);
	rec_wait_rev(&r, last, 10000);
	assert_int_equal(r.n, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "/wc/%c%d", i < 5 ? 'a' : 'b', i % 5);
		assert_string_equal(r.ev[i].key, key);
		if (i)
			assert_int_equal(r.ev[i].rev, r.ev[i - 1].rev + 1);
	}
	assert_true(r.created >= 2);
	assert_int_equal(cs_etcd_stats(e)->watch_duplicates, 0);

	/* cut again, write, compact past the watch's revision */
	proxy_cut(&p, true);
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "/wc/c%d", i);
		assert_int_equal(do_put(direct, key, "z", 0, &last), 0);
	}
	{
		/* the JSON gateway's compaction, through a raw request of our own */
		char cmd[256];

		snprintf(cmd, sizeof(cmd),
			 "curl -sf -X POST %s/v3/kv/compaction -d '{\"revision\":\"%" PRId64
			 "\",\"physical\":true}' >/dev/null",
			 main_url[0], last);
		assert_int_equal(system(cmd), 0);
	}
	proxy_cut(&p, false);
	rec_wait_count(&r, &r.resync, 1, 10000);
	assert_int_equal(r.resync_err, -ESTALE);
	assert_int_equal(r.resync_rev, last);
	assert_null(r.w); /* stopped from its callback */
	assert_int_equal(r.n, 10);
	assert_int_equal(cs_etcd_stats(e)->watch_resyncs, 1);

	/* a read pinned below the compaction fails cleanly */
	{
		struct cs_etcd_range_req q = {.key = "/wc/", .prefix = true, .revision = last - 1};
		struct call c;

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), -ESTALE);
		call_done(&c);
	}
	/* the resync: read all, watch from the read's revision + 1 */
	{
		struct cs_etcd_range_req q = {.key = "/wc/", .prefix = true, .page_size = 4};
		struct recorder r2;
		struct call c;

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), 0);
		assert_int_equal(c.res.n_kvs, 13);
		rec_init(&r2);
		rec_start(&r2, e, "/wc/", c.res.revision + 1);
		call_done(&c);
		assert_int_equal(do_put(direct, "/wc/d0", "after", 0, &rev), 0);
		rec_wait_rev(&r2, rev, 5000);
		assert_int_equal(r2.n, 1);
		assert_string_equal(r2.ev[0].key, "/wc/d0");
		rec_done(&r2);
	}
	/* a watch asking for a compacted revision: RESYNC at once */
	{
		struct recorder r3;

		rec_init(&r3);
		rec_start(&r3, e, "/wc/", 2);
		rec_wait_count(&r3, &r3.resync, 1, 5000);
		assert_int_equal(r3.resync_rev, last);
		assert_int_equal(r3.n, 0);
		rec_done(&r3);
	}
	rec_done(&r);
	client_free(e);
	client_free(direct);
	proxy_stop(&p);
}

/* kill -9 etcd in the middle of a stream of writes, restart it on the same
 * data dir: every committed write is seen once, in order. */
struct writer {
	struct cs_etcd *e;
	uv_timer_t timer;
	int next, total, ok, failed;
	int kill_at;
	bool killed, restarted, busy;
	uint64_t pause_until;
	int64_t revs[400];
	char keys[400][32];
	struct call c;
};

static void writer_tick(uv_timer_t *t);

static void writer_cb(void *ud, int err, const struct cs_etcd_result *res)
{
	struct writer *w = ud;
	int i = w->next - 1;

	w->busy = false;
	if (!err) {
		w->revs[i] = res->revision;
		w->ok++;
	} else {
		w->revs[i] = -1; /* unknown: may or may not have been applied */
		w->failed++;
		w->pause_until = uv_now(&loop) + 100;
	}
}

static void writer_tick(uv_timer_t *t)
{
	struct writer *w = t->data;
	struct cs_etcd_put_req q;

	if (w->busy || uv_now(&loop) < w->pause_until)
		return;
	if (w->ok == w->kill_at && !w->killed) {
		proc_kill(&main_etcd);
		w->killed = true;
	} else if (w->killed && !w->restarted) {
		proc_start(&main_etcd);
		w->restarted = true;
	}
	if (w->next == w->total) {
		uv_timer_stop(t);
		return;
	}
	snprintf(w->keys[w->next], sizeof(w->keys[0]), "/wr/k%04d", w->next);
	q = (struct cs_etcd_put_req){.key = w->keys[w->next], .value = "v", .value_len = 1};
	w->next++;
	w->busy = true;
	if (cs_etcd_put(w->e, &q, writer_cb, w)) {
		w->busy = false;
		w->revs[w->next - 1] = -1;
		w->failed++;
	}
}

static void test_watch_restart(void **state)
{
	struct cs_etcd_opts o = {.request_timeout_ms = 1000,
				 .dial_timeout_ms = 300,
				 .reconnect_min_ms = 50,
				 .reconnect_max_ms = 400};
	struct cs_etcd *e = client_new(main_url, 1, &o);
	struct writer w = {.e = e, .total = 300, .kill_at = 100};
	struct recorder r;
	int64_t start, final_rev;
	struct call c;

	start = current_revision(e);
	rec_init(&r);
	rec_start(&r, e, "/wr/", start + 1);
	uv_timer_init(&loop, &w.timer);
	w.timer.data = &w;
	uv_timer_start(&w.timer, writer_tick, 5, 5);
	while (w.next < w.total || w.busy) {
		int done = 0;

		cs_etcd_run_until(&loop, &done, 50);
	}
	uv_close((uv_handle_t *)&w.timer, NULL);
	assert_true(w.killed && w.restarted);
	wait_healthy(main_url[0], NULL);
	final_rev = current_revision(e);
	rec_wait_rev(&r, final_rev, 15000);

	/* exactly once, in order */
	rec_assert_ordered(&r);
	for (size_t i = 1; i < r.n; i++)
		assert_true(r.ev[i].rev > r.ev[i - 1].rev); /* one key per revision here */
	for (int i = 0; i < w.total; i++) {
		size_t j;

		if (w.revs[i] <= 0)
			continue;
		for (j = 0; j < r.n && r.ev[j].rev != w.revs[i]; j++)
			;
		assert_true(j < r.n);
		assert_string_equal(r.ev[j].key, w.keys[i]);
	}
	/* and nothing that is not in the store */
	{
		struct cs_etcd_range_req q = {.key = "/wr/", .prefix = true, .page_size = 100};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), 0);
		assert_int_equal(c.res.n_kvs, r.n);
		for (size_t i = 0; i < c.res.n_kvs; i++) {
			size_t j;

			for (j = 0; j < r.n && r.ev[j].rev != c.res.kvs[i].mod_revision; j++)
				;
			assert_true(j < r.n);
			assert_string_equal(r.ev[j].key, c.res.kvs[i].key);
		}
		call_done(&c);
	}
	print_message("  restart: %d puts ok, %d failed while down, %zu events, %" PRIu64
		      " watch reconnects, %" PRIu64 " duplicates dropped\n",
		      w.ok, w.failed, r.n, cs_etcd_stats(e)->watch_reconnects,
		      cs_etcd_stats(e)->watch_duplicates);
	assert_true(w.failed >= 1);
	assert_true(cs_etcd_stats(e)->watch_reconnects >= 1);
	rec_done(&r);
	client_free(e);
}

/* Three members: kill the one the watch and the writes use. */
static void test_cluster(void **state)
{
	static struct etcd_proc m[3];
	char cluster[512] = "";
	const char *urls[3];
	struct cs_etcd_opts o = {.request_timeout_ms = 2000,
				 .dial_timeout_ms = 300,
				 .reconnect_min_ms = 50,
				 .reconnect_max_ms = 400};
	struct cs_etcd *e;
	struct recorder r;
	int64_t rev, rev2;
	uint64_t t0;
	int err;

	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "m%d", i);
		proc_init(&m[i], name);
		snprintf(cluster + strlen(cluster), sizeof(cluster) - strlen(cluster), "%s%s",
			 i ? "," : "", m[i].cluster);
		urls[i] = m[i].url;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(m[i].cluster, sizeof(m[i].cluster), "%s", cluster);
		proc_start(&m[i]);
	}
	for (int i = 0; i < 3; i++)
		wait_healthy(m[i].url, NULL);
	e = client_new(urls, 3, &o);
	rec_init(&r);
	rec_start(&r, e, "/cl/", 0);
	rec_wait_count(&r, &r.created, 1, 5000);
	assert_int_equal(do_put(e, "/cl/a", "1", 0, &rev), 0);
	rec_wait_rev(&r, rev, 5000);
	assert_string_equal(cs_etcd_endpoint(e), m[0].url);

	proc_kill(&m[0]);
	t0 = uv_hrtime();
	do { /* a put may meet the leader election: retry until it goes through */
		err = do_put(e, "/cl/b", "2", 0, &rev2);
		assert_true(uv_hrtime() - t0 < 15000000000ull);
	} while (err);
	rec_wait_rev(&r, rev2, 10000);
	print_message("  3 members, the used one killed: write through another after %.2f s, "
		      "endpoint now %s\n",
		      (uv_hrtime() - t0) / 1e9, cs_etcd_endpoint(e));
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ev[1].key, "/cl/b");
	assert_string_not_equal(cs_etcd_endpoint(e), m[0].url);

	/* Kill the other survivor: the watch's member has no leader, etcd ends
	 * the stream ("hasleader"); restart it: the watch resumes, no gap. */
	{
		int used = !strcmp(cs_etcd_endpoint(e), m[1].url) ? 1 : 2;
		int other = used == 1 ? 2 : 1;
		uint64_t errors0 = cs_etcd_stats(e)->etcd_errors;
		size_t created0 = r.created;
		int64_t rev3;

		proc_kill(&m[other]);
		t0 = uv_hrtime();
		while (cs_etcd_stats(e)->etcd_errors == errors0) {
			assert_true(uv_hrtime() - t0 < 20000000000ull);
			run_for(100);
		}
		print_message(
			"  2 of 3 members down: etcd ended the watch (no leader) after %.1f s\n",
			(uv_hrtime() - t0) / 1e9);
		proc_start(&m[other]);
		t0 = uv_hrtime();
		do {
			err = do_put(e, "/cl/c", "3", 0, &rev3);
			assert_true(uv_hrtime() - t0 < 20000000000ull);
		} while (err);
		rec_wait_rev(&r, rev3, 10000);
		assert_int_equal(r.n, 3);
		assert_string_equal(r.ev[2].key, "/cl/c");
		assert_int_equal(r.ev[2].rev, rev3);
		assert_true(r.created > created0);
		rec_assert_ordered(&r);
		print_message("  member back: write and watch event after %.1f s\n",
			      (uv_hrtime() - t0) / 1e9);
	}
	rec_done(&r);
	client_free(e);
	for (int i = 0; i < 3; i++)
		proc_kill(&m[i]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch_order),
		cmocka_unit_test(test_watch_progress_idle),
		cmocka_unit_test(test_watch_cut_and_compaction),
		cmocka_unit_test(test_watch_line_limit),
		cmocka_unit_test(test_watch_restart),
		cmocka_unit_test(test_cluster),
	};

	return live_main(argc, argv, "etcd live: watches", tests, sizeof(tests) / sizeof(tests[0]));
}
