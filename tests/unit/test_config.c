/* Unit tests of the site configuration loader with good configs: the
 * examples in conf/, defaults, top-level backends, the JSON dump, and
 * docs/config.md coverage of every key. */
#include "config_test.h"

/* ---- the example configs ----------------------------------------------- */

static struct gw_config *load_ok(const char *path)
{
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	int r = gw_config_load(path, &cfg, &e);

	if (r || e.n || e.n_warn)
		print_errors(&e);
	assert_int_equal(r, 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(e.n_warn, 0);
	assert_non_null(cfg);
	gw_config_errors_done(&e);
	return cfg;
}

static const struct gw_service_conf *service(const struct gw_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_services; i++)
		if (!strcmp(cfg->services[i].name, name))
			return &cfg->services[i];
	fail_msg("no service %s", name);
	return NULL;
}

static void assert_ip(const struct gw_ip *ip, const char *text)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(gw_ip_format(ip, buf, sizeof(buf)), text);
}

static bool has_backend(const struct gw_service_conf *s, const char *addr, unsigned int site_id)
{
	char buf[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < s->n_backends; i++)
		if (s->backends[i].site_id == site_id && s->backends[i].port == 80 &&
		    !strcmp(gw_ip_format(&s->backends[i].address, buf, sizeof(buf)), addr))
			return true;
	return false;
}

/* backend1 and backend2 (port 80) of each site in sites (a bit mask). */
static void assert_lab_backends(const struct gw_service_conf *s, unsigned int sites)
{
	static const int nets[] = {1, 2, 1};
	char buf[64];
	unsigned int k;
	int h;

	for (k = 1; k <= 3; k++) {
		if (!(sites & (1u << k)))
			continue;
		for (h = 11; h <= 12; h++) {
			snprintf(buf, sizeof(buf), "10.%d.0.%d", nets[k - 1], h);
			if (!has_backend(s, buf, k))
				fail_msg("service %s has no backend %s:80 of site %u", s->name, buf,
					 k);
		}
	}
}

/* What docs/lab.md and the design card say about site N (1, 2, 3), checked
 * in its config. Other services or backends may be added. */
