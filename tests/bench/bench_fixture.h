/* Shared by the data-plane benchmarks: shell and namespace helpers, test
 * frames, and one gateway (site 1, peer gateway of site 2, a remote and a
 * local service) loaded and filled through the same gw_dp_* calls gatewayd
 * uses, with the limits of the default config. */
#ifndef GW_BENCH_FIXTURE_H
#define GW_BENCH_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "gw/abi/maps.h"
#include "gw/dataplane.h"
#include "gw/maglev.h"
#include "../private_bpffs.h"
#include "../run_sh.h"

/* Addresses of the fixture (one place, used by both benchmarks). */
#define BF_INT_ADDR	 "10.1.0.1"   /* gateway, internal side (/16) */
#define BF_EXT_ADDR	 "10.99.0.1"  /* gateway, external side (/24) */
#define BF_PEER_ADDR	 "10.99.0.2"  /* the peer gateway: the sink side */
#define BF_CLIENT	 "10.1.0.100" /* a client of site 1 */
#define BF_PEER_CLIENT	 "10.20.0.5"  /* a client of site 2, seen after decap */
#define BF_VIP_REMOTE	 "10.96.0.10" /* service 1: backends in site 2 */
#define BF_VIP_LOCAL	 "10.96.0.11" /* service 2: a backend in site 1 */
#define BF_LOCAL_BE	 "10.1.0.50"
#define BF_REMOTE_BE_FMT "10.2.0.%d" /* 10..13 */
#define BF_SVC_PORT	 80
#define BF_BE_PORT	 8080
#define BF_SITE		 1
#define BF_PEER_SITE	 2
#define BF_N_REMOTE	 4
#define BF_LOCAL_BE_ID	 (BF_N_REMOTE + 1)
#define BF_SVC_REMOTE	 1
#define BF_SVC_LOCAL	 2

/* MACs: gateway internal (gi) and its peer (g0), external (ge) and its
 * peer (s0), and the local backend's neighbour entry. */
#define BF_MAC_GI	   "02:00:00:00:01:01"
#define BF_MAC_G0	   "02:00:00:00:01:02"
#define BF_MAC_GE	   "02:00:00:00:02:01"
#define BF_MAC_S0	   "02:00:00:00:02:02"
#define BF_MAC_BE	   "02:00:00:00:01:50"

#define BF_FRAME_LEN	   64  /* Eth + IPv4 + UDP + 22 bytes, no FCS */
#define BF_GENEVE_LEN	   112 /* outer headers (62) + 50-byte inner IP packet */

#define bf_sh(...)	   run_sh("bench", __VA_ARGS__)

#define bf_private_bpffs() private_bpffs("bench")

