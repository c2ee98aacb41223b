/* Unit tests of the site configuration loader: the example configs, a table
 * of broken configs with their exact messages, and docs/config.md coverage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, qsort_r */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gw/config.h"

static char tmpdir[] = "/tmp/gw-test-config-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static char *read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static void print_errors(const struct gw_config_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		print_message("  error: %s\n", e->msg[i]);
	for (i = 0; i < e->n_warn; i++)
		print_message("  warning: %s\n", e->warn[i]);
}

static bool has_message(char *const *v, size_t n, const char *needle)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strstr(v[i], needle))
			return true;
	return false;
}

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

/* ---- broken configs ------------------------------------------------------ */

/* Three lines every case may start with, so its own text begins at line 4. */
#define HEAD                                                                                       \
	"site = { name = \"site-a\"; id = 1; };\n"                                                 \
	"gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "  \
	"}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"                  \
	"peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = "                \
	"\"10.255.0.2\"; } );\n"
#define SVC(name, vip, port)                                                                       \
	"{ name = \"" name "\"; vips = [ \"" vip "\" ]; ports = [ \"" port "\" ]; }"
#define WEB "services = ( " SVC("web", "10.100.0.10", "80/tcp") " );\n"

struct bad_case {
	const char *desc;
	const char *text;
	size_t n_err; /* exactly this many errors */
	const char *expect[6];
};

