/* Unit tests of the load-balancing state: which backends each Maglev table
 * gets under affinity, graded spillover, drain, health, peer liveness and
 * what other sites export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "gw/abi/maps.h"
#include "gw/config.h"
#include "gw/lb.h"

static const char *conf_text =
	"site = { name = \"site-a\"; id = 1; trust_domain = \"t\"; };\n"
	"gateway = { name = \"gw1\";\n"
	"  internal = { interface = \"int0\"; address = \"10.1.0.1\"; };\n"
	"  external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	"peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	"},\n"
	"          { site = \"site-c\"; site_id = 3; gateway = \"gw1\"; address = \"10.255.0.3\"; "
	"} );\n"
	"services = (\n"
	"  { name = \"none\"; vips = [\"10.100.0.10\"]; ports = [\"80/tcp\"]; affinity = "
	"\"none\";\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; }, { address = \"10.1.0.12\"; port "
	"= 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; },\n"
	"                 { address = \"10.3.0.11\"; port = 80; site = \"site-c\"; },\n"
	"                 { address = \"fd00:1::11\"; port = 80; } ); },\n"
	"  { name = \"local\"; vips = [\"10.100.0.11\"]; ports = [\"80/tcp\"]; affinity = "
	"\"local\";\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; } ); },\n"
	"  { name = \"remote\"; vips = [\"10.100.0.12\"]; ports = [\"80/tcp\"]; affinity = "
	"\"remote\";\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; } ); },\n"
	"  { name = \"spill\"; vips = [\"10.100.0.13\"]; ports = [\"80/tcp\"]; affinity = "
	"\"none\";\n"
	"    min_local_healthy = 2;\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; }, { address = \"10.1.0.12\"; port "
	"= 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; } ); }\n"
	");\n";

struct fx {
	struct gw_config *cfg;
	struct gw_balancer *lb;
	struct gw_maglev_backend set[16];
};

static int setup(void **state)
{
	struct gw_config_errors errs = {0};
	static struct fx f;
	size_t i;

	memset(&f, 0, sizeof(f));
	if (gw_config_load_string(conf_text, "t.conf", &f.cfg, &errs)) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		gw_config_errors_done(&errs);
		return -1;
	}
	gw_config_errors_done(&errs);
	f.lb = gw_balancer_new(f.cfg);
	if (!f.lb)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gw_balancer_free(f->lb);
	gw_config_free(f->cfg);
	return 0;
}

/* The sites of the chosen set, as a string like "aab" (sorted by site). */
static const char *chosen(struct fx *f, const char *svc_name, int table, int family)
{
	static char out[32];
	struct gw_lb_service *s = gw_lb_service_find(f->lb, svc_name);
	size_t n, i, j, k = 0;

	assert_non_null(s);
	n = gw_lb_select(f->lb, s, table, family, f->set);
	for (i = 0; i < n; i++)
		for (j = 0; j < s->n_backends; j++)
			if (s->backends[j].id == f->set[i].id)
				out[k++] = s->backends[j].site[5]; /* site-X */
	out[k] = '\0';
	for (i = 1; i < k; i++) /* sort, so order of discovery does not matter */
		for (j = i; j > 0 && out[j - 1] > out[j]; j--) {
			char t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return out;
}

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
		cmocka_unit_test_setup_teardown(test_backend_ids_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_id_retired_until_tables_written, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backend_id_kept_across_exports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_active_active_same_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_ids, setup, teardown),
		cmocka_unit_test(test_reload_ids_limit),
		cmocka_unit_test_setup_teardown(test_take_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_ids_holds, setup, teardown),
		cmocka_unit_test(test_take_ids_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
