/* Unit tests of the load-balancing state: which backends each Maglev table
 * gets under affinity, graded spillover, drain, health, peer liveness and
 * what other sites export. The ids of services and backends: test_lb_ids.c. */
#include "lb_test.h"

static void test_affinity(void **state)
{
	struct fx *f = *state;

	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET), "aabc");
	assert_string_equal(chosen(f, "local", GW_MAGLEV_CLIENT, AF_INET), "a");
	assert_string_equal(chosen(f, "remote", GW_MAGLEV_CLIENT, AF_INET), "b");
	/* flows from other sites only ever reach this site's backends */
	assert_string_equal(chosen(f, "none", GW_MAGLEV_PEER, AF_INET), "aa");
	assert_string_equal(chosen(f, "remote", GW_MAGLEV_PEER, AF_INET), "a");
}

static void test_family(void **state)
{
	struct fx *f = *state;

	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET6), "a");
	assert_string_equal(chosen(f, "local", GW_MAGLEV_CLIENT, AF_INET6), "");
}

static void test_spillover(void **state)
{
	struct fx *f = *state;
	struct gw_lb_service *s = gw_lb_service_find(f->lb, "spill");

	assert_string_equal(chosen(f, "spill", GW_MAGLEV_CLIENT, AF_INET), "aa");
	s->backends[0].drained = true; /* 1 local < 2: other sites join */
	assert_string_equal(chosen(f, "spill", GW_MAGLEV_CLIENT, AF_INET), "ab");
	s->backends[0].drained = false;
	s->backends[1].healthy = false; /* health counts the same way */
	assert_string_equal(chosen(f, "spill", GW_MAGLEV_CLIENT, AF_INET), "ab");
	s->backends[1].healthy = true;
	assert_string_equal(chosen(f, "spill", GW_MAGLEV_CLIENT, AF_INET), "aa");
}

static void test_drain_weight_state(void **state)
{
	struct fx *f = *state;
	struct gw_lb_service *s = gw_lb_service_find(f->lb, "none");
	struct gw_lb_backend *b = gw_lb_backend_find(s, "10.1.0.12:80", NULL);

	assert_non_null(b);
	assert_int_equal(gw_lb_backend_state(f->lb, b), GW_LB_ACTIVE);
	b->drained = true;
	assert_int_equal(gw_lb_backend_state(f->lb, b), GW_LB_DRAINING);
	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET), "abc");
	b->drained = false;
	b->weight = 0;
	assert_int_equal(gw_lb_backend_state(f->lb, b), GW_LB_DRAINING);
	b->weight = 100;
	b->healthy = false;
	assert_int_equal(gw_lb_backend_state(f->lb, b), GW_LB_DOWN);
	b->healthy = true;
	assert_null(gw_lb_backend_find(s, "10.9.9.9:80", NULL));
	assert_null(gw_lb_backend_find(s, "10.1.0.12:80", "site-b"));
}

static void test_peer_down_removes_site(void **state)
{
	struct fx *f = *state;
	struct gw_lb_service *s = gw_lb_service_find(f->lb, "none");
	uint32_t pid = gw_lb_site_peer(f->lb, 2);

	assert_int_not_equal(pid, 0);
	s->dirty = false;
	assert_true(gw_lb_peer_set_up(f->lb, pid, false));
	assert_true(s->dirty); /* its tables must be rebuilt */
	assert_false(gw_lb_site_up(f->lb, 2));
	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET), "aac");
	assert_false(gw_lb_peer_set_up(f->lb, pid, false)); /* no change */
	assert_true(gw_lb_peer_set_up(f->lb, pid, true));
	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET), "aabc");
}