static const struct bad_case bad_cases[] = {
	{"syntax error",
	 HEAD "services = ( { name = \"web\" }\nx = 1;\n",
	 1,
	 {"t.conf:5: syntax error"}},
	{"unknown key with a suggestion",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  afinity = \"local\"; } );\n",
	 1,
	 {"t.conf:5: unknown key \"afinity\" in services[0]; did you mean \"affinity\"?"}},
	{"unknown top-level key, nothing close",
	 HEAD WEB "frobnicate = 1;\n",
	 1,
	 {"t.conf:5: unknown key \"frobnicate\" at top level; known keys: site, gateway, etcd"}},
	{"string where an integer is expected",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; port = \"80\"; } ); } );\n",
	 1,
	 {"t.conf:5: services[0].backends[0].port: expected an integer in 1..65535; found a "
	  "string (\"80\")"}},
	{"string where an array is expected",
	 HEAD
	 "services = ( { name = \"web\";\n vips = \"10.100.0.10\"; ports = [ \"80/tcp\" ]; } );\n",
	 1,
	 {"t.conf:5: services[0].vips: expected an array [ ... ] of 1..16 values, each a unicast "
	  "IPv4 or IPv6 address; found a string (\"10.100.0.10\")"}},
	{"missing required keys",
	 "site = {\n  id = 1; };\n"
	 "gateway = { name = \"gw1\";\n  external = { interface = \"ext0\"; address = "
	 "\"10.255.0.1\"; "
	 "}; };\n" WEB,
	 2,
	 {"t.conf:1: site.name: required key is missing; expected a name",
	  "t.conf:3: gateway.internal: required key is missing; expected a group"}},
	{"missing required top-level groups",
	 "# nothing\n",
	 3,
	 {"t.conf: site: required key is missing", "t.conf: gateway: required key is missing",
	  "t.conf: services: required key is missing"}},
	{"bad enum value",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  affinity = \"near\"; } );\n",
	 1,
	 {"t.conf:5: services[0].affinity: expected one of none, local, remote; found \"near\""}},
	{"bad IP address",
	 HEAD "services = ( { name = \"web\"; ports = [ \"80/tcp\" ];\n"
	      "  vips = [ \"10.100.0.10\",\n \"10.100.0.300\" ]; } );\n",
	 1,
	 {"t.conf:6: services[0].vips[1]: expected a unicast IPv4 or IPv6 address; found "
	  "\"10.100.0.300\""}},
	{"the same key twice in a group",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  lb = \"maglev\";\n  lb = \"random\"; } );\n",
	 1,
	 {"t.conf:6: duplicate setting name"}},
	{"IPv6 internal address, multicast VIP",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; external = { interface = \"ext0\"; address = \"10.255.0.1\"; "
	 "};\n"
	 "  internal = { interface = \"int0\"; address = \"fd00:1::1\"; }; };\n"
	 "services = ( " SVC("web", "224.0.0.1", "80/tcp") " );\n",
	 2,
	 {"t.conf:3: gateway.internal.address: expected a unicast IPv4 address; found "
	  "\"fd00:1::1\"",
	  "t.conf:4: services[0].vips[0]: expected a unicast IPv4 or IPv6 address; found "
	  "\"224.0.0.1\" (not a unicast address)"}},
	{"CIDR with host bits set",
	 HEAD WEB "identities = ( { name = \"c\"; labels = [ \"app=c\" ];\n"
		  "  cidrs = [ \"10.1.0.10/24\" ]; } );\n",
	 1,
	 {"t.conf:6: identities[0].cidrs[0]: expected a network such as \"10.1.0.0/24\" or "
	  "\"fd00:1::/64\"; found \"10.1.0.10/24\" (host bits are set; did you mean "
	  "10.1.0.0/24?)"}},
	{"IPv6 CIDR prefix too long",
	 HEAD WEB "identities = ( { name = \"c\"; labels = [ \"app=c\" ]; cidrs = [ \"fd00::/129\" "
		  "]; } );\n",
	 1,
	 {"t.conf:5: identities[0].cidrs[0]:", "(prefix length is at most 128)"}},
	{"port 0",
	 HEAD "services = ( " SVC("web", "10.100.0.10", "0/tcp") " );\n",
	 1,
	 {"t.conf:4: services[0].ports[0]: expected a port or port range with protocol",
	  "found \"0/tcp\" (port 0 is out of 1..65535)"}},
	{"port 70000",
	 HEAD "services = ( " SVC("web", "10.100.0.10", "70000/udp") " );\n",
	 1,
	 {"t.conf:4: services[0].ports[0]:",
	  "found \"70000/udp\" (port 70000 is out of 1..65535)"}},
	{"inverted port range and unknown protocol",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ];\n"
	      "  ports = [ \"90-80/tcp\", \"80/icmp\" ]; } );\n",
	 2,
	 {"t.conf:5: services[0].ports[0]:",
	  "found \"90-80/tcp\" (range start 90 is above its end 80)",
	  "t.conf:5: services[0].ports[1]:", "found \"80/icmp\""}},
	{"backend port out of range",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; port = 0; weight = 70000; } ); } );\n",
	 2,
	 {"t.conf:5: services[0].backends[0].port: expected an integer in 1..65535; found 0",
	  "t.conf:5: services[0].backends[0].weight: expected an integer in 0..65535; found "
	  "70000"}},
	{"duplicate service",
	 HEAD "services = ( " SVC("web", "10.100.0.10", "80/tcp") ",\n"
								  "  " SVC("web", "10.100.0.11",
									   "80/tcp") " );\n",
	 1,
	 {"t.conf:5: services[1].name: expected a unique service name; found \"web\" again "
	  "(duplicate service; first at line 4, services[0])"}},
	{"overlapping VIPs",
	 HEAD "services = ( " SVC("web", "10.100.0.10",
				  "80/tcp") ",\n"
					    "  " SVC("alt", "10.100.0.10",
						     "70-90/tcp") ",\n"
								  "  " SVC("dns", "10.100.0.10",
									   "80/udp") " );\n",
	 1,
	 {"t.conf:5: services[1].vips[0]: expected a VIP and port used by one service only; "
	  "found 10.100.0.10 70-90/tcp, which overlaps the VIP and port 80/tcp of web "
	  "(services[0], line 4)"}},
	{"backend with no service",
	 HEAD WEB "backends = ( { service = \"web\"; address = \"10.1.0.11\"; },\n"
		  "  { service = \"nope\"; address = \"10.1.0.12\"; } );\n",
	 1,
	 {"t.conf:6: backends[1].service: expected the name of a service defined in services; "
	  "found \"nope\" (a backend with no service)"}},
	{"backend site not a peer",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; },\n"
	      "    { address = \"10.3.0.11\"; site = \"site-c\"; } ); } );\n",
	 1,
	 {"t.conf:6: services[0].backends[1].site: expected this site or a site in peers "
	  "(site-a, site-b); found \"site-c\""}},
	{"duplicate backend",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; port = 80; },\n"
	      "    { address = \"10.1.0.11\"; port = 80; site = \"site-b\"; } ); } );\n"
	      "backends = ( { service = \"web\"; address = \"10.1.0.11\"; port = 80; site = "
	      "\"site-a\"; } );\n",
	 1,
	 {"t.conf:7: backends[0]: expected a backend address, port and site not already in "
	  "service web; found 10.1.0.11 port 80 of site-a again (first at line 5, "
	  "services[0].backends[0])"}},
	{"site id 0",
	 "site = { name = \"site-a\";\n id = 0; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n" WEB,
	 1,
	 {"t.conf:2: site.id: expected an integer in 1..65535; found 0"}},
	{"site id 70000 and peer site id 70000",
	 "site = { name = \"site-a\"; id = 70000; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 70000; gateway = \"gw1\"; address = "
	 "\"10.255.0.2\"; } );\n" WEB,
	 2,
	 {"t.conf:1: site.id: expected an integer in 1..65535; found 70000",
	  "t.conf:3: peers[0].site_id: expected an integer in 1..65535; found 70000"}},
	{"integer beyond 32 bits, which libconfig would truncate",
	 HEAD WEB
	 "identities = ( { name = \"c\"; labels = [ \"app=c\" ];\n id = 4294967297; } );\n",
	 1,
	 {"t.conf:6: identities[0].id: expected an integer in 1..4294967295; found 4294967297 "
	  "(too large for libconfig's 32-bit integers, which would truncate it; write "
	  "4294967297L if you meant it)"}},
	{"duplicate peer",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	 "},\n"
	 "  { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.22\"; } "
	 ");\n" WEB,
	 1,
	 {"t.conf:4: peers[1]: expected a unique site and gateway; found site-b/gw1 again "
	  "(duplicate peer; first at line 3, peers[0])"}},
	{"peer with this site's id, name or address; another site's id; a duplicate address",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	 "},\n"
	 "  { site = \"site-c\"; site_id = 1; gateway = \"gw1\"; address = \"10.255.0.3\"; },\n"
	 "  { site = \"site-a\"; site_id = 4; gateway = \"gw2\"; address = \"10.255.0.1\"; },\n"
	 "  { site = \"site-d\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.5\"; },\n"
	 "  { site = \"site-e\"; site_id = 5; gateway = \"gw1\"; address = \"10.255.0.2\"; } "
	 ");\n" WEB,
	 5,
	 {"t.conf:4: peers[1].site_id: expected an id other than this site's (site.id); found 1",
	  "t.conf:5: peers[2].site: expected a remote site; found \"site-a\", which is this site",
	  "t.conf:5: peers[2].address: expected a remote gateway's address; found 10.255.0.1",
	  "t.conf:6: peers[3].site_id: expected an id no other site has; found 2, already "
	  "site-b's (peers[0], line 3)",
	  "t.conf:7: peers[4].address: expected an address no other peer has; found 10.255.0.2, "
	  "already peers[0]'s (line 3)"}},
	{"more services than limits.services",
	 HEAD "services = ( " SVC("a", "10.100.0.1", "80/tcp") ",\n " SVC(
		 "b", "10.100.0.2", "80/tcp") " );\nlimits = { services = 1; };\n",
	 1,
	 {"t.conf:4: services: expected at most 1 services (limits.services); found 2"}},
	{"more backends than limits.backends",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; }, { address = \"10.1.0.12\"; } ); } );\n"
	      "limits = { backends = 1; };\n",
	 1,
	 {"t.conf:4: services: expected at most 1 backends in all services (limits.backends); "
	  "found 2"}},
	{"non-prime Maglev table size and inverted SNAT range",
	 HEAD WEB "limits = {\n  maglev_table_size = 16384;\n  snat_port_min = 65000;\n"
		  "  snat_port_max = 64000; };\n",
	 2,
	 {"t.conf:6: limits.maglev_table_size: expected a prime number; found 16384",
	  "t.conf:7: limits.snat_port_min: expected less than limits.snat_port_max (64000); found "
	  "65000"}},
	{"flow cache size not a power of two",
	 HEAD WEB "limits = { flow_cache_entries = 1000; };\n",
	 1,
	 {"t.conf:5: limits.flow_cache_entries: expected 0 (no flow cache) or a power of two; "
	  "found 1000"}},
	{"Maglev table smaller than a service's backends",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; }, { address = \"10.1.0.12\"; }, "
	      "{ address = \"10.1.0.13\"; },\n  { address = \"10.1.0.14\"; }, { address = "
	      "\"10.1.0.15\"; }, { address = \"10.1.0.16\"; }, { address = \"10.1.0.17\"; }, "
	      "{ address = \"10.1.0.18\"; } ); } );\nlimits = { maglev_table_size = 7; };\n",
	 1,
	 {"t.conf:5: services[0].backends: expected at most limits.maglev_table_size (7) "
	  "backends; found 8"}},
	{"several errors in one file",
	 "site = { name = \"Site_A\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; datapath = \"ebpf\"; "
	 "};\n"
	 "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	 "  lb = \"maglev\"; weight = 3; },\n"
	 "  { name = \"web\"; vips = [ \"10.100.0.11\" ]; ports = [ \"80/tcp\" ];\n"
	 "    health = { interval_ms = 100; timeout_ms = 200; }; } );\n"
	 "policies = ( { name = \"p\"; from = [ \"app=client\" ]; to = \"webb\"; } );\n"
	 "limits = { snat_port_min = 80; };\n",
	 7,
	 {"t.conf:1: site.name: expected a name of 1..63 characters a-z, 0-9 and '-', not "
	  "starting or ending with '-'; found \"Site_A\"",
	  "t.conf:2: gateway.datapath: expected one of xdp, dpdk; found \"ebpf\"",
	  "t.conf:4: unknown key \"weight\" in services[0]; known keys: name, vips, ports",
	  "t.conf:5: services[1].name: expected a unique service name; found \"web\" again",
	  "t.conf:6: services[1].health.timeout_ms: expected at most health.interval_ms (100); "
	  "found 200",
	  "t.conf:7: policies[0].to: expected the name of a service in services; found "
	  "\"webb\""}},
	{"probes out of range",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n" WEB
	 "probes = { interval_ms = 5; down_after = 0; };\n",
	 2,
	 {"t.conf:4: probes.interval_ms: expected an integer in 10..10000; found 5",
	  "t.conf:4: probes.down_after: expected an integer in 1..100; found 0"}},
	{"probes: fast interval out of range",
	 HEAD WEB "probes = { fast_interval_ms = 4; };\n",
	 1,
	 {"t.conf:5: probes.fast_interval_ms: expected an integer in 5..10000; found 4"}},
	{"probes: fast interval not below the interval",
	 HEAD WEB "probes = { interval_ms = 50;\n  fast_interval_ms = 50; };\n",
	 1,
	 {"t.conf:6: probes.fast_interval_ms: expected less than probes.interval_ms (50); found "
	  "50"}},
	{"probes: the default fast interval with a short interval",
	 HEAD WEB "probes = { interval_ms = 20; };\n",
	 1,
	 {"t.conf:5: probes.fast_interval_ms: expected less than probes.interval_ms (20); found "
	  "25"}},
	{"several errors, the last",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n" WEB
	 "limits = { snat_port_min = 80; };\n",
	 1,
	 {"t.conf:4: limits.snat_port_min: expected an integer in 1024..65535; found 80"}},
	{"policy ports outside the service and HTTP rules on an L4 service",
	 HEAD WEB
	 "policies = ( { name = \"p\"; from = [ \"app=client\" ]; to = \"web\";\n"
	 "  ports = [ \"443/tcp\" ];\n  http = ( { method = \"GET\"; path = \"/\"; } ); } );\n",
	 2,
	 {"t.conf:6: policies[0].ports[0]: expected ports of service web; found \"443/tcp\"",
	  "t.conf:7: policies[0].http: expected no http rules, as service web has l7 = none"}},
	{"bad HTTP rule and label",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ]; "
	      "l7 = \"http\"; } );\n"
	      "policies = ( { name = \"p\"; from = [ \"app client\" ]; to = \"web\";\n"
	      "  http = ( { method = \"get\"; path = \"index.html\"; } ); } );\n",
	 3,
	 {"t.conf:5: policies[0].from[0]: expected a label \"key=value\"",
	  "t.conf:6: policies[0].http[0].method: expected an HTTP method of 1..16 letters A-Z",
	  "t.conf:6: policies[0].http[0].path: expected an HTTP path starting with '/'"}},
	{"spillover with local affinity",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  affinity = \"local\"; min_local_healthy = 2; } );\n",
	 1,
	 {"t.conf:5: services[0].min_local_healthy: expected 0 with affinity = local (only "
	  "affinity none spills over to other sites); found 2"}},
	{"L7 service on a UDP port",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; l7 = \"grpc\";\n"
	      "  ports = [ \"80/tcp\", \"443/udp\" ]; } );\n",
	 1,
	 {"t.conf:5: services[0].ports[1]: expected tcp ports for an L7 service (l7 = grpc); "
	  "found \"443/udp\""}},
	{"encrypted peer without tls, and a tls group without a key",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = "
	 "\"10.255.0.2\";\n"
	 "  encrypt = true; } );\n" WEB
	 "etcd = { tls = { cert = \"/etc/isthmus/etcd.pem\"; }; };\n",
	 2,
	 {"t.conf:4: peers[0].encrypt: expected false without a tls group",
	  "t.conf:6: etcd.tls.key: expected a key file with etcd.tls.cert; found none"}},
	{"tls group with a missing key and a relative path",
	 HEAD WEB
	 "tls = { ca = \"ca.pem\";\n  cert = \"/etc/isthmus/gw.pem\"; rekey_interval = 10; };\n",
	 3,
	 {"t.conf:5: tls.ca: expected an absolute file name; found \"ca.pem\"",
	  "t.conf:5: tls.key: required key is missing; expected an absolute file name",
	  "t.conf:6: tls.rekey_interval: expected an integer in 60..604800; found 10"}},
	{"identities: duplicate name and id, unknown site",
	 HEAD WEB "identities = ( { name = \"c\"; id = 70000; labels = [ \"app=c\" ]; },\n"
		  "  { name = \"c\"; id = 70000; labels = [ \"app=d\" ]; site = \"site-q\"; } );\n",
	 3,
	 {"t.conf:6: identities[1].name: expected a unique identity name; found \"c\" again",
	  "t.conf:6: identities[1].site: expected this site or a site in peers (site-a, site-b); "
	  "found \"site-q\"",
	  "t.conf:6: identities[1].id: expected an id no other identity has; found 70000, "
	  "already c's (identities[0], line 5)"}},
	{"the same network in two identities of one site; an IPv6 peer of an IPv4 gateway",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	 "},\n"
	 "  { site = \"site-c\"; site_id = 3; gateway = \"gw1\"; address = \"fd00::3\"; } );\n" WEB
	 "identities = ( { name = \"c\"; labels = [ \"app=c\" ]; cidrs = [ \"10.1.0.0/24\" ]; },\n"
	 "  { name = \"d\"; labels = [ \"app=d\" ];\n    cidrs = [ \"10.1.0.0/25\", "
	 "\"10.1.0.0/24\" ]; },\n"
	 "  { name = \"e\"; labels = [ \"app=e\" ]; cidrs = [ \"10.1.0.0/24\" ]; site = "
	 "\"site-b\"; } );\n",
	 2,
	 {"t.conf:4: peers[1].address: expected an IPv4 address like gateway.external.address; "
	  "found fd00::3",
	  "t.conf:8: identities[1].cidrs[1]: expected a network no other entry of site site-a has; "
	  "found 10.1.0.0/24 again (first at line 6, identities[0].cidrs[0])"}},
	{"list element that is not a group; boolean where a string is expected",
	 HEAD "services = ( 1,\n  { name = true; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" "
	      "]; } );\n",
	 2,
	 {"t.conf:4: services[0]: expected a group { ... }; found an integer (1)",
	  "t.conf:5: services[1].name: expected a name of 1..63 characters a-z, 0-9 and '-', not "
	  "starting or ending with '-'; found a boolean (true)"}},
	{"etcd endpoint, prefix and metrics address",
	 HEAD WEB
	 "etcd = { endpoints = [ \"10.255.0.101:2379\", \"http://[fd00::1]:2379\" ];\n"
	 "  prefix = \"isthmus/\"; };\n"
	 "observability = { metrics_listen = \"localhost:9400\"; capture_max_bytes = 1.5; };\n",
	 4,
	 {"t.conf:5: etcd.endpoints[0]: expected a URL http://HOST[:PORT] or https://HOST[:PORT]; "
	  "found \"10.255.0.101:2379\"",
	  "t.conf:6: etcd.prefix: expected a key prefix",
	  "t.conf:7: observability.metrics_listen: expected an address and port",
	  "t.conf:7: observability.capture_max_bytes: expected an integer in 4096..1099511627776; "
	  "found a float (1.5)"}},
	{"too long interface name and too many VIPs",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0-with-a-long-name\"; address "
	 "= "
	 "\"10.1.0.1\"; }; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "services = ( { name = \"web\"; ports = [ \"80/tcp\" ];\n vips = [ \"10.100.0.1\", "
	 "\"10.100.0.2\", \"10.100.0.3\", \"10.100.0.4\", \"10.100.0.5\", \"10.100.0.6\", "
	 "\"10.100.0.7\", \"10.100.0.8\", \"10.100.0.9\", \"10.100.0.10\", \"10.100.0.11\", "
	 "\"10.100.0.12\", \"10.100.0.13\", \"10.100.0.14\", \"10.100.0.15\", \"10.100.0.16\", "
	 "\"10.100.0.17\" ]; } );\n",
	 2,
	 {"t.conf:2: gateway.internal.interface: expected an interface name of 1..15 characters "
	  "without '/', ':' or spaces; found \"int0-with-a-long-name\" (21 characters)",
	  "t.conf:4: services[0].vips: expected 1..16 elements; found 17"}},
	{"include of something that is not a regular file",
	 HEAD WEB "@include \"/dev/zero\"\n",
	 1,
	 {"t.conf:5: @include \"/dev/zero\": expected a regular file of at most 16777216 bytes; "
	  "found something else"}},
	{"missing include file",
	 HEAD WEB "@include \"missing.conf\"\n",
	 1,
	 {"t.conf:5: cannot open include file"}},
};

static void run_bad_case(const struct bad_case *c)
{
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const char *path = write_file("t.conf", c->text, strlen(c->text));
	bool ok = true;
	size_t i;
	int r;

	r = gw_config_load(path, &cfg, &e);
	if (r != -EINVAL || cfg || (c->n_err && e.n != c->n_err))
		ok = false;
	for (i = 0; i < 6 && c->expect[i]; i++) {
		if (!has_message(e.msg, e.n, c->expect[i])) {
			print_message("  missing: %s\n", c->expect[i]);
			ok = false;
		}
	}
	if (!ok || getenv("GW_TEST_VERBOSE")) {
		print_message("case \"%s\": r = %d, %zu errors (want %zu):\n", c->desc, r, e.n,
			      c->n_err);
		print_errors(&e);
	}
	gw_config_errors_done(&e);
	gw_config_free(cfg);
	if (!ok)
		fail_msg("case \"%s\" failed", c->desc);
}

static void test_bad_configs(void **state)
{
	size_t i;

	(void)state;
	assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 20);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_bad_case(&bad_cases[i]);
}

