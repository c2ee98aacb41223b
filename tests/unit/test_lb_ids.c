/* Unit tests of the ids of services and backends (gateway/lb-ids.c): kept
 * across exports, reloads and restarts, retired until no table of the data
 * plane names them, held for other sites until their export comes. */
#include "lb_test.h"

static void test_backend_ids_bounded(void **state)
{
	struct fx *f = *state;
	struct gw_lb_remote_backend *rb = calloc(f->cfg->limits.backends + 1, sizeof(*rb));
	struct gw_lb_remote_service rs = {0};
	struct gw_lb_remote_gateway gw = {.name = "gw1"};
	size_t i;

	assert_non_null(rb);
	for (i = 0; i <= f->cfg->limits.backends; i++) {
		rb[i].addr.family = AF_INET;
		rb[i].addr.addr[0] = 10;
		rb[i].addr.addr[1] = 3;
		rb[i].addr.addr[2] = i >> 8;
		rb[i].addr.addr[3] = i & 0xff;
		rb[i].port = 80;
		rb[i].weight = 1;
		rb[i].healthy = true;
	}
	snprintf(rs.name, sizeof(rs.name), "none");
	rs.backends = rb;
	rs.n_backends = f->cfg->limits.backends + 1;
	assert_int_equal(gw_ip_parse("10.255.0.3", &gw.addr), 0);
	/* more than limits.backends: refused in part, counted, no crash */
	assert_int_equal(gw_lb_remote_site_set(f->lb, "site-c", 3, &gw, 1, &rs, 1), -ENOSPC);
	assert_true(f->lb->refused > 0);
	free(rb);
}

/* A site's export as a one-backend service (name, ADDR:80). */
static int export_one(struct fx *f, const char *svc, const char *addr)
{
	struct gw_lb_remote_backend rb = {.port = 80, .weight = 100, .healthy = true};
	struct gw_lb_remote_service rs = {.backends = &rb, .n_backends = 1};
	struct gw_lb_remote_gateway gw = {.name = "gw1"};

	assert_int_equal(gw_ip_parse(addr, &rb.addr), 0);
	assert_int_equal(gw_ip_parse("10.255.0.2", &gw.addr), 0);
	snprintf(rs.name, sizeof(rs.name), "%s", svc);
	return gw_lb_remote_site_set(f->lb, "site-b", 2, &gw, 1, &rs, 1);
}

/* What gw_apply_dirty does once every table is written. */
static void tables_written(struct fx *f)
{
	size_t i;

	for (i = 0; i < f->lb->n_services; i++)
		f->lb->services[i]->dirty = false;
	gw_lb_release_ids(f->lb);
}

/* A backend id that a service's table in the data plane still names is
 * not given to another backend before that table is written again: the
 * new backend's entry would get the flows that table sends to the id (here
 * another service's clients), until the table is swapped. Once the
 * batch's tables are written the id is free again. */
static void test_backend_id_retired_until_tables_written(void **state)
{
	struct fx *f = *state;
	struct gw_lb_service *none = gw_lb_service_find(f->lb, "none");
	struct gw_lb_service *local = gw_lb_service_find(f->lb, "local");
	uint32_t old_id, new_id;

	assert_int_equal(export_one(f, "none", "10.2.0.21"), 0);
	tables_written(f);
	old_id = gw_lb_backend_find(none, "10.2.0.21:80", "site-b")->id;

	/* none's backend goes, local gets a new one: one push, one batch */
	assert_int_equal(export_one(f, "local", "10.2.0.31"), 0);
	assert_null(gw_lb_backend_find(none, "10.2.0.21:80", "site-b"));
	new_id = gw_lb_backend_find(local, "10.2.0.31:80", "site-b")->id;
	assert_int_not_equal(new_id, old_id);
	assert_int_equal(f->lb->backend_ids[old_id], GW_LB_ID_RETIRED);

	/* none's table is not written yet (say its build failed): still held */
	local->dirty = false;
	gw_lb_release_ids(f->lb);
	assert_int_equal(f->lb->backend_ids[old_id], GW_LB_ID_RETIRED);
	tables_written(f);
	assert_int_equal(f->lb->backend_ids[old_id], GW_LB_ID_FREE);
	assert_int_equal(f->lb->n_retired, 0);
}

/* A backend a site exports again keeps its id, so a repeated export (one a
 * health change elsewhere in the site) leaves its tables as they are; a
 * static entry of the config that the export names keeps its id too. */
