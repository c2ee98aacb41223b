/* What a gatewayd that starts over a running data plane (after a crash or
 * kill -9: its maps and pins stay) takes over from it: peer, service and
 * backend ids, backends' health, and the holds of what other sites exported
 * (reload_fixture.h: a gatewayd in a private namespace and bpffs). */
#include "reload_fixture.h"

static const char *site_c_export =
	"{\"site_id\": 3, \"gateways\": [{\"name\": \"gw1\", \"address\": \"10.255.0.3\"}],"
	" \"services\": []}";

/* A gatewayd that starts over a running data plane gives every peer the id
 * the data plane's flows name it by, whatever order the config lists them
 * in or cluster-syncd pushes them in; until a peer is known again its
 * entries stay as they were. */
static void test_restart_keeps_peer_ids(void **state)
{
	struct fx *f;

	(void)state;
	/* learned peers: site-c's export first, then site-b's */
	assert_int_equal(write_conf("", NULL), 0);
	f = start();
	remote_apply(f, "site-c", site_c_export);
	remote_apply(f, "site-b", site_b_export);
	assert_int_equal(peer_id_of("10.255.0.3"), 1);
	assert_int_equal(peer_id_of("10.255.0.2"), 2);
	crash(f);

	f = start();
	/* nothing pushed yet: the running entries are untouched */
	assert_int_equal(peer_id_of("10.255.0.3"), 1);
	assert_int_equal(peer_id_of("10.255.0.2"), 2);
	assert_true(peer_at(2).flags & GW_PEER_F_UP);
	/* the other order now */
	remote_apply(f, "site-b", site_b_export);
	remote_apply(f, "site-c", site_c_export);
	assert_int_equal(peer_id_of("10.255.0.2"), 2);
	assert_int_equal(peer_id_of("10.255.0.3"), 1);
	assert_int_equal(peer_at(1).addr, inet_addr("10.255.0.3"));
	assert_int_equal(peer_at(2).addr, inet_addr("10.255.0.2"));
	crash(f);

	/* configured peers, listed in another order after the restart */
	assert_int_equal(write_conf(PEER_B ", " PEER_C, NULL), 0);
	f = start();
	assert_int_equal(peer_id_of("10.255.0.3"), 1);
	assert_int_equal(peer_id_of("10.255.0.2"), 2);
	assert_true(peer_at(1).flags & GW_PEER_F_UP);
	stop(f);
}

/* A backend that was down when gatewayd went stays down when it comes back
 * over the running data plane, until its health checks rise again: it must
 * not get new flows in the meantime. */
static void test_restart_keeps_backend_down(void **state)
{
	static const char *checked =
		"services = ( { name = \"web\"; vips = [\"10.100.0.10\"]; ports = [\"80/tcp\"];\n"
		"  health = { type = \"tcp\"; interval_ms = 1000; timeout_ms = 500; rise = 2; "
		"fall = 2; };\n"
		"  backends = ( { address = \"10.1.0.11\"; port = 80; },\n"
		"    { address = \"10.1.0.12\"; port = 80; } ); } );\n";
	struct gw_lb_service *s;
	struct gw_lb_backend *b;
	const char *why = "";
	struct fx *f;
	FILE *cf;

	(void)state;
	cf = fopen(conf_path, "w");
	assert_non_null(cf);
	fprintf(cf, "%speers = ( %s );\n%s", conf_head, PEER_B, checked);
	assert_int_equal(fclose(cf), 0);
	f = start();
	s = gw_lb_service_find(f->d.lb, "web");
	b = gw_lb_backend_find(s, "10.1.0.12:80", NULL);
	b->healthy = false; /* as a failed health check leaves it */
	s->dirty = true;
	assert_int_equal(gw_apply_dirty(f->d.dp, f->d.lb, &why), 0);
	crash(f);

	f = start();
	s = gw_lb_service_find(f->d.lb, "web");
	b = gw_lb_backend_find(s, "10.1.0.12:80", NULL);
	assert_false(b->healthy);
	assert_int_equal(gw_lb_backend_state(f->d.lb, b), GW_LB_DOWN);
	assert_true(gw_lb_backend_find(s, "10.1.0.11:80", NULL)->healthy);
	stop(f);
}

/* A gatewayd that starts over a running data plane finds the ids in its
 * pins: a service takes the id its VIPs' keys lead to, a backend the id
 * of its entry, whatever order the config lists them in now. A service
 * that is new takes none of the ids the running keys and tables name. */
