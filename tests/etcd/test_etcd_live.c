/* Integration tests of the etcd client's requests against a real etcd 3.4
 * on 127.0.0.1: reads, paging, txns, leases, failover, TLS, re-entrancy. */
#include "etcd-harness.h"

static void test_put_get(void **state)
{
	struct cs_etcd *e = client_new(main_url, 1, NULL);
	struct cs_etcd_range_req q = {.key = "/pg/", .prefix = true, .keys_only = true};
	struct call c;
	int64_t rev1, rev2, mod;
	char *v;

	assert_int_equal(do_put(e, "/pg/a", "alpha", 0, &rev1), 0);
	assert_int_equal(do_put(e, "/pg/b", "", 0, &rev2), 0); /* an empty value */
	assert_true(rev2 == rev1 + 1);
	v = do_get(e, "/pg/a", &mod);
	assert_string_equal(v, "alpha");
	assert_int_equal(mod, rev1);
	free(v);
	v = do_get(e, "/pg/b", NULL);
	assert_string_equal(v, "");
	free(v);
	assert_null(do_get(e, "/pg/none", NULL));

	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), 0);
	assert_int_equal(c.res.n_kvs, 2);
	assert_string_equal(c.res.kvs[0].key, "/pg/a");
	assert_int_equal(c.res.kvs[0].value_len, 0); /* keys_only */
	assert_int_equal(c.res.count, 2);
	call_done(&c);

	/* binary values survive */
	{
		unsigned char bin[300];
		struct cs_etcd_put_req pq = {
			.key = "/pg/bin", .value = bin, .value_len = sizeof(bin)};
		struct cs_etcd_range_req rq = {.key = "/pg/bin"};

		for (size_t i = 0; i < sizeof(bin); i++)
			bin[i] = (unsigned char)i;
		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_put(e, &pq, call_cb, &c)), 0);
		call_done(&c);
		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(e, &rq, call_cb, &c)), 0);
		assert_int_equal(c.res.kvs[0].value_len, sizeof(bin));
		assert_memory_equal(c.res.kvs[0].value, bin, sizeof(bin));
		call_done(&c);
	}
	/* an etcd error comes back mapped, with etcd's message */
	{
		struct cs_etcd_range_req rq = {.key = "/pg/a", .revision = 1000000000};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(e, &rq, call_cb, &c)), -ERANGE);
		assert_int_equal(c.res.grpc_code, CS_ETCD_GRPC_OUT_OF_RANGE);
		assert_non_null(strstr(c.res.message, "future revision"));
		call_done(&c);
		assert_int_equal(cs_etcd_stats(e)->etcd_errors, 1);
	}
	/* a put with a lease that does not exist */
	assert_int_equal(do_put(e, "/pg/c", "x", 12345, NULL), -ENOENT);
	client_free(e);

	/* a host name: resolved by libcurl (::1 first, then 127.0.0.1) */
	{
		char url[64];
		const char *urls[1] = {url};

		snprintf(url, sizeof(url), "http://localhost:%d", main_etcd.client_port);
		e = client_new(urls, 1, NULL);
		v = do_get(e, "/pg/a", NULL);
		assert_string_equal(v, "alpha");
		free(v);
		client_free(e);
	}
}

/* 2500 keys in 20 txns, then paged reads: 3 pages of 1000 at one revision
 * while writes go on, and a limit. */
