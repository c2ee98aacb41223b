/* What the reload and restart tests (test_reload.c, test_restart.c) share:
 * a gatewayd on two veth interfaces of a private network namespace, with its
 * pins in a private bpffs, the maps read back, and a check of every map write
 * of a batch as it is made (batch_check_*, with the Makefile's TEST_WRAP). */
#ifndef GW_TESTS_RELOAD_FIXTURE_H
#define GW_TESTS_RELOAD_FIXTURE_H

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

static inline int write_conf(const char *peers, const char *rest)
{
	FILE *f = fopen(conf_path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%speers = ( %s );\n%s%s", conf_head, peers, conf_services, rest ? rest : "");
	return fclose(f) ? -errno : 0;
}

static inline int group_setup(void **state)
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
static inline struct fx *start(void)
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

static inline void reload(struct fx *f)
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
static inline void crash(struct fx *f)
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

static inline void stop(struct fx *f)
{
	crash(f);
	gw_dp_destroy(PIN_DIR);
	unlink(conf_path);
}

static inline int pinned(const char *map)
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

static inline bool vip_may_reach(__be32 vip, __be32 backend)
{
	const struct vip_backend *a;

	for (a = batch_allowed; a->vip; a++)
		if (inet_addr(a->vip) == vip && inet_addr(a->backend) == backend)
			return true;
	return false;
}

/* The distinct backend ids (< 64) the table in slot names, as a bit set. */
static inline uint64_t slot_backend_ids(uint32_t slot)
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

static inline void batch_note(const char *fmt, ...)
{
	va_list ap;

	if (batch_violation[0])
		return;
	va_start(ap, fmt);
	vsnprintf(batch_violation, sizeof(batch_violation), fmt, ap);
	va_end(ap);
}

/* Every service key leads to tables of its own service's backends. */
static inline void batch_check_keys(const char *after)
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

static inline void batch_check_start(const struct vip_backend *allowed)
{
	batch_violation[0] = '\0';
	batch_writes = 0;
	batch_allowed = allowed;
}

static inline void batch_check_end(void)
{
	batch_allowed = NULL;
	if (batch_violation[0])
		fail_msg("%s", batch_violation);
	assert_true(batch_writes > 0); /* or the wrap is not in place */
}

/* The peer id the data plane has for an underlay address; 0: none. */
static inline uint32_t peer_id_of(const char *addr)
{
	int fd = pinned("gw_peer_addr");
	__be32 a = inet_addr(addr);
	uint32_t id = 0;

	if (bpf_map_lookup_elem(fd, &a, &id))
		id = 0;
	close(fd);
	return id;
}

static inline struct gw_peer peer_at(uint32_t id)
{
	int fd = pinned("gw_peers");
	struct gw_peer p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(bpf_map_lookup_elem(fd, &id, &p), 0);
	close(fd);
	return p;
}

static inline bool in_map(const char *map, const void *key)
{
	int fd = pinned(map);
	unsigned char v[64];
	bool found = bpf_map_lookup_elem(fd, key, v) == 0;

	close(fd);
	return found;
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

static inline void remote_apply(struct fx *f, const char *site, const char *export)
{
	json_t *body = json_loads(export, 0, NULL);
	char err[256] = "";

	assert_non_null(body);
	if (gw_daemon_remote_apply(&f->d, site, body, err, sizeof(err)))
		fail_msg("%s: %s", site, err);
	json_decref(body);
}

/* The inner map the data plane has in a Maglev slot (0: none). */
static inline uint32_t maglev_table_id(uint32_t slot)
{
	int fd = pinned("gw_maglev");
	uint32_t id = 0;

	if (bpf_map_lookup_elem(fd, &slot, &id))
		id = 0;
	close(fd);
	return id;
}

/* Whether the table in a Maglev slot sends flows to the backend at addr:
 * the ids of the table, read through gw_backends. */
static inline bool table_names(uint32_t slot, const char *addr)
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

/* A service of the lab's kind: NAME, VIP 10.100.0.N, one local backend
 * 10.1.0.N:80. */
#define LOCAL_SERVICE(name, n)                                                                     \
	"{ name = \"" name "\"; vips = [\"10.100.0." n "\"]; ports = [\"80/tcp\"];\n"              \
	"  health = { type = \"none\"; }; backends = ( { address = \"10.1.0." n                    \
	"\"; port = 80; } ); }"

static inline void write_services(const char *services)
{
	FILE *cf = fopen(conf_path, "w");

	assert_non_null(cf);
	fprintf(cf, "%speers = ( %s );\nservices = ( %s );\n", conf_head, PEER_B, services);
	assert_int_equal(fclose(cf), 0);
}

/* Every Maglev slot of a service id the balancer does not use is empty. */
static inline void assert_unused_slots_empty(struct fx *f)
{
	uint32_t slot;

	for (slot = 0; slot < f->d.cfg->limits.services * GW_MAGLEV_TABLES; slot++)
		if (!f->d.lb->service_ids[slot / GW_MAGLEV_TABLES] && maglev_table_id(slot))
			fail_msg("Maglev slot %u (service id %u, unused) still has a table", slot,
				 slot / GW_MAGLEV_TABLES);
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
static inline void assert_none_retired(struct fx *f)
{
	uint32_t id;

	for (id = 0; id < f->d.cfg->limits.services; id++)
		assert_int_not_equal(f->d.lb->service_ids[id], GW_LB_ID_RETIRED);
	for (id = 0; id < f->d.cfg->limits.backends; id++)
		assert_int_not_equal(f->d.lb->backend_ids[id], GW_LB_ID_RETIRED);
}

/* The backend ids of the table in a Maglev slot, m of them. */
static inline void table_read(uint32_t slot, uint32_t *out, uint32_t m)
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

static inline void svc_seen_take(struct fx *f, const char *name, struct svc_seen *out)
{
	struct gw_lb_service *s = gw_lb_service_find(f->d.lb, name);

	assert_non_null(s);
	out->id = s->id;
	out->backend_id = s->backends[0].id;
	table_read(GW_MAGLEV_SLOT(s->id, GW_MAGLEV_CLIENT, 0), out->table, 1021);
}

static inline void svc_seen_same(struct fx *f, const char *name, const struct svc_seen *was)
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
static inline struct fx *start_three(struct svc_seen *mid, struct svc_seen *last, uint32_t *web_id)
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

static inline uint32_t backend_id(struct fx *f, const char *svc, const char *addr_port,
				  const char *site)
{
	struct gw_lb_backend *b =
		gw_lb_backend_find(gw_lb_service_find(f->d.lb, svc), addr_port, site);

	assert_non_null(b);
	return b->id;
}

#endif
