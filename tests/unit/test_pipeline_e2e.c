/* Whole packets through the shared pipeline (gw_pipeline_int/ext) with the
 * native driver context of pipeline_ctx.h: local, remote and peer flows,
 * their replies, NAT and checksums, Geneve, FIB outcomes, ICMP errors,
 * conntrack lifetime, re-picks around a down gateway. No root, no network. */
#include "pipeline_test.h"

/* --- end to end --------------------------------------------------------------------- */

#define CPORT 33333

static size_t client_syn(__u8 *f, __be32 vip, __u16 port)
{
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, CPORT, vip, port);

	s.tcp_flags = GW_TCP_SYN;
	s.tcp_opts = opt_mss1460;
	s.tcp_opts_len = sizeof(opt_mss1460);
	return build(f, &s);
}

static void expect_l2(struct gw_ctx *c, const struct gw_result *res, __u32 ifindex,
		      const __u8 *smac, const __u8 *dmac)
{
	assert_int_equal(res->ifindex, ifindex);
	assert_memory_equal(gwt_packet(c), dmac, 6);
	assert_memory_equal(gwt_packet(c) + 6, smac, 6);
}

static void expect_tuple(struct gw_ctx *c, __be32 src, __u16 sport, __be32 dst, __u16 dport)
{
	struct gw_pkt p;

	assert_int_equal(parse_exact(gwt_packet(c), gwt_packet_len(c), &p), 0);
	assert_int_equal(p.src[0], src);
	assert_int_equal(p.dst[0], dst);
	if (sport)
		assert_int_equal(gw_ntohs(p.sport), sport);
	assert_int_equal(gw_ntohs(p.dport), dport);
	expect_csums(gwt_packet(c), gwt_packet_len(c));
}

static void test_e2e_local_flow_and_reply(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;
	struct gwt_spec s;
	size_t len = client_syn(f, GWT_VIP4, 80);
	__u16 snat;

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_l2(c, &res, GWT_IF_INT, gwt_mac_int, gwt_mac_hostA);
	assert_int_equal(gwt_packet_len(c), len);
	assert_int_equal(parse_exact(gwt_packet(c), len, &p), 0);
	snat = gw_ntohs(p.sport);
	assert_true(snat >= GWT_SNAT_MIN && snat <= GWT_SNAT_MAX);
	expect_tuple(c, GWT_INT4, snat, GWT_BE4, GWT_BE_PORT);
	assert_memory_equal(gwt_packet(c) + 54, opt_mss1460, 4); /* not clamped locally */
	assert_int_equal(c->n_ct, 2);
	assert_int_equal(c->fib_last.dst[0], GWT_BE4);
	assert_int_equal(c->ct[1].v.identity, GWT_ID_CLIENTS);
	assert_int_equal(c->ct[1].v.backend_id, GWT_BE_LOCAL);

	/* the next packet of the flow takes the same path */
	s = spec4(IPPROTO_TCP, GWT_CLIENT4, CPORT, GWT_VIP4, 80);
	len = build(f, &s);
	c->now += GW_CT_TOUCH_NS + 5; /* last_seen is refreshed at most this often */
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, snat, GWT_BE4, GWT_BE_PORT);
	assert_int_equal(c->n_ct, 2);
	assert_int_equal(c->ct[1].v.packets, 1);
	assert_int_equal(c->ct[1].v.last_seen_ns, c->now);

	/* the backend's reply goes back to the client from the VIP */
	s = spec4(IPPROTO_TCP, GWT_BE4, GWT_BE_PORT, GWT_INT4, snat);
	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	expect_l2(c, &res, GWT_IF_INT, gwt_mac_int, gwt_mac_hostA);
	expect_tuple(c, GWT_VIP4, 80, GWT_CLIENT4, CPORT);
	assert_int_equal(c->n_ct, 2);

	/* a reply to another SNAT port is nobody's */
	s.dport = snat == GWT_SNAT_MIN ? snat + 1 : snat - 1;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	gwt_ctx_free(c);
}

static void test_e2e_local_udp_and_ipv6(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_UDP, GWT_CLIENT4, 5555, GWT_VIP4, 53);
	struct gw_pkt p;
	size_t len;
	__u16 snat;

	s.udp_csum_zero = 1;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), len, &p), 0);
	snat = gw_ntohs(p.sport);
	expect_tuple(c, GWT_INT4, snat, GWT_IP4(10, 1, 1, 53), 5353);
	assert_int_equal(gwt_get16(gwt_packet(c) + 40), 0); /* no checksum stays none */

	s = spec4(IPPROTO_UDP, GWT_IP4(10, 1, 1, 53), 5353, GWT_INT4, snat);
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	expect_tuple(c, GWT_VIP4, 53, GWT_CLIENT4, 5555);
	assert_int_not_equal(gwt_get16(gwt_packet(c) + 40), 0);

	s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 5), 1234, GWT_A6(96, 0, 0x10), 80);
	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), len, &p), 0);
	assert_memory_equal(p.src, c->cfg.int_addr6, 16);
	assert_memory_equal(p.dst, GWT_A6(1, 1, 0x10), 16);
	assert_int_equal(gw_ntohs(p.dport), GWT_BE_PORT);
	expect_csums(gwt_packet(c), len);
	snat = gw_ntohs(p.sport);

	s = spec6(IPPROTO_TCP, GWT_A6(1, 1, 0x10), GWT_BE_PORT, c->cfg.int_addr6, snat);
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), len, &p), 0);
	assert_memory_equal(p.src, GWT_A6(96, 0, 0x10), 16);
	assert_memory_equal(p.dst, GWT_A6(10, 0, 5), 16);
	assert_int_equal(gw_ntohs(p.sport), 80);
	assert_int_equal(gw_ntohs(p.dport), 1234);
	expect_csums(gwt_packet(c), len);

	/* the UDP service has IPv4 backends only: its IPv6 table is empty */
	s = spec6(IPPROTO_UDP, GWT_A6(10, 0, 5), 1234, GWT_VIP6, 53);
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_BACKEND);

	/* without an IPv6 SNAT address there is no IPv6 service */
	c->cfg.flags &= ~GW_CFG_F_HAVE_V6;
	s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 6), 1234, GWT_A6(96, 0, 0x10), 80);
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_UNSUPPORTED);
	gwt_ctx_free(c);
}

static __u32 tuple_hash(__be32 src, __u16 sport, __be32 dst, __u16 dport, __u8 proto)
{
	__be32 s[4] = {src, 0, 0, 0}, d[4] = {dst, 0, 0, 0};

	return gw_flow_hash(s, d, gw_htons(sport), gw_htons(dport), proto);
}

