/* What a config reload (gw_daemon_reload, as SIGHUP and POST
 * /v1/config/reload run it) leaves in the data plane's maps: a gatewayd on
 * two veth interfaces of a private network namespace, with its pins in a
 * private bpffs, reloads a changed config and the maps are read back. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "gw/apply.h"
#include "gw/daemon.h"
#include "../private_bpffs.h"
#include "../run_sh.h"

#define PIN_DIR "/sys/fs/bpf/gw/test-reload"

static const char *conf_head =
	"site = { name = \"site-a\"; id = 1; trust_domain = \"t\"; };\n"
	"gateway = { name = \"gw1\"; xdp_mode = \"generic\";\n"
	"  internal = { interface = \"d0\"; address = \"10.1.0.1\"; };\n"
	"  external = { interface = \"d1\"; address = \"10.255.0.1\"; }; };\n"
	"limits = { flow_cache_entries = 0; services = 16; backends = 64; peers = 4;\n"
	"  identities = 16; conntrack_entries = 1024; maglev_table_size = 1021; };\n";

#define PEER_B "{ site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; }"
#define PEER_C "{ site = \"site-c\"; site_id = 3; gateway = \"gw1\"; address = \"10.255.0.3\"; }"

/* One service with a local backend, and rest: the part a test changes. */
static const char *conf_services =
	"services = ( { name = \"web\"; vips = [\"10.100.0.10\"]; ports = [\"80/tcp\"];\n"
	"  health = { type = \"none\"; };\n"
	"  backends = ( { address = \"10.1.0.11\"; port = 80; } ); } );\n";

static char conf_path[64];

struct fx {
	uv_loop_t loop;
	struct gw_daemon d;
};

static int write_conf(const char *peers, const char *rest)
{
	FILE *f = fopen(conf_path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%speers = ( %s );\n%s%s", conf_head, peers, conf_services, rest ? rest : "");
	return fclose(f) ? -errno : 0;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(conf_path, sizeof(conf_path), "/tmp/isthmus-test-reload-%d.conf", (int)getpid());
	if (private_bpffs("test_reload") || unshare(CLONE_NEWNET))
		return -1;
	return run_sh("test_reload",
		      "ip link set lo up && ip link add d0 type veth peer name d0p && "
		      "ip link add d1 type veth peer name d1p && ip link set d0 up && "
		      "ip link set d1 up");
}

/* A gatewayd started on the config now in conf_path, as main.c's run()
 * starts it (without probes, health checks and the API). */
static struct fx *start(void)
{
	struct gw_config_errors errs = {0};
	struct fx *f = calloc(1, sizeof(*f));
	struct gw_dp_opts o = {.pin_dir = PIN_DIR, .mode = GW_DP_GENERIC};
	const char *why = "";
	size_t i;

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	f->d.loop = &f->loop;
	f->d.conf_path = conf_path;
	f->d.remote = json_object();
	snprintf(f->d.pin_dir, sizeof(f->d.pin_dir), PIN_DIR);
	if (gw_config_load(conf_path, &f->d.cfg, &errs)) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		fail();
	}
	gw_config_errors_done(&errs);
	o.int_ifname = f->d.cfg->gateway.internal.interface;
	o.ext_ifname = f->d.cfg->gateway.external.interface;
	o.max_services = f->d.cfg->limits.services;
	o.max_backends = f->d.cfg->limits.backends;
	o.max_peers = f->d.cfg->limits.peers;
	o.max_identities = f->d.cfg->limits.identities;
	o.max_conntrack = f->d.cfg->limits.conntrack_entries;
	f->d.dp = gw_dp_open(&o, &why);
	if (!f->d.dp)
		fprintf(stderr, "gw_dp_open: %s: %s\n", why, strerror(errno));
	assert_non_null(f->d.dp);
	f->d.lb = gw_balancer_new(f->d.cfg);
	assert_non_null(f->d.lb);
	assert_int_equal(gw_apply_take_over(f->d.dp, f->d.lb), 0);
	assert_int_equal(gw_apply_all(f->d.dp, f->d.cfg, f->d.lb, &why), 0);
	return f;
}