static void check_example(unsigned int site)
{
	static const char *const names[] = {"site-a", "site-b", "site-c"};
	static const int nets[] = {1, 2, 1};
	const struct gw_service_conf *s;
	struct gw_config *cfg;
	char path[64], buf[64];
	size_t i, j;

	snprintf(path, sizeof(path), "conf/%s.conf", names[site - 1]);
	cfg = load_ok(path);
	assert_string_equal(cfg->site.name, names[site - 1]);
	assert_int_equal(cfg->site.id, site);
	assert_string_equal(cfg->gateway.name, "gw1");
	assert_string_equal(cfg->gateway.internal.interface, "int0");
	snprintf(buf, sizeof(buf), "10.%d.0.1", nets[site - 1]);
	assert_ip(&cfg->gateway.internal.address, buf);
	snprintf(buf, sizeof(buf), "fd00:%d::1", nets[site - 1]);
	assert_ip(&cfg->gateway.internal.address6, buf);
	assert_string_equal(cfg->gateway.external.interface, "ext0");
	snprintf(buf, sizeof(buf), "10.255.0.%u", site);
	assert_ip(&cfg->gateway.external.address, buf);

	assert_int_equal(cfg->etcd.n_endpoints, 3);
	for (i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "http://10.255.0.%zu:2379", 101 + i);
		assert_string_equal(cfg->etcd.endpoints[i], buf);
	}

	assert_int_equal(cfg->n_peers, 2);
	for (i = 0; i < cfg->n_peers; i++) {
		const struct gw_peer_conf *p = &cfg->peers[i];

		assert_int_not_equal(p->site_id, site);
		assert_string_equal(p->site, names[p->site_id - 1]);
		assert_string_equal(p->gateway, "gw1");
		snprintf(buf, sizeof(buf), "10.255.0.%u", p->site_id);
		assert_ip(&p->address, buf);
	}

	/* Every backend's site is resolved consistently. */
	for (i = 0; i < cfg->n_services; i++) {
		s = &cfg->services[i];
		for (j = 0; j < s->n_backends; j++) {
			const struct gw_backend_conf *b = &s->backends[j];

			assert_true(b->site_id >= 1 && b->site_id <= 3);
			assert_string_equal(b->site, names[b->site_id - 1]);
			assert_int_equal(b->local, b->site_id == site);
			assert_int_equal(b->toplevel_index, -1);
			assert_int_equal(b->weight, 100);
		}
		/* The examples check every 300 ms (lab tests run on loaded machines). */
		if (s->health.type == GW_HEALTH_TCP)
			assert_int_equal(s->health.interval_ms, 300);
	}

	s = service(cfg, "web");
	assert_int_equal(s->n_vips, 2);
	assert_ip(&s->vips[0], "10.100.0.10");
	assert_ip(&s->vips[1], "fd00:100::10");
	assert_int_equal(s->n_ports, 2);
	assert_int_equal(s->ports[0].lo, 80);
	assert_int_equal(s->ports[0].hi, 80);
	assert_int_equal(s->ports[0].proto, GW_PROTO_TCP);
	assert_int_equal(s->ports[1].lo, 9); /* closed on the backends: ICMP tests */
	assert_int_equal(s->ports[1].hi, 9);
	assert_int_equal(s->ports[1].proto, GW_PROTO_UDP);
	assert_int_equal(s->affinity, GW_AFFINITY_NONE);
	assert_int_equal(s->lb, GW_LB_MAGLEV);
	assert_int_equal(s->health.type, GW_HEALTH_TCP);
	assert_lab_backends(s, 0xe);

	s = service(cfg, "web-local");
	assert_int_equal(s->n_vips, 1);
	assert_ip(&s->vips[0], "10.100.0.11");
	assert_int_equal(s->ports[0].lo, 80);
	assert_int_equal(s->affinity, GW_AFFINITY_LOCAL);
	assert_lab_backends(s, 0xe);

	s = service(cfg, "web-spill");
	assert_int_equal(s->n_vips, 1);
	assert_ip(&s->vips[0], "10.100.0.12");
	assert_int_equal(s->ports[0].lo, 80);
	assert_int_equal(s->affinity, GW_AFFINITY_NONE);
	assert_int_equal(s->min_local_healthy, 2);
	assert_lab_backends(s, 0xe);

	s = service(cfg, "web-b");
	assert_int_equal(s->n_vips, 1);
	assert_ip(&s->vips[0], "10.100.0.13");
	assert_int_equal(s->ports[0].lo, 80);
	assert_lab_backends(s, 1u << 2);
	for (i = 0; i < s->n_backends; i++)
		assert_int_equal(s->backends[i].site_id, 2);

	assert_true(cfg->n_identities >= 1);
	assert_true(cfg->identities[0].local);
	snprintf(buf, sizeof(buf), "10.%d.0.10/32", nets[site - 1]);
	assert_string_equal(gw_cidr_format(&cfg->identities[0].cidrs[0], path, sizeof(path)), buf);
	assert_true(cfg->n_policies >= 1);
	assert_string_equal(cfg->services[cfg->policies[0].to_service].name, "web");

	assert_int_equal(cfg->limits.maglev_table_size, 16381);
	gw_config_free(cfg);
}

static void test_example_site_a(void **state)
{
	(void)state;
	check_example(1);
}

static void test_example_site_b(void **state)
{
	(void)state;
	check_example(2);
}

static void test_example_site_c(void **state)
{
	(void)state;
	check_example(3);
}