static void test_e2e_remote_flow_encap_and_reply(void **state)
{
	__u8 f[GWT_PKT_MAX], want[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[12];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443);
	size_t len = client_syn(f, GWT_VIP4_REMOTE, 443), wlen, n;

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	expect_l2(c, &res, GWT_IF_EXT, gwt_mac_ext, gwt_mac_router);
	assert_int_equal(gwt_packet_len(c), len + GW_TUNNEL_OVERHEAD);
	expect_outer(gwt_packet(c), len - 14, GWT_ID_CLIENTS,
		     tuple_hash(GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443, IPPROTO_TCP));
	/* the inner packet is the client's, MSS clamped to fit the tunnel */
	s.tcp_flags = GW_TCP_SYN;
	s.tcp_opts = opt_mss1412;
	s.tcp_opts_len = sizeof(opt_mss1412);
	wlen = build(want, &s);
	assert_int_equal(MSS_CLAMP, 1412);
	assert_memory_equal(gwt_packet(c) + 62, want + 14, wlen - 14);
	assert_int_equal(c->fib_last.dst[0], GWT_PEER4);
	assert_int_equal(c->fib_last.l3_len, len - 14 + GW_TUNNEL_OVERHEAD);
	assert_int_equal(c->n_ct, 2);

	/* the reply comes back from the peer, tunnelled, with site 2's identity */
	s = spec4(IPPROTO_TCP, GWT_VIP4_REMOTE, 443, GWT_CLIENT4, CPORT);
	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	s.no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	expect_l2(c, &res, GWT_IF_INT, gwt_mac_int, gwt_mac_hostA);
	assert_int_equal(gwt_packet_len(c), n + 14);
	assert_int_equal(gwt_get16(gwt_packet(c) + 12), ETH_P_IP);
	assert_memory_equal(gwt_packet(c) + 14, inner, n);
	assert_int_equal(c->n_ct, 2);

	/* the same reply claiming an identity of another site is refused */
	gwt_opt_identity(o, GWT_ID_CLIENTS, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_IDENTITY_SITE);
	gwt_opt_identity(o, 0x7777, GWT_PEER_SITE); /* unknown identity */
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_IDENTITY_SITE);
	gwt_ctx_free(c);
}

static void test_e2e_peer_flow_decap_nat_and_reply(void **state)
{
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], want[GWT_PKT_MAX], o[12];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40000, GWT_VIP4, 80);
	struct gw_pkt p;
	size_t len, n, wlen;
	__u16 snat;

	s.tcp_flags = GW_TCP_SYN;
	s.tcp_opts = opt_mss1412;
	s.tcp_opts_len = sizeof(opt_mss1412);
	s.no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_l2(c, &res, GWT_IF_INT, gwt_mac_int, gwt_mac_hostA);
	assert_int_equal(gwt_packet_len(c), n + 14);
	assert_int_equal(parse_exact(gwt_packet(c), gwt_packet_len(c), &p), 0);
	snat = gw_ntohs(p.sport);
	expect_tuple(c, GWT_INT4, snat, GWT_BE4, GWT_BE_PORT);
	assert_int_equal(c->n_ct, 2);
	assert_int_equal(c->ct[1].k.zone, GWT_PEER_SITE);
	assert_int_equal(c->ct[1].v.identity, GWT_ID_PEER);
	assert_int_equal(c->ct[0].k.zone, 0);
	assert_int_equal(c->ct[0].v.out_peer, GWT_PEER_ID);

	/* a retransmission of the SYN hits the flow */
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, snat, GWT_BE4, GWT_BE_PORT);
	assert_int_equal(c->n_ct, 2);

	/* the backend's reply is tunnelled back to the peer with our identity */
	s = spec4(IPPROTO_TCP, GWT_BE4, GWT_BE_PORT, GWT_INT4, snat);
	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	s.tcp_opts = opt_mss1460;
	s.tcp_opts_len = sizeof(opt_mss1460);
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_REMOTE);
	expect_l2(c, &res, GWT_IF_EXT, gwt_mac_ext, gwt_mac_router);
	expect_outer(gwt_packet(c), len - 14, GWT_ID_SITE(GWT_SITE),
		     tuple_hash(GWT_BE4, GWT_BE_PORT, GWT_INT4, snat, IPPROTO_TCP));
	s = spec4(IPPROTO_TCP, GWT_VIP4, 80, GWT_REMOTE_CLIENT4, 40000);
	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	s.tcp_opts = opt_mss1412;
	s.tcp_opts_len = sizeof(opt_mss1412);
	wlen = build(want, &s);
	assert_int_equal(gwt_packet_len(c), wlen + GW_TUNNEL_OVERHEAD);
	/* equal to a packet built from scratch, but for the IP checksum of the
	 * rewritten header (identical anyway) */
	assert_memory_equal(gwt_packet(c) + 62, want + 14, wlen - 14);

	/* the same inner flow from site 2 with an overlapping client address
	 * but from another site is another zone: another flow */
	gwt_ctx_free(c);
}

/* A flow sent to a peer that has gone down is balanced anew over what the
 * tables now hold; its reply entry stays for replies already in flight. */
static void test_e2e_peer_down_rebalance(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len = client_syn(f, GWT_VIP4_REMOTE, 443);

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	/* peer down, tables not yet rebuilt: nowhere to go */
	c->peers[GWT_PEER_ID].flags &= ~GW_PEER_F_UP;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_PEER);
	/* gatewayd rebuilt the table with a local backend */
	gwt_maglev_one(c, GWT_SVC_REMOTE, GW_MAGLEV_CLIENT, 0, GWT_BE_LOCAL);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 0, GWT_BE4, GWT_BE_PORT);
	/* and the flow sticks to it, even when the peer comes back */
	c->peers[GWT_PEER_ID].flags |= GW_PEER_F_UP;
	gwt_maglev_one(c, GWT_SVC_REMOTE, GW_MAGLEV_CLIENT, 0, GWT_BE_REMOTE);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	gwt_ctx_free(c);
}