static inline void bf_pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static inline double bf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void bf_mac(const char *txt, uint8_t *out)
{
	unsigned int m[6];
	int i;

	sscanf(txt, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
	for (i = 0; i < 6; i++)
		out[i] = (uint8_t)m[i];
}

static inline uint32_t bf_ip(const char *txt)
{
	struct in_addr a;

	inet_pton(AF_INET, txt, &a);
	return a.s_addr;
}

static inline uint32_t bf_sum(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static inline uint16_t bf_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline void bf_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* An IPv4/UDP packet of ip_len bytes at p (payload zeros); UDP checksum
 * computed, or 0 with nocsum. */
static inline void bf_ip_udp(uint8_t *p, size_t ip_len, uint32_t src, uint32_t dst, uint16_t sport,
			     uint16_t dport, int nocsum)
{
	uint8_t ph[12];
	uint8_t *u = p + 20;
	size_t ulen = ip_len - 20;

	memset(p, 0, ip_len);
	p[0] = 0x45;
	bf_put16(p + 2, (uint16_t)ip_len);
	bf_put16(p + 6, 0x4000);
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	bf_put16(p + 10, bf_fold(bf_sum(0, p, 20)));
	bf_put16(u, sport);
	bf_put16(u + 2, dport);
	bf_put16(u + 4, (uint16_t)ulen);
	if (nocsum)
		return;
	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = 17;
	bf_put16(ph + 10, (uint16_t)ulen);
	bf_put16(u + 6, bf_fold(bf_sum(bf_sum(0, ph, 12), u, ulen)) ?: 0xffff);
}

static inline void bf_eth(uint8_t *p, const char *dmac, const char *smac)
{
	bf_mac(dmac, p);
	bf_mac(smac, p + 6);
	p[12] = 0x08;
	p[13] = 0x00;
}

/* A 64-byte client frame. */
static inline size_t bf_udp_frame(uint8_t *p, const char *dmac, const char *smac, const char *src,
				  const char *dst, uint16_t sport, uint16_t dport, int nocsum)
{
	bf_eth(p, dmac, smac);
	bf_ip_udp(p + 14, BF_FRAME_LEN - 14, bf_ip(src), bf_ip(dst), sport, dport, nocsum);
	return BF_FRAME_LEN;
}

/* A Geneve frame from the peer gateway to us: identity option of the peer
 * site's default identity, inner packet src -> dst as in bf_udp_frame. */
static inline size_t bf_geneve_frame(uint8_t *p, const char *src, const char *dst, uint16_t sport,
				     uint16_t dport)
{
	uint8_t *g = p + 14 + 20 + 8;
	uint32_t ident = htonl(GW_SITE_IDENTITY(BF_PEER_SITE));

	bf_eth(p, BF_MAC_GE, BF_MAC_S0);
	bf_ip_udp(p + 14, BF_GENEVE_LEN - 14, bf_ip(BF_PEER_ADDR), bf_ip(BF_EXT_ADDR), 50000,
		  GW_GENEVE_PORT, 1);
	g[0] = 3; /* version 0, 3 words of options */
	g[1] = 0;
	bf_put16(g + 2, 0x0800);
	g[6] = BF_PEER_SITE;
	bf_put16(g + 8, GW_GENEVE_OPT_CLASS);
	g[10] = GW_GENEVE_OPT_TYPE_IDENTITY;
	g[11] = GW_GENEVE_OPT_LEN_WORDS;
	memcpy(g + 12, &ident, 4);
	bf_put16(g + 16, BF_PEER_SITE);
	bf_ip_udp(g + 20, BF_GENEVE_LEN - 62, bf_ip(src), bf_ip(dst), sport, dport, 0);
	return BF_GENEVE_LEN;
}

/* Addresses, neighbours and sysctls of the gateway's namespace. ns: the
 * namespace's name, or NULL for the current one; gi/ge: the gateway's
 * internal and external interfaces, which must exist. */
static inline int bf_gw_netcfg(const char *ns, const char *gi, const char *ge)
{
	char x[128] = "";
	int r = 0;

	if (ns)
		snprintf(x, sizeof(x), "ip netns exec %s ", ns);
	r |= bf_sh("%ssh -c 'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 "
		   "net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.disable_ipv6=1 "
		   "net.ipv6.conf.default.disable_ipv6=1 && for i in %s %s; do "
		   "sysctl -qw net.ipv4.conf.$i.rp_filter=0 net.ipv6.conf.$i.disable_ipv6=1; done'",
		   x, gi, ge);
	r |= bf_sh("%sip link set lo up", x);
	r |= bf_sh("%sip link set %s address " BF_MAC_GI " up", x, gi);
	r |= bf_sh("%sip link set %s address " BF_MAC_GE " up", x, ge);
	r |= bf_sh("%sip addr add " BF_INT_ADDR "/16 dev %s", x, gi);
	r |= bf_sh("%sip addr add " BF_EXT_ADDR "/24 dev %s", x, ge);
	r |= bf_sh("%sip neigh replace " BF_PEER_ADDR " lladdr " BF_MAC_S0 " dev %s nud permanent",
		   x, ge);
	r |= bf_sh("%sip neigh replace " BF_LOCAL_BE " lladdr " BF_MAC_BE " dev %s nud permanent",
		   x, gi);
	/* for the idempotent conntrack-hit fixture: the VIP itself is routable */
	r |= bf_sh("%sip route add " BF_VIP_LOCAL "/32 via " BF_LOCAL_BE " dev %s", x, gi);
	return r ? -1 : 0;
}

struct bf_gw {
	struct gw_dp *dp;
	char pin_dir[96];
};

static inline int bf_maglev(struct gw_dp *dp, uint32_t svc, int table, const uint32_t *ids,
			    size_t n)
{
	struct gw_maglev_backend be[BF_N_REMOTE + 1];
	uint32_t m = 16381; /* limits.maglev_table_size default */
	uint32_t *tbl = malloc(sizeof(*tbl) * m);
	size_t i;
	int r;

	if (!tbl)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		char key[64];
		int len = snprintf(key, sizeof(key), "be|%u", ids[i]);

		be[i].id = ids[i];
		be[i].weight = 1;
		be[i].key = gw_maglev_key(key, (size_t)len);
	}
	r = gw_maglev_build(be, n, m, tbl);
	if (!r)
		r = gw_dp_maglev_swap(dp, GW_MAGLEV_SLOT(svc, table, 0), tbl, m);
	free(tbl);
	return r;
}

static inline int bf_svc(struct gw_dp *dp, const char *vip, uint32_t id)
{
	struct gw_svc_key k;
	struct gw_svc v = {.id = id, .flags = GW_SVC_F_VIP};
	int r;

	memset(&k, 0, sizeof(k));
	k.vip[0] = bf_ip(vip);
	k.family = GW_AF_INET;
	r = gw_dp_svc_set(dp, &k, &v); /* the VIP marker */
	k.port = htons(BF_SVC_PORT);
	k.proto = IPPROTO_UDP;
	v.flags = 0;
	return r ? r : gw_dp_svc_set(dp, &k, &v);
}

/* Flow cache slots per CPU for the gateways the benchmarks load: gatewayd's
 * default limits.flow_cache_entries; 0 turns the cache off. */
static uint32_t bf_flow_cache = 65536;

/* Loads the gateway on interfaces gi (internal) and ge (external) of the
 * current network namespace (native XDP, bpf_link) with pins under pin_dir,
 * and writes the fixture. */
static inline int bf_gw_open(struct bf_gw *g, const char *pin_dir, const char *gi, const char *ge)
{
	struct gw_dp_opts o = {
		.pin_dir = pin_dir,
		.int_ifname = gi,
		.ext_ifname = ge,
		.mode = GW_DP_NATIVE,
		.max_services = 1024,
		.max_backends = 16384,
		.max_peers = 64,
		.max_identities = 4096,
		.max_conntrack = 262144,
		.flow_cache = bf_flow_cache,
	};
	uint32_t remote_ids[BF_N_REMOTE], local_id = BF_LOCAL_BE_ID;
	struct gw_identity ident;
	struct gw_backend be;
	struct gw_peer peer;
	struct gw_cfg c;
	const char *why;
	uint32_t a;
	int r = 0, i;

	snprintf(g->pin_dir, sizeof(g->pin_dir), "%s", pin_dir);
	g->dp = gw_dp_open(&o, &why);
	if (!g->dp) {
		fprintf(stderr, "bench: gateway: %s: %s\n", why, strerror(errno));
		return -errno;
	}
	memset(&c, 0, sizeof(c));
	c.abi_version = GW_ABI_VERSION;
	c.site_id = BF_SITE;
	c.int_ifindex = gw_dp_attach_info(g->dp, false)->ifindex;
	c.ext_ifindex = gw_dp_attach_info(g->dp, true)->ifindex;
	c.int_addr4 = bf_ip(BF_INT_ADDR);
	c.ext_addr4 = bf_ip(BF_EXT_ADDR);
	c.geneve_port = htons(GW_GENEVE_PORT);
	c.probe_port = htons(GW_PROBE_PORT);
	c.snat_port_min = 61000;
	c.snat_port_max = 65535;
	c.tunnel_mtu = 1500;
	c.default_identity = GW_SITE_IDENTITY(BF_SITE);
	r |= gw_dp_set_cfg(g->dp, &c);

	memset(&peer, 0, sizeof(peer));
	peer.addr = bf_ip(BF_PEER_ADDR);
	peer.site_id = BF_PEER_SITE;
	peer.flags = GW_PEER_F_UP;
	r |= gw_dp_peer_set(g->dp, 1, &peer);
	ident.flags = 0;
	ident.site_id = BF_PEER_SITE;
	r |= gw_dp_identity_set(g->dp, GW_SITE_IDENTITY(BF_PEER_SITE), &ident);
	ident.site_id = BF_SITE;
	r |= gw_dp_identity_set(g->dp, GW_SITE_IDENTITY(BF_SITE), &ident);
	r |= gw_dp_identity_set(g->dp, GW_SITE_IDENTITY(BF_SITE) | 1, &ident);
	a = bf_ip("10.1.0.0");
	r |= gw_dp_identity_cidr_set(g->dp, GW_AF_INET, &a, 16, GW_SITE_IDENTITY(BF_SITE) | 1);

	for (i = 0; i < BF_N_REMOTE; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), BF_REMOTE_BE_FMT, 10 + i);
		memset(&be, 0, sizeof(be));
		be.addr[0] = bf_ip(addr);
		be.port = htons(BF_BE_PORT);
		be.family = GW_AF_INET;
		be.site_id = BF_PEER_SITE;
		be.peer_id = 1;
		be.flags = GW_BE_F_REMOTE;
		remote_ids[i] = (uint32_t)i + 1;
		r |= gw_dp_backend_set(g->dp, remote_ids[i], &be);
	}
	memset(&be, 0, sizeof(be));
	be.addr[0] = bf_ip(BF_LOCAL_BE);
	be.port = htons(BF_BE_PORT);
	be.family = GW_AF_INET;
	be.site_id = BF_SITE;
	r |= gw_dp_backend_set(g->dp, local_id, &be);

	/* Tables before service entries, as gw_apply_all does. Service 1:
	 * clients of site 1 go to site 2; flows from site 2 go to the local
	 * backend (the decap path). Service 2: local only. */
	r |= bf_maglev(g->dp, BF_SVC_REMOTE, GW_MAGLEV_CLIENT, remote_ids, BF_N_REMOTE);
	r |= bf_maglev(g->dp, BF_SVC_REMOTE, GW_MAGLEV_PEER, &local_id, 1);
	r |= bf_maglev(g->dp, BF_SVC_LOCAL, GW_MAGLEV_CLIENT, &local_id, 1);
	r |= bf_svc(g->dp, BF_VIP_REMOTE, BF_SVC_REMOTE);
	r |= bf_svc(g->dp, BF_VIP_LOCAL, BF_SVC_LOCAL);
	if (r) {
		fprintf(stderr, "bench: writing the gateway's maps failed\n");
		return -EIO;
	}
	return 0;
}

