/* BPF_PROG_TEST_RUN suite for gw_xdp_int and gw_xdp_ext: tables of crafted
 * packets, each with its expected verdict, egress interface, output bytes
 * (built independently by pktbuild.h), drop/verdict reason and conntrack
 * effect. Runs in a private network namespace and pins nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gw/abi/maps.h"
#include "gw/abi/reasons.h"
#include "pktbuild.h"
#include "xdp_harness.h"
#include "xdp_lab.h"
#include "xdp_runner.h"

/* --- state changes some rows need first --------------------------------- */

static void svc1_to_be2(struct hx *h)
{
	must(maglev_set(h, 1, GW_MAGLEV_CLIENT, 0, B_BE2), "maglev swap");
}

static void svc1_to_be1(struct hx *h)
{
	must(maglev_set(h, 1, GW_MAGLEV_CLIENT, 0, B_BE1), "maglev swap");
}

static void allow_client_svc6(struct hx *h)
{
	must(policy_allow(h, ID_CLIENT, 6), "policy");
}

static void peer2_down(struct hx *h)
{
	must(peer_set(h, 1, PEER2, 2, 0), "peer down");
}

static void peer2_up(struct hx *h)
{
	must(peer_set(h, 1, PEER2, 2, GW_PEER_F_UP), "peer up");
}

static void peer2_mac(const uint8_t *m);

static void peer2_up_mac_back(struct hx *h)
{
	peer2_up(h);
	peer2_mac(MAC_PEER2);
}

static void snat_one_port(struct hx *h)
{
	T->cfg.snat_port_min = T->cfg.snat_port_max = SNAT_MIN;
	must(set_cfg(h, &T->cfg), "cfg");
}

static void cfg_restore(struct hx *h)
{
	lab_cfg_default(h, &T->cfg);
	must(set_cfg(h, &T->cfg), "cfg");
}

static void cfg_other_abi(struct hx *h)
{
	T->cfg.abi_version = GW_ABI_VERSION + 1;
	must(set_cfg(h, &T->cfg), "cfg");
}

static void cfg_no_v6(struct hx *h)
{
	T->cfg.flags &= (__u16)~GW_CFG_F_HAVE_V6;
	must(set_cfg(h, &T->cfg), "cfg");
}

/* The peer's neighbour entry gets another MAC, and the epoch moves on as
 * gatewayd's rtnetlink watcher makes it; then back. */
static const uint8_t MAC_PEER2_NEW[6] = {0x02, 0xbb, 0x00, 0x00, 0x00, 0x22};

static void peer2_mac(const uint8_t *m)
{
	must(hx_sh("ip neigh replace %s lladdr %02x:%02x:%02x:%02x:%02x:%02x dev ext0 nud "
		   "permanent",
		   PEER2, m[0], m[1], m[2], m[3], m[4], m[5]),
	     "neighbour");
	must(epoch_bump(&T->h), "epoch");
}

static void peer2_mac_new(struct hx *h)
{
	peer2_mac(MAC_PEER2_NEW);
}

static void epoch_moves(struct hx *h)
{
	must(epoch_bump(h), "epoch");
}

/* --- spelling packets in rows -------------------------------------------- */

/* Hand-aligned rows: kept out of clang-format's reach. */
/* The ICMP "fragmentation needed" a too-big IPv4 frame is answered with,
 * built here byte by byte with full checksums: back to the sender's MAC and
 * address, from the gateway's internal address, next-hop MTU 1500 - 48,
 * quoting the IP header and 8 bytes after it. */
static void icmp4_too_big(const struct pb_pkt *in, struct pb_pkt *want, uint16_t mtu)
{
	const uint8_t *oip = in->b + 14;
	size_t quote = (size_t)(oip[0] & 0xf) * 4 + 8;
	uint8_t *p = want->b, *ip = p + 14, *ic = ip + 20, a[16];

	memset(want->b, 0, 14 + 20 + 8 + quote);
	memcpy(p, in->b + 6, 6);
	memcpy(p + 6, in->b, 6);
	p[12] = 0x08;
	ip[0] = 0x45;
	ip[1] = 0xc0;
	pb_put16(ip + 2, 20 + 8 + quote);
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	pb_addr(4, GW_INT, a);
	memcpy(ip + 12, a, 4);
	memcpy(ip + 16, oip + 12, 4);
	pb_put16(ip + 10, pb_csum(pb_sum(0, ip, 20)));
	ic[0] = 3; /* destination unreachable */
	ic[1] = 4; /* fragmentation needed */
	pb_put16(ic + 6, mtu);
	memcpy(ic + 8, oip, quote);
	pb_put16(ic + 2, pb_csum(pb_sum(0, ic, 8 + quote)));
	want->len = 14 + 20 + 8 + quote;
}

/* too big for the tunnel: the largest inner packet it carries */
static void expect_icmp4_too_big(const struct pb_pkt *in, struct pb_pkt *want)
{
	icmp4_too_big(in, want, 1500 - 48);
}

/* too big for int0 (MTU 1500) on the way to a local backend */
static void expect_icmp4_too_big_int0(const struct pb_pkt *in, struct pb_pkt *want)
{
	icmp4_too_big(in, want, 1500);
}

/* clang-format off */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define SYNACK (TH_SYN | TH_ACK)

#define FROM_CLIENT .dmac = MAC_INT0, .smac = MAC_CLIENT
#define FROM_CLIENT6 .dmac = MAC_INT0, .smac = MAC_CLIENT6
#define FROM_BE1 .dmac = MAC_INT0, .smac = MAC_BE1
#define FROM_BE2 .dmac = MAC_INT0, .smac = MAC_BE2
#define FROM_BE6 .dmac = MAC_INT0, .smac = MAC_BE6
#define FROM_PEER2 .dmac = MAC_EXT0, .smac = MAC_PEER2
#define FROM_PEER3 .dmac = MAC_EXT0, .smac = MAC_PEER3
#define FROM_STRANGER .dmac = MAC_EXT0, .smac = MAC_STRANGER
#define TO_CLIENT .dmac = MAC_CLIENT, .smac = MAC_INT0
#define TO_CLIENT6 .dmac = MAC_CLIENT6, .smac = MAC_INT0
#define TO_BE1 .dmac = MAC_BE1, .smac = MAC_INT0
#define TO_BE2 .dmac = MAC_BE2, .smac = MAC_INT0
#define TO_BE6 .dmac = MAC_BE6, .smac = MAC_INT0

#define V4(s, d) .ip.family = 4, .ip.src = (s), .ip.dst = (d)
#define V6(s, d) .ip.family = 6, .ip.src = (s), .ip.dst = (d)
#define DF .ip.frag = 0x4000
#define TCP(sp, dp, fl) .l4.proto = IPPROTO_TCP, .l4.sport = (sp), .l4.dport = (dp), .l4.flags = (fl)
#define UDP(sp, dp) .l4.proto = IPPROTO_UDP, .l4.sport = (sp), .l4.dport = (dp)
#define PATCH1(o, v) .n_patch = 1, .patch = { { (o), (v) } }
#define PATCH2(o1, v1, o2, v2) .n_patch = 2, .patch = { { (o1), (v1) }, { (o2), (v2) } }

