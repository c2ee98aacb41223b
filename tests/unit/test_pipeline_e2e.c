/* Whole packets through the shared pipeline (gw_pipeline_int/ext) with the
 * native driver context of pipeline_ctx.h: local, remote and peer flows,
 * their replies, NAT and checksums, Geneve, service and tunnel edges, FIB
 * outcomes, re-picks around a down gateway. ICMP and packets too big are in
 * test_pipeline_e2e_icmp.c, conntrack lifetime in test_pipeline_e2e_ct.c.
 * No root, no network. */
#include "pipeline_e2e.h"

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
	s.udp_csum_zero = 1; /* a reply without checksum: without too */
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	expect_tuple(c, GWT_VIP4, 53, GWT_CLIENT4, 5555);
	assert_int_equal(gwt_get16(gwt_packet(c) + 40), 0);

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

/* IPv6 UDP with checksum 0 leaves with 0 both ways, as IPv4's does (test
 * above): only a tunnel's endpoints send it (RFC 6935), and whether to take
 * it is theirs to decide (RFC 8200 §8.1, RFC 6936 §5), not the gateway's;
 * an incremental update of the 0 would send a wrong sum instead. */
static void test_e2e_udp6_csum_zero(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	const __be32 *client6 = GWT_A6(10, 0, 5), *be6 = GWT_A6(1, 1, 0x10);
	struct gwt_spec s;
	struct gw_pkt p;
	size_t len;
	__u16 snat;

	/* the UDP service gets an IPv6 backend */
	assert_int_equal(gwt_backend_set(c, 10, GW_AF_INET6, be6, 5353, GWT_SITE, 0, 0), 0);
	gwt_maglev_one(c, GWT_SVC_UDP, GW_MAGLEV_CLIENT, 1, 10);
	s = spec6(IPPROTO_UDP, client6, 5555, GWT_VIP6, 53);
	s.udp_csum_zero = 1;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), len, &p), 0);
	assert_memory_equal(p.src, c->cfg.int_addr6, 16);
	assert_memory_equal(p.dst, be6, 16);
	assert_int_equal(gw_ntohs(p.dport), 5353);
	snat = gw_ntohs(p.sport);
	assert_int_equal(gwt_get16(gwt_packet(c) + p.l4_off + 6), 0);
	s = spec6(IPPROTO_UDP, be6, 5353, c->cfg.int_addr6, snat);
	s.udp_csum_zero = 1;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), len, &p), 0);
	assert_memory_equal(p.src, GWT_VIP6, 16);
	assert_memory_equal(p.dst, client6, 16);
	assert_int_equal(gw_ntohs(p.sport), 53);
	assert_int_equal(gwt_get16(gwt_packet(c) + p.l4_off + 6), 0);
	/* with a checksum, the reply's is updated */
	s.udp_csum_zero = 0;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	assert_int_not_equal(gwt_get16(gwt_packet(c) + 14 + 40 + 6), 0);
	expect_csums(gwt_packet(c), len);
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

	/* the same tuple from a client of this site (the sites' client CIDRs
	 * overlap) is in another zone: another flow, another SNAT port */
	s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40000, GWT_VIP4, 80);
	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(c->n_ct, 4);
	assert_int_equal(parse_exact(gwt_packet(c), gwt_packet_len(c), &p), 0);
	assert_int_not_equal(gw_ntohs(p.sport), snat);
	expect_tuple(c, GWT_INT4, gw_ntohs(p.sport), GWT_BE4, GWT_BE_PORT);
	gwt_ctx_free(c);
}

/* Two gateways front one site (active-active). When the one a flow came
 * through fails and the other carries the flow on, the flow's replies
 * follow the packets to the second: before, they kept going to the first
 * and were dropped while it was down (drop_no_peer). */