/* ---- other edges ----------------------------------------------------------- */

static void test_missing_file(void **state)
{
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_int_equal(gw_config_load("conf/no-such-site.conf", &cfg, &e), -ENOENT);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
			    "conf/no-such-site.conf: cannot open: No such file or directory");
	gw_config_errors_done(&e);
	gw_config_errors_done(NULL);
	gw_config_free(NULL);
	/* Errors may be discarded. */
	assert_int_equal(gw_config_load("conf/no-such-site.conf", &cfg, NULL), -ENOENT);
	assert_int_equal(gw_config_load_string("x = ;", "x.conf", &cfg, NULL), -EINVAL);
}

static void test_unreadable_files(void **state)
{
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const char *path;
	char *big;

	(void)state;
	assert_int_equal(gw_config_load(tmpdir, &cfg, &e), -EISDIR);
	assert_non_null(strstr(e.msg[0], "cannot read: Is a directory"));
	gw_config_errors_done(&e);

	big = malloc(GW_CONFIG_MAX_FILE_SIZE + 1);
	assert_non_null(big);
	memset(big, '#', GW_CONFIG_MAX_FILE_SIZE + 1);
	path = write_file("big.conf", big, GW_CONFIG_MAX_FILE_SIZE + 1);
	free(big);
	assert_int_equal(gw_config_load(path, &cfg, &e), -EFBIG);
	assert_non_null(strstr(e.msg[0], "big.conf: larger than 16777216 bytes"));
	assert_null(cfg);
	gw_config_errors_done(&e);
	unlink(path);
}