static void test_e2e_ext_edges(void **state)
{
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[12];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s =
		spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40000, GWT_IP4(10, 50, 0, 1), 80);
	struct gw_probe *pr;
	size_t len, n;

	/* tunnelled packet for no service and no flow */
	s.no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_SERVICE);
	/* from an address that is no peer */
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_IP4(198, 51, 100, 1), GWT_EXT4, 51234,
			       GW_GENEVE_PORT, GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_UNKNOWN_PEER);
	/* to another address or port, or a fragment: the kernel's */
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_IP4(192, 0, 2, 9), 51234,
			       GW_GENEVE_PORT, GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, 4500, GWT_PEER_SITE, o,
			       12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	/* a tunnelled fragment of a service flow */
	s.dst[0] = GWT_VIP4;
	s.frag = 0x2000;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_FRAGMENT);
	/* policy is decided at the client's own gateway, not for a peer's flow */
	s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40000, GWT_VIP4_POLICY, 80);
	s.no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	/* identities: unknown ones in the sender's range pass, others not */
	s.dst[0] = GWT_VIP4;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	gwt_opt_identity(o, GWT_ID_SITE(GWT_PEER_SITE) | 5, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(c->ct[c->n_ct - 1].v.identity, GWT_ID_SITE(GWT_PEER_SITE) | 5);
	gwt_opt_identity(o, GWT_ID_SITE(3) | 5, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_IDENTITY_SITE);
	gwt_opt_identity(o, GWT_ID_SITE(3), GWT_PEER_SITE); /* known, of site 3 */
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_IDENTITY_SITE);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	/* a peer may not use us to reach a third site */
	s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40000, GWT_VIP4_REMOTE, 443);
	s.no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_BACKEND);
	/* plain traffic to the external address */
	s = spec4(IPPROTO_TCP, GWT_PEER4, 40000, GWT_EXT4, 2379);
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);

	/* a probe is answered in place */
	s = spec4(IPPROTO_UDP, GWT_PEER4, 45000, GWT_EXT4, GW_PROBE_PORT);
	s.payload_len = sizeof(*pr);
	s.payload = (const __u8[24]){0x49, 0x53, 0x54, 0x50, 0, 2, 0, 0, 0, 0, 0, 7};
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_TX, GW_R_PROBE_REPLY);
	assert_memory_equal(gwt_packet(c), f + 6, 6);
	assert_memory_equal(gwt_packet(c) + 6, f, 6);
	expect_tuple(c, GWT_EXT4, GW_PROBE_PORT, GWT_PEER4, 45000);
	pr = (struct gw_probe *)(gwt_packet(c) + 42);
	assert_int_equal(gw_ntohs(pr->flags), GW_PROBE_F_REPLY);
	assert_int_equal(gw_ntohl(pr->seq), 7);
	/* an answer is not answered again; bad magic; short */
	s.payload = (const __u8[24]){0x49, 0x53, 0x54, 0x50, 0, 2, 0, GW_PROBE_F_REPLY};
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_PROBE);
	s.payload = (const __u8[24]){0x49, 0x53, 0x54, 0x51};
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_PROBE);
	s.payload_len = sizeof(*pr) - 1;
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_PROBE);
	gwt_ctx_free(c);
}

static void test_e2e_service_edges(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s;
	size_t len;

	/* not a service: the kernel's */
	len = client_syn(f, GWT_IP4(10, 50, 0, 1), 80);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	len = client_syn(f, GWT_VIP4, 22);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	/* L7 mode: the stack hands it to gw-proxy */
	len = client_syn(f, GWT_VIP4_L7, 80);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	assert_int_equal(c->n_ct, 0);
	/* policy: our clients are allowed, others are not */
	len = client_syn(f, GWT_VIP4_POLICY, 80);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	s = spec4(IPPROTO_TCP, GWT_IP4(10, 11, 0, 5), 1000, GWT_VIP4_POLICY, 80);
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_POLICY);
	/* a backend with port 0 listens on the port the client asked for */
	len = client_syn(f, GWT_VIP4_ANYPORT, 8443);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	{
		struct gw_pkt p;

		assert_int_equal(parse_exact(gwt_packet(c), len, &p), 0);
		expect_tuple(c, GWT_INT4, 0, GWT_IP4(10, 1, 1, 20), 8443);
		s = spec4(IPPROTO_TCP, GWT_IP4(10, 1, 1, 20), 8443, GWT_INT4, gw_ntohs(p.sport));
	}
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	expect_tuple(c, GWT_VIP4_ANYPORT, 8443, GWT_CLIENT4, CPORT);
	/* no backend, backend behind a down peer */
	len = client_syn(f, GWT_VIP4_EMPTY, 80);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_BACKEND);
	len = client_syn(f, GWT_VIP4_DOWN, 80);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_PEER);
	/* unconfigured (or another ABI version): everything passes */
	c->cfg.abi_version++;
	len = client_syn(f, GWT_VIP4, 80);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	gwt_ctx_free(c);
}

static void test_e2e_fib(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len = client_syn(f, GWT_VIP4, 80);

	/* no neighbour yet: NATed, then the kernel resolves and sends it */
	c->routes[0].kind = GWT_ROUTE_NO_NEIGH;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 0, GWT_BE4, GWT_BE_PORT);
	assert_memory_equal(gwt_packet(c), f, 12); /* MACs untouched */
	/* no route at all */
	gwt_ctx_reset_flows(c);
	c->routes[0].kind = GWT_ROUTE_OK;
	c->routes[0].family = 0;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_FIB);
	/* the route's MTU is too small */
	gwt_ctx_reset_flows(c);
	c->routes[0].family = GW_AF_INET;
	c->routes[0].mtu = 60;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TOO_BIG);
	/* no scratch room */
	gwt_ctx_reset_flows(c);
	c->routes[0].mtu = 0;
	c->no_scratch = 1;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	assert_int_equal(res.action, GW_ACT_DROP);
	assert_true(res.reason >= GW_R_FIRST_DROP && res.reason < GW_R__COUNT);
	gwt_ctx_free(c);
}

static void test_e2e_drop_ct_full(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len;

	c->ct_cap = 0; /* remote flow: the reply entry does not fit */
	len = client_syn(f, GWT_VIP4_REMOTE, 443);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_CT_FULL);
	c->ct_cap = 1; /* local flow: the reply entry fits, the forward one not */
	len = client_syn(f, GWT_VIP4, 80);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_CT_FULL);
	c->ct_cap = 1; /* remote flow again, reply entry fits */
	gwt_ctx_reset_flows(c);
	len = client_syn(f, GWT_VIP4_REMOTE, 443);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_CT_FULL);
	c->ct_cap = 2;
	gwt_ctx_reset_flows(c);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	gwt_ctx_free(c);
}

static void test_e2e_drop_no_headroom(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len = client_syn(f, GWT_VIP4_REMOTE, 443);

	run(c, 0, f, len, GW_TUNNEL_OVERHEAD - 1, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_HEADROOM);
	run(c, 0, f, len, 0, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_NO_HEADROOM);
	run(c, 0, f, len, GW_TUNNEL_OVERHEAD, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	gwt_ctx_free(c);
}

static void test_e2e_drop_too_big(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443);
	size_t len;

	s.payload_len = GWT_TUNNEL_MTU - GW_TUNNEL_OVERHEAD - 40 + 1;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TOO_BIG);
	s.payload_len--;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	assert_int_equal(gwt_packet_len(c) - 14, GWT_TUNNEL_MTU);
	gwt_ctx_free(c);
}

/* Too big for the tunnel with DF: the client gets an ICMP "fragmentation
 * needed" from the gateway's internal address, quoting its IP header and 8
 * bytes, with the largest inner size the tunnel carries. */