/* Defaults fill what a minimal config leaves out. */
static void test_defaults(void **state)
{
	static const char text[] =
		"site = { name = \"s\"; id = 9; };\n"
		"gateway = { name = \"g\"; internal = { interface = \"i\"; address = \"10.0.0.1\"; "
		"};\n"
		"  external = { interface = \"e\"; address = \"192.0.2.1\"; }; };\n"
		"services = ( { name = \"x\"; vips = [ \"10.9.9.9\" ]; ports = [ \"53/udp\", "
		"\"8000-8099\" ];\n"
		"  backends = ( { address = \"10.0.0.5\"; } ); } );\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const struct gw_service_conf *s;
	char buf[64];

	(void)state;
	assert_int_equal(gw_config_load_string(text, "min.conf", &cfg, &e), 0);
	assert_int_equal(e.n + e.n_warn, 0);
	assert_string_equal(cfg->site.trust_domain, "isthmus.local");
	assert_int_equal(cfg->gateway.datapath, GW_DATAPATH_XDP);
	assert_int_equal(cfg->gateway.xdp_mode, GW_XDP_MODE_NATIVE);
	assert_int_equal(cfg->gateway.internal.address6.family, 0);
	assert_int_equal(cfg->etcd.n_endpoints, 1);
	assert_string_equal(cfg->etcd.endpoints[0], "http://127.0.0.1:2379");
	assert_string_equal(cfg->etcd.prefix, "/isthmus/v1");
	assert_int_equal(cfg->etcd.lease_ttl, 10);
	assert_null(cfg->etcd.tls.ca);
	assert_false(cfg->tls.enabled);
	assert_int_equal(cfg->n_peers, 0);
	s = &cfg->services[0];
	assert_int_equal(s->ports[0].proto, GW_PROTO_UDP);
	assert_int_equal(s->ports[1].lo, 8000);
	assert_int_equal(s->ports[1].hi, 8099);
	assert_int_equal(s->ports[1].proto, GW_PROTO_TCP);
	assert_int_equal(s->affinity, GW_AFFINITY_NONE);
	assert_int_equal(s->lb, GW_LB_MAGLEV);
	assert_int_equal(s->l7, GW_L7_NONE);
	assert_int_equal(s->health.type, GW_HEALTH_TCP);
	assert_int_equal(s->health.interval_ms, 1000);
	assert_int_equal(s->health.timeout_ms, 500);
	assert_int_equal(s->health.rise, 2);
	assert_int_equal(s->health.fall, 3);
	assert_string_equal(s->health.path, "/");
	assert_int_equal(s->health.expect_status, 200);
	assert_int_equal(s->backends[0].port, 0);
	assert_int_equal(s->backends[0].weight, 100);
	assert_string_equal(s->backends[0].site, "s");
	assert_int_equal(s->backends[0].site_id, 9);
	assert_true(s->backends[0].local);
	assert_string_equal(
		gw_endpoint_format(&cfg->observability.metrics_listen, buf, sizeof(buf)),
		"127.0.0.1:9400");
	assert_null(cfg->observability.flow_log);
	assert_int_equal(cfg->observability.capture_max_bytes, 64 << 20);
	assert_int_equal(cfg->observability.capture_max_packets, 100000);
	assert_int_equal(cfg->limits.conntrack_entries, 262144);
	assert_int_equal(cfg->limits.services, 1024);
	assert_int_equal(cfg->limits.backends, 16384);
	assert_int_equal(cfg->limits.peers, 64);
	assert_int_equal(cfg->limits.identities, 4096);
	assert_int_equal(cfg->limits.maglev_table_size, 16381);
	assert_int_equal(cfg->limits.snat_port_min, 61000);
	assert_int_equal(cfg->limits.snat_port_max, 65535);
	assert_int_equal(cfg->probes.interval_ms, 100);
	assert_int_equal(cfg->probes.fast_interval_ms, 25);
	assert_int_equal(cfg->probes.down_after, 3);
	gw_config_free(cfg);
	gw_config_errors_done(&e);
}