/* The VIP overlap check is bounded: too many VIP and port pairs are refused. */
static void test_vip_port_cap(void **state)
{
	size_t per = GW_CONFIG_MAX_VIPS * GW_CONFIG_MAX_PORTS;
	size_t n_svc = GW_CONFIG_MAX_VIP_PORTS / per + 1, cap = n_svc * 700 + 4096, o, i, j;
	char *text = malloc(cap);
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_non_null(text);
	o = (size_t)snprintf(text, cap, "%slimits = { services = 65535; };\nservices = (\n", HEAD);
	for (i = 0; i < n_svc; i++) {
		o += (size_t)snprintf(text + o, cap - o, "%s{ name = \"s%zu\"; vips = [",
				      i ? "," : "", i);
		for (j = 0; j < GW_CONFIG_MAX_VIPS; j++)
			o += (size_t)snprintf(text + o, cap - o, "%s\"10.%zu.%zu.%zu\"",
					      j ? "," : "", 100 + i / 256, i % 256, j + 1);
		o += (size_t)snprintf(text + o, cap - o, "]; ports = [");
		for (j = 0; j < GW_CONFIG_MAX_PORTS; j++)
			o += (size_t)snprintf(text + o, cap - o, "%s\"%zu\"", j ? "," : "", j + 1);
		o += (size_t)snprintf(text + o, cap - o, "]; }\n");
	}
	snprintf(text + o, cap - o, ");\n");
	assert_true(o < cap - 8);
	assert_int_equal(gw_config_load_string(text, "cap.conf", &cfg, &e), -EINVAL);
	if (e.n != 1)
		print_errors(&e);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "cap.conf:5: services: expected at most 1048576 VIP "
					 "and port spec pairs in all services; found 1049088"));
	gw_config_errors_done(&e);
	free(text);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "site = { name = \"a\"; id = 1; };\n\0services = ();\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const char *path = write_file("nul.conf", text, sizeof(text) - 1);

	(void)state;
	assert_int_equal(gw_config_load(path, &cfg, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "nul.conf:2: NUL byte"));
	gw_config_errors_done(&e);
}