static void test_paging(void **state)
{
	struct cs_etcd *e = client_new(main_url, 1, NULL);
	struct cs_etcd_txn_op ops[125];
	char keys[125][32], vals[125][32];
	struct call c, w[10];
	uint64_t t0;
	int64_t rev_before, w_rev[10];
	int before_pin;

	for (int b = 0; b < 20; b++) {
		struct cs_etcd_txn_req t = {.success = ops, .n_success = 125};

		for (int i = 0; i < 125; i++) {
			snprintf(keys[i], sizeof(keys[i]), "/page/k%05d", b * 125 + i);
			snprintf(vals[i], sizeof(vals[i]), "v%d", b * 125 + i);
			ops[i] = (struct cs_etcd_txn_op){
				.type = CS_ETCD_OP_PUT,
				.put = {.key = keys[i],
					.value = vals[i],
					.value_len = strlen(vals[i])},
			};
		}
		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_txn(e, &t, call_cb, &c)), 0);
		assert_true(c.res.succeeded);
		assert_int_equal(c.res.n_responses, 125);
		call_done(&c);
	}
	rev_before = current_revision(e);

	/* the paged read, with 10 puts into the range racing it */
	{
		struct cs_etcd_range_req q = {.key = "/page/", .prefix = true, .page_size = 1000};
		uint64_t req0 = cs_etcd_stats(e)->requests;
		char k[10][32];

		call_init(&c);
		t0 = uv_hrtime();
		assert_int_equal(cs_etcd_range(e, &q, call_cb, &c), 0);
		for (int i = 0; i < 10; i++) {
			struct cs_etcd_put_req pq = {.key = k[i], .value = "new", .value_len = 3};

			snprintf(k[i], sizeof(k[i]), "/page/k%05d", 9000 + i);
			call_init(&w[i]);
			assert_int_equal(cs_etcd_put(e, &pq, call_cb, &w[i]), 0);
		}
		assert_int_equal(call_wait(&c, 0), 0);
		for (int i = 0; i < 10; i++) {
			assert_int_equal(call_wait(&w[i], 0), 0);
			w_rev[i] = w[i].res.revision;
			call_done(&w[i]);
		}
		print_message("  paged range: 2500 keys in 3 pages, %.1f ms\n",
			      (c.t_end - t0) / 1e6);
		/* exactly the store at the first page's revision, whatever the
		 * racing puts did meanwhile */
		before_pin = 0;
		for (int i = 0; i < 10; i++)
			before_pin += w_rev[i] <= c.res.revision;
		assert_int_equal(c.res.n_kvs, 2500 + before_pin);
		assert_int_equal(c.res.count, 2500 + before_pin);
		assert_false(c.res.more);
		assert_true(c.res.revision >= rev_before);
		/* the racing puts are concurrent requests: any of them, in any
		 * order, may land before the pinned revision; the read holds
		 * exactly those, in key order */
		{
			int racing[10], n_racing = 0;

			for (int i = 0; i < 10; i++)
				if (w_rev[i] <= c.res.revision)
					racing[n_racing++] = 9000 + i;
			for (size_t i = 0; i < c.res.n_kvs; i++) {
				char want[32];

				snprintf(want, sizeof(want), "/page/k%05d",
					 i < 2500 ? (int)i : racing[i - 2500]);
				assert_string_equal(c.res.kvs[i].key, want);
				assert_true(c.res.kvs[i].mod_revision <= c.res.revision);
			}
		}
		print_message("  %d of 10 racing puts before the pinned revision\n", before_pin);
		/* 3 pages; the puts are 10 more requests */
		assert_int_equal(cs_etcd_stats(e)->requests - req0, 3 + 10);
		call_done(&c);
	}
	/* pages of a read at an older revision: all at that revision */
	{
		struct cs_etcd_range_req q = {
			.key = "/page/", .prefix = true, .page_size = 1000, .revision = rev_before};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), 0);
		assert_int_equal(c.res.n_kvs, 2500);
		assert_int_equal(c.res.count, 2500);
		assert_string_equal(c.res.kvs[2499].key, "/page/k02499");
		call_done(&c);
	}
	/* a limit across pages */
	{
		struct cs_etcd_range_req q = {
			.key = "/page/", .prefix = true, .page_size = 1000, .limit = 1200};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), 0);
		assert_int_equal(c.res.n_kvs, 1200);
		assert_true(c.res.more);
		assert_string_equal(c.res.kvs[1199].key, "/page/k01199");
		call_done(&c);
	}
	/* over max_range: refused cleanly */
	{
		struct cs_etcd_opts o = {.limits = {.max_range = 10000}};
		struct cs_etcd *small = client_new(main_url, 1, &o);
		struct cs_etcd_range_req q = {.key = "/page/", .prefix = true, .page_size = 100};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_range(small, &q, call_cb, &c)), -EMSGSIZE);
		assert_int_equal(cs_etcd_stats(small)->too_large_range, 1);
		call_done(&c);
		client_free(small);
	}
	/* delete the prefix */
	{
		struct cs_etcd_delete_req d = {.key = "/page/", .prefix = true};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_delete(e, &d, call_cb, &c)), 0);
		assert_int_equal(c.res.deleted, 2510);
		call_done(&c);
	}
	client_free(e);
}