/* Tunnel packets. Offsets in a tunnel frame: outer IPv4 at 14, UDP at 34,
 * Geneve at 42, its first option at 50, the inner packet after the options. */
#define OFF_GNV 42
#define OFF_INNER 62 /* with the identity option only */
#define TUN_FROM_PEER2 FROM_PEER2, V4(PEER2, GW_EXT), UDP(50000, GW_GENEVE_PORT)
#define TUN_FROM_PEER3 FROM_PEER3, V4(PEER3, GW_EXT), UDP(50000, GW_GENEVE_PORT)
#define GNV(site_, ident, ...)                                                                   \
	.l4.geneve = &(const struct pb_geneve)                                                   \
	{                                                                                        \
		.vni = (site_), .n_opts = 1, .opts = { PB_GOPT_IDENTITY(ident, site_) },         \
		.inner = &(const struct pb_spec){ __VA_ARGS__ }                                  \
	}
/* What this gateway sends to a peer. */
#define TUN_TO(mac, peer)                                                                        \
	.dmac = (mac), .smac = MAC_EXT0, V4(GW_EXT, peer), DF, UDP(HASHPORT, GW_GENEVE_PORT),    \
	.l4.nocsum = 1
#define GNV_OUT(ident, ...) GNV(SITE, ident, __VA_ARGS__)

static const uint8_t ARP_REQUEST[28] = {
	0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, 0x02, 0xaa, 0x00, 0x00,
	0x00, 0x10, 10,   1,    0, 10, 0,    0,    0,    0,    0,    0,
	10,   1,    0,    1,
};
static const uint8_t OPT_ROUTER_ALERT[4] = { 0x94, 0x04, 0x00, 0x00 };
static const uint8_t OPT_NOPS[4] = { 1, 1, 1, 0 };

static const struct pb_probe PROBE = { .magic = GW_PROBE_MAGIC, .site = 2, .seq = 7,
				       .sent_ns = 0x0102030405060708ull };
static const struct pb_probe PROBE_ANSWERED = { .magic = GW_PROBE_MAGIC, .site = 2,
						.flags = GW_PROBE_F_REPLY, .seq = 7,
						.sent_ns = 0x0102030405060708ull };
static const struct pb_probe PROBE_BAD_MAGIC = { .magic = 0x49535451, .site = 2, .seq = 7 };

/* --- the tables ------------------------------------------------------------ */

/* Internal side: what is not ours goes to the stack untouched; what is
 * broken is dropped with the reason that says why. */
static const struct xcase T_INT_PARSE[] = {
	{ .desc = "ARP is not IP: pass", .prog = P_INT,
	  .in = { .dmac = MAC_BCAST, .smac = MAC_CLIENT, .eth_type = ETH_P_ARP,
		  .raw = ARP_REQUEST, .raw_len = sizeof(ARP_REQUEST) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "Ethernet header only, type IPv4", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), .trunc = 14 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "IPv4 header cut at 10 bytes", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), .trunc = 24 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "IPv4 IHL 4", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), PATCH1(14, 0x44) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IHL },
	{ .desc = "IPv4 IHL 0", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, NOT_VIP), TCP(40000, 80, TH_SYN), PATCH1(14, 0x40) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IHL },
	{ .desc = "IPv4 IHL 15 past the end of the packet", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), PATCH1(14, 0x4f) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "version 6 in an IPv4 frame", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), PATCH1(14, 0x65) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IP },
	{ .desc = "version 0 in an IPv4 frame", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, NOT_VIP), TCP(40000, 80, TH_SYN), PATCH1(14, 0x05) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IP },
	{ .desc = "IPv4 total length 16, below the header", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), PATCH2(16, 0, 17, 16) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IP },
	{ .desc = "IPv4 total length past the end of the frame", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), PATCH2(16, 5, 17, 0xdc) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "IPv6 header cut at 30 bytes", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40000, 80, TH_SYN), .trunc = 44 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "version 4 in an IPv6 frame", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40000, 80, TH_SYN), PATCH1(14, 0x40) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IP },
	{ .desc = "IPv6 payload length past the end of the frame", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40000, 80, TH_SYN), PATCH1(18, 4) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "IPv6 payload length 65520: past the end, though 40 + it wraps to 24",
	  .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40000, 80, TH_SYN),
		  PATCH2(18, 0xff, 19, 0xf0) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "IPv6 extension header cut", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .ip.n_ext = 1, .ip.ext = { IPPROTO_HOPOPTS },
		  TCP(40000, 80, TH_SYN), .trunc = 58, .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "five IPv6 extension headers (at most four are walked)", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .ip.n_ext = 5,
		  .ip.ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
			      IPPROTO_DSTOPTS },
		  TCP(40000, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_IPV6_EXT },
	{ .desc = "... the same to an address that is no VIP: the kernel's, pass", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, "fd00:1::99"), .ip.n_ext = 5,
		  .ip.ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
			      IPPROTO_DSTOPTS },
		  TCP(40000, 80, TH_SYN) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "... and on the external side (the tunnel is IPv4): pass", .prog = P_EXT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .ip.n_ext = 5,
		  .ip.ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
			      IPPROTO_DSTOPTS },
		  TCP(40000, 80, TH_SYN) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "TCP header cut at 12 bytes", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), .trunc = 46,
		  .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "TCP data offset 4", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40000, 80, TH_SYN), PATCH1(46, 0x40) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "UDP header cut at 4 bytes", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), UDP(40000, 53), .trunc = 38,
		  .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "IPv6 TCP header cut at 10 bytes", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40000, 80, TH_SYN), .trunc = 64,
		  .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "TCP to the gateway itself (ssh): pass", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, GW_INT), DF, TCP(40000, 22, TH_SYN), .l4.mss = 1460 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS, .ct = CT_ABSENT },
	{ .desc = "TCP to a VIP on a port with no service: pass", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40000, 22, TH_SYN) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS, .ct = CT_ABSENT },
	{ .desc = "TCP to an L7 service: pass (gw-proxy takes it)", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40000, 443, TH_SYN) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS, .ct = CT_ABSENT },
	{ .desc = "ICMP echo to a VIP: pass (the stack answers)", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), .l4.proto = IPPROTO_ICMP, .l4.icmp_type = 8,
		  .l4.sport = 0x77, .l4.seq = 1, .l4.payload_len = 56 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "GRE to a VIP: unsupported", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), .l4.proto = IPPROTO_GRE, .l4.payload_len = 24 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNSUPPORTED },
	{ .desc = "GRE elsewhere: pass", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, NOT_VIP), .l4.proto = IPPROTO_GRE, .l4.payload_len = 24 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "unknown protocol to an IPv6 VIP: unsupported", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .l4.proto = IPPROTO_GRE, .l4.payload_len = 24 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNSUPPORTED },
	{ .desc = "SCTP to a VIP with an SCTP service: unsupported", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), .l4.proto = IPPROTO_SCTP, .l4.sport = 40000,
		  .l4.dport = 80, .l4.seq = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNSUPPORTED, .ct = CT_ABSENT },
	{ .desc = "SCTP to a VIP port with no service: pass", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), .l4.proto = IPPROTO_SCTP, .l4.sport = 40000,
		  .l4.dport = 81, .l4.seq = 1 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "first fragment (MF) to a VIP", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), .ip.frag = 0x2000, TCP(40000, 80, TH_ACK),
		  .l4.payload_len = 64 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_FRAGMENT },
	{ .desc = "later fragment (offset 185) to a VIP", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), .ip.frag = 185, .l4.proto = IPPROTO_TCP,
		  .l4.payload_len = 40 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_FRAGMENT },
	{ .desc = "fragment not to a VIP: pass", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, NOT_VIP), .ip.frag = 0x2000, TCP(40000, 80, TH_ACK),
		  .l4.payload_len = 64 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "IPv6 fragment header to a VIP", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .ip.n_ext = 1, .ip.ext = { IPPROTO_FRAGMENT },
		  .ip.frag = 1, TCP(40000, 80, TH_ACK), .l4.payload_len = 64 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_FRAGMENT },
	{ .desc = "IPv6 fragment not to a VIP: pass", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, "fd00:1::99"), .ip.n_ext = 1,
		  .ip.ext = { IPPROTO_FRAGMENT }, .ip.frag = 1, TCP(40000, 80, TH_ACK),
		  .l4.payload_len = 64 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
};