/* Errors past GW_CONFIG_MAX_ERRORS are counted, not kept. */
static void test_error_cap(void **state)
{
	size_t cap = 64 * 1024, o, i;
	char *text = malloc(cap);
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_non_null(text);
	o = (size_t)snprintf(text, cap, "%s", HEAD WEB "identities = (\n");
	for (i = 0; i < GW_CONFIG_MAX_ERRORS + 50; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "%s{ name = \"i%zu\"; labels = [ \"bad\" ]; }\n",
				      i ? "," : "", i);
	snprintf(text + o, cap - o, ");\n");
	assert_int_equal(gw_config_load_string(text, "many.conf", &cfg, &e), -EINVAL);
	assert_int_equal(e.n, GW_CONFIG_MAX_ERRORS);
	assert_int_equal(e.n_dropped, 50);
	assert_non_null(strstr(e.msg[0], "many.conf:6: identities[0].labels[0]"));
	gw_config_errors_done(&e);
	free(text);
}

/* A small Maglev table loads, with a warning. */
static void test_maglev_warning(void **state)
{
	static const char text[] = HEAD
		"services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" "
		"];\n  backends = ( { address = \"10.1.0.11\"; }, { address = \"10.1.0.12\"; } ); "
		"} );\n"
		"limits = { maglev_table_size = 101; };\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_int_equal(gw_config_load_string(text, "w.conf", &cfg, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(e.n_warn, 1);
	assert_non_null(strstr(e.warn[0], "w.conf:6: limits.maglev_table_size: 101 is less than "
					  "100 times the 2 backends of services[0]"));
	gw_config_free(cfg);
	gw_config_errors_done(&e);
}

