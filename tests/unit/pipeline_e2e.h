/* Helpers shared by the end-to-end pipeline suites (test_pipeline_e2e*.c):
 * a client's SYN to a VIP, a packet tunnelled by a peer, and checks of a
 * forwarded packet's L2 header and tuple. */
#ifndef GW_TESTS_PIPELINE_E2E_H
#define GW_TESTS_PIPELINE_E2E_H

#include "pipeline_test.h"

#define CPORT 33333

static inline size_t client_syn(__u8 *f, __be32 vip, __u16 port)
{
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, CPORT, vip, port);

	s.tcp_flags = GW_TCP_SYN;
	s.tcp_opts = opt_mss1460;
	s.tcp_opts_len = sizeof(opt_mss1460);
	return build(f, &s);
}

static inline void expect_l2(struct gw_ctx *c, const struct gw_result *res, __u32 ifindex,
			     const __u8 *smac, const __u8 *dmac)
{
	assert_int_equal(res->ifindex, ifindex);
	assert_memory_equal(gwt_packet(c), dmac, 6);
	assert_memory_equal(gwt_packet(c) + 6, smac, 6);
}

static inline void expect_tuple(struct gw_ctx *c, __be32 src, __u16 sport, __be32 dst, __u16 dport)
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

/* Runs s (an IP packet: no_eth is set here) through the external side as
 * the gateway at peer tunnels it, with the peer site's identity; returns
 * the inner packet's length. */
static inline size_t run_tunnelled(struct gw_ctx *c, __be32 peer, struct gwt_spec *s,
				   struct gw_result *res)
{
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[12];
	size_t n, len;

	s->no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, peer, GWT_EXT4, 51234, GW_GENEVE_PORT, GWT_PEER_SITE,
			       o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, res);
	return n;
}

#endif