static void test_delete(void **state)
{
	struct cs_etcd *e = client_new(main_url, 1, NULL);
	struct cs_etcd_delete_req d = {.key = "/del/a", .prev_kv = true};
	struct call c;

	assert_int_equal(do_put(e, "/del/a", "1", 0, NULL), 0);
	assert_int_equal(do_put(e, "/del/b", "2", 0, NULL), 0);
	assert_int_equal(do_put(e, "/del/c", "3", 0, NULL), 0);
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_delete(e, &d, call_cb, &c)), 0);
	assert_int_equal(c.res.deleted, 1);
	assert_int_equal(c.res.n_prev_kvs, 1);
	assert_string_equal(c.res.prev_kvs[0].value, "1");
	call_done(&c);
	d = (struct cs_etcd_delete_req){.key = "/del/", .prefix = true};
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_delete(e, &d, call_cb, &c)), 0);
	assert_int_equal(c.res.deleted, 2);
	call_done(&c);
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_delete(e, &d, call_cb, &c)), 0);
	assert_int_equal(c.res.deleted, 0);
	call_done(&c);
	assert_null(do_get(e, "/del/b", NULL));
	client_free(e);
}

static void test_create_and_cas(void **state)
{
	struct cs_etcd *e = client_new(main_url, 1, NULL);
	struct call c;
	int64_t mod;
	char *v;

	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_create(e, "/id/7", "first", 5, 0, call_cb, &c)), 0);
	assert_true(c.res.succeeded);
	mod = c.res.revision;
	call_done(&c);
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_create(e, "/id/7", "second", 6, 0, call_cb, &c)), 0);
	assert_false(c.res.succeeded);
	assert_int_equal(c.res.n_responses, 1);
	assert_int_equal(c.res.responses[0].n_kvs, 1);
	assert_string_equal(c.res.responses[0].kvs[0].value, "first");
	assert_int_equal(c.res.responses[0].kvs[0].mod_revision, mod);
	call_done(&c);

	/* CAS on mod_revision: the first wins, a stale one loses and sees the winner */
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_cas(e, "/id/7", mod, "cas1", 4, 0, call_cb, &c)), 0);
	assert_true(c.res.succeeded);
	call_done(&c);
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_cas(e, "/id/7", mod, "cas2", 4, 0, call_cb, &c)), 0);
	assert_false(c.res.succeeded);
	assert_string_equal(c.res.responses[0].kvs[0].value, "cas1");
	call_done(&c);
	v = do_get(e, "/id/7", NULL);
	assert_string_equal(v, "cas1");
	free(v);

	/* CAS on the value, by hand */
	{
		struct cs_etcd_cmp cmp = {.key = "/id/7",
					  .target = CS_ETCD_CMP_VALUE,
					  .value = "cas1",
					  .value_len = 4};
		struct cs_etcd_txn_op put = {
			.type = CS_ETCD_OP_PUT,
			.put = {.key = "/id/7", .value = "v3", .value_len = 2}};
		struct cs_etcd_txn_op del = {.type = CS_ETCD_OP_DELETE, .del = {.key = "/id/7"}};
		struct cs_etcd_txn_req t = {&cmp, 1, &put, 1, &del, 1};

		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_txn(e, &t, call_cb, &c)), 0);
		assert_true(c.res.succeeded);
		call_done(&c);
		call_init(&c); /* value is "v3" now: the failure branch deletes */
		assert_int_equal(call_wait(&c, cs_etcd_txn(e, &t, call_cb, &c)), 0);
		assert_false(c.res.succeeded);
		assert_int_equal(c.res.responses[0].op, CS_ETCD_OP_DELETE);
		assert_int_equal(c.res.responses[0].deleted, 1);
		call_done(&c);
	}
	client_free(e);
}