/* @include is resolved next to the including file and errors name it. */
static void test_include(void **state)
{
	static const char main_text[] = HEAD "@include \"svc.inc\"\n";
	static const char inc_text[] = "services = (\n  { name = \"web\"; vips = [ \"10.100.0.10\" "
				       "]; ports = [ \"80/tcp\" ]; lb = \"fastest\"; } );\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	char want[300];
	const char *path;

	(void)state;
	write_file("svc.inc", inc_text, strlen(inc_text));
	path = write_file("main.conf", main_text, strlen(main_text));
	assert_int_equal(gw_config_load(path, &cfg, &e), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s/svc.inc:2: services[0].lb: expected one of maglev, random, "
		 "round_robin; found \"fastest\"",
		 tmpdir);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], want);
	gw_config_errors_done(&e);
}

/* Every prefix of a good config is refused or accepted, never a crash. */
static void test_truncated_configs(void **state)
{
	size_t len, i;
	char *text = read_all("conf/site-a.conf", &len);

	(void)state;
	for (i = 0; i <= len; i += 3) {
		struct gw_config_errors e = {0};
		struct gw_config *cfg = NULL;
		char saved = text[i];
		int r;

		text[i] = '\0';
		r = gw_config_load_string(text, "cut.conf", &cfg, &e);
		text[i] = saved;
		assert_true(r == 0 || r == -EINVAL);
		assert_true((r == 0) == (cfg != NULL));
		assert_true(r == 0 || e.n > 0);
		gw_config_free(cfg);
		gw_config_errors_done(&e);
	}
	free(text);
}