/* A TCP flow to a local backend, both directions, and what conntrack keeps
 * when the Maglev table changes under it. */
static const struct xcase T_LOCAL_TCP[] = {
	{ .desc = "new TCP flow: DNAT to the backend, SNAT to the gateway", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40001, 80, TH_SYN), .l4.seq = 1000,
		  .l4.mss = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_A), 8080, TH_SYN), .l4.seq = 1000,
					 .l4.mss = 1460 },
	  .ct = CT_LOCAL, .save = V_A },
	{ .desc = "second packet after the table moved to another backend: same backend",
	  .prog = P_INT, .before = svc1_to_be2,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40001, 80, TH_ACK | TH_PSH),
		  .l4.seq = 1001, .l4.ack = 5001, .l4.payload_len = 100 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_A), 8080, TH_ACK | TH_PSH), .l4.seq = 1001,
					 .l4.ack = 5001, .l4.payload_len = 100 },
	  .ct = CT_HIT },
	{ .desc = "a new flow follows the new table", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40002, 80, TH_SYN), .l4.mss = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE2, V4(GW_INT, BE2), DF,
					 TCP(VAR(V_B), 8080, TH_SYN), .l4.mss = 1460 },
	  .ct = CT_LOCAL, .save = V_B },
	{ .desc = "backend reply: reverse NAT to VIP:80 -> client", .prog = P_INT,
	  .before = svc1_to_be1,
	  .in = { FROM_BE1, V4(BE1, GW_INT), DF, TCP(8080, VAR(V_A), SYNACK), .l4.seq = 5000,
		  .l4.ack = 1001, .l4.mss = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_REPLY_LOCAL,
	  .out = &(const struct pb_spec){ TO_CLIENT, V4(VIP1, CLIENT), DF,
					 TCP(80, 40001, SYNACK), .l4.seq = 5000, .l4.ack = 1001,
					 .l4.mss = 1460 },
	  .ct = CT_HIT },
	{ .desc = "the other backend's reply goes to its own client port", .prog = P_INT,
	  .in = { FROM_BE2, V4(BE2, GW_INT), DF, TCP(8080, VAR(V_B), SYNACK), .l4.mss = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_REPLY_LOCAL,
	  .out = &(const struct pb_spec){ TO_CLIENT, V4(VIP1, CLIENT), DF,
					 TCP(80, 40002, SYNACK), .l4.mss = 1460 },
	  .ct = CT_HIT },
	{ .desc = "client FIN on the tracked flow", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40001, 80, TH_FIN | TH_ACK) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_A), 8080, TH_FIN | TH_ACK) },
	  .ct = CT_HIT },
	{ .desc = "IPv4 options to a VIP: forwarded, options kept", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, .ip.opts_len = 4,
		  .ip.opts = OPT_ROUTER_ALERT, TCP(40003, 80, TH_SYN), .l4.mss = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF, .ip.opts_len = 4,
					 .ip.opts = OPT_ROUTER_ALERT,
					 TCP(VAR(V_C), 8080, TH_SYN), .l4.mss = 1460 },
	  .ct = CT_LOCAL, .save = V_C },
	{ .desc = "backend to a gateway port that no flow owns: pass", .prog = P_INT,
	  .in = { FROM_BE1, V4(BE1, GW_INT), DF, TCP(8080, 60000, TH_ACK) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
};

static const struct xcase T_UDP_V6[] = {
	{ .desc = "new UDP flow", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), UDP(40010, 53), .l4.payload_len = 32 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE2, V4(GW_INT, BE2), UDP(VAR(V_D), 5353),
					 .l4.payload_len = 32 },
	  .ct = CT_LOCAL, .save = V_D },
	{ .desc = "UDP reply", .prog = P_INT,
	  .in = { FROM_BE2, V4(BE2, GW_INT), UDP(5353, VAR(V_D)), .l4.payload_len = 80 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_REPLY_LOCAL,
	  .out = &(const struct pb_spec){ TO_CLIENT, V4(VIP1, CLIENT), UDP(53, 40010),
					 .l4.payload_len = 80 },
	  .ct = CT_HIT },
	{ .desc = "UDP without checksum stays without", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), UDP(40011, 53), .l4.nocsum = 1,
		  .l4.payload_len = 20 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE2, V4(GW_INT, BE2), UDP(VAR(V_E), 5353),
					 .l4.nocsum = 1, .l4.payload_len = 20 },
	  .ct = CT_LOCAL, .save = V_E },
	{ .desc = "IPv6 VIP to an IPv6 backend", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40020, 80, TH_SYN), .l4.mss = 1440 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE6, V6(GW_INT6, BE6), TCP(VAR(V_F), 8080, TH_SYN),
					 .l4.mss = 1440 },
	  .ct = CT_LOCAL, .save = V_F },
	{ .desc = "IPv6 backend reply", .prog = P_INT,
	  .in = { FROM_BE6, V6(BE6, GW_INT6), TCP(8080, VAR(V_F), SYNACK), .l4.mss = 1440 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_REPLY_LOCAL,
	  .out = &(const struct pb_spec){ TO_CLIENT6, V6(VIP6, CLIENT6), TCP(80, 40020, SYNACK),
					 .l4.mss = 1440 },
	  .ct = CT_HIT },
	{ .desc = "the same service's IPv4 VIP uses the IPv4 table", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_DUAL), DF, TCP(40024, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE2, V4(GW_INT, BE2), DF,
					 TCP(VAR(V_H), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_H },
	{ .desc = "IPv6 with four extension headers: forwarded, headers kept", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .ip.n_ext = 4,
		  .ip.ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS },
		  TCP(40021, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE6, V6(GW_INT6, BE6), .ip.n_ext = 4,
					 .ip.ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
						     IPPROTO_DSTOPTS, IPPROTO_DSTOPTS },
					 TCP(VAR(V_G), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_G },
	{ .desc = "IPv6 atomic fragment (offset 0, no M): a whole packet, forwarded",
	  .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .ip.n_ext = 1, .ip.ext = { IPPROTO_FRAGMENT },
		  .ip.frag = 0, TCP(40025, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE6, V6(GW_INT6, BE6), .ip.n_ext = 1,
					 .ip.ext = { IPPROTO_FRAGMENT }, .ip.frag = 0,
					 TCP(VAR(V_G), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_G },
	{ .desc = "IPv6 flow while no IPv6 SNAT address is set: unsupported", .prog = P_INT,
	  .before = cfg_no_v6,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40022, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNSUPPORTED, .ct = CT_ABSENT },
	{ .desc = "IPv4 VIP whose backend is IPv6: no backend", .prog = P_INT,
	  .before = cfg_restore,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_MISMATCH), TCP(40023, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_BACKEND, .ct = CT_ABSENT },
};

static const struct xcase T_SERVICE[] = {
	{ .desc = "service whose Maglev slot is empty", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_EMPTY), TCP(40030, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_BACKEND, .ct = CT_ABSENT },
	{ .desc = "policy-enforced service, no allow entry", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_POLICY), TCP(40030, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_POLICY, .ct = CT_ABSENT },
	{ .desc = "policy-enforced service, client's identity allowed", .prog = P_INT,
	  .before = allow_client_svc6,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_POLICY), TCP(40030, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), TCP(VAR(V_H), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_H },
	{ .desc = "policy-enforced service, a source with the default identity", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT_NOID, VIP_POLICY), TCP(40030, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_POLICY, .ct = CT_ABSENT },
	{ .desc = "backend without neighbour entry: rewritten, then passed to the stack",
	  .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_NONEIGH), DF, TCP(40031, 80, TH_SYN) },
	  .verdict = XDP_PASS, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ FROM_CLIENT, V4(GW_INT, BE_NONEIGH), DF,
					 TCP(VAR(V_I), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_I },
	{ .desc = "1500-byte packet to a local backend: fits int0", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40032, 80, TH_ACK),
		  .l4.payload_len = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_J), 8080, TH_ACK), .l4.payload_len = 1460 },
	  .ct = CT_LOCAL, .save = V_J },
	{ .desc = "1501-byte packet with DF to a local backend: frag-needed, MTU 1500 of int0",
	  .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40033, 80, TH_ACK),
		  .l4.payload_len = 1461 },
	  .verdict = XDP_TX, .egress = E_INT0, .reason = GW_R_ICMP_TOO_BIG,
	  .expect = expect_icmp4_too_big_int0 },
	{ .desc = "1501-byte packet without DF to a local backend: too big, dropped",
	  .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), TCP(40033, 80, TH_ACK),
		  .l4.payload_len = 1461 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TOO_BIG },
	{ .desc = "data plane configured by another ABI version: everything passes",
	  .prog = P_INT, .before = cfg_other_abi,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40034, 80, TH_SYN) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS, .ct = CT_ABSENT },
	{ .desc = "...and the external side too", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42099, 80, TH_SYN)) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS, .ct = CT_ABSENT, .zone = 2 },
	{ .desc = "configuration back: the same packet is balanced", .prog = P_INT,
	  .before = cfg_restore,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), DF, TCP(40034, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_K), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_K },
};