static void test_restart_keeps_service_ids(void **state)
{
	struct svc_seen *mid = calloc(1, sizeof(*mid)), *last = calloc(1, sizeof(*last));
	uint32_t web_id, id;
	struct fx *f = start_three(mid, last, &web_id);

	(void)state;
	crash(f);

	/* web went while gatewayd was away, new came in first */
	write_services(LOCAL_SERVICE("new", "41") ", " LOCAL_SERVICE(
		"last", "31") ", " LOCAL_SERVICE("mid", "21"));
	batch_check_start(local_services);
	f = start();
	batch_check_end();
	svc_seen_same(f, "mid", mid);
	svc_seen_same(f, "last", last);
	id = gw_lb_service_find(f->d.lb, "new")->id;
	assert_int_not_equal(id, web_id);
	assert_int_not_equal(id, mid->id);
	assert_int_not_equal(id, last->id);
	assert_int_equal(maglev_table_id(GW_MAGLEV_SLOT(web_id, GW_MAGLEV_CLIENT, 0)), 0);
	assert_unused_slots_empty(f);
	assert_none_retired(f);
	free(mid);
	free(last);
	stop(f);
}

/* What site_b_export may reach, with web's local backend. */
static const struct vip_backend web_and_b[] = {
	{"10.100.0.10", "10.1.0.11"},
	{"10.100.0.10", "10.2.0.21"},
	{"10.100.0.50", "10.2.0.22"},
	{NULL, NULL},
};

/* A gatewayd that starts over a running data plane holds what other sites
 * exported (web's backend of site-b, b-only, which only site-b has) as
 * the data plane has it until site-b's export arrives: b-only's VIP is
 * still balanced, over its table, and web's table still names site-b's
 * backend. The push then finds them under the ids they had, so no table
 * changes, and nothing names a wrong backend at any write. Without a push
 * the holds end (GW_LB_HOLD_MS) as a withdrawal would end them. */
static void test_restart_holds_exports(void **state)
{
	struct gw_svc_key k = {.port = htons(80), .proto = IPPROTO_TCP, .family = GW_AF_INET};
	struct svc_seen *web = calloc(1, sizeof(*web)), *bonly = calloc(1, sizeof(*bonly));
	uint32_t id21, id22, web_slot, b_slot;
	const char *why = "";
	struct fx *f;
	int fd;
	struct gw_svc v;

	(void)state;
	assert_non_null(web);
	assert_non_null(bonly);
	assert_int_equal(write_conf(PEER_B, NULL), 0);
	f = start();
	remote_apply(f, "site-b", site_b_export);
	svc_seen_take(f, "web", web);
	svc_seen_take(f, "b-only", bonly);
	id21 = backend_id(f, "web", "10.2.0.21:80", "site-b");
	id22 = backend_id(f, "b-only", "10.2.0.22:80", "site-b");
	web_slot = GW_MAGLEV_SLOT(web->id, GW_MAGLEV_CLIENT, 0);
	b_slot = GW_MAGLEV_SLOT(bonly->id, GW_MAGLEV_CLIENT, 0);
	crash(f);

	batch_check_start(web_and_b);
	f = start();
	batch_check_end();
	/* before the push: as the data plane had it */
	k.vip[0] = inet_addr("10.100.0.50");
	fd = pinned("gw_svcs");
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	close(fd);
	assert_int_equal(v.id, bonly->id);
	assert_true(table_names(b_slot, "10.2.0.22"));
	assert_true(table_names(web_slot, "10.2.0.21"));
	assert_true(table_names(web_slot, "10.1.0.11"));
	assert_true(gw_lb_holds(f->d.lb));

	batch_check_start(web_and_b);
	remote_apply(f, "site-b", site_b_export);
	batch_check_end();
	assert_false(gw_lb_holds(f->d.lb));
	svc_seen_same(f, "b-only", bonly);
	assert_int_equal(backend_id(f, "web", "10.2.0.21:80", "site-b"), id21);
	assert_int_equal(backend_id(f, "b-only", "10.2.0.22:80", "site-b"), id22);
	assert_int_equal(gw_lb_service_find(f->d.lb, "web")->id, web->id);
	svc_seen_same(f, "web", web);
	assert_none_retired(f);
	crash(f);

	/* no push: the holds end, and what they held goes */
	f = start();
	assert_true(gw_lb_holds(f->d.lb));
	batch_check_start(web_and_b);
	gw_lb_release_holds(f->d.lb, 0);
	assert_int_equal(gw_apply_dirty(f->d.dp, f->d.lb, &why), 0);
	batch_check_end();
	assert_false(in_map("gw_svcs", &k));
	assert_false(table_names(web_slot, "10.2.0.21"));
	assert_true(table_names(web_slot, "10.1.0.11"));
	assert_unused_slots_empty(f);
	assert_none_retired(f);
	free(web);
	free(bonly);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_keeps_peer_ids),
		cmocka_unit_test(test_restart_keeps_service_ids),
		cmocka_unit_test(test_restart_holds_exports),
		cmocka_unit_test(test_restart_keeps_backend_down),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
