/* What a config reload (gw_daemon_reload, as SIGHUP and POST
 * /v1/config/reload run it) leaves in the data plane's maps: a gatewayd on
 * two veth interfaces of a private network namespace, with its pins in a
 * private bpffs, reloads a changed config and the maps are read back. */
#include "reload_fixture.h"

/* Conntrack entries and the flow cache name a remote flow's gateway by peer
 * id: a reload keeps each remaining peer's id, and a peer no longer listed
 * leaves the maps (its packets are no longer accepted, nothing is sent to
 * it). */
static void test_peer_removed(void **state)
{
	struct fx *f;
	uint32_t id_c;
	struct gw_peer p;

	(void)state;
	assert_int_equal(write_conf(PEER_B ", " PEER_C, NULL), 0);
	f = start();
	assert_int_equal(peer_id_of("10.255.0.2"), 1);
	id_c = peer_id_of("10.255.0.3");
	assert_int_equal(id_c, 2);

	assert_int_equal(write_conf(PEER_C, NULL), 0);
	reload(f);
	/* site-c's gateway is where its flows were sent before */
	assert_int_equal(peer_id_of("10.255.0.3"), id_c);
	p = peer_at(id_c);
	assert_int_equal(p.addr, inet_addr("10.255.0.3"));
	assert_true(p.flags & GW_PEER_F_UP);
	/* site-b's is gone: neither found by address nor up under its id */
	assert_int_equal(peer_id_of("10.255.0.2"), 0);
	p = peer_at(1);
	assert_false(p.flags & GW_PEER_F_UP);
	stop(f);
}

#define IDENTITIES(others)                                                                         \
	"identities = ( { name = \"clients\"; cidrs = [\"10.1.0.10/32\"]; labels = "               \
	"[\"app=client\"]; }" others " );\n"
#define OTHERS ", { name = \"others\"; cidrs = [\"10.1.0.20/32\"]; labels = [\"app=other\"]; }"
#define POLICIES(others)                                                                           \
	"policies = ( { name = \"clients-web\"; from = [\"app=client\"]; to = \"web\"; "           \
	"ports = [\"80/tcp\"]; }" others " );\n"
#define OTHERS_WEB                                                                                 \
	", { name = \"others-web\"; from = [\"app=other\"]; to = \"web\"; ports = [\"80/tcp\"]; }"

/* A policy or an identity taken out of the config no longer decides
 * anything: a reload removes its entries, so the identity's clients lose
 * the access that policy gave them. */
static void test_policy_removed(void **state)
{
	struct gw_lpm4_key cidr = {.prefixlen = 32, .addr = inet_addr("10.1.0.20")};
	struct gw_policy_key pk = {.svc_id = 0};
	uint32_t id;
	struct fx *f;

	(void)state;
	assert_int_equal(write_conf(PEER_B, IDENTITIES(OTHERS) POLICIES(OTHERS_WEB)), 0);
	f = start();
	id = gw_apply_identity_id(f->d.cfg, 1);
	pk.identity = id;
	assert_true(in_map("gw_policy", &pk));
	assert_true(in_map("gw_ident4", &cidr));
	assert_true(in_map("gw_identities", &id));

	/* the policy goes */
	assert_int_equal(write_conf(PEER_B, IDENTITIES(OTHERS) POLICIES("")), 0);
	reload(f);
	assert_false(in_map("gw_policy", &pk));
	assert_true(in_map("gw_ident4", &cidr));
	/* then the identity */
	assert_int_equal(write_conf(PEER_B, IDENTITIES("") POLICIES("")), 0);
	reload(f);
	assert_false(in_map("gw_ident4", &cidr));
	assert_false(in_map("gw_identities", &id));
	/* what stays is still there */
	pk.identity = gw_apply_identity_id(f->d.cfg, 0);
	assert_true(in_map("gw_policy", &pk));
	stop(f);
}

/* An operator's drain of a backend another site exported holds across a
 * reload, as a drain of a config backend does. */