/* Flows to a backend in another site: Geneve to the peer that fronts it. */
/* clang-format on */

/* clang-format off */
static const struct xcase T_REMOTE[] = {
	{ .desc = "new flow to a remote backend: Geneve to the peer, MSS clamped", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41000, 80, TH_SYN), .l4.seq = 77,
		  .l4.mss = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41000, 80, TH_SYN), .l4.seq = 77,
						 .l4.mss = MSS_TUNNEL) },
	  .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "the remote flow's next packet: same tunnel, no clamp on non-SYN",
	  .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41000, 80, TH_ACK),
		  .l4.mss = 1460, .l4.payload_len = 100 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41000, 80, TH_ACK), .l4.mss = 1460,
						 .l4.payload_len = 100) },
	  .ct = CT_HIT },
	{ .desc = "MSS option at an odd offset is clamped too", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41001, 80, TH_SYN),
		  .l4.mss = 1460, .l4.mss_nops = 1 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41001, 80, TH_SYN), .l4.mss = MSS_TUNNEL,
						 .l4.mss_nops = 1) },
	  .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "an MSS after 35 NOPs, the last 4 bytes of the option space, is clamped",
	  .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41008, 80, TH_SYN),
		  .l4.mss = 1460, .l4.mss_nops = 35 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41008, 80, TH_SYN), .l4.mss = MSS_TUNNEL,
						 .l4.mss_nops = 35) },
	  .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "an MSS already below the tunnel's is left alone", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41002, 80, TH_SYN),
		  .l4.mss = 1200 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41002, 80, TH_SYN), .l4.mss = 1200) },
	  .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "Geneve reply for a flow sent to a peer: decap, deliver to the client",
	  .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2, V4(VIP_REMOTE, CLIENT), DF,
				     TCP(80, 41000, SYNACK), .l4.seq = 9000, .l4.ack = 78,
				     .l4.mss = MSS_TUNNEL) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_REPLY_LOCAL,
	  .out = &(const struct pb_spec){ TO_CLIENT, V4(VIP_REMOTE, CLIENT), DF,
					 TCP(80, 41000, SYNACK), .l4.seq = 9000, .l4.ack = 78,
					 .l4.mss = MSS_TUNNEL },
	  .ct = CT_HIT, .zone = 2 },
	{ .desc = "a source outside every CIDR carries the site's default identity",
	  .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT_NOID, VIP_REMOTE), DF, TCP(41003, 80, TH_ACK) },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_DEFAULT, V4(CLIENT_NOID, VIP_REMOTE), DF,
						 TCP(41003, 80, TH_ACK)) },
	  .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "1452-byte inner packet: 1500 with the tunnel, fits", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41004, 80, TH_ACK),
		  .l4.payload_len = 1412 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41004, 80, TH_ACK), .l4.payload_len = 1412) },
	  .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "1453-byte inner packet with DF: ICMP frag-needed back to the client",
	  .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41005, 80, TH_ACK),
		  .l4.payload_len = 1413 },
	  .verdict = XDP_TX, .egress = E_INT0, .reason = GW_R_ICMP_TOO_BIG,
	  .expect = expect_icmp4_too_big },
	{ .desc = "1453-byte inner packet without DF: too big, dropped", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), TCP(41005, 80, TH_ACK),
		  .l4.payload_len = 1413 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TOO_BIG },
	{ .desc = "remote backend whose peer is down", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_DOWN), DF, TCP(41006, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_PEER, .ct = CT_ABSENT },
	{ .desc = "remote backend whose peer has no route", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_NOROUTE), DF, TCP(41007, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_FIB },
	/* A tracked flow whose peer is down is balanced anew; this table still
	 * names only that peer, so the new choice fails too and the old entry
	 * is left as it was (gatewayd rebuilds the tables when a peer dies). */
	{ .desc = "tracked remote flow while its peer is down: balanced anew", .prog = P_INT,
	  .before = peer2_down,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41000, 80, TH_ACK) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_PEER, .ct = CT_ANY },
	{ .desc = "...and once it is back up", .prog = P_INT, .before = peer2_up,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41000, 80, TH_ACK) },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41000, 80, TH_ACK)) },
	  .ct = CT_HIT },
};