/* The top-level backends list joins each service after its inline backends. */
static void test_toplevel_backends(void **state)
{
	static const char text[] =
		"site = { name = \"site-a\"; id = 1; };\n"
		"gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = "
		"\"10.1.0.1\"; }; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; "
		"};\n"
		"peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = "
		"\"10.255.0.2\"; } );\n"
		"services = ( { name = \"a\"; vips = [ \"10.100.0.1\" ]; ports = [ \"80/tcp\" ];\n"
		"    backends = ( { address = \"10.1.0.11\"; } ); },\n"
		"  { name = \"b\"; vips = [ \"10.100.0.2\" ]; ports = [ \"80/tcp\" ]; } );\n"
		"backends = ( { service = \"b\"; address = \"10.2.0.11\"; port = 8080; weight = 0; "
		"site = \"site-b\"; },\n"
		"  { service = \"a\"; address = \"10.1.0.12\"; } );\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const struct gw_service_conf *a, *b;
	char *name = strdup("tl.conf");
	const char *file;
	unsigned int line;

	(void)state;
	assert_non_null(name);
	assert_int_equal(gw_config_load_string(text, name, &cfg, &e), 0);
	free(name); /* the config keeps its own copy */
	a = &cfg->services[0];
	b = &cfg->services[1];
	assert_int_equal(a->n_backends, 2);
	assert_int_equal(a->backends[0].toplevel_index, -1);
	assert_ip(&a->backends[1].address, "10.1.0.12");
	assert_int_equal(a->backends[1].toplevel_index, 1);
	assert_true(a->backends[1].local);
	assert_int_equal(b->n_backends, 1);
	assert_int_equal(b->backends[0].port, 8080);
	assert_int_equal(b->backends[0].weight, 0);
	assert_int_equal(b->backends[0].site_id, 2);
	assert_false(b->backends[0].local);
	assert_int_equal(b->backends[0].toplevel_index, 0);

	assert_int_equal(gw_config_source(cfg, "backends[1].address", &file, &line), 0);
	assert_string_equal(file, "tl.conf");
	assert_int_equal(line, 8);
	/* Not given: the enclosing group's line. */
	assert_int_equal(gw_config_source(cfg, "services[1].health.rise", &file, &line), 0);
	assert_int_equal(line, 6);
	assert_int_equal(gw_config_source(cfg, "nothing.here", &file, &line), -ENOENT);
	gw_config_free(cfg);
	gw_config_errors_done(&e);
}

static void test_dump_json(void **state)
{
	struct gw_config *cfg = load_ok("conf/site-b.conf");
	json_t *j, *svc, *b;

	(void)state;
	j = gw_config_dump_json(cfg);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "site"), "name")),
			    "site-b");
	assert_true(json_is_null(json_object_get(j, "tls")));
	assert_null(json_object_get(j, "backends"));
	svc = json_array_get(json_object_get(j, "services"), 3);
	assert_string_equal(json_string_value(json_object_get(svc, "name")), "web-b");
	assert_string_equal(json_string_value(json_array_get(json_object_get(svc, "ports"), 0)),
			    "80/tcp");
	b = json_array_get(json_object_get(svc, "backends"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "address")), "10.2.0.11");
	assert_string_equal(json_string_value(json_object_get(b, "site")), "site-b");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "limits"),
							    "maglev_table_size")),
			 16381);
	assert_true(json_is_null(
		json_object_get(json_array_get(json_object_get(j, "identities"), 0), "id")));
	json_decref(j);
	gw_config_free(cfg);
}

/* ---- docs ------------------------------------------------------------------ */

static void test_known_keys(void **state)
{
	size_t n, i, j;
	const char *const *keys = gw_config_known_keys(&n);
	static const char *const some[] = {"site.name",
					   "services.backends.weight",
					   "backends.service",
					   "policies.http.method",
					   "limits.snat_port_max",
					   "gateway.internal.address6"};

	(void)state;
	assert_true(n > 80);
	for (i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
		for (j = 0; j < n && strcmp(keys[j], some[i]); j++)
			;
		if (j == n)
			fail_msg("%s is not a known key", some[i]);
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(keys[i], keys[j]);
}

/* Every key is documented in docs/config.md as `dotted.key`. */
static void test_docs_cover_every_key(void **state)
{
	size_t n, i, len, missing = 0;
	const char *const *keys = gw_config_known_keys(&n);
	char *doc = read_all("docs/config.md", &len);
	char needle[256];

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), "`%s`", keys[i]);
		if (!strstr(doc, needle)) {
			print_message("docs/config.md does not document %s\n", needle);
			missing++;
		}
	}
	free(doc);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_site_a),
		cmocka_unit_test(test_example_site_b),
		cmocka_unit_test(test_example_site_c),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_toplevel_backends),
		cmocka_unit_test(test_dump_json),
		cmocka_unit_test(test_known_keys),
		cmocka_unit_test(test_docs_cover_every_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