static void test_backend_id_kept_across_exports(void **state)
{
	struct fx *f = *state;
	struct gw_lb_service *none = gw_lb_service_find(f->lb, "none");
	uint32_t id = gw_lb_backend_find(none, "10.2.0.11:80", "site-b")->id;

	assert_int_equal(export_one(f, "none", "10.2.0.11"), 0);
	assert_int_equal(gw_lb_backend_find(none, "10.2.0.11:80", "site-b")->id, id);
	assert_true(gw_lb_backend_find(none, "10.2.0.11:80", "site-b")->learned);
	tables_written(f);
	assert_int_equal(export_one(f, "none", "10.2.0.11"), 0);
	assert_int_equal(gw_lb_backend_find(none, "10.2.0.11:80", "site-b")->id, id);
}

static struct gw_config *conf_load(const char *text)
{
	struct gw_config_errors errs = {0};
	struct gw_config *cfg = NULL;
	size_t i;

	if (gw_config_load_string(text, "new.conf", &cfg, &errs))
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
	gw_config_errors_done(&errs);
	assert_non_null(cfg);
	return cfg;
}

/* conf_text with a limits group and one name changed (same length). */
static struct gw_config *conf_variant(const char *limits, const char *from, const char *to)
{
	char text[4096];
	char *at;

	snprintf(text, sizeof(text), "%s%s", conf_text, limits);
	if (from) {
		at = strstr(text, from);
		assert_non_null(at);
		assert_int_equal(strlen(from), strlen(to));
		memcpy(at, to, strlen(to));
	}
	return conf_load(text);
}

static struct gw_lb_backend *be_of(struct gw_balancer *lb, const char *svc, const char *addr)
{
	struct gw_lb_backend *b = gw_lb_backend_find(gw_lb_service_find(lb, svc), addr, NULL);

	assert_non_null(b);
	return b;
}

/* A reload keeps the id of every service that keeps its name, and of every
 * backend that stays in its service, whatever the order of the new config:
 * the data plane's keys and tables name them by id while it is applied. A
 * new service or backend takes an id the old state used for nothing; the
 * ids of what went are retired until the batch is written. */