static void test_remote_site_export(void **state)
{
	struct fx *f = *state;
	struct gw_lb_remote_backend rb[2] = {
		{.port = 80, .weight = 100, .healthy = true},
		{.port = 80, .weight = 100, .healthy = false},
	};
	struct gw_lb_remote_service rs[2] = {0};
	struct gw_lb_remote_gateway gw = {.name = "gw1"};
	struct gw_lb_service *s;

	assert_int_equal(gw_ip_parse("10.2.0.21", &rb[0].addr), 0);
	assert_int_equal(gw_ip_parse("10.2.0.22", &rb[1].addr), 0);
	assert_int_equal(gw_ip_parse("10.255.0.2", &gw.addr), 0);
	snprintf(rs[0].name, sizeof(rs[0].name), "none");
	rs[0].backends = rb;
	rs[0].n_backends = 2;
	/* a service only site-b has */
	snprintf(rs[1].name, sizeof(rs[1].name), "b-only");
	assert_int_equal(gw_ip_parse("10.100.0.50", &rs[1].vips[0]), 0);
	rs[1].n_vips = 1;
	assert_int_equal(gw_port_range_parse("80/tcp", &rs[1].ports[0], NULL, 0), 0);
	rs[1].n_ports = 1;
	rs[1].backends = rb;
	rs[1].n_backends = 1;

	assert_int_equal(gw_lb_remote_site_set(f->lb, "site-b", 2, &gw, 1, rs, 2), 0);
	/* site-b's export replaced the config's static entry for it; the
	 * unhealthy one is not chosen */
	s = gw_lb_service_find(f->lb, "none");
	assert_null(gw_lb_backend_find(s, "10.2.0.11:80", "site-b"));
	assert_non_null(gw_lb_backend_find(s, "10.2.0.22:80", "site-b"));
	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET), "aabc");
	s = gw_lb_service_find(f->lb, "b-only");
	assert_non_null(s);
	assert_null(s->conf);
	assert_int_equal(s->n_vips, 1);
	assert_string_equal(chosen(f, "b-only", GW_MAGLEV_CLIENT, AF_INET), "b");
	/* our own site cannot be set from outside */
	assert_int_equal(gw_lb_remote_site_set(f->lb, "site-a", 1, &gw, 1, rs, 1), -EINVAL);

	/* withdrawn: the learned-only service goes away */
	assert_int_equal(gw_lb_remote_site_del(f->lb, "site-b"), 0);
	{
		struct gw_lb_service *removed[16];
		size_t n = gw_lb_gc_services(f->lb, removed), i;

		assert_int_equal(n, 1);
		assert_string_equal(removed[0]->name, "b-only");
		for (i = 0; i < n; i++)
			gw_lb_service_free(f->lb, removed[i]);
	}
	assert_null(gw_lb_service_find(f->lb, "b-only"));
}

/* An operator's drain of another site's backend holds while that site
 * exports again (cluster-syncd pushes on every change of its health or
 * weights), whether the backend came from the config or an export. */
static void test_remote_drain_kept(void **state)
{
	struct fx *f = *state;
	struct gw_lb_remote_backend rb[2] = {
		{.port = 80, .weight = 100, .healthy = true},
		{.port = 80, .weight = 100, .healthy = true},
	};
	struct gw_lb_remote_service rs = {.backends = rb, .n_backends = 2};
	struct gw_lb_remote_gateway gw = {.name = "gw1"};
	struct gw_lb_service *s = gw_lb_service_find(f->lb, "none");
	struct gw_lb_backend *b;

	assert_int_equal(gw_ip_parse("10.2.0.11", &rb[0].addr), 0);
	assert_int_equal(gw_ip_parse("10.2.0.21", &rb[1].addr), 0);
	assert_int_equal(gw_ip_parse("10.255.0.2", &gw.addr), 0);
	snprintf(rs.name, sizeof(rs.name), "none");

	/* the config's static entry of site-b, drained, then exported */
	b = gw_lb_backend_find(s, "10.2.0.11:80", "site-b");
	assert_non_null(b);
	b->drained = true;
	assert_int_equal(gw_lb_remote_site_set(f->lb, "site-b", 2, &gw, 1, &rs, 1), 0);
	b = gw_lb_backend_find(s, "10.2.0.11:80", "site-b");
	assert_non_null(b);
	assert_true(b->drained);
	assert_int_equal(gw_lb_backend_state(f->lb, b), GW_LB_DRAINING);

	/* a learned one, drained, then the same export once more */
	b = gw_lb_backend_find(s, "10.2.0.21:80", "site-b");
	assert_non_null(b);
	b->drained = true;
	assert_int_equal(gw_lb_remote_site_set(f->lb, "site-b", 2, &gw, 1, &rs, 1), 0);
	assert_true(gw_lb_backend_find(s, "10.2.0.11:80", "site-b")->drained);
	assert_true(gw_lb_backend_find(s, "10.2.0.21:80", "site-b")->drained);
	/* neither takes new flows: only this site's and site-c's do */
	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET), "aac");
}