static void test_e2e_icmp4_too_big(void **state)
{
	__u8 f[GWT_PKT_MAX], orig[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443);
	const __u8 *o, *ip, *ic;
	size_t len;

	s.frag = 0x4000; /* DF */
	s.payload_len = GWT_TUNNEL_MTU - GW_TUNNEL_OVERHEAD - 40 + 1;
	len = build(f, &s);
	memcpy(orig, f, len);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_TX, GW_R_ICMP_TOO_BIG);
	o = gwt_packet(c);
	assert_int_equal(gwt_packet_len(c), 14 + 20 + 8 + 28);
	assert_memory_equal(o, orig + 6, 6); /* back to the sender */
	assert_memory_equal(o + 6, orig, 6);
	assert_int_equal(gwt_get16(o + 12), ETH_P_IP);
	ip = o + 14;
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(gwt_get16(ip + 2), 20 + 8 + 28);
	assert_int_equal(ip[9], IPPROTO_ICMP);
	assert_memory_equal(ip + 12, &c->cfg.int_addr4, 4);
	assert_memory_equal(ip + 16, orig + 14 + 12, 4);
	assert_int_equal(gwt_ipv4_csum_full(ip), gwt_get16(ip + 10));
	ic = ip + 20;
	assert_int_equal(ic[0], ICMP_DEST_UNREACH);
	assert_int_equal(ic[1], ICMP_FRAG_NEEDED);
	assert_int_equal(gwt_get16(ic + 6), GWT_TUNNEL_MTU - GW_TUNNEL_OVERHEAD);
	assert_memory_equal(ic + 8, orig + 14, 28);
	assert_int_equal(gwt_fold(gwt_sum16(0, ic, 8 + 28)),
			 0);	      /* a valid checksum sums to all ones */
	assert_int_equal(c->n_ct, 2); /* the flow exists; its next packets may fit */
	gwt_ctx_free(c);
}

/* Too big for the link to a local backend (its route's MTU), with DF: the
 * client gets "fragmentation needed" with that MTU, quoting the packet as
 * it sent it (to the VIP, before NAT); without DF it is dropped. A backend's
 * reply too big for the client's link gets the error itself, quoting its
 * packet to the gateway's SNAT address. */
static void test_e2e_icmp4_too_big_local_link(void **state)
{
	__u8 f[GWT_PKT_MAX], orig[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, CPORT, GWT_VIP4, 80);
	const __u8 *o, *ip, *ic;
	struct gw_pkt p;
	size_t len;
	__u16 snat;
	__u32 i;

	s.frag = 0x4000; /* DF */
	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + gwt_packet_len(c), &p), 0);
	snat = gw_ntohs(p.sport);
	for (i = 0; i < c->n_routes; i++)
		c->routes[i].mtu = 1000;

	s.tcp_flags = GW_TCP_ACK;
	s.payload_len = 1000 - 40;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL); /* fits exactly */

	s.payload_len++;
	len = build(f, &s);
	memcpy(orig, f, len);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_TX, GW_R_ICMP_TOO_BIG);
	o = gwt_packet(c);
	assert_int_equal(gwt_packet_len(c), 14 + 20 + 8 + 28);
	assert_memory_equal(o, orig + 6, 6); /* back to the sender */
	ip = o + 14;
	assert_memory_equal(ip + 16, orig + 14 + 12, 4);
	assert_int_equal(gwt_ipv4_csum_full(ip), gwt_get16(ip + 10));
	ic = ip + 20;
	assert_int_equal(ic[0], ICMP_DEST_UNREACH);
	assert_int_equal(ic[1], ICMP_FRAG_NEEDED);
	assert_int_equal(gwt_get16(ic + 6), 1000);
	assert_memory_equal(ic + 8, orig + 14, 28); /* client -> VIP, as sent */
	assert_int_equal(gwt_fold(gwt_sum16(0, ic, 8 + 28)), 0);

	s.frag = 0;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TOO_BIG);

	s = spec4(IPPROTO_TCP, GWT_BE4, GWT_BE_PORT, GWT_INT4, snat);
	s.frag = 0x4000;
	s.tcp_flags = GW_TCP_ACK;
	s.payload_len = 1000 - 40 + 1;
	len = build(f, &s);
	memcpy(orig, f, len);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_TX, GW_R_ICMP_TOO_BIG);
	ip = gwt_packet(c) + 14;
	ic = ip + 20;
	assert_memory_equal(ip + 16, orig + 14 + 12, 4); /* to the backend */
	assert_int_equal(gwt_get16(ic + 6), 1000);
	assert_memory_equal(ic + 8, orig + 14, 28);
	gwt_ctx_free(c);
}

/* The same for IPv6: "packet too big" from the gateway's IPv6 address. */
static void test_e2e_icmp6_too_big(void **state)
{
	__u8 f[GWT_PKT_MAX], orig[GWT_PKT_MAX], pseudo[40];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	const __be32 *vip = GWT_A6(96, 0, 0x11);
	struct gwt_spec s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 5), CPORT, vip, 443);
	const __u8 *o, *ip6, *ic;
	size_t len;
	__u32 sum;

	assert_int_equal(gwt_svc_add(c, GW_AF_INET6, vip, 443, IPPROTO_TCP, 7, 0), 0);
	assert_int_equal(gwt_backend_set(c, 9, GW_AF_INET6, GWT_A6(2, 1, 0x10), 443, GWT_PEER_SITE,
					 GWT_PEER_ID, GW_BE_F_REMOTE),
			 0);
	gwt_maglev_one(c, 7, GW_MAGLEV_CLIENT, 1, 9);
	s.payload_len = GWT_TUNNEL_MTU - GW_TUNNEL_OVERHEAD - 60 + 1;
	len = build(f, &s);
	memcpy(orig, f, len);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_TX, GW_R_ICMP_TOO_BIG);
	o = gwt_packet(c);
	assert_int_equal(gwt_packet_len(c), 14 + 40 + 8 + 48);
	assert_memory_equal(o, orig + 6, 6);
	assert_int_equal(gwt_get16(o + 12), ETH_P_IPV6);
	ip6 = o + 14;
	assert_int_equal(ip6[0] >> 4, 6);
	assert_int_equal(gwt_get16(ip6 + 4), 8 + 48);
	assert_int_equal(ip6[6], IPPROTO_ICMPV6);
	assert_memory_equal(ip6 + 8, c->cfg.int_addr6, 16);
	assert_memory_equal(ip6 + 24, orig + 14 + 8, 16);
	ic = ip6 + 40;
	assert_int_equal(ic[0], ICMPV6_PKT_TOOBIG);
	assert_int_equal(gwt_get16(ic + 6), GWT_TUNNEL_MTU - GW_TUNNEL_OVERHEAD);
	assert_memory_equal(ic + 8, orig + 14, 48);
	memcpy(pseudo, ip6 + 8, 32);
	memset(pseudo + 32, 0, 8);
	pseudo[35] = 8 + 48;
	pseudo[39] = IPPROTO_ICMPV6;
	sum = gwt_sum16(0, pseudo, 40);
	assert_int_equal(gwt_fold(gwt_sum16(sum, ic, 8 + 48)), 0);
	gwt_ctx_free(c);
}