static void test_reload_keeps_ids(void **state)
{
	static const char *conf_new =
		"site = { name = \"site-a\"; id = 1; trust_domain = \"t\"; };\n"
		"gateway = { name = \"gw1\";\n"
		"  internal = { interface = \"int0\"; address = \"10.1.0.1\"; };\n"
		"  external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
		"peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = "
		"\"10.255.0.2\"; } );\n"
		"services = (\n"
		"  { name = \"fresh\"; vips = [\"10.100.0.14\"]; ports = [\"80/tcp\"];\n"
		"    backends = ( { address = \"10.1.0.41\"; port = 80; } ); },\n"
		"  { name = \"spill\"; vips = [\"10.100.0.13\"]; ports = [\"80/tcp\"];\n"
		"    backends = ( { address = \"10.1.0.13\"; port = 80; },\n"
		"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; },\n"
		"                 { address = \"10.1.0.12\"; port = 80; } ); },\n"
		"  { name = \"local\"; vips = [\"10.100.0.11\"]; ports = [\"80/tcp\"];\n"
		"    backends = ( { address = \"10.1.0.11\"; port = 80; } ); }\n"
		");\n";
	struct fx *f = *state;
	struct gw_config *cfg = conf_load(conf_new);
	struct gw_balancer *lb = gw_balancer_new(cfg);
	struct gw_lb_service *s;
	uint32_t none_id = gw_lb_service_find(f->lb, "none")->id;
	uint32_t remote_id = gw_lb_service_find(f->lb, "remote")->id;
	uint32_t spill11 = be_of(f->lb, "spill", "10.1.0.11:80")->id;
	size_t i, j, k;

	assert_non_null(lb);
	assert_int_equal(gw_balancer_keep_ids(lb, f->lb), 0);
	assert_int_equal(gw_lb_service_find(lb, "spill")->id,
			 gw_lb_service_find(f->lb, "spill")->id);
	assert_int_equal(gw_lb_service_find(lb, "local")->id,
			 gw_lb_service_find(f->lb, "local")->id);
	assert_int_equal(be_of(lb, "spill", "10.1.0.12:80")->id,
			 be_of(f->lb, "spill", "10.1.0.12:80")->id);
	assert_int_equal(
		gw_lb_backend_find(gw_lb_service_find(lb, "spill"), "10.2.0.11:80", "site-b")->id,
		gw_lb_backend_find(gw_lb_service_find(f->lb, "spill"), "10.2.0.11:80", "site-b")
			->id);
	assert_int_equal(be_of(lb, "local", "10.1.0.11:80")->id,
			 be_of(f->lb, "local", "10.1.0.11:80")->id);
	/* what is new takes ids the old state named nothing by */
	s = gw_lb_service_find(lb, "fresh");
	assert_int_equal(f->lb->service_ids[s->id], GW_LB_ID_FREE);
	assert_int_equal(f->lb->backend_ids[s->backends[0].id], GW_LB_ID_FREE);
	assert_int_equal(f->lb->backend_ids[be_of(lb, "spill", "10.1.0.13:80")->id], GW_LB_ID_FREE);
	/* what went is retired: a service until its keys go, a backend until
	 * the tables that name it are written */
	assert_int_equal(lb->service_ids[none_id], GW_LB_ID_RETIRED);
	assert_int_equal(lb->service_ids[remote_id], GW_LB_ID_RETIRED);
	assert_int_equal(lb->backend_ids[spill11], GW_LB_ID_RETIRED);
	assert_int_equal(lb->retired_by[spill11], gw_lb_service_find(lb, "spill")->id);
	/* no id twice */
	for (i = 0; i < lb->n_services; i++) {
		for (j = 0; j < lb->n_services; j++)
			if (i != j)
				assert_int_not_equal(lb->services[i]->id, lb->services[j]->id);
		for (j = 0; j < lb->services[i]->n_backends; j++)
			assert_int_equal(lb->backend_ids[lb->services[i]->backends[j].id],
					 GW_LB_ID_USED);
	}
	for (i = 0, k = 0; i < cfg->limits.backends; i++)
		k += lb->backend_ids[i] == GW_LB_ID_USED;
	assert_int_equal(k, 5);
	/* the batch is written: nothing names them any more */
	for (i = 0; i < lb->n_services; i++)
		lb->services[i]->dirty = false;
	gw_lb_release_ids(lb);
	assert_int_equal(lb->service_ids[none_id], GW_LB_ID_FREE);
	assert_int_equal(lb->backend_ids[spill11], GW_LB_ID_FREE);
	assert_int_equal(lb->n_retired, 0);
	assert_int_equal(lb->n_retired_services, 0);
	gw_balancer_free(lb);
	gw_config_free(cfg);
}

/* The ids kept, retired and new of one reload must fit in the limits:
 * otherwise it is refused (the old config stays), not applied with an id
 * that the data plane still names. */
static void test_reload_ids_limit(void **state)
{
	struct gw_config *cfg1 = conf_variant("limits = { services = 4; };\n", NULL, NULL);
	struct gw_config *cfg2 =
		conf_variant("limits = { services = 4; };\n", "name = \"none\"", "name = \"nonx\"");
	struct gw_balancer *lb1 = gw_balancer_new(cfg1), *lb2 = gw_balancer_new(cfg2);

	(void)state;
	assert_non_null(lb1);
	assert_non_null(lb2);
	assert_int_equal(gw_balancer_keep_ids(lb2, lb1), -ENOSPC);
	gw_balancer_free(lb2);
	gw_balancer_free(lb1);
	gw_config_free(cfg2);
	gw_config_free(cfg1);
}

static struct gw_lb_backend_id dp_backend(const char *addr, uint16_t site_id, uint32_t id,
					  uint32_t named_by)
{
	struct gw_lb_backend_id e = {.port = 80,
				     .site_id = site_id,
				     .remote = site_id != 1,
				     .id = id,
				     .named_by = named_by};

	assert_int_equal(gw_ip_parse(addr, &e.addr), 0);
	return e;
}

static struct gw_lb_svc_key_id dp_key(const char *vip, uint16_t port, uint32_t id)
{
	struct gw_lb_svc_key_id k = {.port = port, .proto = port ? IPPROTO_TCP : 0, .id = id};

	assert_int_equal(gw_ip_parse(vip, &k.vip), 0);
	return k;
}

/* A gatewayd that starts over a running data plane reads the ids from its
 * pins: a service takes the id its VIPs' keys lead to, a backend the id
 * of its entry that its service's tables name (or that no table names: it
 * was down); an entry another service's tables name stays theirs. The
 * other ids the pins name are retired, and new ids avoid them. */