static void test_remote_drain_kept(void **state)
{
	json_t *body = json_loads(site_b_export, 0, NULL);
	struct gw_lb_backend *b;
	char err[256] = "";
	struct fx *f;

	(void)state;
	assert_non_null(body);
	assert_int_equal(write_conf(PEER_B, NULL), 0);
	f = start();
	assert_int_equal(gw_daemon_remote_apply(&f->d, "site-b", body, err, sizeof(err)), 0);
	b = gw_lb_backend_find(gw_lb_service_find(f->d.lb, "web"), "10.2.0.21:80", "site-b");
	assert_non_null(b);
	b->drained = true; /* as POST /v1/backends/drain does */
	assert_int_equal(
		gw_apply_service_tables(f->d.dp, f->d.lb, gw_lb_service_find(f->d.lb, "web")), 0);

	reload(f);
	b = gw_lb_backend_find(gw_lb_service_find(f->d.lb, "web"), "10.2.0.21:80", "site-b");
	assert_non_null(b);
	assert_true(b->drained);
	assert_int_equal(gw_lb_backend_state(f->d.lb, b), GW_LB_DRAINING);
	assert_non_null(gw_lb_service_find(f->d.lb, "b-only"));
	json_decref(body);
	stop(f);
}

/* Which backend (service, site, address) each backend id names. */
struct id_owners {
	char name[64][96];
};

static void id_owners_take(struct fx *f, struct id_owners *o)
{
	size_t i, j;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < f->d.lb->n_services; i++) {
		const struct gw_lb_service *s = f->d.lb->services[i];

		for (j = 0; j < s->n_backends; j++) {
			char *n = o->name[s->backends[j].id];
			int k = snprintf(n, 96, "%s|%s|", s->name, s->backends[j].site);

			gw_lb_backend_name(&s->backends[j], n + k, 96 - k);
		}
	}
}

/* One push of a site is one batch of map writes, service after service:
 * no backend in it takes an id that another backend had before it (a
 * table not written yet would send that one's flows to it), and a backend
 * exported again keeps its id, so a repeated export swaps no table. The
 * ids freed by a push are given out again by the next. */
static void test_export_ids_not_reused_in_batch(void **state)
{
	static const char *export2 =
		"{\"site_id\": 2, \"gateways\": [{\"name\": \"gw1\", \"address\": "
		"\"10.255.0.2\"}], \"services\": ["
		" {\"name\": \"b-only\", \"vips\": [\"10.100.0.50\"], \"ports\": [\"80/tcp\"], "
		"\"backends\": [{\"address\": \"10.2.0.23\", \"port\": 80, \"weight\": 100, "
		"\"healthy\": true}, {\"address\": \"10.2.0.22\", \"port\": 80, \"weight\": "
		"100, \"healthy\": true}]}]}";
	struct id_owners *before = calloc(1, sizeof(*before));
	struct id_owners *after = calloc(1, sizeof(*after));
	struct gw_lb_service *s;
	uint32_t slot, table, id;
	struct fx *f;

	(void)state;
	assert_non_null(before);
	assert_non_null(after);
	assert_int_equal(write_conf(PEER_B, NULL), 0);
	f = start();
	remote_apply(f, "site-b", site_b_export);
	s = gw_lb_service_find(f->d.lb, "b-only");
	slot = GW_MAGLEV_SLOT(s->id, GW_MAGLEV_CLIENT, 0);
	table = maglev_table_id(slot);
	assert_int_not_equal(table, 0);
	remote_apply(f, "site-b", site_b_export);
	assert_int_equal(maglev_table_id(slot), table);

	/* web's backend of site-b goes, b-only gets another */
	id_owners_take(f, before);
	remote_apply(f, "site-b", export2);
	id_owners_take(f, after);
	for (id = 0; id < 64; id++)
		if (after->name[id][0] && before->name[id][0])
			assert_string_equal(after->name[id], before->name[id]);
	assert_int_equal(f->d.lb->n_retired, 0);
	free(before);
	free(after);
	stop(f);
}

/* A gatewayd whose config lists a static backend of site-b for web,
 * 10.2.0.31 (site_b_export does not have it); web's IPv4 client table's
 * slot into ret_slot. */
static struct fx *start_static_31(uint32_t *ret_slot)
{
	struct fx *f;

	assert_int_equal(write_conf(PEER_B, "backends = ( { service = \"web\"; address = "
					    "\"10.2.0.31\"; port = 80; site = \"site-b\"; } );\n"),
			 0);
	f = start();
	*ret_slot = GW_MAGLEV_SLOT(gw_lb_service_find(f->d.lb, "web")->id, GW_MAGLEV_CLIENT, 0);
	return f;
}

/* When cluster-syncd withdraws a site (DELETE /v1/remote/sites/SITE: its
 * keys left etcd), what it exported leaves the data plane, and the
 * config's static entries for it, which its export had replaced, are in
 * the tables again. */
