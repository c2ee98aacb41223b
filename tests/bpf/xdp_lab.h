/* The lab in miniature for the XDP suites: one gateway of site 1 with an
 * internal and an external veth, its neighbours, and the services, backends,
 * peers and identities written into the maps the way gatewayd does. */
#ifndef GW_TESTS_XDP_LAB_H
#define GW_TESTS_XDP_LAB_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/abi/maps.h"
#include "pktbuild.h"
#include "xdp_harness.h"

/* Hand-aligned data: kept out of clang-format's reach. */
/* clang-format off */
static const uint8_t MAC_INT0[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
static const uint8_t MAC_INT0P[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x02 };
static const uint8_t MAC_EXT0[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
static const uint8_t MAC_EXT0P[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x02 };
static const uint8_t MAC_CLIENT[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x10 };
static const uint8_t MAC_CLIENT6[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x60 };
static const uint8_t MAC_BE1[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x11 };
static const uint8_t MAC_BE2[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x12 };
static const uint8_t MAC_BE6[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x16 };
static const uint8_t MAC_PEER2[6] = { 0x02, 0xbb, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t MAC_PEER3[6] = { 0x02, 0xbb, 0x00, 0x00, 0x00, 0x03 };
static const uint8_t MAC_STRANGER[6] = { 0x02, 0xcc, 0x00, 0x00, 0x00, 0x99 };
static const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define SITE 1
#define GW_INT "10.1.0.1"
#define GW_INT6 "fd00:1::1"
#define GW_EXT "10.255.0.1"
#define CLIENT "10.1.0.10"
#define CLIENT_NOID "10.1.0.20" /* matches no identity CIDR */
#define CLIENT6 "fd00:1::10"
#define BE1 "10.1.0.11"
#define BE2 "10.1.0.12"
#define BE6 "fd00:1::11"
#define BE_NONEIGH "10.1.0.13"
#define PEER2 "10.255.0.2" /* peer 1, site 2 */
#define PEER3 "10.255.0.3" /* peer 2, site 3 */
#define PEER4 "10.255.0.4" /* peer 3, site 4, down */
#define PEER5 "192.0.2.9"  /* peer 4, site 5, up but no route */
#define STRANGER "10.255.0.99"
#define RCLIENT "10.2.0.10" /* a client of sites 2 and 3 (overlapping CIDRs) */
#define RBE2 "10.2.0.11"

#define VIP1 "10.96.0.10"      /* svc 1 tcp/80, svc 2 udp/53, svc 11 sctp/80, svc 12 tcp/443 L7 */
#define VIP6 "fd00:96::10"     /* svc 3 tcp/80, svc 15 udp/53 */
#define VIP_DUAL "10.96.0.100" /* svc 3 tcp/80 too: the IPv4 VIP of a dual-stack service */
#define VIP_REMOTE "10.96.0.20" /* svc 4: a backend in site 2; svc 14 udp/53 too */
#define VIP_REMOTE_UDP VIP_REMOTE
#define VIP_EMPTY "10.96.0.30"  /* svc 5: no Maglev table */
#define VIP_POLICY "10.96.0.40" /* svc 6: policy enforced */
#define VIP_DOWN "10.96.0.50"   /* svc 7: backend behind a peer that is down */
#define VIP_NOROUTE "10.96.0.60" /* svc 8: backend behind a peer without route */
#define VIP_NONEIGH "10.96.0.70" /* svc 9: backend without neighbour entry */
#define VIP_SNAT "10.96.0.80"    /* svc 10: for SNAT exhaustion */
#define VIP_MISMATCH "10.96.0.90" /* svc 13: IPv4 VIP, IPv6 backend */
#define NOT_VIP "10.1.0.99"

#define ID_DEFAULT (SITE << 16)
#define ID_CLIENT ((SITE << 16) | 5)
#define ID_SITE2 (2u << 16)
#define ID_SITE2_APP ((2u << 16) | 7)
#define ID_SITE3 (3u << 16)
#define ID_SITE3_APP ((3u << 16) | 7)
#define ID_SITE2_UNLISTED ((2u << 16) | 0x99) /* in site 2's range, not in gw_identities */
#define ID_UNKNOWN 0x00990001u                /* in the range of site 0x99, no peer's */

#define SNAT_MIN 61000
#define SNAT_MAX 65535
#define MAGLEV_M 7
#define MSS_TUNNEL (1500 - GW_TUNNEL_OVERHEAD - 40)

/* Backend ids */
enum { B_BE1 = 1, B_BE2, B_UDP, B_BE6, B_RBE2, B_RDOWN, B_RNOROUTE, B_NONEIGH, B_SNAT, B_UDP6 };

/* clang-format on */

/* --- filling the maps the way gatewayd does ------------------------------ */

/* Moves the flow cache's epoch on, as gatewayd does after each write. */
static int epoch_bump(struct hx *h)
{
	int fd = bpf_map__fd(h->skel->maps.gw_epoch);
	__u32 zero = 0, e = 0;

	if (bpf_map_lookup_elem(fd, &zero, &e))
		return -errno;
	e = e + 1 ? e + 1 : 1;
	return bpf_map_update_elem(fd, &zero, &e, BPF_ANY) ? -errno : 0;
}

static int upd(struct hx *h, struct bpf_map *m, const void *k, const void *v)
{
	if (bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY)) {
		fprintf(stderr, "update %s: %s\n", bpf_map__name(m), strerror(errno));
		return -errno;
	}
	return epoch_bump(h);
}

static int set_cfg(struct hx *h, const struct gw_cfg *cfg)
{
	__u32 zero = 0;

	return upd(h, h->skel->maps.gw_cfg_map, &zero, cfg);
}

static int svc_add(struct hx *h, uint8_t family, const char *vip, uint16_t port, uint8_t proto,
		   uint32_t id, uint32_t flags)
{
	struct gw_svc_key k;
	struct gw_svc v = {.id = id, .flags = flags};
	int r;

	memset(&k, 0, sizeof(k));
	hx_addr16(family, vip, k.vip);
	k.family = family;
	/* the VIP marker {vip, port 0, proto 0} */
	v.flags = GW_SVC_F_VIP;
	r = upd(h, h->skel->maps.gw_svcs, &k, &v);
	if (r)
		return r;
	k.port = htons(port);
	k.proto = proto;
	v.flags = flags;
	return upd(h, h->skel->maps.gw_svcs, &k, &v);
}

static int backend_add(struct hx *h, uint32_t id, uint8_t family, const char *addr, uint16_t port,
		       uint16_t site, uint16_t peer, uint32_t flags)
{
	struct gw_backend be;

	memset(&be, 0, sizeof(be));
	hx_addr16(family, addr, be.addr);
	be.port = htons(port);
	be.family = family;
	be.site_id = site;
	be.peer_id = peer;
	be.flags = flags;
	return upd(h, h->skel->maps.gw_backends, &id, &be);
}

static int peer_set(struct hx *h, uint32_t id, const char *addr, uint16_t site, uint16_t flags)
{
	struct gw_peer p;
	__be32 a;
	int r;

	memset(&p, 0, sizeof(p));
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	p.addr = a;
	p.site_id = site;
	p.flags = flags;
	r = upd(h, h->skel->maps.gw_peers, &id, &p);
	if (r)
		return r;
	return upd(h, h->skel->maps.gw_peer_addr, &a, &id);
}

static int identity_set(struct hx *h, uint32_t id, uint16_t site)
{
	struct gw_identity v = {.site_id = site};

	return upd(h, h->skel->maps.gw_identities, &id, &v);
}

static int cidr_set(struct hx *h, uint8_t family, const char *addr, uint32_t plen, uint32_t id)
{
	if (family == GW_AF_INET) {
		struct gw_lpm4_key k = {.prefixlen = plen};

		if (inet_pton(AF_INET, addr, &k.addr) != 1)
			return -EINVAL;
		return upd(h, h->skel->maps.gw_ident4, &k, &id);
	} else {
		struct gw_lpm6_key k = {.prefixlen = plen};

		hx_addr16(GW_AF_INET6, addr, k.addr);
		return upd(h, h->skel->maps.gw_ident6, &k, &id);
	}
}

/* Inline: only the rows of some suites change the policy. */
static inline int policy_allow(struct hx *h, uint32_t identity, uint32_t svc)
{
	struct gw_policy_key k = {.identity = identity, .svc_id = svc};
	__u32 one = 1;

	return upd(h, h->skel->maps.gw_policy, &k, &one);
}

/* Like gw_dp_maglev_swap(): a fresh BPF_F_INNER_MAP array, [0] = m, the
 * table after it, swapped into the service's slot for that table and
 * address family in one update. */
static int maglev_set(struct hx *h, uint32_t svc, uint32_t table, int v6, uint32_t be_id)
{
	LIBBPF_OPTS(bpf_map_create_opts, co, .map_flags = BPF_F_INNER_MAP);
	uint32_t slot = GW_MAGLEV_SLOT(svc, table, v6), i, v;
	int fd, r = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "isx_maglev", 4, 4, MAGLEV_M + 1, &co);
	if (fd < 0)
		return -errno;
	for (i = 0; i <= MAGLEV_M && !r; i++) {
		v = i ? be_id : MAGLEV_M;
		if (bpf_map_update_elem(fd, &i, &v, BPF_ANY))
			r = -errno;
	}
	if (!r && bpf_map_update_elem(bpf_map__fd(h->skel->maps.gw_maglev), &slot, &fd, BPF_ANY))
		r = -errno;
	close(fd);
	if (!r)
		r = epoch_bump(h);
	return r;
}

static int lab_topology(struct hx *h)
{
	static const struct {
		const char *dev, *addr;
		const uint8_t *mac;
	} neigh[] = {
		{"int0", CLIENT, MAC_CLIENT},	{"int0", BE1, MAC_BE1},
		{"int0", BE2, MAC_BE2},		{"int0", BE6, MAC_BE6},
		{"int0", CLIENT6, MAC_CLIENT6}, {"ext0", PEER2, MAC_PEER2},
		{"ext0", PEER3, MAC_PEER3},
	};
	static const char *const ifn[HX_NIF] = {"int0", "ext0", "int0p", "ext0p"};
	size_t i;
	int r = 0;

	r |= hx_sh("ip link add int0 address 02:00:00:00:01:01 type veth peer name int0p "
		   "address 02:00:00:00:01:02");
	r |= hx_sh("ip link add ext0 address 02:00:00:00:02:01 type veth peer name ext0p "
		   "address 02:00:00:00:02:02");
	r |= hx_sh("for i in int0 int0p ext0 ext0p; do ip link set $i up || exit 1; done");
	r |= hx_sh("ip addr add " GW_INT "/24 dev int0");
	r |= hx_sh("ip -6 addr add " GW_INT6 "/64 dev int0 nodad");
	r |= hx_sh("ip addr add " GW_EXT "/24 dev ext0");
	r |= hx_write_file("/proc/sys/net/ipv4/ip_forward", "1");
	r |= hx_write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	for (i = 0; i < sizeof(neigh) / sizeof(neigh[0]); i++) {
		const uint8_t *m = neigh[i].mac;

		r |= hx_sh("ip neigh replace %s lladdr %02x:%02x:%02x:%02x:%02x:%02x dev %s nud "
			   "permanent",
			   neigh[i].addr, m[0], m[1], m[2], m[3], m[4], m[5], neigh[i].dev);
	}
	for (i = 0; i < HX_NIF; i++) {
		h->ifindex[i] = (int)if_nametoindex(ifn[i]);
		if (!h->ifindex[i])
			r = -1;
	}
	(void)MAC_INT0P;
	(void)MAC_EXT0P;
	return r ? -1 : 0;
}

static void lab_cfg_default(const struct hx *h, struct gw_cfg *c)
{

	memset(c, 0, sizeof(*c));
	c->abi_version = GW_ABI_VERSION;
	c->site_id = SITE;
	c->flags = GW_CFG_F_HAVE_V6;
	c->int_ifindex = (__u32)h->ifindex[HX_INT0];
	c->ext_ifindex = (__u32)h->ifindex[HX_EXT0];
	inet_pton(AF_INET, GW_INT, &c->int_addr4);
	inet_pton(AF_INET, GW_EXT, &c->ext_addr4);
	hx_addr16(GW_AF_INET6, GW_INT6, c->int_addr6);
	c->geneve_port = htons(GW_GENEVE_PORT);
	c->probe_port = htons(GW_PROBE_PORT);
	c->snat_port_min = SNAT_MIN;
	c->snat_port_max = SNAT_MAX;
	c->tunnel_mtu = 1500;
	c->default_identity = ID_DEFAULT;
}

static int lab_fill_maps(struct hx *h, struct gw_cfg *cfg)
{
	int r = 0;

	lab_cfg_default(h, cfg);
	r |= set_cfg(h, cfg);

	r |= svc_add(h, GW_AF_INET, VIP1, 80, IPPROTO_TCP, 1, 0);
	r |= svc_add(h, GW_AF_INET, VIP1, 53, IPPROTO_UDP, 2, 0);
	r |= svc_add(h, GW_AF_INET6, VIP6, 80, IPPROTO_TCP, 3, 0);
	r |= svc_add(h, GW_AF_INET, VIP_DUAL, 80, IPPROTO_TCP, 3, 0);
	r |= svc_add(h, GW_AF_INET, VIP_REMOTE, 80, IPPROTO_TCP, 4, 0);
	r |= svc_add(h, GW_AF_INET, VIP_EMPTY, 80, IPPROTO_TCP, 5, 0);
	r |= svc_add(h, GW_AF_INET, VIP_POLICY, 80, IPPROTO_TCP, 6, GW_SVC_F_POLICY);
	r |= svc_add(h, GW_AF_INET, VIP_DOWN, 80, IPPROTO_TCP, 7, 0);
	r |= svc_add(h, GW_AF_INET, VIP_NOROUTE, 80, IPPROTO_TCP, 8, 0);
	r |= svc_add(h, GW_AF_INET, VIP_NONEIGH, 80, IPPROTO_TCP, 9, 0);
	r |= svc_add(h, GW_AF_INET, VIP_SNAT, 80, IPPROTO_TCP, 10, 0);
	r |= svc_add(h, GW_AF_INET, VIP1, 80, IPPROTO_SCTP, 11, 0);
	r |= svc_add(h, GW_AF_INET, VIP1, 443, IPPROTO_TCP, 12, GW_SVC_F_L7);
	r |= svc_add(h, GW_AF_INET, VIP_MISMATCH, 80, IPPROTO_TCP, 13, 0);
	r |= svc_add(h, GW_AF_INET, VIP_REMOTE_UDP, 53, IPPROTO_UDP, 14, 0);
	r |= svc_add(h, GW_AF_INET6, VIP6, 53, IPPROTO_UDP, 15, 0);

	r |= backend_add(h, B_BE1, GW_AF_INET, BE1, 8080, SITE, 0, 0);
	r |= backend_add(h, B_BE2, GW_AF_INET, BE2, 8080, SITE, 0, 0);
	r |= backend_add(h, B_UDP, GW_AF_INET, BE2, 5353, SITE, 0, 0);
	r |= backend_add(h, B_BE6, GW_AF_INET6, BE6, 8080, SITE, 0, 0);
	r |= backend_add(h, B_RBE2, GW_AF_INET, RBE2, 8080, 2, 1, GW_BE_F_REMOTE);
	r |= backend_add(h, B_RDOWN, GW_AF_INET, "10.4.0.11", 8080, 4, 3, GW_BE_F_REMOTE);
	r |= backend_add(h, B_RNOROUTE, GW_AF_INET, "10.5.0.11", 8080, 5, 4, GW_BE_F_REMOTE);
	r |= backend_add(h, B_NONEIGH, GW_AF_INET, BE_NONEIGH, 8080, SITE, 0, 0);
	r |= backend_add(h, B_SNAT, GW_AF_INET, BE2, 9090, SITE, 0, 0);
	r |= backend_add(h, B_UDP6, GW_AF_INET6, BE6, 5353, SITE, 0, 0);

	r |= peer_set(h, 1, PEER2, 2, GW_PEER_F_UP);
	r |= peer_set(h, 2, PEER3, 3, GW_PEER_F_UP);
	r |= peer_set(h, 3, PEER4, 4, 0);
	r |= peer_set(h, 4, PEER5, 5, GW_PEER_F_UP);

	r |= identity_set(h, ID_DEFAULT, SITE);
	r |= identity_set(h, ID_CLIENT, SITE);
	r |= identity_set(h, ID_SITE2, 2);
	r |= identity_set(h, ID_SITE2_APP, 2);
	r |= identity_set(h, ID_SITE3, 3);
	r |= identity_set(h, ID_SITE3_APP, 3);
	r |= cidr_set(h, GW_AF_INET, CLIENT, 32, ID_CLIENT);
	r |= cidr_set(h, GW_AF_INET6, CLIENT6, 128, ID_CLIENT);

	r |= maglev_set(h, 1, GW_MAGLEV_CLIENT, 0, B_BE1);
	r |= maglev_set(h, 1, GW_MAGLEV_PEER, 0, B_BE1);
	r |= maglev_set(h, 2, GW_MAGLEV_CLIENT, 0, B_UDP);
	r |= maglev_set(h, 3, GW_MAGLEV_CLIENT, 1, B_BE6); /* dual-stack: */
	r |= maglev_set(h, 3, GW_MAGLEV_CLIENT, 0, B_BE2); /* one table per family */
	r |= maglev_set(h, 4, GW_MAGLEV_CLIENT, 0, B_RBE2);
	r |= maglev_set(h, 4, GW_MAGLEV_PEER, 0, B_RBE2); /* never relayed: see T_GENEVE_IN */
	r |= maglev_set(h, 6, GW_MAGLEV_CLIENT, 0, B_BE1);
	r |= maglev_set(h, 6, GW_MAGLEV_PEER, 0, B_BE1);
	r |= maglev_set(h, 7, GW_MAGLEV_CLIENT, 0, B_RDOWN);
	r |= maglev_set(h, 8, GW_MAGLEV_CLIENT, 0, B_RNOROUTE);
	r |= maglev_set(h, 9, GW_MAGLEV_CLIENT, 0, B_NONEIGH);
	r |= maglev_set(h, 10, GW_MAGLEV_CLIENT, 0, B_SNAT);
	r |= maglev_set(h, 13, GW_MAGLEV_CLIENT, 0, B_BE6); /* a wrong table: IPv6 backend */
	r |= maglev_set(h, 14, GW_MAGLEV_CLIENT, 0, B_RBE2);
	r |= maglev_set(h, 15, GW_MAGLEV_CLIENT, 1, B_UDP6);
	return r ? -1 : 0;
}

#endif