static void test_e2e_peer_flow_follows_gateway(void **state)
{
	const __be32 peer2 = GWT_IP4(192, 0, 2, 3);
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40001, GWT_VIP4, 80);
	struct gw_pkt p;
	size_t len;
	__u16 snat;
	__be32 dst;

	assert_int_equal(gwt_peer_set(c, 2, peer2, GWT_PEER_SITE, GW_PEER_F_UP), 0);
	s.tcp_flags = GW_TCP_SYN;
	run_tunnelled(c, GWT_PEER4, &s, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), gwt_packet_len(c), &p), 0);
	snat = gw_ntohs(p.sport);

	/* the first gateway fails; the site's routers send the flow through
	 * the second */
	c->peers[GWT_PEER_ID].flags &= ~GW_PEER_F_UP;
	s.tcp_flags = GW_TCP_ACK;
	run_tunnelled(c, peer2, &s, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, snat, GWT_BE4, GWT_BE_PORT);

	/* the backend's reply goes to the second gateway */
	s = spec4(IPPROTO_TCP, GWT_BE4, GWT_BE_PORT, GWT_INT4, snat);
	s.tcp_flags = GW_TCP_ACK;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_REMOTE);
	memcpy(&dst, gwt_packet(c) + 14 + 16, 4);
	assert_int_equal(dst, peer2);
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

	/* a probe, from the probe port to it, is answered in place */
	s = spec4(IPPROTO_UDP, GWT_PEER4, GW_PROBE_PORT, GWT_EXT4, GW_PROBE_PORT);
	s.payload_len = sizeof(*pr);
	s.payload = (const __u8[24]){0x49, 0x53, 0x54, 0x50, 0, 2, 0, 0, 0, 0, 0, 7};
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_TX, GW_R_PROBE_REPLY);
	assert_memory_equal(gwt_packet(c), f + 6, 6);
	assert_memory_equal(gwt_packet(c) + 6, f, 6);
	expect_tuple(c, GWT_EXT4, GW_PROBE_PORT, GWT_PEER4, GW_PROBE_PORT);
	pr = (struct gw_probe *)(gwt_packet(c) + 42);
	assert_int_equal(gw_ntohs(pr->flags), GW_PROBE_F_REPLY);
	assert_int_equal(gw_ntohl(pr->seq), 7);
	/* one from another port is not: its answer would go to that port of
	 * the peer's, whatever listens there (a spoofed probe's aim) */
	s.sport = 53;
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_PROBE);
	s.sport = GW_PROBE_PORT + 1;
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_PROBE);
	/* an answer to our own probe goes to gatewayd's socket, unanswered;
	 * one from another port is nobody's; bad magic; short */
	s.sport = GW_PROBE_PORT;
	s.payload = (const __u8[24]){0x49, 0x53, 0x54, 0x50, 0, 2, 0, GW_PROBE_F_REPLY};
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	assert_memory_equal(gwt_packet(c), f, len);
	s.sport = 45000;
	len = build(f, &s);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_PROBE);
	s.sport = GW_PROBE_PORT;
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

/* A SYN from site 2's client to the local VIP, as a bare IP packet (a
 * tunnel's inner); returns its length. */
static size_t remote_syn_inner(__u8 *inner)
{
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40000, GWT_VIP4, 80);

	s.tcp_flags = GW_TCP_SYN;
	s.no_eth = 1;
	return gwt_build(inner, GWT_PKT_MAX, &s);
}

/* A Geneve packet's inner packet lies inside the outer UDP datagram: bytes
 * after the outer IP packet (an Ethernet trailer) or after the UDP
 * datagram were never tunnelled, and an inner IP length that claims them
 * is a malformed packet, not one to forward. */
static void test_e2e_ext_lengths(void **state)
{
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[12];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len, n = remote_syn_inner(inner);

	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	/* 20 bytes of trailer after the outer IP packet: still forwarded */
	memset(f + len, 0x5a, 20);
	run(c, 1, f, len + 20, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	gwt_ctx_reset_flows(c);

	/* ... but not when the inner IP length claims the trailer */
	gwt_put16(f + 62 + 2, (__u16)(n + 20));
	run(c, 1, f, len + 20, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TRUNCATED);
	assert_int_equal(c->n_ct, 0);
	gwt_put16(f + 62 + 2, (__u16)n);

	/* a UDP length that ends the datagram inside the inner packet */
	gwt_put16(f + 38, (__u16)(len - 34 - 20));
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TRUNCATED);
	assert_int_equal(c->n_ct, 0);
	/* or one longer than the IP packet that carries it */
	gwt_put16(f + 38, (__u16)(len - 34 + 20));
	run(c, 1, f, len + 20, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TRUNCATED);
	assert_int_equal(c->n_ct, 0);
	gwt_ctx_free(c);
}

/* A tunnel packet names its sending site twice besides its identity: in
 * the VNI and in the identity option's site field (gw_geneve_encap sets
 * both to the sender's site id). A peer's packet that names another site
 * in either is not its own. */
static void test_e2e_ext_site_claims(void **state)
{
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[12];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len, n = remote_syn_inner(inner);

	/* the VNI of site 3 from site 2's gateway */
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT, 3, o, 12,
			       inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_IDENTITY_SITE);
	assert_int_equal(c->n_ct, 0);
	/* the identity option naming site 3 */
	gwt_opt_identity(o, GWT_ID_PEER, 3);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_IDENTITY_SITE);
	assert_int_equal(c->n_ct, 0);
	/* both naming site 2: accepted */
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
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
	assert_true(gw_reason_is_drop(res.reason));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_local_flow_and_reply),
		cmocka_unit_test(test_e2e_local_udp_and_ipv6),
		cmocka_unit_test(test_e2e_udp6_csum_zero),
		cmocka_unit_test(test_e2e_remote_flow_encap_and_reply),
		cmocka_unit_test(test_e2e_peer_flow_decap_nat_and_reply),
		cmocka_unit_test(test_e2e_peer_flow_follows_gateway),
		cmocka_unit_test(test_e2e_peer_down_rebalance),
		cmocka_unit_test(test_e2e_ext_edges),
		cmocka_unit_test(test_e2e_ext_lengths),
		cmocka_unit_test(test_e2e_ext_site_claims),
		cmocka_unit_test(test_e2e_service_edges),
		cmocka_unit_test(test_e2e_fib),
		cmocka_unit_test(test_e2e_drop_ct_full),
		cmocka_unit_test(test_e2e_drop_no_headroom),
		cmocka_unit_test(test_e2e_repick_when_peer_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