/* Conntrack entries end: a FIN or RST marks them closing, and once closed
 * and quiet for GW_CT_CLOSED_NS their SNAT port serves a new flow and their
 * tuple starts a new flow, so a backend is not out of ports after a few
 * thousand short connections. */
static void test_e2e_ct_closing_frees_snat_port(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	size_t len;

	c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	/* the backend closes: its reply entry (the one holding the port) */
	s = spec4(IPPROTO_TCP, GWT_BE4, GWT_BE_PORT, GWT_INT4, 40000);
	s.tcp_flags = GW_TCP_FIN | GW_TCP_ACK;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);

	/* another client's flow: the port is still the first flow's */
	s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1001, GWT_VIP4, 80);
	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	c->now += GW_CT_CLOSED_NS / 2;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED);
	/* ... and free once the first flow has been closed long enough */
	c->now += GW_CT_CLOSED_NS;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);

	/* a new SYN on a tuple whose flow ended long ago is a new flow; an
	 * idle flow that is not closed keeps its entry */
	c->now += GW_CT_IDLE_NS + 1;
	s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1001, GWT_VIP4, 80);
	s.tcp_flags = GW_TCP_ACK;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);
	gwt_ctx_free(c);
}

/* One TCP packet in: from the internal side, or tunnelled from peer 1. */
static void send_tcp(struct gw_ctx *c, int ext, __be32 src, __u16 sport, __be32 dst, __u16 dport,
		     __u8 flags, struct gw_result *res)
{
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[12];
	struct gwt_spec s = spec4(IPPROTO_TCP, src, sport, dst, dport);
	size_t len, n;

	s.tcp_flags = flags;
	if (!ext) {
		len = build(f, &s);
		run(c, 0, f, len, GWT_HEADROOM, res);
		return;
	}
	s.no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, res);
}

/* One step of a TCP conversation with a single SNAT port (40000): a packet
 * from the client's port cport to the VIP, or from the backend to that
 * port, wait_ns after the step before, and the result it must get. */
struct ct_step {
	const char *desc;
	int from_backend;
	__u16 cport;
	__u8 flags;
	__u64 wait_ns;
	__u32 action, reason;
};

static void run_ct_steps(const struct ct_step *st, size_t n)
{
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t i;

	c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
	for (i = 0; i < n; i++) {
		print_message("%s\n", st[i].desc);
		c->now += st[i].wait_ns;
		if (st[i].from_backend)
			send_tcp(c, 0, GWT_BE4, GWT_BE_PORT, GWT_INT4, 40000, st[i].flags, &res);
		else
			send_tcp(c, 0, GWT_CLIENT4, st[i].cport, GWT_VIP4, 80, st[i].flags, &res);
		expect_result(&res, st[i].action, st[i].reason);
		if (st[i].action != GW_ACT_REDIRECT)
			continue;
		if (st[i].from_backend)
			expect_tuple(c, GWT_VIP4, 80, GWT_CLIENT4, st[i].cport);
		else
			expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);
	}
	gwt_ctx_free(c);
}

/* A client may open a new connection on the tuple of one that closed a
 * moment ago (both FINs seen, not yet quiet for GW_CT_CLOSED_NS): the
 * entries carry the new connection, so its SYN and SYN-ACK make them live
 * again. Otherwise the new connection, once idle past GW_CT_CLOSED_NS,
 * would lose its SNAT port to another client's flow. */