static void reload(struct fx *f)
{
	struct gw_config_errors errs = {0};
	size_t i;
	int r;

	r = gw_daemon_reload(&f->d, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	gw_config_errors_done(&errs);
	assert_int_equal(r, 0);
}

/* The gatewayd goes (as kill -9 leaves it: the data plane and its pins
 * stay); stop() also removes the data plane. */
static void crash(struct fx *f)
{
	gw_health_free(f->d.health);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	uv_loop_close(&f->loop);
	gw_dp_close(f->d.dp);
	gw_balancer_free(f->d.lb);
	gw_config_free(f->d.cfg);
	json_decref(f->d.remote);
	free(f);
}

static void stop(struct fx *f)
{
	crash(f);
	gw_dp_destroy(PIN_DIR);
	unlink(conf_path);
}

static int pinned(const char *map)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), PIN_DIR "/%s", map);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	return fd;
}

/* --- Every write of a batch ----------------------------------------------
 * gw_dp_svc_set, gw_dp_backend_set and gw_dp_maglev_swap are wrapped (the
 * Makefile links this test with --wrap): while a test has set
 * batch_allowed, every write is checked as it is made, so the states in
 * the middle of a batch (a reload writes service after service) are seen,
 * not only the end. Every VIP's keys must lead to tables that name only
 * backends its service has (before or after the change), and a backend
 * entry that a table names must stay the same backend. */
struct vip_backend {
	const char *vip;
	const char *backend;
};

static const struct vip_backend *batch_allowed; /* { NULL } ends it; NULL: no checks */
static char batch_violation[256];		/* the first one */
static unsigned batch_writes;

int __real_gw_dp_svc_set(struct gw_dp *dp, const struct gw_svc_key *key, const struct gw_svc *svc);
int __real_gw_dp_backend_set(struct gw_dp *dp, uint32_t id, const struct gw_backend *be);
int __real_gw_dp_maglev_swap(struct gw_dp *dp, uint32_t slot, const uint32_t *table, uint32_t m);

static bool vip_may_reach(__be32 vip, __be32 backend)
{
	const struct vip_backend *a;

	for (a = batch_allowed; a->vip; a++)
		if (inet_addr(a->vip) == vip && inet_addr(a->backend) == backend)
			return true;
	return false;
}

/* The distinct backend ids (< 64) the table in slot names, as a bit set. */
static uint64_t slot_backend_ids(uint32_t slot)
{
	int fd = pinned("gw_maglev"), tfd;
	uint32_t map_id, m = 0, i, be_id;
	uint64_t ids = 0;

	if (bpf_map_lookup_elem(fd, &slot, &map_id)) {
		close(fd);
		return 0;
	}
	close(fd);
	tfd = bpf_map_get_fd_by_id(map_id);
	if (tfd < 0)
		return 0; /* swapped out meanwhile */
	i = 0;
	bpf_map_lookup_elem(tfd, &i, &m);
	for (i = 1; i <= m; i++)
		if (bpf_map_lookup_elem(tfd, &i, &be_id) == 0 && be_id < 64)
			ids |= 1ull << be_id;
	close(tfd);
	return ids;
}

static void batch_note(const char *fmt, ...)
{
	va_list ap;

	if (batch_violation[0])
		return;
	va_start(ap, fmt);
	vsnprintf(batch_violation, sizeof(batch_violation), fmt, ap);
	va_end(ap);
}

/* Every service key leads to tables of its own service's backends. */
static void batch_check_keys(const char *after)
{
	int sfd = pinned("gw_svcs"), bfd = pinned("gw_backends");
	struct gw_svc_key k, *prev = NULL, next;
	struct gw_backend be;
	struct gw_svc v;
	uint64_t ids;
	uint32_t t, id;
	char vip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];

	while (bpf_map_get_next_key(sfd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(sfd, &k, &v) || (v.flags & GW_SVC_F_VIP))
			continue;
		for (t = 0; t < GW_MAGLEV_TABLES; t++) {
			ids = slot_backend_ids(v.id * GW_MAGLEV_TABLES + t);
			for (id = 0; id < 64; id++) {
				if (!(ids & (1ull << id)))
					continue;
				memset(&be, 0, sizeof(be));
				bpf_map_lookup_elem(bfd, &id, &be);
				if (vip_may_reach(k.vip[0], be.addr[0]))
					continue;
				inet_ntop(AF_INET, k.vip, vip, sizeof(vip));
				inet_ntop(AF_INET, be.addr, addr, sizeof(addr));
				batch_note(
					"after %s: VIP %s leads to service id %u, whose table %u "
					"names backend id %u: %s, not one of its own",
					after, vip, v.id, t, id, addr);
			}
		}
	}
	close(sfd);
	close(bfd);
}