/* Detaches, removes the pins, frees. */
static inline void bf_gw_close(struct bf_gw *g)
{
	if (!g->dp)
		return;
	gw_dp_close(g->dp);
	gw_dp_destroy(g->pin_dir);
	g->dp = NULL;
}

/* An fd of one of the gateway's pinned maps. */
static inline int bf_gw_map(const struct bf_gw *g, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", g->pin_dir, name);
	return bpf_obj_get(path);
}

/* Opens a BPF object file with pinning off for every map, except that maps
 * pinned under reuse_dir (if given) are shared with the object there. */
static inline struct bpf_object *bf_obj_open(const char *path, const char *reuse_dir)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *m;

	if (!obj) {
		fprintf(stderr,
			"bench: cannot open %s: %s (run tests/bench/run.sh, it builds it)\n", path,
			strerror(errno));
		return NULL;
	}
	bpf_object__for_each_map(m, obj)
	{
		char pin[160];
		int fd = -1;

		bpf_map__set_pin_path(m, NULL);
		if (reuse_dir) {
			snprintf(pin, sizeof(pin), "%s/%s", reuse_dir, bpf_map__name(m));
			fd = bpf_obj_get(pin);
		}
		if (fd >= 0) {
			bpf_map__reuse_fd(m, fd);
			close(fd);
		}
	}
	return obj;
}