static void test_e2e_ct_syn_reopens_closing(void **state)
{
	static const struct ct_step steps[] = {
		{"client SYN", 0, 1000, GW_TCP_SYN, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend FIN", 1, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"client FIN", 0, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_FWD_LOCAL},
		{"client SYN on the same tuple", 0, 1000, GW_TCP_SYN, GW_CT_TOUCH_NS * 2,
		 GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend SYN-ACK", 1, 1000, GW_TCP_SYN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"client ACK", 0, 1000, GW_TCP_ACK, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"another client, the connection idle but open", 0, 1001, GW_TCP_SYN,
		 GW_CT_CLOSED_NS + GW_CT_TOUCH_NS, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED},
		{"backend data", 1, 1000, GW_TCP_ACK, 0, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL},
	};

	run_ct_steps(steps, sizeof(steps) / sizeof(steps[0]));
}

/* A FIN or RST of no tracked flow (its state lost, or a stray packet) is
 * forwarded as a new flow that starts closing: its SNAT port is free again
 * after GW_CT_CLOSED_NS, not held for GW_CT_IDLE_NS. */
static void test_e2e_ct_stray_close_holds_briefly(void **state)
{
	static const __u8 flags[] = {GW_TCP_RST, GW_TCP_RST | GW_TCP_ACK, GW_TCP_FIN | GW_TCP_ACK};
	size_t i;

	for (i = 0; i < sizeof(flags); i++) {
		const struct ct_step steps[] = {
			{"stray FIN or RST", 0, 1000, flags[i], 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
			{"another client: the port still held", 0, 1001, GW_TCP_SYN,
			 GW_CT_CLOSED_NS / 2, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED},
			{"... and free after GW_CT_CLOSED_NS", 0, 1001, GW_TCP_SYN, GW_CT_CLOSED_NS,
			 GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		};

		print_message("stray flags 0x%02x\n", flags[i]);
		run_ct_steps(steps, sizeof(steps) / sizeof(steps[0]));
	}
}

/* A RST ends the connection both ways (RFC 9293 §3.10.7.4): whichever side
 * sends it, both entries close, so the SNAT port is free again after
 * GW_CT_CLOSED_NS, as after a FIN each way, not after GW_CT_IDLE_NS. */
static void test_e2e_ct_rst_closes_both(void **state)
{
	static const struct {
		const char *desc;
		int from_backend;
		__u8 flags;
		int fin_first; /* the same side sent a FIN before */
	} rows[] = {
		{"client RST", 0, GW_TCP_RST, 0},
		{"client RST-ACK", 0, GW_TCP_RST | GW_TCP_ACK, 0},
		{"client FIN, then RST", 0, GW_TCP_RST, 1},
		{"backend RST", 1, GW_TCP_RST, 0},
		{"backend RST-ACK", 1, GW_TCP_RST | GW_TCP_ACK, 0},
		{"backend FIN, then RST", 1, GW_TCP_RST, 1},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int be = rows[i].from_backend;
		__u32 reason = be ? GW_R_REPLY_LOCAL : GW_R_FWD_LOCAL;
		const struct ct_step fin = {
			"FIN first", be, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT, reason};
		struct ct_step steps[5] = {
			{"client SYN", 0, 1000, GW_TCP_SYN, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
			{"backend SYN-ACK", 1, 1000, GW_TCP_SYN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
			 GW_R_REPLY_LOCAL},
		};
		size_t n = 2;

		if (rows[i].fin_first)
			steps[n++] = fin;
		steps[n++] = (struct ct_step){rows[i].desc,    be,    1000, rows[i].flags, 0,
					      GW_ACT_REDIRECT, reason};
		/* closed and quiet long enough: another client gets the port */
		steps[n++] = (struct ct_step){"another client gets the port",
					      0,
					      1001,
					      GW_TCP_SYN,
					      GW_CT_CLOSED_NS + GW_CT_TOUCH_NS,
					      GW_ACT_REDIRECT,
					      GW_R_FWD_LOCAL};
		run_ct_steps(steps, n);
	}
}

/* A late RST of an ended flow whose SNAT port has gone to a new flow must
 * not close the new flow's reply entry (same key, another flow). */
static void test_e2e_ct_late_rst_spares_new_flow(void **state)
{
	static const struct ct_step steps[] = {
		{"client 1000 SYN", 0, 1000, GW_TCP_SYN, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend FIN", 1, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"client 1000 FIN", 0, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_FWD_LOCAL},
		{"client 1001 SYN takes the port", 0, 1001, GW_TCP_SYN,
		 GW_CT_CLOSED_NS + GW_CT_TOUCH_NS, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend SYN-ACK to 1001", 1, 1001, GW_TCP_SYN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"late RST from client 1000", 0, 1000, GW_TCP_RST, 0, GW_ACT_REDIRECT,
		 GW_R_FWD_LOCAL},
		{"client 1002, while 1001 is idle but open", 0, 1002, GW_TCP_SYN,
		 GW_CT_CLOSED_NS + GW_CT_TOUCH_NS, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED},
	};

	run_ct_steps(steps, sizeof(steps) / sizeof(steps[0]));
}

/* ... and so for flows through the tunnel, on either gateway: a RST from
 * either end closes both of the flow's entries. */
static void test_e2e_ct_rst_closes_both_tunnelled(void **state)
{
	static const struct {
		const char *desc;
		int open_ext;
		__be32 open_src, open_dst;
		__u16 open_sport, open_dport;
		__u32 open_reason;
		int rst_ext;
		__be32 rst_src, rst_dst;
		__u16 rst_sport, rst_dport;
		__u32 rst_reason;
	} rows[] = {
		{"remote flow, the client resets", 0, GWT_CLIENT4, GWT_VIP4_REMOTE, 1000, 443,
		 GW_R_FWD_REMOTE, 0, GWT_CLIENT4, GWT_VIP4_REMOTE, 1000, 443, GW_R_FWD_REMOTE},
		{"remote flow, the far end resets", 0, GWT_CLIENT4, GWT_VIP4_REMOTE, 1000, 443,
		 GW_R_FWD_REMOTE, 1, GWT_VIP4_REMOTE, GWT_CLIENT4, 443, 1000, GW_R_REPLY_LOCAL},
		{"peer flow, the remote client resets", 1, GWT_REMOTE_CLIENT4, GWT_VIP4, 1000, 80,
		 GW_R_FWD_LOCAL, 1, GWT_REMOTE_CLIENT4, GWT_VIP4, 1000, 80, GW_R_FWD_LOCAL},
		{"peer flow, the backend resets", 1, GWT_REMOTE_CLIENT4, GWT_VIP4, 1000, 80,
		 GW_R_FWD_LOCAL, 0, GWT_BE4, GWT_INT4, GWT_BE_PORT, 40000, GW_R_REPLY_REMOTE},
	};
	struct gw_result res;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct gw_ctx *c = topo_new();

		print_message("%s\n", rows[i].desc);
		c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
		send_tcp(c, rows[i].open_ext, rows[i].open_src, rows[i].open_sport,
			 rows[i].open_dst, rows[i].open_dport, GW_TCP_SYN, &res);
		expect_result(&res, GW_ACT_REDIRECT, rows[i].open_reason);
		assert_int_equal(c->n_ct, 2);
		send_tcp(c, rows[i].rst_ext, rows[i].rst_src, rows[i].rst_sport, rows[i].rst_dst,
			 rows[i].rst_dport, GW_TCP_RST | GW_TCP_ACK, &res);
		expect_result(&res, GW_ACT_REDIRECT, rows[i].rst_reason);
		assert_int_equal(c->n_ct, 2);
		assert_true(c->ct[0].v.flags & GW_CT_F_CLOSING);
		assert_true(c->ct[1].v.flags & GW_CT_F_CLOSING);
		gwt_ctx_free(c);
	}
}

/* The table still holds a site whose gateway just went down: the flow is
 * balanced elsewhere in the same table instead of being dropped. */
static void test_e2e_repick_when_peer_down(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4_REMOTE, 443);
	int local = 0, remote = 0, drop = 0, i;
	size_t len;

	static const __u32 half[2] = {GWT_BE_LOCAL, GWT_BE_REMOTE};

	/* half the slots to the remote backend, half to a local one */
	assert_int_equal(
		gwt_maglev_set(c, GW_MAGLEV_SLOT(GWT_SVC_REMOTE, GW_MAGLEV_CLIENT, 0), half, 2), 0);
	c->peers[GWT_PEER_ID].flags &= ~GW_PEER_F_UP;
	for (i = 0; i < 64; i++) {
		s.sport = 2000 + i;
		len = build(f, &s);
		run(c, 0, f, len, GWT_HEADROOM, &res);
		if (res.action == GW_ACT_DROP)
			drop++;
		else if (res.reason == GW_R_FWD_LOCAL)
			local++;
		else
			remote++;
	}
	assert_int_equal(remote, 0); /* never to the dead gateway */
	assert_true(local >= 60);    /* 4 more tries miss with probability 1/32 */
	assert_int_equal(drop, 64 - local);
	gwt_ctx_free(c);
}

/* An ICMPv4 error frame to our internal side: src -> dst, type/code, the
 * 4 bytes after the checksum (the MTU of "fragmentation needed" in the low
 * two), quoting 28 bytes. Returns its length. */
static size_t icmp4_error_frame(__u8 *f, __be32 src, __be32 dst, __u8 type, __u8 code, __u16 mtu,
				const __u8 *quote)
{
	__u8 *ip = f + 14, *ic = ip + 20;

	memset(f, 0, 14 + 20 + 8 + 28);
	memcpy(f, gwt_mac_int, 6);
	memcpy(f + 6, gwt_mac_hostA, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 28;
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	gwt_put16(ip + 10, gwt_ipv4_csum_full(ip));
	ic[0] = type;
	ic[1] = code;
	gwt_put16(ic + 6, mtu);
	memcpy(ic + 8, quote, 28);
	gwt_put16(ic + 2, gwt_fold(gwt_sum16(0, ic, 8 + 28)));
	return 14 + 20 + 8 + 28;
}

/* An ICMP error from a backend about a packet we sent it (port unreachable,
 * quoting our SNAT address and port) reaches the client from the VIP,
 * quoting the client's own packet, every checksum right. */
static void test_e2e_icmp_error_translated(void **state)
{
	__u8 f[GWT_PKT_MAX], quote[28], *o, *ip, *ic, *q;
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len = client_syn(f, GWT_VIP4, 80);
	__be32 a;

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	memcpy(quote, gwt_packet(c) + 14, sizeof(quote)); /* what the backend got */

	/* the backend's error: IPv4 backend -> our SNAT address, ICMP 3/3 */
	len = icmp4_error_frame(f, GWT_BE4, GWT_INT4, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0,
				quote);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	o = gwt_packet(c);
	ip = o + 14;
	ic = ip + 20;
	q = ic + 8;
	a = GWT_VIP4;
	assert_memory_equal(ip + 12, &a, 4); /* from the VIP */
	a = GWT_CLIENT4;
	assert_memory_equal(ip + 16, &a, 4); /* to the client */
	assert_int_equal(gwt_ipv4_csum_full(ip), gwt_get16(ip + 10));
	assert_memory_equal(q + 12, &a, 4); /* quoting the client's packet */
	a = GWT_VIP4;
	assert_memory_equal(q + 16, &a, 4);
	assert_int_equal(gwt_get16(q + 20), CPORT);
	assert_int_equal(gwt_get16(q + 22), 80);
	assert_int_equal(gwt_ipv4_csum_full(q), gwt_get16(q + 10));
	assert_int_equal(gwt_fold(gwt_sum16(0, ic, 8 + sizeof(quote))), 0);

	/* an error quoting a later fragment: its "ports" are payload bytes,
	 * even when they happen to look like the flow's */
	len = icmp4_error_frame(f, GWT_BE4, GWT_INT4, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0,
				quote);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL); /* the same quote, whole */
	quote[7] = 0xb9; /* fragment offset 185 (x 8 bytes) */
	len = icmp4_error_frame(f, GWT_BE4, GWT_INT4, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0,
				quote);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	quote[7] = 0;

	/* an error about no flow of ours is not touched */
	quote[20] ^= 0x55; /* another source port */
	memcpy(f + 14 + 28, quote, sizeof(quote));
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	gwt_ctx_free(c);
}

/* A router on the client's side that cannot forward a large reply sends
 * "fragmentation needed" to the VIP, quoting the reply: the backend gets it
 * from the SNAT address, quoting the packet as it sent it (to the SNAT
 * address and port), the MTU kept, every checksum right. For a flow served
 * in another site the error goes, untouched, through the tunnel to that
 * site's gateway, which translates it for its backend in the same way. */
static void test_e2e_icmp_error_from_client_side(void **state)
{
	__u8 f[GWT_PKT_MAX], r[GWT_PKT_MAX], quote[28], *ip, *ic, *q, *inner;
	const __be32 router = GWT_IP4(10, 10, 0, 254);
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len = client_syn(f, GWT_VIP4, 80);
	struct gwt_spec s;
	struct gw_pkt p;
	__u16 snat;
	__be32 a;

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + gwt_packet_len(c), &p), 0);
	snat = gw_ntohs(p.sport);
	s = spec4(IPPROTO_TCP, GWT_BE4, GWT_BE_PORT, GWT_INT4, snat);
	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	s.payload_len = 1200;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	memcpy(quote, gwt_packet(c) + 14, sizeof(quote)); /* the reply the client's router got */

	len = icmp4_error_frame(f, router, GWT_VIP4, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1000,
				quote);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	ip = gwt_packet(c) + 14;
	ic = ip + 20;
	q = ic + 8;
	a = GWT_INT4;
	assert_memory_equal(ip + 12, &a, 4); /* from the SNAT address */
	assert_memory_equal(q + 16, &a, 4);  /* quoting the backend's packet to it */
	assert_int_equal(gwt_get16(q + 22), snat);
	a = GWT_BE4;
	assert_memory_equal(ip + 16, &a, 4); /* to the backend */
	assert_memory_equal(q + 12, &a, 4);
	assert_int_equal(gwt_get16(q + 20), GWT_BE_PORT);
	assert_int_equal(gwt_get16(ic + 6), 1000);
	assert_int_equal(gwt_ipv4_csum_full(ip), gwt_get16(ip + 10));
	assert_int_equal(gwt_ipv4_csum_full(q), gwt_get16(q + 10));
	assert_int_equal(gwt_fold(gwt_sum16(0, ic, 8 + 28)), 0);

	/* a flow served in the peer's site: through the tunnel, untouched */
	len = client_syn(f, GWT_VIP4_REMOTE, 443);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	s = spec4(IPPROTO_TCP, GWT_VIP4_REMOTE, 443, GWT_CLIENT4, CPORT);
	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	s.no_eth = 1;
	gwt_build(r, sizeof(r), &s);
	memcpy(quote, r, sizeof(quote)); /* the first 28 bytes of a reply */
	len = icmp4_error_frame(f, router, GWT_VIP4_REMOTE, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
				1000, quote);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	inner = gwt_packet(c) + 14 + GW_TUNNEL_OVERHEAD;
	assert_memory_equal(inner, f + 14, 20 + 8 + 28);
	gwt_ctx_free(c);
}

/* ICMPv6 checksum of the message at ic (len bytes) between src and dst:
 * 0 when the message's own checksum is right. */
static __u16 icmp6_check(const __u8 *src, const __u8 *dst, const __u8 *ic, size_t len)
{
	__u8 ph[8] = {0, 0, (__u8)(len >> 8), (__u8)len, 0, 0, 0, IPPROTO_ICMPV6};
	__u32 sum = gwt_sum16(0, src, 16);

	sum = gwt_sum16(sum, dst, 16);
	sum = gwt_sum16(sum, ph, 8);
	return gwt_fold(gwt_sum16(sum, ic, len));
}

/* The IPv6 twin of the test above: a backend's ICMPv6 port unreachable about
 * a NATed flow reaches the client from the VIP, quoting the client's own
 * packet, with the checksum (pseudo-header included) right. */
/* An ICMPv6 error frame to our internal side: src -> dst, type/code, the
 * 32-bit word after the checksum (the MTU of "packet too big"), quoting 48
 * bytes. Returns its length. */
static size_t icmp6_error_frame(__u8 *f, const __be32 *src, const __be32 *dst, __u8 type, __u8 code,
				__u32 mtu, const __u8 *quote)
{
	__u8 *ip = f + 14, *ic = ip + 40;

	memset(f, 0, 14 + 40 + 8 + 48);
	memcpy(f, gwt_mac_int, 6);
	memcpy(f + 6, gwt_mac_hostA, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	ip[0] = 0x60;
	gwt_put16(ip + 4, 8 + 48);
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	ic[0] = type;
	ic[1] = code;
	gwt_put16(ic + 4, (__u16)(mtu >> 16));
	gwt_put16(ic + 6, (__u16)mtu);
	memcpy(ic + 8, quote, 48);
	gwt_put16(ic + 2, icmp6_check(ip + 8, ip + 24, ic, 8 + 48));
	return 14 + 40 + 8 + 48;
}

static void test_e2e_icmp6_error_translated(void **state)
{
	__u8 f[GWT_PKT_MAX], quote[48], *ip, *ic, *q;
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 5), CPORT, GWT_VIP6, 80);
	size_t len, mlen = 8 + sizeof(quote);

	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	memcpy(quote, gwt_packet(c) + 14, sizeof(quote)); /* what the backend got */

	/* the backend's error: IPv6 backend -> our SNAT address, ICMPv6 1/4 */
	len = icmp6_error_frame(f, GWT_A6(1, 1, 0x10), c->cfg.int_addr6, ICMPV6_DEST_UNREACH,
				ICMPV6_PORT_UNREACH, 0, quote);
	ip = f + 14;
	assert_int_equal(icmp6_check(ip + 8, ip + 24, ip + 40, mlen), 0);

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	expect_l2(c, &res, GWT_IF_INT, gwt_mac_int, gwt_mac_hostA);
	ip = gwt_packet(c) + 14;
	ic = ip + 40;
	q = ic + 8;
	assert_memory_equal(ip + 8, GWT_VIP6, 16);	    /* from the VIP */
	assert_memory_equal(ip + 24, GWT_A6(10, 0, 5), 16); /* to the client */
	assert_memory_equal(q + 8, GWT_A6(10, 0, 5), 16);   /* quoting its packet */
	assert_memory_equal(q + 24, GWT_VIP6, 16);
	assert_int_equal(gwt_get16(q + 40), CPORT);
	assert_int_equal(gwt_get16(q + 42), 80);
	assert_int_equal(icmp6_check(ip + 8, ip + 24, ic, mlen), 0);

	/* an error about no flow of ours passes untouched */
	quote[40] ^= 0x55; /* another source port */
	memcpy(f + 14 + 48, quote, sizeof(quote));
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	gwt_ctx_free(c);
}