int __wrap_gw_dp_svc_set(struct gw_dp *dp, const struct gw_svc_key *key, const struct gw_svc *svc)
{
	int r = __real_gw_dp_svc_set(dp, key, svc);

	if (batch_allowed) {
		batch_writes++;
		batch_check_keys("a service key");
	}
	return r;
}

int __wrap_gw_dp_maglev_swap(struct gw_dp *dp, uint32_t slot, const uint32_t *table, uint32_t m)
{
	int r = __real_gw_dp_maglev_swap(dp, slot, table, m);

	if (batch_allowed) {
		batch_writes++;
		batch_check_keys("a Maglev table");
	}
	return r;
}

int __wrap_gw_dp_backend_set(struct gw_dp *dp, uint32_t id, const struct gw_backend *be)
{
	char was[INET_ADDRSTRLEN], now[INET_ADDRSTRLEN];
	struct gw_backend cur;
	uint32_t slot;
	int fd, r;

	if (batch_allowed && id < 64) {
		fd = pinned("gw_backends");
		memset(&cur, 0, sizeof(cur));
		bpf_map_lookup_elem(fd, &id, &cur);
		close(fd);
		/* the same backend's entry may change (health, its peer) */
		if (cur.family && (memcmp(cur.addr, be->addr, sizeof(cur.addr)) ||
				   cur.port != be->port || cur.site_id != be->site_id)) {
			for (slot = 0; slot < 16 * GW_MAGLEV_TABLES; slot++) {
				if (!(slot_backend_ids(slot) & (1ull << id)))
					continue;
				inet_ntop(AF_INET, cur.addr, was, sizeof(was));
				inet_ntop(AF_INET, be->addr, now, sizeof(now));
				batch_note("backend id %u, named by the table in slot %u, becomes "
					   "%s (was %s)",
					   id, slot, now, was);
			}
		}
	}
	r = __real_gw_dp_backend_set(dp, id, be);
	if (batch_allowed) {
		batch_writes++;
		batch_check_keys("a backend entry");
	}
	return r;
}

static void batch_check_start(const struct vip_backend *allowed)
{
	batch_violation[0] = '\0';
	batch_writes = 0;
	batch_allowed = allowed;
}

static void batch_check_end(void)
{
	batch_allowed = NULL;
	if (batch_violation[0])
		fail_msg("%s", batch_violation);
	assert_true(batch_writes > 0); /* or the wrap is not in place */
}

/* The peer id the data plane has for an underlay address; 0: none. */
static uint32_t peer_id_of(const char *addr)
{
	int fd = pinned("gw_peer_addr");
	__be32 a = inet_addr(addr);
	uint32_t id = 0;

	if (bpf_map_lookup_elem(fd, &a, &id))
		id = 0;
	close(fd);
	return id;
}

static struct gw_peer peer_at(uint32_t id)
{
	int fd = pinned("gw_peers");
	struct gw_peer p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(bpf_map_lookup_elem(fd, &id, &p), 0);
	close(fd);
	return p;
}

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

