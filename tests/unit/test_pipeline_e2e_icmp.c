/* Whole packets through the shared pipeline, ICMP: packets too big for the
 * tunnel or a link (dropped, or answered with "fragmentation needed" or
 * "packet too big"), and ICMP errors about NATed flows translated in both
 * directions, IPv4 and IPv6. No root, no network. */
#include "pipeline_e2e.h"

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

/* An ICMPv4 error frame to our internal side: src -> dst, type/code, the
 * 4 bytes after the checksum (the MTU of "fragmentation needed" in the low
 * two), quoting qlen bytes. Returns its length. */
static size_t icmp4_error_frame_n(__u8 *f, __be32 src, __be32 dst, __u8 type, __u8 code, __u32 rest,
				  const __u8 *quote, size_t qlen)
{
	__u8 *ip = f + 14, *ic = ip + 20;

	memset(f, 0, 14 + 20 + 8 + qlen);
	memcpy(f, gwt_mac_int, 6);
	memcpy(f + 6, gwt_mac_hostA, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	gwt_put16(ip + 2, (__u16)(20 + 8 + qlen));
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	gwt_put16(ip + 10, gwt_ipv4_csum_full(ip));
	ic[0] = type;
	ic[1] = code;
	gwt_put16(ic + 4, (__u16)(rest >> 16));
	gwt_put16(ic + 6, (__u16)rest);
	memcpy(ic + 8, quote, qlen);
	gwt_put16(ic + 2, gwt_fold(gwt_sum16(0, ic, 8 + qlen)));
	return 14 + 20 + 8 + qlen;
}

/* The same, quoting 28 bytes: the IP header and 8 bytes. */
static size_t icmp4_error_frame(__u8 *f, __be32 src, __be32 dst, __u8 type, __u8 code, __u32 rest,
				const __u8 *quote)
{
	return icmp4_error_frame_n(f, src, dst, type, code, rest, quote, 28);
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

/* An ICMP error the peer relays about a flow this site sends it (its
 * backend's "port unreachable", translated at the peer) goes to the client
 * that sent the quoted packet. The flow's entry here rewrites nothing, so
 * the error's own destination is all that names where it goes: one
 * addressed to anybody else in the site is no error about that flow. */
static void test_e2e_icmp_error_from_peer(void **state)
{
	__u8 f[GWT_PKT_MAX], t[GWT_PKT_MAX], quote[28], o[12];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t len = client_syn(f, GWT_VIP4_REMOTE, 443), n;

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	memcpy(quote, f + 14, sizeof(quote)); /* the client's SYN */
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);

	n = icmp4_error_frame(f, GWT_VIP4_REMOTE, GWT_CLIENT4, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
			      0, quote);
	len = gwt_build_geneve(t, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, f + 14, n - 14);
	run(c, 1, t, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	assert_memory_equal(gwt_packet(c) + 14, f + 14, n - 14);

	/* the same error sent to another host of this site */
	n = icmp4_error_frame(f, GWT_VIP4_REMOTE, GWT_BE4, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0,
			      quote);
	len = gwt_build_geneve(t, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, f + 14, n - 14);
	run(c, 1, t, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_UNSUPPORTED);
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

/* An ICMPv6 error frame to our internal side: src -> dst, type/code, the
 * 32-bit word after the checksum (the MTU of "packet too big"), quoting
 * qlen bytes. Returns its length. */
static size_t icmp6_error_frame_n(__u8 *f, const __be32 *src, const __be32 *dst, __u8 type,
				  __u8 code, __u32 mtu, const __u8 *quote, size_t qlen)
{
	__u8 *ip = f + 14, *ic = ip + 40;

	memset(f, 0, 14 + 40 + 8 + qlen);
	memcpy(f, gwt_mac_int, 6);
	memcpy(f + 6, gwt_mac_hostA, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	ip[0] = 0x60;
	gwt_put16(ip + 4, (__u16)(8 + qlen));
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	ic[0] = type;
	ic[1] = code;
	gwt_put16(ic + 4, (__u16)(mtu >> 16));
	gwt_put16(ic + 6, (__u16)mtu);
	memcpy(ic + 8, quote, qlen);
	gwt_put16(ic + 2, icmp6_check(ip + 8, ip + 24, ic, 8 + qlen));
	return 14 + 40 + 8 + qlen;
}

/* The same, quoting 48 bytes: the IPv6 header and 8 bytes. */
static size_t icmp6_error_frame(__u8 *f, const __be32 *src, const __be32 *dst, __u8 type, __u8 code,
				__u32 mtu, const __u8 *quote)
{
	return icmp6_error_frame_n(f, src, dst, type, code, mtu, quote, 48);
}

/* The IPv6 twin of test_e2e_icmp_error_translated: a backend's ICMPv6 port
 * unreachable about a NATed flow reaches the client from the VIP, quoting the
 * client's own packet, with the checksum (pseudo-header included) right. */
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

/* A 576-byte "fragmentation needed" (the largest a router sends) about a
 * reply of a flow served in the peer's site goes through the tunnel; with a
 * tunnel MTU of 600 it would not fit with the tunnel's 48 bytes, and used
 * to draw a "too big" of its own (or be dropped, without DF). Its quote is
 * cut so that the error fits to the byte (an even length), the RFC 4884
 * quote length cleared, the lengths and checksums right. Below the quoted
 * header and 8 bytes, nothing fits: dropped. */
static void test_e2e_icmp_error_cut_to_tunnel(void **state)
{
	__u8 f[GWT_PKT_MAX], r[GWT_PKT_MAX], *ip, *ic;
	const __be32 router = GWT_IP4(10, 10, 0, 254);
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_VIP4_REMOTE, 443, GWT_CLIENT4, CPORT);
	const size_t qlen = 576 - 20 - 8, cut = 600 - GW_TUNNEL_OVERHEAD;
	size_t len = client_syn(f, GWT_VIP4_REMOTE, 443);

	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	s.payload_len = 1000;
	s.no_eth = 1;
	gwt_build(r, sizeof(r), &s); /* a reply the client's router could not forward */
	c->cfg.tunnel_mtu = 600;

	/* RFC 4884 length: 128 bytes of quote, extensions after them */
	len = icmp4_error_frame_n(f, router, GWT_VIP4_REMOTE, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
				  32u << 16 | 1000, r, qlen);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	assert_int_equal(gwt_packet_len(c), 14 + GW_TUNNEL_OVERHEAD + cut);
	assert_int_equal(gwt_get16(gwt_packet(c) + 16), 600); /* outer IPv4 length */
	assert_int_equal(gwt_get16(gwt_packet(c) + 38), 600 - 20);
	ip = gwt_packet(c) + 14 + GW_TUNNEL_OVERHEAD;
	ic = ip + 20;
	assert_int_equal(gwt_get16(ip + 2), cut);
	assert_int_equal(gwt_ipv4_csum_full(ip), gwt_get16(ip + 10));
	assert_memory_equal(ip + 12, f + 14 + 12, 8); /* unrewritten */
	assert_int_equal(ic[0], ICMP_DEST_UNREACH);
	assert_int_equal(ic[1], ICMP_FRAG_NEEDED);
	assert_int_equal(ic[5], 0);
	assert_int_equal(gwt_get16(ic + 6), 1000);
	assert_memory_equal(ic + 8, r, cut - 20 - 8);
	assert_int_equal(gwt_fold(gwt_sum16(0, ic, cut - 20)), 0);

	/* an odd room: cut to the even length below it */
	c->cfg.tunnel_mtu = 601;
	len = icmp4_error_frame_n(f, router, GWT_VIP4_REMOTE, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
				  1000, r, qlen);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	assert_int_equal(gwt_packet_len(c), 14 + GW_TUNNEL_OVERHEAD + cut);
	ic = gwt_packet(c) + 14 + GW_TUNNEL_OVERHEAD + 20;
	assert_int_equal(gwt_fold(gwt_sum16(0, ic, cut - 20)), 0);

	/* room for the quoted header and 8 bytes, and for 2 bytes less */
	c->cfg.tunnel_mtu = GW_TUNNEL_OVERHEAD + 20 + 8 + 28;
	len = icmp4_error_frame_n(f, router, GWT_VIP4_REMOTE, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
				  1000, r, qlen);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	assert_int_equal(gwt_packet_len(c), 14 + GW_TUNNEL_OVERHEAD + 20 + 8 + 28);
	ic = gwt_packet(c) + 14 + GW_TUNNEL_OVERHEAD + 20;
	assert_memory_equal(ic + 8, r, 28);
	assert_int_equal(gwt_fold(gwt_sum16(0, ic, 8 + 28)), 0);
	c->cfg.tunnel_mtu -= 2;
	len = icmp4_error_frame_n(f, router, GWT_VIP4_REMOTE, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
				  1000, r, qlen);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TOO_BIG);
	gwt_ctx_free(c);
}

/* The IPv6 twin, the other way: a backend's 1280-byte "port unreachable"
 * about a flow from the peer's site, translated and sent back through a
 * tunnel of MTU 1300, is cut to 1252 bytes with its checksum (over the new
 * pseudo-header) right. */
static void test_e2e_icmp6_error_cut_to_tunnel(void **state)
{
	__u8 f[GWT_PKT_MAX], quote[GWT_PKT_MAX], *ip, *ic;
	const __be32 *rclient = GWT_A6(20, 0, 5), *be = GWT_A6(1, 1, 0x10);
	const size_t qlen = 1280 - 40 - 8, cut = 1300 - GW_TUNNEL_OVERHEAD;
	struct gwt_spec s = spec6(IPPROTO_TCP, rclient, CPORT, GWT_VIP6, 80);
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;
	size_t len;

	s.tcp_flags = GW_TCP_SYN;
	run_tunnelled(c, GWT_PEER4, &s, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	s.tcp_flags = GW_TCP_ACK;
	s.payload_len = 1400;
	run_tunnelled(c, GWT_PEER4, &s, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	memcpy(quote, gwt_packet(c) + 14, qlen); /* what the backend got */
	assert_int_equal(parse_exact(gwt_packet(c), gwt_packet_len(c), &p), 0);
	assert_memory_equal(p.dst, be, 16);
	c->cfg.tunnel_mtu = 1300;

	/* RFC 4884 length in byte 4: 128 bytes of quote */
	len = icmp6_error_frame_n(f, be, c->cfg.int_addr6, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH,
				  16u << 24, quote, qlen);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_REMOTE);
	expect_l2(c, &res, GWT_IF_EXT, gwt_mac_ext, gwt_mac_router);
	assert_int_equal(gwt_packet_len(c), 14 + GW_TUNNEL_OVERHEAD + cut);
	assert_int_equal(gwt_get16(gwt_packet(c) + 16), 1300);
	assert_memory_equal(gwt_packet(c) + 30, &(__be32){GWT_PEER4}, 4);
	ip = gwt_packet(c) + 14 + GW_TUNNEL_OVERHEAD;
	ic = ip + 40;
	assert_int_equal(gwt_get16(ip + 4), cut - 40);
	assert_memory_equal(ip + 8, GWT_VIP6, 16); /* from the VIP */
	assert_memory_equal(ip + 24, rclient, 16); /* to the peer's client */
	assert_int_equal(ic[0], ICMPV6_DEST_UNREACH);
	assert_int_equal(ic[4], 0);
	assert_memory_equal(ic + 8 + 8, rclient, 16); /* quoting its packet */
	assert_memory_equal(ic + 8 + 24, GWT_VIP6, 16);
	assert_memory_equal(ic + 8 + 48, quote + 48, cut - 40 - 8 - 48);
	assert_int_equal(icmp6_check(ip + 8, ip + 24, ic, cut - 40), 0);
	gwt_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_drop_too_big),
		cmocka_unit_test(test_e2e_icmp4_too_big_local_link),
		cmocka_unit_test(test_e2e_icmp4_too_big),
		cmocka_unit_test(test_e2e_icmp6_too_big),
		cmocka_unit_test(test_e2e_icmp_error_translated),
		cmocka_unit_test(test_e2e_icmp_error_from_client_side),
		cmocka_unit_test(test_e2e_icmp_error_from_peer),
		cmocka_unit_test(test_e2e_icmp6_error_translated),
		cmocka_unit_test(test_e2e_icmp6_error_from_client_side),
		cmocka_unit_test(test_e2e_icmp_error_cut_to_tunnel),
		cmocka_unit_test(test_e2e_icmp6_error_cut_to_tunnel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
