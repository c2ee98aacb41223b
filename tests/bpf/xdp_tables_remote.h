/* Rows for flows that cross sites: to a backend behind a peer (Geneve out),
 * from other sites' clients (Geneve in), ICMP errors relayed to a peer, and
 * the flow cache that sends a tracked flow's packets. Run by
 * test_xdp_remote.c; test_xdp_parse.c's coverage check walks them too. */
#ifndef GW_TESTS_XDP_TABLES_REMOTE_H
#define GW_TESTS_XDP_TABLES_REMOTE_H

#include <stdint.h>

#include "gw/abi/maps.h"
#include "gw/abi/reasons.h"
#include "pktbuild.h"
#include "xdp_harness.h"
#include "xdp_lab.h"
#include "xdp_rows.h"
#include "xdp_runner.h"

/* --- state changes some rows need first --------------------------------- */

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

/* too big for the tunnel: the largest inner packet it carries */
static void expect_icmp4_too_big(const struct pb_pkt *in, struct pb_pkt *want)
{
	icmp4_too_big(in, want, 1500 - 48);
}

static void tunnel_mtu(struct hx *h, uint16_t mtu)
{
	T->cfg.tunnel_mtu = mtu;
	must(set_cfg(h, &T->cfg), "cfg");
}

static void tunnel_mtu_600(struct hx *h)
{
	tunnel_mtu(h, 600);
}

static void tunnel_mtu_back(struct hx *h)
{
	tunnel_mtu(h, 1500);
}

/* The ICMP error of T_ICMP_RELAY's rows as the gateway relays it to peer 1:
 * its IP packet cut to len bytes (lengths, checksums and the RFC 4884
 * quote length redone when cut), in Geneve with the identity of the client
 * whose flow it is about, the outer source port from that flow's hash. */
static void relayed_error(const struct pb_pkt *in, struct pb_pkt *want, size_t len)
{
	static uint8_t ip[PB_MAX];
	uint8_t *ic = ip + 20;
	__be32 src[4], dst[4];
	uint16_t port;

	memcpy(ip, in->b + 14, len);
	if (len < in->len - 14) {
		pb_put16(ip + 2, (uint32_t)len);
		ip[10] = ip[11] = 0;
		pb_put16(ip + 10, pb_csum(pb_sum(0, ip, 20)));
		ic[5] = 0;
		ic[2] = ic[3] = 0;
		pb_put16(ic + 2, pb_csum(pb_sum(0, ic, len - 20)));
	}
	hx_addr16(4, CLIENT, src);
	hx_addr16(4, VIP_REMOTE, dst);
	port = (uint16_t)(49152u |
			  (gw_flow_hash(src, dst, htons(41010), htons(80), IPPROTO_TCP) & 0x3fff));
	{
		const struct pb_spec out = {
			.dmac = MAC_PEER2,
			.smac = MAC_EXT0,
			V4(GW_EXT, PEER2),
			DF,
			UDP(port, GW_GENEVE_PORT),
			.l4.nocsum = 1,
			GNV_OUT(ID_CLIENT, .raw = ip, .raw_len = (uint16_t)len)};

		pb_build(&out, want);
	}
}

/* cut to fit a tunnel of MTU 600 */
static void expect_error_cut_600(const struct pb_pkt *in, struct pb_pkt *want)
{
	relayed_error(in, want, 600 - GW_TUNNEL_OVERHEAD);
}

static void expect_error_whole(const struct pb_pkt *in, struct pb_pkt *want)
{
	relayed_error(in, want, in->len - 14);
}

/* Hand-aligned rows: kept out of clang-format's reach. */
/* clang-format off */

/* Flows to a backend in another site: Geneve to the peer that fronts it. */
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

/* A router on the client's side cannot forward a reply of a flow served in
 * the peer's site: its "fragmentation needed" (576 bytes, the largest a
 * router sends, with an RFC 4884 length of 128 bytes) goes to the peer as
 * it is. Through a tunnel of MTU 600 it does not fit with the tunnel's 48
 * bytes: its quote is cut so that it does (not answered with a "too big"
 * about an error, nor dropped). */
#define ERROR_576 FROM_CLIENT, V4("10.1.0.254", VIP_REMOTE), .l4.proto = IPPROTO_ICMP,      \
	.l4.icmp_type = 3, .l4.icmp_code = 4, .l4.sport = 32, .l4.seq = 1000,                  \
	.l4.quote = &(const struct pb_spec){ V4(VIP_REMOTE, CLIENT), DF,                     \
					     TCP(80, 41010, SYNACK), .l4.payload_len = 1000 }, \
	.l4.quote_len = 576 - 20 - 8

static const struct xcase T_ICMP_RELAY[] = {
	{ .desc = "a flow to a remote backend", .prog = P_INT,
	  .in = { FROM_CLIENT, V4(CLIENT, VIP_REMOTE), DF, TCP(41010, 80, TH_SYN) },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .out = &(const struct pb_spec){ TUN_TO(MAC_PEER2, PEER2),
					 GNV_OUT(ID_CLIENT, V4(CLIENT, VIP_REMOTE), DF,
						 TCP(41010, 80, TH_SYN)) },
	  .ct = CT_REMOTE, .peer = 1, .zone = 2 },
	{ .desc = "576-byte ICMP error about its reply, tunnel MTU 600: cut to 552 bytes",
	  .prog = P_INT, .before = tunnel_mtu_600, .in = { ERROR_576 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .expect = expect_error_cut_600 },
	{ .desc = "...tunnel MTU 1500: sent whole", .prog = P_INT, .before = tunnel_mtu_back,
	  .in = { ERROR_576 },
	  .verdict = XDP_REDIRECT, .egress = E_EXT0, .reason = GW_R_FWD_REMOTE,
	  .expect = expect_error_whole },
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

/* clang-format on */

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

/* These tables, for the coverage check in test_xdp_parse.c. */
#define XDP_TABLES_REMOTE(X) X(T_REMOTE) X(T_ICMP_RELAY) X(T_GENEVE_IN) X(T_FLOWC) X(T_FLOWC6)

/* clang-format on */

#endif