/* The IPv6 twin of test_e2e_icmp_error_from_client_side: a router on the
 * client's side sends "packet too big" to the VIP about a reply; the
 * backend gets it from the gateway's IPv6 SNAT address, quoting its own
 * packet, the MTU kept, the checksum (over the new pseudo-header) right. */
static void test_e2e_icmp6_error_from_client_side(void **state)
{
	__u8 f[GWT_PKT_MAX], quote[48], *ip, *ic, *q;
	const __be32 *client = GWT_A6(10, 0, 5), *be = GWT_A6(1, 1, 0x10);
	struct gwt_spec s = spec6(IPPROTO_TCP, client, CPORT, GWT_VIP6, 80);
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;
	size_t len;
	__u16 snat;

	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + gwt_packet_len(c), &p), 0);
	snat = gw_ntohs(p.sport);
	s = spec6(IPPROTO_TCP, be, GWT_BE_PORT, c->cfg.int_addr6, snat);
	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	s.payload_len = 1300;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	memcpy(quote, gwt_packet(c) + 14, sizeof(quote)); /* the reply the router got */

	len = icmp6_error_frame(f, GWT_A6(10, 0, 0xfe), GWT_VIP6, ICMPV6_PKT_TOOBIG, 0, 1280,
				quote);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	ip = gwt_packet(c) + 14;
	ic = ip + 40;
	q = ic + 8;
	assert_memory_equal(ip + 8, c->cfg.int_addr6, 16); /* from the SNAT address */
	assert_memory_equal(ip + 24, be, 16);		   /* to the backend */
	assert_memory_equal(q + 8, be, 16);		   /* quoting its packet */
	assert_memory_equal(q + 24, c->cfg.int_addr6, 16);
	assert_int_equal(gwt_get16(q + 40), GWT_BE_PORT);
	assert_int_equal(gwt_get16(q + 42), snat);
	assert_int_equal(gwt_get16(ic + 6), 1280);
	assert_int_equal(icmp6_check(ip + 8, ip + 24, ic, 8 + 48), 0);
	gwt_ctx_free(c);
}