/* A site's export replaces the config's static entries for it; when the
 * site is withdrawn (its keys left etcd), what it exported goes and the
 * static entries are back, in every service that declares one. One it
 * exported as well keeps its id and an operator's drain. */
static void test_remote_site_withdrawn_keeps_static(void **state)
{
	struct fx *f = *state;
	struct gw_lb_remote_backend rb[2] = {
		{.port = 80, .weight = 7, .healthy = false},
		{.port = 80, .weight = 100, .healthy = true},
	};
	struct gw_lb_remote_service rs = {.backends = rb, .n_backends = 2};
	struct gw_lb_remote_gateway gw = {.name = "gw1"};
	static const char *const declaring[] = {"none", "local", "remote", "spill"};
	struct gw_lb_service *none = gw_lb_service_find(f->lb, "none");
	struct gw_lb_backend *b;
	uint32_t id;
	size_t i;

	assert_int_equal(gw_ip_parse("10.2.0.11", &rb[0].addr), 0);
	assert_int_equal(gw_ip_parse("10.2.0.21", &rb[1].addr), 0);
	assert_int_equal(gw_ip_parse("10.255.0.2", &gw.addr), 0);
	snprintf(rs.name, sizeof(rs.name), "none");
	assert_int_equal(gw_lb_remote_site_set(f->lb, "site-b", 2, &gw, 1, &rs, 1), 0);
	assert_null(
		gw_lb_backend_find(gw_lb_service_find(f->lb, "local"), "10.2.0.11:80", "site-b"));
	b = gw_lb_backend_find(none, "10.2.0.11:80", "site-b");
	assert_non_null(b);
	b->drained = true;
	id = b->id;

	assert_int_equal(gw_lb_remote_site_del(f->lb, "site-b"), 0);
	assert_null(gw_lb_backend_find(none, "10.2.0.21:80", "site-b"));
	for (i = 0; i < sizeof(declaring) / sizeof(declaring[0]); i++) {
		struct gw_lb_service *s = gw_lb_service_find(f->lb, declaring[i]);

		b = gw_lb_backend_find(s, "10.2.0.11:80", "site-b");
		assert_non_null(b);
		assert_false(b->learned);
		assert_true(b->healthy);
		assert_int_equal(b->weight, 100); /* the config's, not the export's */
		assert_int_equal(b->site_id, 2);
		assert_true(s->dirty);
	}
	b = gw_lb_backend_find(none, "10.2.0.11:80", "site-b");
	assert_int_equal(b->id, id);
	assert_true(b->drained);
	assert_string_equal(chosen(f, "remote", GW_MAGLEV_CLIENT, AF_INET), "b");
	assert_string_equal(chosen(f, "none", GW_MAGLEV_CLIENT, AF_INET), "aac");
}

/* A reload keeps every remaining peer's id (conntrack names a flow's gateway
 * by it), frees the id of a peer no longer listed without giving it to a
 * new one (its address must leave the data plane first), and keeps what
 * probes found. */
static void test_reload_keeps_peer_ids(void **state)
{
	struct fx *f = *state;
	static const char *conf_new =
		"site = { name = \"site-a\"; id = 1; trust_domain = \"t\"; };\n"
		"gateway = { name = \"gw1\";\n"
		"  internal = { interface = \"int0\"; address = \"10.1.0.1\"; };\n"
		"  external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
		"peers = ( { site = \"site-d\"; site_id = 4; gateway = \"gw1\"; address = "
		"\"10.255.0.4\"; },\n"
		"          { site = \"site-c\"; site_id = 3; gateway = \"gw1\"; address = "
		"\"10.255.0.3\"; } );\n"
		"services = ( { name = \"x\"; vips = [\"10.100.0.10\"]; ports = [\"80/tcp\"];\n"
		"  backends = ( { address = \"10.1.0.11\"; port = 80; } ); } );\n";
	struct gw_config_errors errs = {0};
	struct gw_config *cfg = NULL;
	struct gw_balancer *lb;

	/* site-c (peer 2) is down before the reload */
	assert_true(gw_lb_peer_set_up(f->lb, 2, false));
	assert_int_equal(gw_config_load_string(conf_new, "new.conf", &cfg, &errs), 0);
	gw_config_errors_done(&errs);
	lb = gw_balancer_new(cfg);
	assert_non_null(lb);
	assert_int_equal(gw_balancer_keep_peers(lb, f->lb), 0);
	assert_int_equal(lb->n_peers, 3);
	/* site-b's slot is free, and still names its address */
	assert_false(lb->peers[0].configured || lb->peers[0].learned);
	assert_int_equal(lb->peers[0].site_id, 2);
	assert_int_equal(gw_lb_site_peer(lb, 2), 0);
	/* site-c keeps id 2, and stays down until probes say otherwise */
	assert_true(lb->peers[1].configured);
	assert_int_equal(lb->peers[1].site_id, 3);
	assert_false(lb->peers[1].up);
	/* site-d is new: id 3 */
	assert_int_equal(gw_lb_site_peer(lb, 4), 3);
	gw_balancer_free(lb);
	gw_config_free(cfg);
}