struct ka_rec {
	int ok, lost, expired;
	int64_t ttl;
};

static void ka_cb(void *ud, int err, int64_t ttl)
{
	struct ka_rec *k = ud;

	if (!err) {
		k->ok++;
		k->ttl = ttl;
	} else if (err == -ENOENT) {
		k->lost++;
	} else if (err == -ETIME) {
		k->expired++;
	}
}

/* A key under a kept-alive lease outlives the TTL; one without a keepalive
 * does not; revoke deletes the kept one and the keepalive reports it. */
static void test_lease(void **state)
{
	struct cs_etcd *e = client_new(main_url, 1, NULL);
	struct cs_etcd_keepalive *ka;
	struct ka_rec k = {0};
	int64_t kept, loose;
	uint64_t t0;
	struct call c;
	char *v;

	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_lease_grant(e, 2, 0, call_cb, &c)), 0);
	kept = c.res.lease_id;
	assert_true(kept > 0);
	assert_int_equal(c.res.ttl, 2);
	call_done(&c);
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_lease_grant(e, 2, 0, call_cb, &c)), 0);
	loose = c.res.lease_id;
	call_done(&c);
	assert_int_equal(do_put(e, "/lease/kept", "k", kept, NULL), 0);
	assert_int_equal(do_put(e, "/lease/loose", "l", loose, NULL), 0);
	t0 = uv_hrtime();
	ka = cs_etcd_lease_keepalive_start(e, kept, 0, ka_cb, &k);
	assert_non_null(ka);

	/* poll until the loose key is gone (TTL 2 s, etcd checks every 500 ms) */
	for (;;) {
		v = do_get(e, "/lease/loose", NULL);
		if (!v)
			break;
		free(v);
		assert_true(uv_hrtime() - t0 < 10000000000ull);
		run_for(100);
	}
	run_for(1000); /* well past the TTL */
	print_message(
		"  loose lease expired after %.1f s; kept key alive %.1f s with %d keepalives\n",
		(uv_hrtime() - t0) / 1e9 - 1, (uv_hrtime() - t0) / 1e9, k.ok);
	v = do_get(e, "/lease/kept", NULL);
	assert_non_null(v);
	free(v);
	assert_true(k.ok >= 3);
	assert_int_equal(k.ttl, 2);
	assert_int_equal(k.lost, 0);

	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_lease_revoke(e, kept, call_cb, &c)), 0);
	call_done(&c);
	assert_null(do_get(e, "/lease/kept", NULL));
	while (!k.lost) {
		assert_true(uv_hrtime() - t0 < 20000000000ull);
		run_for(50);
	}
	cs_etcd_lease_keepalive_stop(ka);
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_lease_revoke(e, kept, call_cb, &c)), -ENOENT);
	call_done(&c);
	client_free(e);
}

/* etcd unreachable longer than the TTL: -ETIME; back: -ENOENT (expired).
 * And a keepalive fails over from a dead endpoint. */