/* Flows that arrive from other sites, including two sites whose client
 * CIDRs overlap. */
static const struct xcase T_GENEVE_IN[] = {
	{ .desc = "Geneve from site 2 to a service: decap, DNAT, SNAT", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), DF,
				     TCP(42000, 80, TH_SYN), .l4.seq = 300,
				     .l4.mss = MSS_TUNNEL) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_A), 8080, TH_SYN), .l4.seq = 300,
					 .l4.mss = MSS_TUNNEL },
	  .ct = CT_LOCAL, .zone = 2, .peer = 1, .save = V_A },
	{ .desc = "its second packet", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), DF,
				     TCP(42000, 80, TH_ACK), .l4.payload_len = 10) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_A), 8080, TH_ACK), .l4.payload_len = 10 },
	  .ct = CT_HIT, .zone = 2 },
	{ .desc = "backend reply: reverse NAT, Geneve back to site 2 with our identity",
	  .prog = P_INT,
	  .in = { FROM_BE1, V4(BE1, GW_INT), DF, TCP(8080, VAR(V_A), SYNACK), .l4.ack = 301,
		  .l4.mss = 1460 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_REPLY_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_DEFAULT, V4(VIP1, RCLIENT), DF,
						 TCP(80, 42000, SYNACK), .l4.ack = 301,
						 .l4.mss = MSS_TUNNEL) },
	  .ct = CT_HIT },
	{ .desc = "the same inner tuple from site 3: a second flow, another SNAT port",
	  .prog = P_EXT,
	  .in = { TUN_FROM_PEER3, GNV(3, ID_SITE3_APP, V4(RCLIENT, VIP1), DF,
				     TCP(42000, 80, TH_SYN), .l4.seq = 300,
				     .l4.mss = MSS_TUNNEL) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), DF,
					 TCP(VAR(V_B), 8080, TH_SYN), .l4.seq = 300,
					 .l4.mss = MSS_TUNNEL },
	  .ct = CT_LOCAL, .zone = 3, .peer = 2, .save = V_B },
	{ .desc = "the site-3 flow's reply goes back to site 3", .prog = P_INT,
	  .in = { FROM_BE1, V4(BE1, GW_INT), DF, TCP(8080, VAR(V_B), SYNACK), .l4.ack = 301 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_REPLY_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER3, PEER3),
					 GNV_OUT(ID_DEFAULT, V4(VIP1, RCLIENT), DF,
						 TCP(80, 42000, SYNACK), .l4.ack = 301) },
	  .ct = CT_HIT },
	{ .desc = "...and the site-2 flow's still to site 2", .prog = P_INT,
	  .in = { FROM_BE1, V4(BE1, GW_INT), DF, TCP(8080, VAR(V_A), TH_ACK),
		  .l4.payload_len = 20 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_REPLY_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_DEFAULT, V4(VIP1, RCLIENT), DF,
						 TCP(80, 42000, TH_ACK), .l4.payload_len = 20) },
	  .ct = CT_HIT },
	{ .desc = "Geneve UDP flow to a service without peer table: no backend",
	  .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), UDP(42001, 53)) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_BACKEND, .ct = CT_ABSENT, .zone = 2 },
	{ .desc = "Geneve to a service whose peer table is remote: never relayed",
	  .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP_REMOTE),
				     TCP(42002, 80, TH_SYN)) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_BACKEND, .ct = CT_ABSENT, .zone = 2 },
	{ .desc = "Geneve to a policy-enforced service: policy was the client site's job",
	  .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP_POLICY),
				     TCP(42003, 80, TH_SYN)) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), TCP(VAR(V_C), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .zone = 2, .peer = 1, .save = V_C },
	{ .desc = "an identity of site 2's range not listed here is site 2's", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_UNLISTED, V4(RCLIENT, VIP1),
				     TCP(42006, 80, TH_SYN)) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE1, V4(GW_INT, BE1), TCP(VAR(V_D), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .zone = 2, .peer = 1, .save = V_D },
	{ .desc = "Geneve to no service", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42004, 8443, TH_SYN)) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_SERVICE, .ct = CT_ABSENT, .zone = 2 },
	{ .desc = "Geneve to an L7 service: no L4 service there", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42005, 443, TH_SYN)) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_SERVICE, .ct = CT_ABSENT, .zone = 2 },
};

#define GNV_RAW(...) .l4.geneve = &(const struct pb_geneve){ __VA_ARGS__ }
#define INNER_SYN &(const struct pb_spec){ V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN) }
#define OPT_UNKNOWN(type_, words) { .cls = 0x0102, .type = (type_), .len = (words) }

