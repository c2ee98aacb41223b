/* Rows for flows to backends in this site: TCP and UDP, IPv4 and IPv6, both
 * directions, the checks a service makes, and SNAT ports running out. Run by
 * test_xdp_local.c; test_xdp_parse.c's coverage check walks them too. */
#ifndef GW_TESTS_XDP_TABLES_LOCAL_H
#define GW_TESTS_XDP_TABLES_LOCAL_H

#include <stdint.h>

#include "gw/abi/maps.h"
#include "gw/abi/reasons.h"
#include "pktbuild.h"
#include "xdp_harness.h"
#include "xdp_lab.h"
#include "xdp_rows.h"
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

/* too big for int0 (MTU 1500) on the way to a local backend */
static void expect_icmp4_too_big_int0(const struct pb_pkt *in, struct pb_pkt *want)
{
	icmp4_too_big(in, want, 1500);
}

/* Hand-aligned rows: kept out of clang-format's reach. */
/* clang-format off */

static const uint8_t OPT_ROUTER_ALERT[4] = { 0x94, 0x04, 0x00, 0x00 };

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
	{ .desc = "IPv6 UDP without checksum (a tunnel's, RFC 6935) stays without",
	  .prog = P_INT,
	  .in = { FROM_CLIENT6, V6(CLIENT6, VIP6), UDP(40012, 53), .l4.nocsum = 1,
		  .l4.payload_len = 20 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_FWD_LOCAL,
	  .out = &(const struct pb_spec){ TO_BE6, V6(GW_INT6, BE6), UDP(VAR(V_A), 5353),
					 .l4.nocsum = 1, .l4.payload_len = 20 },
	  .ct = CT_LOCAL, .save = V_A },
	{ .desc = "...and so does its reply", .prog = P_INT,
	  .in = { FROM_BE6, V6(BE6, GW_INT6), UDP(5353, VAR(V_A)), .l4.nocsum = 1,
		  .l4.payload_len = 40 },
	  .verdict = XDP_REDIRECT, .egress = E_INT0, .reason = GW_R_REPLY_LOCAL,
	  .out = &(const struct pb_spec){ TO_CLIENT6, V6(VIP6, CLIENT6), UDP(53, 40012),
					 .l4.nocsum = 1, .l4.payload_len = 40 },
	  .ct = CT_HIT },
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

/* These tables, for the coverage check in test_xdp_parse.c. */
#define XDP_TABLES_LOCAL(X) X(T_LOCAL_TCP) X(T_UDP_V6) X(T_SERVICE) X(T_SNAT)

/* clang-format on */

#endif