static void test_lease_lost(void **state)
{
	struct cs_etcd *direct = client_new(main_url, 1, NULL);
	struct cs_etcd_keepalive *ka;
	struct ka_rec k = {0};
	struct proxy p;
	const char *urls[2];
	char closed[64];
	struct cs_etcd *e;
	struct call c;
	int64_t id;
	uint64_t t0;

	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_lease_grant(direct, 2, 0, call_cb, &c)), 0);
	id = c.res.lease_id;
	call_done(&c);
	proxy_start(&p, main_etcd.client_port);
	urls[0] = p.url;
	e = client_new(urls, 1, NULL);
	ka = cs_etcd_lease_keepalive_start(e, id, 500, ka_cb, &k);
	assert_non_null(ka);
	while (!k.ok)
		run_for(20);
	proxy_cut(&p, true);
	t0 = uv_hrtime();
	while (!k.expired) {
		assert_true(uv_hrtime() - t0 < 10000000000ull);
		run_for(50);
	}
	print_message("  etcd unreachable: -ETIME after %.1f s (TTL 2 s), %" PRIu64
		      " failed keepalives\n",
		      (uv_hrtime() - t0) / 1e9, cs_etcd_stats(e)->keepalive_errors);
	proxy_cut(&p, false);
	while (!k.lost) {
		assert_true(uv_hrtime() - t0 < 15000000000ull);
		run_for(50);
	}
	assert_int_equal(k.expired, 1);
	cs_etcd_lease_keepalive_stop(ka);
	client_free(e);
	proxy_stop(&p);

	/* failover of keepalives */
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_lease_grant(direct, 5, 0, call_cb, &c)), 0);
	id = c.res.lease_id;
	call_done(&c);
	snprintf(closed, sizeof(closed), "http://127.0.0.1:%d", free_port());
	urls[0] = closed;
	urls[1] = main_url[0];
	e = client_new(urls, 2, NULL);
	memset(&k, 0, sizeof(k));
	ka = cs_etcd_lease_keepalive_start(e, id, 0, ka_cb, &k);
	while (!k.ok)
		run_for(20);
	assert_int_equal(k.ttl, 5);
	assert_int_equal(cs_etcd_stats(e)->keepalive_errors, 1);
	assert_string_equal(cs_etcd_endpoint(e), main_url[0]);
	cs_etcd_lease_keepalive_stop(ka);
	client_free(e);
	client_free(direct);
}

struct free_ctx {
	struct cs_etcd *e;
	int done, cancelled, events, bad;
	struct cs_etcd_watch *w;
};

static void free_in_cb(void *ud, int err, const struct cs_etcd_result *res)
{
	struct free_ctx *f = ud;

	cs_etcd_free(f->e); /* from inside the client's own callback */
	f->done = 1;
}

static void cancelled_cb(void *ud, int err, const struct cs_etcd_result *res)
{
	struct free_ctx *f = ud;

	if (err != -ECANCELED)
		return; /* answered before the client went */
	f->cancelled++;
	/* the client is closing: new requests are refused, not crashed */
	if (cs_etcd_range(f->e, &(struct cs_etcd_range_req){.key = "/x"}, cancelled_cb, f) !=
	    -ECANCELED)
		f->bad++;
}

static void stop_in_cb(void *ud, const struct cs_etcd_event *ev)
{
	struct free_ctx *f = ud;

	if (ev->type != CS_ETCD_EV_PUT)
		return;
	f->events++;
	cs_etcd_watch_stop(f->w); /* in the middle of a two-event answer */
	f->w = NULL;
}

/* Stopping a watch inside its callback, freeing the client inside a
 * request's callback while other work is pending. */
static void test_reentrancy(void **state)
{
	struct free_ctx f = {0};
	struct cs_etcd_watch_req wq = {.key = "/re/", .prefix = true};
	struct cs_etcd_txn_op ops[2] = {
		{.type = CS_ETCD_OP_PUT, .put = {.key = "/re/a", .value = "1", .value_len = 1}},
		{.type = CS_ETCD_OP_PUT, .put = {.key = "/re/b", .value = "2", .value_len = 1}},
	};
	struct cs_etcd_txn_req t = {.success = ops, .n_success = 2};
	struct recorder r;
	struct call c;
	int64_t rev;

	f.e = client_new(main_url, 1, NULL);
	rec_init(&r);
	rec_start(&r, f.e, "/re/", 0);
	f.w = cs_etcd_watch_start(f.e, &wq, stop_in_cb, &f);
	assert_non_null(f.w);
	rec_wait_count(&r, &r.created, 1, 5000);
	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_txn(f.e, &t, call_cb, &c)), 0);
	rev = c.res.revision;
	call_done(&c);
	rec_wait_rev(&r, rev, 5000);
	while (r.n < 2)
		run_for(10);
	run_for(100);
	assert_int_equal(f.events, 1); /* stopped after the first of two */
	assert_null(f.w);

	/* a pending range, a watch, a keepalive: all go with the client */
	assert_int_equal(
		cs_etcd_put(f.e, &(struct cs_etcd_put_req){.key = "/re/c"}, free_in_cb, &f), 0);
	assert_int_equal(cs_etcd_range(f.e,
				       &(struct cs_etcd_range_req){.key = "/re/", .prefix = true},
				       cancelled_cb, &f),
			 0);
	assert_int_equal(cs_etcd_range(f.e,
				       &(struct cs_etcd_range_req){.key = "/re/", .prefix = true},
				       cancelled_cb, &f),
			 0);
	assert_int_equal(cs_etcd_run_until(&loop, &f.done, 5000), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	/* the ranges may have finished before the put: cancelled or answered */
	print_message("  freed from a callback: %d requests cancelled\n", f.cancelled);
	assert_int_equal(f.bad, 0);
	r.w = NULL; /* went with the client */
	rec_done(&r);
}