static void test_e2e_drop_snat_exhausted(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	size_t len;

	c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);
	s.sport = 1001; /* a second flow to the same backend */
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED);
	assert_int_equal(c->n_ct, 2);
	/* the first flow still works */
	s.sport = 1000;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	/* an empty range */
	gwt_ctx_reset_flows(c);
	c->cfg.snat_port_max = 39999;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED);
	assert_int_equal(c->n_ct, 0);
	gwt_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_local_flow_and_reply),
		cmocka_unit_test(test_e2e_local_udp_and_ipv6),
		cmocka_unit_test(test_e2e_remote_flow_encap_and_reply),
		cmocka_unit_test(test_e2e_peer_flow_decap_nat_and_reply),
		cmocka_unit_test(test_e2e_peer_down_rebalance),
		cmocka_unit_test(test_e2e_ext_edges),
		cmocka_unit_test(test_e2e_service_edges),
		cmocka_unit_test(test_e2e_fib),
		cmocka_unit_test(test_e2e_drop_ct_full),
		cmocka_unit_test(test_e2e_drop_no_headroom),
		cmocka_unit_test(test_e2e_drop_too_big),
		cmocka_unit_test(test_e2e_icmp4_too_big_local_link),
		cmocka_unit_test(test_e2e_icmp4_too_big),
		cmocka_unit_test(test_e2e_icmp6_too_big),
		cmocka_unit_test(test_e2e_icmp_error_translated),
		cmocka_unit_test(test_e2e_icmp_error_from_client_side),
		cmocka_unit_test(test_e2e_ct_closing_frees_snat_port),
		cmocka_unit_test(test_e2e_ct_syn_reopens_closing),
		cmocka_unit_test(test_e2e_ct_stray_close_holds_briefly),
		cmocka_unit_test(test_e2e_ct_rst_closes_both),
		cmocka_unit_test(test_e2e_ct_rst_closes_both_tunnelled),
		cmocka_unit_test(test_e2e_ct_late_rst_spares_new_flow),
		cmocka_unit_test(test_e2e_repick_when_peer_down),
		cmocka_unit_test(test_e2e_icmp6_error_translated),
		cmocka_unit_test(test_e2e_icmp6_error_from_client_side),
		cmocka_unit_test(test_e2e_drop_snat_exhausted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