static const struct xcase T_GENEVE_BAD[] = {
	{ .desc = "Geneve from an address that is no peer", .prog = P_EXT,
	  .in = { FROM_STRANGER, V4(STRANGER, GW_EXT), UDP(50000, GW_GENEVE_PORT),
		  GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN)) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNKNOWN_PEER },
	{ .desc = "identity of site 3 asserted by a site-2 peer", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE3_APP, V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN)) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_IDENTITY_SITE },
	{ .desc = "identity in the range of a site that is not the sender's", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_UNKNOWN, V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN)) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_IDENTITY_SITE },
	{ .desc = "Geneve without options", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV_RAW(.vni = 2, .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_IDENTITY },
	{ .desc = "Geneve with an unknown non-critical option only", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV_RAW(.vni = 2, .n_opts = 1, .opts = { OPT_UNKNOWN(0x11, 1) },
					  .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_NO_IDENTITY },
	{ .desc = "Geneve version 1", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2,
		  GNV_RAW(.ver = 1, .vni = 2, .n_opts = 1,
			  .opts = { PB_GOPT_IDENTITY(ID_SITE2_APP, 2) }, .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_GENEVE },
	{ .desc = "Geneve control packet (O bit)", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2,
		  GNV_RAW(.flags = 0x80, .vni = 2, .n_opts = 1,
			  .opts = { PB_GOPT_IDENTITY(ID_SITE2_APP, 2) }, .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_GENEVE },
	{ .desc = "Geneve carrying Ethernet (0x6558)", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2,
		  GNV_RAW(.proto = 0x6558, .vni = 2, .n_opts = 1,
			  .opts = { PB_GOPT_IDENTITY(ID_SITE2_APP, 2) }, .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_GENEVE },
	{ .desc = "unknown critical option", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2,
		  GNV_RAW(.vni = 2, .n_opts = 2,
			  .opts = { OPT_UNKNOWN(0x81, 1), PB_GOPT_IDENTITY(ID_SITE2_APP, 2) },
			  .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_GENEVE },
	{ .desc = "identity option of the wrong length", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2,
		  GNV_RAW(.vni = 2, .n_opts = 1,
			  .opts = { { .cls = GW_GENEVE_OPT_CLASS, .type = GW_GENEVE_OPT_TYPE_IDENTITY,
				      .len = 3, .identity = ID_SITE2_APP, .site = 2 } },
			  .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_GENEVE },
	{ .desc = "five options (at most four are walked)", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2,
		  GNV_RAW(.vni = 2, .n_opts = 5,
			  .opts = { OPT_UNKNOWN(0x11, 0), OPT_UNKNOWN(0x12, 0), OPT_UNKNOWN(0x13, 0),
				    OPT_UNKNOWN(0x14, 0), PB_GOPT_IDENTITY(ID_SITE2_APP, 2) },
			  .inner = INNER_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_GENEVE },
	{ .desc = "option longer than the option area", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN)),
		  PATCH1(OFF_GNV, 2) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_GENEVE },
	{ .desc = "Geneve header cut at 4 bytes", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN)),
		  .trunc = OFF_GNV + 4, .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "options running past the end of the packet", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2,
		  GNV_RAW(.vni = 2, .n_opts = 2,
			  .opts = { PB_GOPT_IDENTITY(ID_SITE2_APP, 2), OPT_UNKNOWN(0x11, 7) },
			  .inner = INNER_SYN),
		  .trunc = OFF_GNV + 8 + 12 + 4, .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "inner IPv4 header cut", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN)),
		  .trunc = OFF_INNER + 10, .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_TRUNCATED },
	{ .desc = "inner packet of IP version 6 announced as IPv4", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42010, 80, TH_SYN)),
		  PATCH1(OFF_INNER, 0x65) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IP },
	{ .desc = "inner fragment", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), .ip.frag = 0x2000,
				     TCP(42010, 80, TH_ACK), .l4.payload_len = 64) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_FRAGMENT },
};

/* External side: only tunnel and probe packets to our address are ours. */
static const struct xcase T_EXT_NOT_OURS[] = {
	{ .desc = "ARP on the external side: pass", .prog = P_EXT,
	  .in = { .dmac = MAC_BCAST, .smac = MAC_PEER2, .eth_type = ETH_P_ARP,
		  .raw = ARP_REQUEST, .raw_len = sizeof(ARP_REQUEST) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "TCP from a peer (etcd, TLS): pass", .prog = P_EXT,
	  .in = { FROM_PEER2, V4(PEER2, GW_EXT), DF, TCP(40000, 2379, TH_SYN) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "UDP to another port: pass", .prog = P_EXT,
	  .in = { FROM_PEER2, V4(PEER2, GW_EXT), UDP(40000, 53), .l4.payload_len = 20 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "Geneve to another address: pass", .prog = P_EXT,
	  .in = { FROM_PEER2, V4(PEER2, "10.255.0.77"), UDP(50000, GW_GENEVE_PORT),
		  GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42020, 80, TH_SYN)) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "outer fragment of a Geneve packet: pass (the stack reassembles)",
	  .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, .ip.frag = 0x2000,
		  GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42020, 80, TH_SYN)) },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "IPv6 on the external side: pass", .prog = P_EXT,
	  .in = { FROM_PEER2, V6("fd00:255::2", "fd00:255::1"), UDP(50000, GW_GENEVE_PORT),
		  .l4.payload_len = 16 },
	  .verdict = XDP_PASS, .reason = GW_R_PASS },
	{ .desc = "broken outer IPv4 header on the external side", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), TCP(42020, 80, TH_SYN)),
		  PATCH1(14, 0x43) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_BAD_IHL },
};

#define PROBE_FROM_PEER2 FROM_PEER2, V4(PEER2, GW_EXT), DF, .ip.id = 0x1234, UDP(40500, GW_PROBE_PORT)

static const struct xcase T_PROBE[] = {
	{ .desc = "probe from a peer: answered in place", .prog = P_EXT,
	  .in = { PROBE_FROM_PEER2, .l4.probe = &PROBE },
	  .verdict = XDP_TX, .egress = E_EXT0, .reason = GW_R_PROBE_REPLY,
	  .out = &(const struct pb_spec){ .dmac = MAC_PEER2, .smac = MAC_EXT0,
					 V4(GW_EXT, PEER2), DF, .ip.id = 0x1234,
					 UDP(GW_PROBE_PORT, 40500), .l4.nocsum = 1,
					 .l4.probe = &PROBE_ANSWERED } },
	{ .desc = "probe with a bad magic", .prog = P_EXT,
	  .in = { PROBE_FROM_PEER2, .l4.probe = &PROBE_BAD_MAGIC },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_PROBE },
	{ .desc = "probe cut at 16 bytes", .prog = P_EXT,
	  .in = { PROBE_FROM_PEER2, .l4.probe = &PROBE, .trunc = 42 + 16, .trunc_fix_len = 1 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_PROBE },
	{ .desc = "probe that is already a reply", .prog = P_EXT,
	  .in = { PROBE_FROM_PEER2, .l4.probe = &PROBE_ANSWERED },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_PROBE },
	{ .desc = "probe with IP options", .prog = P_EXT,
	  .in = { PROBE_FROM_PEER2, .ip.opts_len = 4, .ip.opts = OPT_NOPS, .l4.probe = &PROBE },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_PROBE },
	{ .desc = "probe from an address that is no peer", .prog = P_EXT,
	  .in = { FROM_STRANGER, V4(STRANGER, GW_EXT), UDP(40500, GW_PROBE_PORT),
		  .l4.probe = &PROBE },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNKNOWN_PEER },
};

static const struct xcase T_SNAT[] = {
	{ .desc = "one SNAT port: the first flow gets it", .prog = P_INT,
	  .before = snat_one_port,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_SNAT), TCP(43000, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE2, V4(GW_INT, BE2), TCP(SNAT_MIN, 9090, TH_SYN) },
	  .ct = CT_LOCAL },
	{ .desc = "a second flow to the same backend: exhausted", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_SNAT), TCP(43001, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_SNAT_EXHAUSTED, .ct = CT_ABSENT },
	{ .desc = "a third: exhausted", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT_NOID, VIP_SNAT), TCP(43002, 80, TH_SYN) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_SNAT_EXHAUSTED, .ct = CT_ABSENT },
	{ .desc = "the first flow keeps working", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_SNAT), TCP(43000, 80, TH_ACK) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE2, V4(GW_INT, BE2), TCP(SNAT_MIN, 9090, TH_ACK) },
	  .ct = CT_HIT },
	{ .desc = "with the range back, the second flow gets a port", .prog = P_INT,
	  .before = cfg_restore,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_SNAT), TCP(43001, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE2, V4(GW_INT, BE2), TCP(VAR(V_C), 9090, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_C },
};