/* Sets a global variable of an opened, not yet loaded object, in section
 * sec (".rodata" for const volatiles, ".data"), found by name through the
 * object's BTF. */
static inline int bf_set_global(struct bpf_object *obj, const char *sec_name, const char *name,
				const void *val, size_t size)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *m, *ro = NULL;
	size_t sz;
	char *data;
	int id, i;

	bpf_object__for_each_map(m, obj) if (strstr(bpf_map__name(m), sec_name)) ro = m;
	id = btf ? btf__find_by_name_kind(btf, sec_name, BTF_KIND_DATASEC) : -1;
	if (!ro || id < 0)
		return -ENOENT;
	/* writable until load, as skeletons use it (libbpf 1.1 declares it const) */
	data = (char *)(uintptr_t)bpf_map__initial_value(ro, &sz);
	sec = btf__type_by_id(btf, (__u32)id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (vs->size != size || vs->offset + size > sz)
			return -EINVAL;
		memcpy(data + vs->offset, val, size);
		return 0;
	}
	return -ENOENT;
}

/* Sizes the flow cache of an opened, not yet loaded object that includes
 * the gateway's programs, as gw_dp_open does. */
static inline int bf_flowc_size(struct bpf_object *obj, uint32_t n)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "gw_flowc");
	uint32_t mask = n ? n - 1 : 0;
	int r;

	if (!m)
		return -ENOENT;
	r = bpf_map__set_max_entries(m, n ? n * libbpf_num_possible_cpus() : 1);
	return r ? r : bf_set_global(obj, ".rodata", "gw_flowc_mask", &mask, sizeof(mask));
}

#endif