static void test_withdrawn_site_keeps_static(void **state)
{
	struct gw_svc_key k = {.port = htons(80), .proto = IPPROTO_TCP, .family = GW_AF_INET};
	char err[256] = "";
	uint32_t slot;
	struct fx *f;

	(void)state;
	f = start_static_31(&slot);
	assert_true(table_names(slot, "10.2.0.31"));
	remote_apply(f, "site-b", site_b_export);
	assert_false(table_names(slot, "10.2.0.31"));
	assert_true(table_names(slot, "10.2.0.21"));
	k.vip[0] = inet_addr("10.100.0.50");
	assert_true(in_map("gw_svcs", &k));

	if (gw_daemon_remote_forget(&f->d, "site-b", err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(table_names(slot, "10.2.0.31"));
	assert_false(table_names(slot, "10.2.0.21"));
	assert_true(table_names(slot, "10.1.0.11"));
	assert_false(in_map("gw_svcs", &k)); /* b-only was only site-b's */
	assert_int_equal(gw_daemon_remote_forget(&f->d, "site-b", err, sizeof(err)), -ENOENT);
	stop(f);
}

/* A service that cannot be applied does not hold the others back: an
 * export with more backends for one service than its table has slots (the
 * config check cannot see exports) fails that service, and a service
 * behind it in the same export still reaches the data plane. */
static void test_bad_service_holds_no_other(void **state)
{
	char big[1024] = "", head[1024], *dot;
	struct gw_svc_key k = {.port = htons(80), .proto = IPPROTO_TCP, .family = GW_AF_INET};
	char exp[2048], err[256] = "";
	json_t *body;
	struct fx *f;
	FILE *cf;
	int i;

	(void)state;
	/* the lab's head with a 7-slot table */
	snprintf(head, sizeof(head), "%s", conf_head);
	dot = strstr(head, "maglev_table_size = 1021");
	assert_non_null(dot);
	memcpy(dot, "maglev_table_size = 7   ", 24);
	cf = fopen(conf_path, "w");
	assert_non_null(cf);
	fprintf(cf, "%speers = ( %s );\n%s", head, PEER_B, conf_services);
	assert_int_equal(fclose(cf), 0);
	for (i = 0; i < 8; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
			 "%s{\"address\": \"10.2.0.%d\", \"port\": 80, \"weight\": 100, "
			 "\"healthy\": true}",
			 i ? ", " : "", 30 + i);
	snprintf(exp, sizeof(exp),
		 "{\"site_id\": 2, \"gateways\": [{\"name\": \"gw1\", \"address\": "
		 "\"10.255.0.2\"}], \"services\": ["
		 "{\"name\": \"big\", \"vips\": [\"10.100.0.60\"], \"ports\": [\"80/tcp\"], "
		 "\"backends\": [%s]},"
		 "{\"name\": \"after\", \"vips\": [\"10.100.0.61\"], \"ports\": [\"80/tcp\"], "
		 "\"backends\": [{\"address\": \"10.2.0.40\", \"port\": 80, \"weight\": 100, "
		 "\"healthy\": true}]}]}",
		 big);
	body = json_loads(exp, 0, NULL);
	assert_non_null(body);
	f = start();
	/* the push reports the failure */
	assert_int_not_equal(gw_daemon_remote_apply(&f->d, "site-b", body, err, sizeof(err)), 0);
	print_message("push: %s\n", err);
	assert_true(gw_lb_service_find(f->d.lb, "big")->dirty);
	assert_false(gw_lb_service_find(f->d.lb, "after")->dirty);
	k.vip[0] = inet_addr("10.100.0.61");
	assert_true(in_map("gw_svcs", &k));
	json_decref(body);
	stop(f);
}

/* A service the config no longer has leaves no Maglev table behind, after
 * a reload or a restart over the running data plane. No VIP names its
 * slots now, but each would hold its memory and tell whoever reads the
 * maps that a service is still balanced there. */
static void test_removed_service_leaves_no_table(void **state)
{
	struct gw_lb_service *s;
	struct fx *f;

	(void)state;
	write_services(LOCAL_SERVICE("web", "11") ", " LOCAL_SERVICE(
		"mid", "21") ", " LOCAL_SERVICE("last", "31"));
	f = start();
	assert_int_equal(gw_lb_service_find(f->d.lb, "mid")->id, 1);
	assert_true(table_names(GW_MAGLEV_SLOT(1, GW_MAGLEV_CLIENT, 0), "10.1.0.21"));

	write_services(LOCAL_SERVICE("web", "11") ", " LOCAL_SERVICE("last", "31"));
	reload(f);
	s = gw_lb_service_find(f->d.lb, "last");
	assert_true(table_names(GW_MAGLEV_SLOT(s->id, GW_MAGLEV_CLIENT, 0), "10.1.0.31"));
	assert_int_equal(maglev_table_id(GW_MAGLEV_SLOT(1, GW_MAGLEV_CLIENT, 0)), 0);
	assert_unused_slots_empty(f);
	crash(f);

	write_services(LOCAL_SERVICE("web", "11"));
	f = start();
	assert_unused_slots_empty(f);
	assert_true(table_names(GW_MAGLEV_SLOT(0, GW_MAGLEV_CLIENT, 0), "10.1.0.11"));
	assert_int_equal(maglev_table_id(GW_MAGLEV_SLOT(2, GW_MAGLEV_CLIENT, 0)), 0);
	stop(f);
}

/* A reload writes service after service into the running data plane, so a
 * service that kept its name keeps its id, and its backends theirs: had
 * the services after a removed one moved down an id, a VIP whose key still
 * led to an id would have been balanced, until its key was written, over
 * the table another service had just written there (and conntrack would
 * have kept those flows on that service's backends for their life). A new
 * service takes an id nothing names. */
static void test_reload_keeps_service_ids(void **state)
{
	struct svc_seen *mid = calloc(1, sizeof(*mid)), *last = calloc(1, sizeof(*last));
	uint32_t web_id, id;
	struct fx *f = start_three(mid, last, &web_id);

	(void)state;

	/* the first of three goes */
	write_services(LOCAL_SERVICE("mid", "21") ", " LOCAL_SERVICE("last", "31"));
	batch_check_start(local_services);
	reload(f);
	batch_check_end();
	svc_seen_same(f, "mid", mid);
	svc_seen_same(f, "last", last);
	assert_int_equal(maglev_table_id(GW_MAGLEV_SLOT(web_id, GW_MAGLEV_CLIENT, 0)), 0);
	assert_int_equal(f->d.lb->service_ids[web_id], GW_LB_ID_FREE); /* nothing names it now */
	assert_none_retired(f);

	/* one comes in first, and the others change places */
	write_services(LOCAL_SERVICE("new", "41") ", " LOCAL_SERVICE(
		"last", "31") ", " LOCAL_SERVICE("mid", "21"));
	batch_check_start(local_services);
	reload(f);
	batch_check_end();
	svc_seen_same(f, "mid", mid);
	svc_seen_same(f, "last", last);
	id = gw_lb_service_find(f->d.lb, "new")->id;
	assert_int_not_equal(id, mid->id);
	assert_int_not_equal(id, last->id);
	assert_true(table_names(GW_MAGLEV_SLOT(id, GW_MAGLEV_CLIENT, 0), "10.1.0.41"));
	assert_unused_slots_empty(f);
	free(mid);
	free(last);
	stop(f);
}

/* web with local backends (a list of "{ address = ...; port = 80; }"). */
static void write_web(const char *backends)
{
	FILE *cf = fopen(conf_path, "w");

	assert_non_null(cf);
	fprintf(cf,
		"%speers = ( %s );\nservices = ( { name = \"web\"; vips = [\"10.100.0.10\"]; "
		"ports = [\"80/tcp\"];\n  health = { type = \"none\"; }; backends = ( %s ); } );\n",
		conf_head, PEER_B, backends);
	assert_int_equal(fclose(cf), 0);
}

#define BE(n) "{ address = \"10.1.0." n "\"; port = 80; }"

/* A backend that stays keeps its id across a reload and a restart, those
 * other sites exported too: the tables being replaced name it by that id
 * meanwhile. A new backend takes an id that no table names, not the id of
 * the one it replaces: that one's flows would go to it until web's table is
 * written. */
/* The gw_backends entry of a backend id nothing has now is empty. */
static void assert_backend_cleared(uint32_t id)
{
	struct gw_backend be, none;
	int fd = pinned("gw_backends");

	memset(&none, 0, sizeof(none));
	assert_int_equal(bpf_map_lookup_elem(fd, &id, &be), 0);
	close(fd);
	assert_memory_equal(&be, &none, sizeof(be));
}

static void test_reload_keeps_backend_ids(void **state)
{
	static const struct vip_backend web[] = {
		{"10.100.0.10", "10.1.0.11"},
		{"10.100.0.10", "10.1.0.12"},
		{"10.100.0.10", "10.1.0.13"},
		{"10.100.0.10", "10.1.0.14"},
		{"10.100.0.10", "10.2.0.21"},
		{"10.100.0.50", "10.2.0.22"},
		{NULL, NULL},
	};
	uint32_t id11, id12, id13, id14, id21, id22;
	struct fx *f;

	(void)state;
	write_web(BE("11") ", " BE("12") ", " BE("13"));
	f = start();
	remote_apply(f, "site-b", site_b_export);
	id11 = backend_id(f, "web", "10.1.0.11:80", NULL);
	id12 = backend_id(f, "web", "10.1.0.12:80", NULL);
	id13 = backend_id(f, "web", "10.1.0.13:80", NULL);
	id21 = backend_id(f, "web", "10.2.0.21:80", "site-b");
	id22 = backend_id(f, "b-only", "10.2.0.22:80", "site-b");

	/* .11 goes, .14 comes (first) */
	write_web(BE("14") ", " BE("12") ", " BE("13"));
	batch_check_start(web);
	reload(f);
	batch_check_end();
	assert_int_equal(backend_id(f, "web", "10.1.0.12:80", NULL), id12);
	assert_int_equal(backend_id(f, "web", "10.1.0.13:80", NULL), id13);
	assert_int_equal(backend_id(f, "web", "10.2.0.21:80", "site-b"), id21);
	assert_int_equal(backend_id(f, "b-only", "10.2.0.22:80", "site-b"), id22);
	id14 = backend_id(f, "web", "10.1.0.14:80", NULL);
	assert_int_not_equal(id14, id11);
	assert_int_not_equal(id14, id21);
	assert_int_not_equal(id14, id22);
	assert_none_retired(f);
	/* .11's entry went with its id: a restart reads nothing of it */
	assert_backend_cleared(id11);
	crash(f);

	/* listed in another order while gatewayd was away */
	write_web(BE("13") ", " BE("12") ", " BE("14"));
	batch_check_start(web);
	f = start();
	batch_check_end();
	assert_int_equal(backend_id(f, "web", "10.1.0.12:80", NULL), id12);
	assert_int_equal(backend_id(f, "web", "10.1.0.13:80", NULL), id13);
	assert_int_equal(backend_id(f, "web", "10.1.0.14:80", NULL), id14);
	stop(f);
}

/* A drain of another site's backend that the config lists too (a static
 * entry the site's export named) holds across a reload, as one of a
 * backend only the export has: the drained backend takes no new flow, not
 * even while the reload is written, and keeps its id. */
static void test_exported_static_drain_kept(void **state)
{
	static const struct vip_backend web_local[] = {
		{"10.100.0.10", "10.1.0.11"},
		{"10.100.0.50", "10.2.0.22"},
		{NULL, NULL},
	};
	struct gw_lb_service *s;
	struct gw_lb_backend *b;
	uint32_t id;
	struct fx *f;
	size_t i, n = 0;

	(void)state;
	assert_int_equal(write_conf(PEER_B, "backends = ( { service = \"web\"; address = "
					    "\"10.2.0.21\"; port = 80; site = \"site-b\"; } );\n"),
			 0);
	f = start();
	remote_apply(f, "site-b", site_b_export);
	s = gw_lb_service_find(f->d.lb, "web");
	b = gw_lb_backend_find(s, "10.2.0.21:80", "site-b");
	assert_non_null(b);
	assert_true(b->learned);
	b->drained = true; /* as POST /v1/backends/drain does */
	id = b->id;
	assert_int_equal(gw_apply_service_tables(f->d.dp, f->d.lb, s), 0);
	assert_false(table_names(GW_MAGLEV_SLOT(s->id, GW_MAGLEV_CLIENT, 0), "10.2.0.21"));

	batch_check_start(web_local);
	reload(f);
	batch_check_end();
	s = gw_lb_service_find(f->d.lb, "web");
	for (i = 0; i < s->n_backends; i++)
		n += strcmp(s->backends[i].site, "site-b") == 0;
	assert_int_equal(n, 1);
	b = gw_lb_backend_find(s, "10.2.0.21:80", "site-b");
	assert_non_null(b);
	assert_true(b->drained);
	assert_int_equal(b->id, id);
	assert_false(table_names(GW_MAGLEV_SLOT(s->id, GW_MAGLEV_CLIENT, 0), "10.2.0.21"));
	stop(f);
}

/* A reload writes the exports other sites pushed into the new state before
 * its first write: a static entry of the config that a site's export
 * replaced (web's 10.2.0.31, which site-b no longer exports) is in no
 * table at any moment of the batch, or new flows would go to it until the
 * export was applied again. */
static void test_reload_keeps_export_over_static(void **state)
{
	static const struct vip_backend exported[] = {
		{"10.100.0.10", "10.1.0.11"},
		{"10.100.0.10", "10.2.0.21"},
		{"10.100.0.50", "10.2.0.22"},
		{NULL, NULL},
	};
	uint32_t slot;
	struct fx *f;

	(void)state;
	f = start_static_31(&slot);
	remote_apply(f, "site-b", site_b_export);
	assert_false(table_names(slot, "10.2.0.31"));

	batch_check_start(exported);
	reload(f);
	batch_check_end();
	assert_false(table_names(slot, "10.2.0.31"));
	assert_true(table_names(slot, "10.2.0.21"));
	assert_null(gw_lb_backend_find(gw_lb_service_find(f->d.lb, "web"), "10.2.0.31:80", NULL));
	assert_none_retired(f);
	stop(f);
}

/* Policies name a service by its id, which is no longer its place in the
 * config: after the service before it goes, a policy still allows what it
 * allowed, under the service's own id. */
static void test_policy_follows_service_id(void **state)
{
	struct gw_policy_key pk = {0};
	struct gw_svc_key k = {.port = htons(80), .proto = IPPROTO_TCP, .family = GW_AF_INET};
	struct gw_svc v;
	uint32_t mid_id;
	struct fx *f;
	FILE *cf;
	int fd;

	(void)state;
	cf = fopen(conf_path, "w");
	assert_non_null(cf);
	fprintf(cf, "%speers = ( %s );\nservices = ( %s, %s );\n%s", conf_head, PEER_B,
		LOCAL_SERVICE("web", "11"), LOCAL_SERVICE("mid", "21"),
		IDENTITIES("") "policies = ( { name = \"clients-mid\"; from = [\"app=client\"]; "
			       "to = \"mid\"; ports = [\"80/tcp\"]; } );\n");
	assert_int_equal(fclose(cf), 0);
	f = start();
	mid_id = gw_lb_service_find(f->d.lb, "mid")->id;
	pk.identity = gw_apply_identity_id(f->d.cfg, 0);
	pk.svc_id = mid_id;
	assert_true(in_map("gw_policy", &pk));

	cf = fopen(conf_path, "w");
	assert_non_null(cf);
	fprintf(cf, "%speers = ( %s );\nservices = ( %s );\n%s", conf_head, PEER_B,
		LOCAL_SERVICE("mid", "21"),
		IDENTITIES("") "policies = ( { name = \"clients-mid\"; from = [\"app=client\"]; "
			       "to = \"mid\"; ports = [\"80/tcp\"]; } );\n");
	assert_int_equal(fclose(cf), 0);
	reload(f);
	assert_int_equal(gw_lb_service_find(f->d.lb, "mid")->id, mid_id);
	assert_true(in_map("gw_policy", &pk));
	pk.svc_id = 0; /* mid's place in the config now: web's id before */
	if (mid_id != 0)
		assert_false(in_map("gw_policy", &pk));
	/* and mid's VIP enforces it */
	k.vip[0] = inet_addr("10.100.0.21");
	fd = pinned("gw_svcs");
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	close(fd);
	assert_int_equal(v.id, mid_id);
	assert_true(v.flags & GW_SVC_F_POLICY);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_removed),
		cmocka_unit_test(test_policy_removed),
		cmocka_unit_test(test_remote_drain_kept),
		cmocka_unit_test(test_export_ids_not_reused_in_batch),
		cmocka_unit_test(test_withdrawn_site_keeps_static),
		cmocka_unit_test(test_removed_service_leaves_no_table),
		cmocka_unit_test(test_reload_keeps_service_ids),
		cmocka_unit_test(test_reload_keeps_backend_ids),
		cmocka_unit_test(test_policy_follows_service_id),
		cmocka_unit_test(test_exported_static_drain_kept),
		cmocka_unit_test(test_reload_keeps_export_over_static),
		cmocka_unit_test(test_bad_service_holds_no_other),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