/* ICMP errors carry no flow identifiers of their own: to a VIP they are
 * refused as unsupported (translating errors that quote a NATed flow back
 * to the client is not implemented yet). */
static const struct xcase T_ICMP[] = {
	{ .desc = "ICMP unreachable to a VIP: unsupported", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP1), .l4.proto = IPPROTO_ICMP, .l4.icmp_type = 3,
		  .l4.icmp_code = 3, .l4.payload_len = 28 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNSUPPORTED },
	{ .desc = "ICMPv6 packet too big to a VIP: unsupported", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), .l4.proto = IPPROTO_ICMPV6, .l4.icmp_type = 2,
		  .l4.seq = 1280, .l4.payload_len = 48 },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNSUPPORTED },
	{ .desc = "inner ICMP error from a tunnel: unsupported", .prog = P_EXT,
	  .in = { TUN_FROM_PEER2, GNV(2, ID_SITE2_APP, V4(RCLIENT, VIP1), .l4.proto = IPPROTO_ICMP,
				     .l4.icmp_type = 3, .l4.icmp_code = 4, .l4.payload_len = 28) },
	  .verdict = XDP_DROP, .reason = GW_R_DROP_UNSUPPORTED },
};

/* clang-format on */

/* --- the tests ------------------------------------------------------------ */

static void test_int_not_ours_and_malformed(void **state)
{
	struct tctx *t = *state;
	struct pb_pkt in, out;
	uint32_t verdict;

	RUN_TABLE(T_INT_PARSE);
	/* A frame shorter than an Ethernet header never reaches the program:
	 * the kernel's test-run refuses it (so does every driver). */
	memset(&in, 0, sizeof(in));
	in.len = 13;
	assert_int_equal(hx_run(bpf_program__fd(t->h.skel->progs.gw_xdp_int), t->h.ifindex[HX_INT0],
				&in, &out, 0, &verdict),
			 -EINVAL);
}

static void test_local_tcp_flow(void **state)
{
	RUN_TABLE(T_LOCAL_TCP);
}

static void test_udp_and_ipv6_flows(void **state)
{
	RUN_TABLE(T_UDP_V6);
}

static void test_service_checks(void **state)
{
	RUN_TABLE(T_SERVICE);
}

static void test_remote_backend(void **state)
{
	RUN_TABLE(T_REMOTE);
}

static void test_geneve_in(void **state)
{
	struct tctx *t = *state;

	RUN_TABLE(T_GENEVE_IN);
	/* overlapping CIDRs: two flows with one inner tuple, two SNAT ports */
	assert_int_not_equal(t->var[V_A], t->var[V_B]);
}

static void test_geneve_malformed(void **state)
{
	RUN_TABLE(T_GENEVE_BAD);
}

static void test_ext_not_ours(void **state)
{
	RUN_TABLE(T_EXT_NOT_OURS);
}

static void test_probes(void **state)
{
	RUN_TABLE(T_PROBE);
}

static void test_snat_exhaustion(void **state)
{
	RUN_TABLE(T_SNAT);
}

/* The flow cache in the real program: a tracked flow's packets leave as the
 * conntrack path sends them, and a next hop that changed (with the epoch
 * moved on) is used at once. All rows send the same packet. */
#define FC_IN                                                                                      \
	{                                                                                          \
		FROM_CLIENT, V4(CLIENT, VIP_REMOTE_UDP), UDP(42000, 53), .l4.payload_len = 40      \
	}
#define FC_OUT(mac)                                                                                \
	&(const struct pb_spec)                                                                    \
	{                                                                                          \
		TUN_TO(mac, PEER2), GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE_UDP), UDP(42000, 53), \
					    .l4.payload_len = 40)                                  \
	}
#define FC6_ACK                                                                                    \
	.prog = P_INT,                                                                             \
	.in = {FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40030, 80, TH_ACK), .l4.payload_len = 30},     \
	.verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,                       \
	.out = &(const struct pb_spec)                                                             \
	{                                                                                          \
		TO_BE6, V6(GW_INT6, BE6), TCP(VAR(V_K), 8080, TH_ACK), .l4.payload_len = 30        \
	}
#define FC6_REPLY                                                                                  \
	.prog = P_INT,                                                                             \
	.in = {FROM_BE6, V6(BE6, GW_INT6), TCP(8080, VAR(V_K), TH_ACK), .l4.payload_len = 50},     \
	.verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_REPLY_LOCAL,                     \
	.out = &(const struct pb_spec)                                                             \
	{                                                                                          \
		TO_CLIENT6, V6(VIP6, CLIENT6), TCP(80, 40030, TH_ACK), .l4.payload_len = 50        \
	}
#define FC_SENT                                                                                    \
	.prog = P_INT, .in = FC_IN, .verdict = XDP_REDIRECT, .egress = E_EXT0,                     \
	.reason = GW_R_FWD_REMOTE

/* clang-format off */
static const struct xcase T_FLOWC[] = {
	{ .desc = "flow cache: a new UDP flow to a remote backend", FC_SENT,
	  .out = FC_OUT(MAC_PEER2), .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "... its next packet, from the cache: the same bytes, conntrack untouched",
	  FC_SENT, .out = FC_OUT(MAC_PEER2), .ct = CT_CACHED },
	{ .desc = "... the peer's MAC changed, epoch moved on: the new next hop", FC_SENT,
	  .out = FC_OUT(MAC_PEER2_NEW), .ct = CT_HIT, .before = peer2_mac_new },
	{ .desc = "... and from the cache again", FC_SENT, .out = FC_OUT(MAC_PEER2_NEW),
	  .ct = CT_CACHED },
	{ .desc = "... the peer went down: not sent to it from the cache", .prog = P_INT,
	  .in = FC_IN, .verdict = XDP_DROP, .reason = GW_R_DROP_NO_PEER, .before = peer2_down },
	{ .desc = "... up again, MAC restored: the original next hop", FC_SENT,
	  .out = FC_OUT(MAC_PEER2), .before = peer2_up_mac_back },
};

static const struct xcase T_FLOWC6[] = {
	{ .desc = "flow cache, IPv6: a new TCP flow to a local backend", .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), TCP(40030, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE6, V6(GW_INT6, BE6), TCP(VAR(V_K), 8080, TH_SYN) },
	  .ct = CT_LOCAL, .save = V_K },
	{ .desc = "... its first ACK takes conntrack and fills the IPv6 cache", FC6_ACK,
	  .ct = CT_HIT },
	{ .desc = "... the next from the cache: the same bytes, conntrack untouched", FC6_ACK,
	  .ct = CT_CACHED },
	{ .desc = "... the epoch moved on: conntrack again", FC6_ACK, .ct = CT_HIT,
	  .before = epoch_moves },
	{ .desc = "... then the cache", FC6_ACK, .ct = CT_CACHED },
	{ .desc = "... the backend's reply through conntrack, then the cache", FC6_REPLY,
	  .ct = CT_HIT },
	{ .desc = "... the backend's next reply, from the cache", FC6_REPLY, .ct = CT_CACHED },
};
/* clang-format on */

