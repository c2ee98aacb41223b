/* How the XDP suites' rows spell packets (STYLE.md rule 12): TCP flags, who
 * a frame is from and to, IP and L4 headers, patches, tunnel frames in and
 * out; and the ICMP "fragmentation needed" frame some rows expect back. */
#ifndef GW_TESTS_XDP_ROWS_H
#define GW_TESTS_XDP_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pktbuild.h"
#include "xdp_lab.h"

/* The ICMP "fragmentation needed" a too-big IPv4 frame is answered with,
 * built here byte by byte with full checksums: back to the sender's MAC and
 * address, from the gateway's internal address, next-hop MTU 1500 - 48,
 * quoting the IP header and 8 bytes after it. */
static inline void icmp4_too_big(const struct pb_pkt *in, struct pb_pkt *want, uint16_t mtu)
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

/* Hand-aligned rows: kept out of clang-format's reach. */
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

/* clang-format on */

#endif