static void test_take_ids(void **state)
{
	struct fx *f = *state;
	const struct gw_lb_svc_key_id keys[] = {
		dp_key("10.100.0.13", 80, 7), /* spill */
		dp_key("10.100.0.11", 0, 3),  /* local's marker */
		dp_key("10.100.0.11", 80, 4), /* local again: its first key won */
		dp_key("10.100.0.99", 80, 5), /* a service gone */
	};
	const uint32_t tables[] = {3, 5, 7, 9};
	const struct gw_lb_backend_id bes[] = {
		dp_backend("10.1.0.11", 1, 20, 7),
		dp_backend("10.1.0.11", 1, 21, 3),
		dp_backend("10.1.0.11", 1, 22, GW_LB_NO_ID),
		dp_backend("10.2.0.11", 2, 23, 3),
		dp_backend("10.1.0.12", 1, 24, 9),
		dp_backend("10.1.0.12", 1, 25, GW_LB_NO_ID),
		dp_backend("10.1.0.77", 1, 26, 5),
	};
	struct gw_lb_dp_ids dp = {keys, 4, tables, 4, bes, 7};
	struct gw_lb_service *spill = gw_lb_service_find(f->lb, "spill");
	struct gw_lb_service *local = gw_lb_service_find(f->lb, "local");
	size_t i, j;

	assert_int_equal(gw_balancer_take_ids(f->lb, &dp), 0);
	assert_int_equal(spill->id, 7);
	assert_int_equal(local->id, 3);
	assert_int_equal(be_of(f->lb, "spill", "10.1.0.11:80")->id, 20);
	assert_int_equal(be_of(f->lb, "local", "10.1.0.11:80")->id, 21);
	assert_int_equal(gw_lb_backend_find(local, "10.2.0.11:80", "site-b")->id, 23);
	/* spill's 10.1.0.12 was down (no table names 25); 24 is service 9's */
	assert_int_equal(be_of(f->lb, "spill", "10.1.0.12:80")->id, 25);
	/* what nobody took */
	assert_int_equal(f->lb->service_ids[4], GW_LB_ID_RETIRED);
	assert_int_equal(f->lb->service_ids[5], GW_LB_ID_RETIRED);
	assert_int_equal(f->lb->service_ids[9], GW_LB_ID_RETIRED);
	assert_int_equal(f->lb->backend_ids[24], GW_LB_ID_RETIRED);
	assert_int_equal(f->lb->retired_by[24], 9);
	assert_int_equal(f->lb->backend_ids[26], GW_LB_ID_RETIRED);
	assert_int_equal(f->lb->backend_ids[22], GW_LB_ID_FREE); /* no table names it */
	/* the others took ids the pins name nothing by */
	for (i = 0; i < f->lb->n_services; i++) {
		const struct gw_lb_service *s = f->lb->services[i];

		if (s != spill && s != local)
			assert_true(s->id != 3 && s->id != 4 && s->id != 5 && s->id != 7 &&
				    s->id != 9);
		for (j = 0; j < s->n_backends; j++)
			assert_int_equal(f->lb->backend_ids[s->backends[j].id], GW_LB_ID_USED);
	}
	assert_int_not_equal(be_of(f->lb, "none", "10.1.0.11:80")->id, 22);
}

/* What the running data plane has of other sites' exports at a start is
 * held under its ids: a learned-only service's key and table (a held
 * service), a remote backend a kept service's table names (a held backend
 * of it). A site's export takes over exactly its own holds: the service by
 * a VIP (id kept), the backends by site id, address and port (ids kept);
 * the other site's hold stays until its own export, or until the holds
 * end, and then its id is retired until the table is written again. */