/* The first endpoint refuses, or accepts and never answers. */
static void test_failover(void **state)
{
	char closed[64], black[64];
	int bfd, port;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	struct cs_etcd *e;
	struct call c;
	struct recorder r;
	int64_t rev;

	snprintf(closed, sizeof(closed), "http://127.0.0.1:%d", free_port());
	{
		const char *urls[2] = {closed, main_url[0]};

		e = client_new(urls, 2, NULL);
		assert_int_equal(do_put(e, "/fo/a", "1", 0, NULL), 0);
		assert_int_equal(cs_etcd_stats(e)->failovers, 1);
		assert_string_equal(cs_etcd_endpoint(e), main_url[0]);
		/* the working endpoint is remembered: no more failovers */
		assert_int_equal(do_put(e, "/fo/b", "2", 0, NULL), 0);
		assert_int_equal(cs_etcd_stats(e)->failovers, 1);
		client_free(e);

		/* a watch fails over the same way */
		e = client_new(urls, 2, NULL);
		rec_init(&r);
		rec_start(&r, e, "/fo/", 0);
		rec_wait_count(&r, &r.created, 1, 5000);
		assert_int_equal(do_put(e, "/fo/c", "3", 0, &rev), 0);
		rec_wait_rev(&r, rev, 5000);
		rec_done(&r);
		client_free(e);

		/* only bad endpoints: a clean error after max_attempts */
		urls[1] = closed;
		e = client_new(urls, 2, NULL);
		call_init(&c);
		assert_int_equal(
			call_wait(&c, cs_etcd_put(e, &(struct cs_etcd_put_req){.key = "/x"},
						  call_cb, &c)),
			-ECONNREFUSED);
		assert_non_null(c.res.message); /* libcurl's words */
		call_done(&c);
		assert_int_equal(cs_etcd_stats(e)->requests, 2);
		client_free(e);
	}

	/* a black hole: listens, never accepts, never answers */
	bfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(bfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(bfd, 16), 0);
	getsockname(bfd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	snprintf(black, sizeof(black), "http://127.0.0.1:%d", port);
	{
		const char *urls[2] = {black, main_url[0]};
		struct cs_etcd_opts o = {.request_timeout_ms = 500};
		struct cs_etcd_cmp cmp = {.key = "/fo/t", .target = CS_ETCD_CMP_CREATE};
		struct cs_etcd_txn_op op = {.type = CS_ETCD_OP_PUT,
					    .put = {.key = "/fo/t", .value = "t", .value_len = 1}};
		struct cs_etcd_txn_req t = {&cmp, 1, &op, 1, NULL, 0};

		/* a put is repeated on the next endpoint after the timeout */
		e = client_new(urls, 2, &o);
		assert_int_equal(do_put(e, "/fo/d", "4", 0, NULL), 0);
		assert_int_equal(cs_etcd_stats(e)->timeouts, 1);
		assert_int_equal(cs_etcd_stats(e)->failovers, 1);
		client_free(e);

		/* a txn is not: it may have been applied */
		e = client_new(urls, 2, &o);
		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_txn(e, &t, call_cb, &c)), -ETIMEDOUT);
		call_done(&c);
		assert_int_equal(cs_etcd_stats(e)->failovers, 0);
		/* ...but the next request goes to the other endpoint */
		call_init(&c);
		assert_int_equal(call_wait(&c, cs_etcd_txn(e, &t, call_cb, &c)), 0);
		assert_true(c.res.succeeded);
		call_done(&c);
		client_free(e);

		/* a watch on the black hole: request_timeout_ms, then the other one */
		e = client_new(urls, 2, &o);
		rec_init(&r);
		rec_start(&r, e, "/fo/", 0);
		rec_wait_count(&r, &r.created, 1, 5000);
		assert_int_equal(cs_etcd_stats(e)->timeouts, 1);
		rec_done(&r);
		client_free(e);
	}
	close(bfd);
}