static bool in_map(const char *map, const void *key)
{
	int fd = pinned(map);
	unsigned char v[64];
	bool found = bpf_map_lookup_elem(fd, key, v) == 0;

	close(fd);
	return found;
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

/* What cluster-syncd pushed of site-b: web's backend 10.2.0.21 and a
 * service only site-b has. */
static const char *site_b_export =
	"{\"site_id\": 2, \"gateways\": [{\"name\": \"gw1\", \"address\": \"10.255.0.2\"}],"
	" \"services\": [{\"name\": \"web\", \"vips\": [\"10.100.0.10\"], \"ports\": "
	"[\"80/tcp\"], \"backends\": [{\"address\": \"10.2.0.21\", \"port\": 80, \"weight\": "
	"100, \"healthy\": true}]},"
	" {\"name\": \"b-only\", \"vips\": [\"10.100.0.50\"], \"ports\": [\"80/tcp\"], "
	"\"backends\": [{\"address\": \"10.2.0.22\", \"port\": 80, \"weight\": 100, "
	"\"healthy\": true}]}]}";

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

static void remote_apply(struct fx *f, const char *site, const char *export)
{
	json_t *body = json_loads(export, 0, NULL);
	char err[256] = "";

	assert_non_null(body);
	if (gw_daemon_remote_apply(&f->d, site, body, err, sizeof(err)))
		fail_msg("%s: %s", site, err);
	json_decref(body);
}

static const char *site_c_export =
	"{\"site_id\": 3, \"gateways\": [{\"name\": \"gw1\", \"address\": \"10.255.0.3\"}],"
	" \"services\": []}";

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

/* The inner map the data plane has in a Maglev slot (0: none). */
static uint32_t maglev_table_id(uint32_t slot)
{
	int fd = pinned("gw_maglev");
	uint32_t id = 0;

	if (bpf_map_lookup_elem(fd, &slot, &id))
		id = 0;
	close(fd);
	return id;
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

/* Whether the table in a Maglev slot sends flows to the backend at addr:
 * the ids of the table, read through gw_backends. */
static bool table_names(uint32_t slot, const char *addr)
{
	int fd = pinned("gw_backends"), tfd;
	uint32_t id = maglev_table_id(slot), m = 0, i, be_id;
	struct gw_backend be;
	bool found = false;

	if (!id) {
		close(fd);
		return false;
	}
	tfd = bpf_map_get_fd_by_id(id);
	assert_true(tfd >= 0);
	i = 0;
	assert_int_equal(bpf_map_lookup_elem(tfd, &i, &m), 0);
	for (i = 1; i <= m && !found; i++) {
		assert_int_equal(bpf_map_lookup_elem(tfd, &i, &be_id), 0);
		assert_int_equal(bpf_map_lookup_elem(fd, &be_id, &be), 0);
		found = be.addr[0] == inet_addr(addr);
	}
	close(tfd);
	close(fd);
	return found;
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

/* A service of the lab's kind: NAME, VIP 10.100.0.N, one local backend
 * 10.1.0.N:80. */
#define LOCAL_SERVICE(name, n)                                                                     \
	"{ name = \"" name "\"; vips = [\"10.100.0." n "\"]; ports = [\"80/tcp\"];\n"              \
	"  health = { type = \"none\"; }; backends = ( { address = \"10.1.0." n                    \
	"\"; port = 80; } ); }"

static void write_services(const char *services)
{
	FILE *cf = fopen(conf_path, "w");

	assert_non_null(cf);
	fprintf(cf, "%speers = ( %s );\nservices = ( %s );\n", conf_head, PEER_B, services);
	assert_int_equal(fclose(cf), 0);
}

/* Every Maglev slot of a service id the balancer does not use is empty. */
static void assert_unused_slots_empty(struct fx *f)
{
	uint32_t slot;

	for (slot = 0; slot < f->d.cfg->limits.services * GW_MAGLEV_TABLES; slot++)
		if (!f->d.lb->service_ids[slot / GW_MAGLEV_TABLES] && maglev_table_id(slot))
			fail_msg("Maglev slot %u (service id %u, unused) still has a table", slot,
				 slot / GW_MAGLEV_TABLES);
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

/* What the VIPs of LOCAL_SERVICE("...", "N") services may reach. */
static const struct vip_backend local_services[] = {
	{"10.100.0.11", "10.1.0.11"},
	{"10.100.0.21", "10.1.0.21"},
	{"10.100.0.31", "10.1.0.31"},
	{"10.100.0.41", "10.1.0.41"},
	{NULL, NULL},
};

/* Once a batch is written, nothing names a removed service's or backend's
 * id any more: it is free for the next one. */
static void assert_none_retired(struct fx *f)
{
	uint32_t id;

	for (id = 0; id < f->d.cfg->limits.services; id++)
		assert_int_not_equal(f->d.lb->service_ids[id], GW_LB_ID_RETIRED);
	for (id = 0; id < f->d.cfg->limits.backends; id++)
		assert_int_not_equal(f->d.lb->backend_ids[id], GW_LB_ID_RETIRED);
}

/* The backend ids of the table in a Maglev slot, m of them. */
static void table_read(uint32_t slot, uint32_t *out, uint32_t m)
{
	int tfd = bpf_map_get_fd_by_id(maglev_table_id(slot));
	uint32_t i, size = 0;

	assert_true(tfd >= 0);
	i = 0;
	assert_int_equal(bpf_map_lookup_elem(tfd, &i, &size), 0);
	assert_int_equal(size, m);
	for (i = 1; i <= m; i++)
		assert_int_equal(bpf_map_lookup_elem(tfd, &i, &out[i - 1]), 0);
	close(tfd);
}

/* A service's id, its backend's id and its client table, as they were. */
struct svc_seen {
	uint32_t id, backend_id;
	uint32_t table[1021];
};

static void svc_seen_take(struct fx *f, const char *name, struct svc_seen *out)
{
	struct gw_lb_service *s = gw_lb_service_find(f->d.lb, name);

	assert_non_null(s);
	out->id = s->id;
	out->backend_id = s->backends[0].id;
	table_read(GW_MAGLEV_SLOT(s->id, GW_MAGLEV_CLIENT, 0), out->table, 1021);
}

static void svc_seen_same(struct fx *f, const char *name, const struct svc_seen *was)
{
	struct svc_seen *now = calloc(1, sizeof(*now));

	assert_non_null(now);
	svc_seen_take(f, name, now);
	assert_int_equal(now->id, was->id);
	assert_int_equal(now->backend_id, was->backend_id);
	assert_memory_equal(now->table, was->table, sizeof(now->table));
	free(now);
}

/* A gatewayd on web, mid and last; what mid and last have, and web's id. */
static struct fx *start_three(struct svc_seen *mid, struct svc_seen *last, uint32_t *web_id)
{
	struct fx *f;

	assert_non_null(mid);
	assert_non_null(last);
	write_services(LOCAL_SERVICE("web", "11") ", " LOCAL_SERVICE(
		"mid", "21") ", " LOCAL_SERVICE("last", "31"));
	f = start();
	*web_id = gw_lb_service_find(f->d.lb, "web")->id;
	svc_seen_take(f, "mid", mid);
	svc_seen_take(f, "last", last);
	return f;
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

static uint32_t backend_id(struct fx *f, const char *svc, const char *addr_port, const char *site)
{
	struct gw_lb_backend *b =
		gw_lb_backend_find(gw_lb_service_find(f->d.lb, svc), addr_port, site);

	assert_non_null(b);
	return b->id;
}

/* A backend that stays keeps its id across a reload and a restart, those
 * other sites exported too: the tables being replaced name it by that id
 * meanwhile. A new backend takes an id that no table names, not the id of
 * the one it replaces: that one's flows would go to it until web's table is
 * written. */
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
		cmocka_unit_test(test_restart_keeps_peer_ids),
		cmocka_unit_test(test_export_ids_not_reused_in_batch),
		cmocka_unit_test(test_withdrawn_site_keeps_static),
		cmocka_unit_test(test_removed_service_leaves_no_table),
		cmocka_unit_test(test_reload_keeps_service_ids),
		cmocka_unit_test(test_restart_keeps_service_ids),
		cmocka_unit_test(test_reload_keeps_backend_ids),
		cmocka_unit_test(test_policy_follows_service_id),
		cmocka_unit_test(test_exported_static_drain_kept),
		cmocka_unit_test(test_reload_keeps_export_over_static),
		cmocka_unit_test(test_restart_holds_exports),
		cmocka_unit_test(test_bad_service_holds_no_other),
		cmocka_unit_test(test_restart_keeps_backend_down),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