/* The slot of this CPU's region that holds a tuple, if any: the cache is a
 * plain array, HX_FLOWC slots per CPU. */
static int flowc_holds(struct hx *h, const char *src, const char *dst, uint16_t sport,
		       uint16_t dport)
{
	int fd = bpf_map__fd(h->skel->maps.gw_flowc);
	uint32_t i, base = (uint32_t)(h->cpu < 0 ? 0 : h->cpu) * HX_FLOWC, epoch = 0, zero = 0;
	struct gw_flowc f;
	__be32 s[4], d[4];

	hx_addr16(4, src, s);
	hx_addr16(4, dst, d);
	if (bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.gw_epoch), &zero, &epoch))
		return 0;
	for (i = 0; i < HX_FLOWC; i++) {
		uint32_t k = base + i;

		if (bpf_map_lookup_elem(fd, &k, &f))
			return 0;
		if (f.h.epoch == epoch && f.addr[0] == s[0] && f.addr[1] == d[0] &&
		    f.h.sport == htons(sport) && f.h.dport == htons(dport))
			return 1;
	}
	return 0;
}

static void test_flow_cache(void **state)
{
	struct tctx *t = *state;

	RUN_TABLE(T_FLOWC);
	/* the last row refilled the slot under the current epoch, on the CPU
	 * this process (and so its test runs) is pinned to */
	if (t->h.cpu >= 0)
		assert_true(flowc_holds(&t->h, CLIENT, VIP_REMOTE_UDP, 42000, 53));
	RUN_TABLE(T_FLOWC6);
}

static void test_icmp_errors(void **state)
{
	RUN_TABLE(T_ICMP);
}

/* The verifier walks every path of a program, up to 1M instructions, and
 * each inlined copy of a large step, and each pointer kept live across a
 * long stretch, multiplies its walk: the IPv6 flow cache, the RST and PMTU
 * handling once took the gateway's programs from 176k to 825k (2026-11-26;
 * about 250k and 350k since the flow cache's slot waits in scratch memory).
 * Past 900k a change fails here, while there is still room to make the
 * paths fewer, not at load time in production. */
#define VERIFIER_BUDGET 900000

static void test_verifier_budget(void **state)
{
	struct tctx *t = *state;

	print_message("verifier processed: gw_xdp_int %ld, gw_xdp_ext %ld instructions\n",
		      t->h.verified[0], t->h.verified[1]);
	assert_in_range(t->h.verified[0], 1, VERIFIER_BUDGET);
	assert_in_range(t->h.verified[1], 1, VERIFIER_BUDGET);
}

/* Reasons no crafted packet can produce through BPF_PROG_TEST_RUN:
 * - DROP_CT_FULL: conntrack is an LRU hash, whose inserts evict instead of
 *   failing (a failure needs the LRU free lists exhausted across CPUs);
 * - DROP_NO_HEADROOM: test-run gives every frame 256 bytes of headroom (224
 *   with the most metadata it accepts), more than the 48 the tunnel needs,
 *   and decapsulation only shrinks a packet whose options are all present.
 * Every other reason must have been counted by the tables above. */
static void test_every_reason_seen(void **state)
{
	struct tctx *t = *state;
	size_t n = (size_t)t->h.ncpu * GW_R__COUNT;
	struct gw_counter *c = calloc(n, sizeof(*c));
	int k, cpu, missing = 0;

	assert_non_null(c);
	assert_int_equal(hx_counters(&t->h, c), 0);
	for (k = 0; k < GW_R__COUNT; k++) {
		__u64 p = 0;

		for (cpu = 0; cpu < t->h.ncpu; cpu++)
			p += c[(size_t)cpu * GW_R__COUNT + k].packets;
		if (k == GW_R_DROP_CT_FULL || k == GW_R_DROP_NO_HEADROOM)
			continue;
		if (!p) {
			print_error("reason %s was never counted\n", reason_names[k]);
			missing++;
		}
	}
	free(c);
	print_message("rows run: %d, of which egress checked with live frames: %d\n", t->rows,
		      t->live_checks);
	assert_int_equal(missing, 0);
	if (!t->h.live)
		fail_msg("live-frame egress checks were not possible (see setup messages)");
}

static int group_setup(void **state)
{
	struct tctx *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -1;
	T = t;
	*state = t;
	t->h.sock[0] = t->h.sock[1] = t->h.peer_prog_fd = -1;
	hx_pin_cpu(&t->h);
	if (hx_netns() || lab_topology(&t->h)) {
		fprintf(stderr, "setup: cannot build the test namespace\n");
		return -1;
	}
	r = hx_load(&t->h);
	if (r) {
		fprintf(stderr, "setup: cannot load the BPF object: %s\n", strerror(-r));
		return -1;
	}
	t->c0 = calloc((size_t)t->h.ncpu * GW_R__COUNT, sizeof(*t->c0));
	t->c1 = calloc((size_t)t->h.ncpu * GW_R__COUNT, sizeof(*t->c1));
	if (!t->c0 || !t->c1)
		return -1;
	if (lab_fill_maps(&t->h, &t->cfg)) {
		fprintf(stderr, "setup: cannot fill the maps\n");
		return -1;
	}
	r = hx_live_init(&t->h);
	if (r)
		fprintf(stderr, "setup: no live-frame egress checks: %s\n", strerror(-r));
	return 0;
}

static int group_teardown(void **state)
{
	struct tctx *t = *state;

	/* The namespace, its veths and the programs on them die with this
	 * process; nothing was pinned. */
	if (!t)
		return 0;
	if (t->h.sock[0] >= 0)
		close(t->h.sock[0]);
	if (t->h.sock[1] >= 0)
		close(t->h.sock[1]);
	if (t->h.peer_prog_fd >= 0)
		close(t->h.peer_prog_fd);
	gateway__destroy(t->h.skel);
	free(t->c0);
	free(t->c1);
	free(t);
	T = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_not_ours_and_malformed),
		cmocka_unit_test(test_local_tcp_flow),
		cmocka_unit_test(test_udp_and_ipv6_flows),
		cmocka_unit_test(test_service_checks),
		cmocka_unit_test(test_remote_backend),
		cmocka_unit_test(test_geneve_in),
		cmocka_unit_test(test_geneve_malformed),
		cmocka_unit_test(test_ext_not_ours),
		cmocka_unit_test(test_probes),
		cmocka_unit_test(test_snat_exhaustion),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_verifier_budget),
		cmocka_unit_test(test_flow_cache),
		cmocka_unit_test(test_every_reason_seen),
	};

	return cmocka_run_group_tests_name("xdp", tests, group_setup, group_teardown);
}