/* TLS with client certificates: files made with the openssl CLI. */
static void test_tls(void **state)
{
	static struct etcd_proc t;
	char cmd[4096], ca[300], cert[300], key[300];
	struct cs_etcd_opts o = {0};
	const char *urls[1];
	struct cs_etcd *e;
	struct recorder r;
	int64_t rev;
	char *v;

	snprintf(ca, sizeof(ca), "%s/ca.crt", tmp_root);
	snprintf(cert, sizeof(cert), "%s/client.crt", tmp_root);
	snprintf(key, sizeof(key), "%s/client.key", tmp_root);
	snprintf(
		cmd, sizeof(cmd),
		"cd %s && ( "
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
		"-subj /CN=test-ca -keyout ca.key -out ca.crt && "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=etcd "
		"-keyout server.key -out server.csr && "
		"printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' "
		"> srv.ext && "
		"openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
		"-extfile srv.ext -out server.crt && "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=client "
		"-keyout client.key -out client.csr && "
		"printf 'extendedKeyUsage=clientAuth\\n' > cli.ext && "
		"openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
		"-extfile cli.ext -out client.crt ) >openssl.log 2>&1",
		tmp_root);
	/* etcd's gateway dials its own gRPC port with the server certificate as a
	 * client certificate: it needs clientAuth too */
	if (system(cmd) != 0) {
		print_message("  openssl failed: TLS not tested\n");
		skip();
	}
	proc_init(&t, "tls");
	t.tls = true;
	snprintf(t.url, sizeof(t.url), "https://127.0.0.1:%d", t.client_port);
	proc_start(&t);
	o.tls_ca = ca;
	o.tls_cert = cert;
	o.tls_key = key;
	wait_healthy(t.url, &o);
	urls[0] = t.url;
	e = client_new(urls, 1, &o);
	rec_init(&r);
	rec_start(&r, e, "/tls/", 0);
	rec_wait_count(&r, &r.created, 1, 5000);
	assert_int_equal(do_put(e, "/tls/a", "secret", 0, &rev), 0);
	v = do_get(e, "/tls/a", NULL);
	assert_string_equal(v, "secret");
	free(v);
	rec_wait_rev(&r, rev, 5000);
	rec_done(&r);
	client_free(e);

	/* without the client certificate: refused at the handshake */
	o.tls_cert = o.tls_key = NULL;
	e = client_new(urls, 1, &o);
	{
		struct call c;

		call_init(&c);
		int err = call_wait(&c, cs_etcd_put(e, &(struct cs_etcd_put_req){.key = "/tls/b"},
						    call_cb, &c));

		/* TLS 1.3: the server's "certificate required" may come after the
		 * client's side of the handshake */
		assert_true(err == -ECONNREFUSED || err == -ECONNRESET);
		print_message("  without a client certificate: %s (%s)\n", strerror(-err),
			      c.res.message ? c.res.message : "");
		call_done(&c);
	}
	client_free(e);
	proc_kill(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),	   cmocka_unit_test(test_paging),
		cmocka_unit_test(test_delete),	   cmocka_unit_test(test_create_and_cas),
		cmocka_unit_test(test_lease),	   cmocka_unit_test(test_lease_lost),
		cmocka_unit_test(test_reentrancy), cmocka_unit_test(test_failover),
		cmocka_unit_test(test_tls),
	};

	return live_main(argc, argv, "etcd live: requests", tests,
			 sizeof(tests) / sizeof(tests[0]));
}