/* Two gateways of one site (active-active behind ECMP) must send a flow to
 * the same backend whichever receives it: their tables, built from their own
 * configs (other gateway name and addresses, backends listed in another
 * order, so other ids), map every slot to the same backend. */
static const char *conf_gw2 =
	"site = { name = \"site-a\"; id = 1; trust_domain = \"t\"; };\n"
	"gateway = { name = \"gw2\";\n"
	"  internal = { interface = \"int1\"; address = \"10.1.0.2\"; };\n"
	"  external = { interface = \"ext1\"; address = \"10.255.0.4\"; }; };\n"
	"peers = ( { site = \"site-c\"; site_id = 3; gateway = \"gw1\"; address = \"10.255.0.3\"; "
	"},\n"
	"          { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	"} );\n"
	"services = (\n"
	"  { name = \"none\"; vips = [\"10.100.0.10\"]; ports = [\"80/tcp\"]; affinity = "
	"\"none\";\n"
	"    backends = ( { address = \"fd00:1::11\"; port = 80; },\n"
	"                 { address = \"10.3.0.11\"; port = 80; site = \"site-c\"; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; },\n"
	"                 { address = \"10.1.0.12\"; port = 80; }, { address = \"10.1.0.11\"; port "
	"= 80; } ); }\n"
	");\n";

static void table_names(struct gw_balancer *lb, const char *svc_name, uint32_t m, char (*out)[48])
{
	struct gw_lb_service *s = gw_lb_service_find(lb, svc_name);
	struct gw_maglev_backend set[16];
	uint32_t *table = calloc(m, sizeof(*table));
	size_t n, i, j;

	assert_non_null(s);
	assert_non_null(table);
	n = gw_lb_select(lb, s, GW_MAGLEV_CLIENT, AF_INET, set);
	assert_int_equal(gw_maglev_build(set, n, m, table), 0);
	for (i = 0; i < m; i++) {
		for (j = 0; j < s->n_backends; j++)
			if (s->backends[j].id == table[i])
				gw_lb_backend_name(&s->backends[j], out[i], sizeof(out[i]));
	}
	free(table);
}

static void test_active_active_same_tables(void **state)
{
	struct fx *f = *state;
	struct gw_config_errors errs = {0};
	struct gw_config *cfg2 = NULL;
	struct gw_balancer *lb2;
	const uint32_t m = 1021;
	char(*t1)[48] = calloc(m, 48), (*t2)[48] = calloc(m, 48);
	uint32_t i, differ = 0;

	assert_int_equal(gw_config_load_string(conf_gw2, "gw2.conf", &cfg2, &errs), 0);
	gw_config_errors_done(&errs);
	lb2 = gw_balancer_new(cfg2);
	assert_non_null(lb2);
	assert_non_null(t1);
	assert_non_null(t2);
	table_names(f->lb, "none", m, t1);
	table_names(lb2, "none", m, t2);
	for (i = 0; i < m; i++)
		differ += strcmp(t1[i], t2[i]) != 0;
	assert_int_equal(differ, 0);
	/* and the ids really differ, or the test proves nothing */
	assert_int_not_equal(
		gw_lb_backend_find(gw_lb_service_find(f->lb, "none"), "10.1.0.11:80", NULL)->id,
		gw_lb_backend_find(gw_lb_service_find(lb2, "none"), "10.1.0.11:80", NULL)->id);
	free(t1);
	free(t2);
	gw_balancer_free(lb2);
	gw_config_free(cfg2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_affinity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_family, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spillover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_weight_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_down_removes_site, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_site_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_drain_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_site_withdrawn_keeps_static, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_peer_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_active_same_tables, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