static void test_take_ids_holds(void **state)
{
	struct fx *f = *state;
	const struct gw_lb_svc_key_id keys[] = {
		dp_key("10.100.0.11", 80, 3), /* local */
		dp_key("10.100.0.50", 0, 11), /* b-only's marker */
		dp_key("10.100.0.50", 80, 11),
		dp_key("10.100.0.50", 81, 11),
	};
	const uint32_t tables[] = {3, 11};
	const struct gw_lb_backend_id bes[] = {
		dp_backend("10.2.0.22", 2, 27, 11),	     /* b-only's, of site-b */
		dp_backend("10.3.0.33", 3, 28, 3),	     /* local's, of site-c */
		dp_backend("10.2.0.44", 2, 29, GW_LB_NO_ID), /* in no table */
	};
	struct gw_lb_dp_ids dp = {keys, 4, tables, 2, bes, 3};
	struct gw_lb_remote_backend rb = {.port = 80, .weight = 100, .healthy = true};
	struct gw_lb_remote_service rs = {.name = "b-only", .n_vips = 1, .n_ports = 1};
	struct gw_lb_remote_gateway gw = {.name = "gw1"};
	struct gw_lb_service *local = gw_lb_service_find(f->lb, "local"), *held = NULL;
	struct gw_lb_backend *b;
	size_t i;

	assert_int_equal(gw_balancer_take_ids(f->lb, &dp), 0);
	for (i = 0; i < f->lb->n_services; i++)
		if (f->lb->services[i]->held)
			held = f->lb->services[i];
	assert_non_null(held);
	assert_int_equal(held->id, 11);
	assert_int_equal(held->n_vips, 1);
	assert_int_equal(held->n_ports, 1); /* 80-81/tcp */
	assert_int_equal(held->ports[0].lo, 80);
	assert_int_equal(held->ports[0].hi, 81);
	assert_int_equal(held->n_backends, 1);
	assert_true(held->backends[0].held);
	assert_int_equal(held->backends[0].id, 27);
	assert_true(gw_lb_service_holds(local, AF_INET));
	assert_false(gw_lb_service_holds(local, AF_INET6));
	assert_int_equal(f->lb->backend_ids[28], GW_LB_ID_USED);
	assert_int_equal(f->lb->backend_ids[29], GW_LB_ID_FREE);
	/* a held backend is in no table chosen anew */
	assert_string_equal(chosen(f, "local", GW_MAGLEV_CLIENT, AF_INET), "a");

	/* site-b's export: b-only is the held service, 10.2.0.22 its backend */
	assert_int_equal(gw_ip_parse("10.2.0.22", &rb.addr), 0);
	assert_int_equal(gw_ip_parse("10.100.0.50", &rs.vips[0]), 0);
	assert_int_equal(gw_port_range_parse("80/tcp", &rs.ports[0], NULL, 0), 0);
	assert_int_equal(gw_ip_parse("10.255.0.2", &gw.addr), 0);
	rs.backends = &rb;
	rs.n_backends = 1;
	assert_int_equal(gw_lb_remote_site_set(f->lb, "site-b", 2, &gw, 1, &rs, 1), 0);
	assert_ptr_equal(gw_lb_service_find(f->lb, "b-only"), held);
	assert_false(held->held);
	assert_int_equal(held->id, 11);
	b = gw_lb_backend_find(held, "10.2.0.22:80", "site-b");
	assert_non_null(b);
	assert_false(b->held);
	assert_true(b->learned);
	assert_int_equal(b->id, 27);
	/* site-c's hold in local is not site-b's to end */
	assert_true(gw_lb_service_holds(local, AF_INET));
	assert_true(gw_lb_holds(f->lb));

	gw_lb_release_holds(f->lb, 0);
	assert_false(gw_lb_holds(f->lb));
	assert_int_equal(f->lb->backend_ids[28], GW_LB_ID_RETIRED);
	assert_int_equal(f->lb->retired_by[28], 3);
	assert_true(local->dirty);
}

/* gatewayd must start whatever the running data plane names: with every
 * id named by a service that is gone, the services take retired ids. */
static void test_take_ids_full(void **state)
{
	struct gw_config *cfg = conf_variant("limits = { services = 4; };\n", NULL, NULL);
	struct gw_balancer *lb = gw_balancer_new(cfg);
	const struct gw_lb_svc_key_id keys[] = {
		dp_key("10.100.0.90", 80, 0),
		dp_key("10.100.0.91", 80, 1),
		dp_key("10.100.0.92", 80, 2),
		dp_key("10.100.0.93", 80, 3),
	};
	struct gw_lb_dp_ids dp = {.keys = keys, .n_keys = 4};
	size_t i;

	(void)state;
	assert_non_null(lb);
	assert_int_equal(gw_balancer_take_ids(lb, &dp), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(lb->service_ids[i], GW_LB_ID_USED);
	gw_balancer_free(lb);
	gw_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backend_ids_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_id_retired_until_tables_written, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backend_id_kept_across_exports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_ids, setup, teardown),
		cmocka_unit_test(test_reload_ids_limit),
		cmocka_unit_test_setup_teardown(test_take_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_ids_holds, setup, teardown),
		cmocka_unit_test(test_take_ids_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