static void test_value_syntax(void **state)
{
	struct gw_port_range pr;
	struct gw_endpoint ep;
	struct gw_cidr c;
	struct gw_ip ip;
	char hint[128], buf[64];

	(void)state;
	assert_int_equal(gw_ip_parse("10.1.0.1", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_memory_equal(ip.addr, "\x0a\x01\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(gw_ip_parse("fd00:1::1", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(gw_ip_parse("10.1.0", &ip), -EINVAL);
	assert_int_equal(gw_ip_parse("010.1.0.1", &ip), -EINVAL);
	assert_int_equal(gw_cidr_parse("fd00:1::/64", &c, hint, sizeof(hint)), 0);
	assert_int_equal(c.prefix_len, 64);
	assert_int_equal(gw_cidr_parse("0.0.0.0/0", &c, hint, sizeof(hint)), 0);
	assert_int_equal(gw_cidr_parse("10.1.0.0/", &c, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_cidr_parse("10.1.0.0/-1", &c, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_cidr_parse("fd00:1::1/64", &c, hint, sizeof(hint)), -EINVAL);
	assert_string_equal(hint, "host bits are set; did you mean fd00:1::/64?");
	assert_int_equal(gw_port_range_parse("1-65535/sctp", &pr, hint, sizeof(hint)), 0);
	assert_int_equal(pr.proto, GW_PROTO_SCTP);
	assert_string_equal(gw_port_range_format(&pr, buf, sizeof(buf)), "1-65535/sctp");
	assert_int_equal(gw_port_range_parse("80/", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("-80", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("80-", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("+80", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("99999999999999", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_endpoint_parse("[::1]:9400", &ep), 0);
	assert_string_equal(gw_endpoint_format(&ep, buf, sizeof(buf)), "[::1]:9400");
	assert_int_equal(gw_endpoint_parse("::1:9400", &ep), -EINVAL);
	assert_int_equal(gw_endpoint_parse("0.0.0.0:0", &ep), -EINVAL);
	assert_true(gw_config_syntax_ok(GW_SYNTAX_NAME, "site-a"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_NAME, "-a"));
	assert_false(gw_config_syntax_ok(
		GW_SYNTAX_NAME,
		"a234567890123456789012345678901234567890123456789012345678901234"));
	assert_true(gw_config_syntax_ok(GW_SYNTAX_URL, "https://etcd-1.lab:2379/"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_URL, "http://:2379"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_URL, "http://h:0"));
	assert_true(gw_config_syntax_ok(GW_SYNTAX_LABEL, "k8s.io/app="));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_LABEL, "=x"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_ETCD_PREFIX, "/a//b"));
	assert_string_equal(gw_affinity_name(GW_AFFINITY_REMOTE), "remote");
	assert_string_equal(gw_l7_name((enum gw_l7)99), "?");
	assert_string_equal(gw_proto_name(GW_PROTO_UDP), "udp");
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
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unreadable_files),
		cmocka_unit_test(test_vip_port_cap),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_maglev_warning),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_truncated_configs),
		cmocka_unit_test(test_value_syntax),
		cmocka_unit_test(test_dump_json),
		cmocka_unit_test(test_known_keys),
		cmocka_unit_test(test_docs_cover_every_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
