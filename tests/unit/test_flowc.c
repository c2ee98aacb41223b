/* Native unit tests of the flow cache in front of conntrack
 * (include/gw/pipeline/flowc.h): a cached packet leaves byte for byte as the
 * conntrack path would send it, without a FIB lookup; and every rule that
 * sends a packet back to the conntrack path does (epoch, age, TCP flags,
 * length, a peer gone down, IPv6). */
#include "pipeline_test.h"

#define CPORT 40404

static struct gw_ctx *cache_on(void)
{
	struct gw_ctx *c = gwt_ctx_new();

	assert_non_null(c);
	gwt_topology(c);
	c->epoch = 1; /* gatewayd has written the maps */
	return c;
}

static size_t tcp4(__u8 *f, __be32 src, __u16 sport, __be32 dst, __u16 dport, __u8 flags,
		   __u16 payload)
{
	struct gwt_spec s = spec4(IPPROTO_TCP, src, sport, dst, dport);

	s.tcp_flags = flags;
	s.payload_len = payload;
	return build(f, &s);
}

/* Runs one packet; returns how many FIB lookups it made. */
static __u32 fib_run(struct gw_ctx *c, int ext, const __u8 *f, size_t len, struct gw_result *res)
{
	__u32 before = c->fib_last.calls;

	run(c, ext, f, len, GWT_HEADROOM, res);
	return c->fib_last.calls - before;
}

static struct gw_ct *ct_of(struct gw_ctx *c, __be32 src, __u16 sport, __be32 dst, __u16 dport,
			   __u16 zone)
{
	struct gw_ct_key k;

	memset(&k, 0, sizeof(k));
	k.src[0] = src;
	k.dst[0] = dst;
	k.sport = gw_htons(sport);
	k.dport = gw_htons(dport);
	k.proto = IPPROTO_TCP;
	k.family = GW_AF_INET;
	k.zone = zone;
	return gw_ctx_ct_lookup(c, &k);
}

/* Opens a TCP flow to vip:port (SYN, then an ACK that fills the cache) and
 * checks that its next packet is sent from the cache; f then holds that
 * ACK, whose length is returned. */
static size_t cached_flow(struct gw_ctx *c, __u8 *f, __be32 vip, __u16 port)
{
	struct gw_result res;
	size_t len = tcp4(f, GWT_CLIENT4, CPORT, vip, port, GW_TCP_SYN, 0);

	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	len = tcp4(f, GWT_CLIENT4, CPORT, vip, port, GW_TCP_ACK, 0);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	return len;
}

/* A remote flow: the first packet after the SYN fills the cache, the next
 * one is sent from it, identical to what conntrack made of the first. */
static void test_remote_hit_is_identical(void **state)
{
	__u8 f[GWT_PKT_MAX], out[GWT_PKT_MAX];
	struct gw_result res, res1;
	struct gw_ctx *c = cache_on();
	size_t len, olen;
	struct gw_ct *e;
	__u64 seen;

	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443, GW_TCP_SYN, 0);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);

	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443, GW_TCP_ACK, 100);
	assert_int_equal(fib_run(c, 0, f, len, &res1), 1); /* conntrack path, fills */
	expect_result(&res1, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	olen = gwt_packet_len(c);
	memcpy(out, gwt_packet(c), olen);
	e = ct_of(c, GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443, 0);
	assert_non_null(e);
	seen = e->last_seen_ns;

	c->now += 1000;					  /* same second */
	assert_int_equal(fib_run(c, 0, f, len, &res), 0); /* from the cache */
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	assert_int_equal(res.ifindex, res1.ifindex);
	assert_int_equal(gwt_packet_len(c), olen);
	assert_memory_equal(gwt_packet(c), out, olen);
	assert_int_equal(e->last_seen_ns, seen);
	gwt_ctx_free(c);
}

/* A local flow both ways: DNAT + SNAT forward, the reverse on replies, with
 * checksums as the conntrack path leaves them. */
static void test_local_nat_both_ways(void **state)
{
	__u8 f[GWT_PKT_MAX], out[GWT_PKT_MAX], r[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len, rlen, olen;
	struct gw_pkt p;
	__u16 snat;

	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_SYN, 0);
	fib_run(c, 0, f, len, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + gwt_packet_len(c), &p), 0);
	snat = gw_ntohs(p.sport);

	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_ACK, 200);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	olen = gwt_packet_len(c);
	memcpy(out, gwt_packet(c), olen);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_memory_equal(gwt_packet(c), out, olen);

	rlen = tcp4(r, GWT_BE4, GWT_BE_PORT, GWT_INT4, snat, GW_TCP_ACK, 300);
	assert_int_equal(fib_run(c, 0, r, rlen, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	memcpy(out, gwt_packet(c), rlen);
	assert_int_equal(fib_run(c, 0, r, rlen, &res), 0);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	assert_memory_equal(gwt_packet(c), out, rlen);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + rlen, &p), 0);
	assert_int_equal(p.src[0], GWT_VIP4);
	assert_int_equal(p.dst[0], GWT_CLIENT4);
	gwt_ctx_free(c);
}

/* A new epoch (gatewayd wrote a map, or a route or neighbour changed) sends
 * the next packet through the FIB again, which finds the new next hop. */
static void test_epoch_moves_next_hop(void **state)
{
	static const __u8 new_router[6] = {0x02, 0, 0, 0, 0x0b, 0x02};
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len = cached_flow(c, f, GWT_VIP4_REMOTE, 443);
	__u32 i;

	for (i = 0; i < c->n_routes; i++)
		if (!memcmp(c->routes[i].dmac, gwt_mac_router, 6))
			memcpy(c->routes[i].dmac, new_router, 6);
	c->epoch++;
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_REMOTE);
	assert_memory_equal(gwt_packet(c), new_router, 6);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0); /* cached again */
	assert_memory_equal(gwt_packet(c), new_router, 6);

	/* epoch 0 is a data plane nobody has written: nothing is cached */
	c->epoch = 0;
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	gwt_ctx_free(c);
}

/* After GW_CT_TOUCH_NS a packet goes to conntrack, which refreshes the
 * entry's last_seen (so its idle timer sees a busy flow). */
static void test_age_refreshes_conntrack(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len = cached_flow(c, f, GWT_VIP4, 80);
	struct gw_ct *e;

	c->now += GW_CT_TOUCH_NS / 2;
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	c->now += GW_CT_TOUCH_NS / 2 + (1u << GW_FLOWC_STAMP_SHIFT);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	e = ct_of(c, GWT_CLIENT4, CPORT, GWT_VIP4, 80, 0);
	assert_non_null(e);
	assert_int_equal(e->last_seen_ns, c->now);
	gwt_ctx_free(c);
}

/* SYN, FIN and RST always reach conntrack: FIN marks the entry closing even
 * while the flow is cached. */
static void test_tcp_flags_bypass(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len = cached_flow(c, f, GWT_VIP4, 80);
	struct gw_ct *e;

	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_SYN, 0);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_ACK | GW_TCP_FIN, 0);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	e = ct_of(c, GWT_CLIENT4, CPORT, GWT_VIP4, 80, 0);
	assert_non_null(e);
	assert_true(e->flags & GW_CT_F_CLOSING);
	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_RST, 0);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	gwt_ctx_free(c);
}

/* A packet longer than any the FIB passed for the cached next hop asks the
 * FIB (whose MTU check may refuse it); once passed, that length is cached. */
static void test_longer_packet_asks_fib(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_SYN, 0);
	__u32 i;

	fib_run(c, 0, f, len, &res);
	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_ACK, 10);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_ACK, 1000);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_ACK, 10);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0); /* the shorter one too */

	for (i = 0; i < c->n_routes; i++)
		c->routes[i].mtu = 600;
	c->epoch++;
	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_ACK, 10);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4, 80, GW_TCP_ACK, 1000);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TOO_BIG);
	gwt_ctx_free(c);
}

/* A cached flow whose gateway went down is not sent to it: conntrack
 * balances it anew, before gatewayd has even moved the epoch on. */
static void test_peer_down_leaves_cache(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len = cached_flow(c, f, GWT_VIP4_REMOTE, 443);

	c->peers[GWT_PEER_ID].flags &= ~GW_PEER_F_UP;
	gwt_maglev_one(c, GWT_SVC_REMOTE, GW_MAGLEV_CLIENT, 0, GWT_BE_LOCAL);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	gwt_ctx_free(c);
}

/* s's packet as the peer gateway at peer_addr tunnels it to us. */
static size_t tunnelled4(__u8 *f, __be32 peer_addr, struct gwt_spec *s)
{
	__u8 inner[GWT_PKT_MAX], o[12];
	size_t n;

	s->no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	return gwt_build_geneve(f, GWT_PKT_MAX, peer_addr, GWT_EXT4, 51234, GW_GENEVE_PORT,
				GWT_PEER_SITE, o, 12, inner, n);
}

/* Replies that come back through the tunnel are cached under the peer's
 * zone; UDP is cached. */
static void test_decap_and_udp(void **state)
{
	__u8 f[GWT_PKT_MAX], out[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len = tcp4(f, GWT_CLIENT4, CPORT, GWT_VIP4_REMOTE, 443, GW_TCP_SYN, 0), n;
	struct gwt_spec s;

	fib_run(c, 0, f, len, &res);
	s = spec4(IPPROTO_TCP, GWT_VIP4_REMOTE, 443, GWT_CLIENT4, CPORT);
	s.tcp_flags = GW_TCP_ACK;
	len = tunnelled4(f, GWT_PEER4, &s);
	n = len - GW_TUNNEL_OVERHEAD - 14;
	assert_int_equal(fib_run(c, 1, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	memcpy(out, gwt_packet(c), n + 14);
	assert_int_equal(fib_run(c, 1, f, len, &res), 0);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	assert_int_equal(gwt_packet_len(c), n + 14);
	assert_memory_equal(gwt_packet(c), out, n + 14);
	/* the same tuple from this site's side is another flow: not this entry */
	len = tcp4(f, GWT_VIP4_REMOTE, 443, GWT_CLIENT4, CPORT, GW_TCP_ACK, 0);
	fib_run(c, 0, f, len, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);

	s = spec4(IPPROTO_UDP, GWT_CLIENT4, 5353, GWT_VIP4, 53);
	len = build(f, &s);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);

	gwt_ctx_free(c);
}

/* Active-active: another site's client whose packets move from one of its
 * gateways to the other (the first failed, its routers noticed before our
 * probes did) has its replies sent to the second from the next packet on,
 * though the flow is cached: the cache does not serve a packet that comes
 * through another gateway than the one it recorded. */
static void test_peer_flow_moves_gateway(void **state)
{
	const __be32 peer2 = GWT_IP4(192, 0, 2, 3);
	__u8 f[GWT_PKT_MAX], r[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, CPORT, GWT_VIP4, 80);
	struct gw_pkt p;
	size_t len, rlen;
	__be32 dst;

	assert_int_equal(gwt_peer_set(c, 2, peer2, GWT_PEER_SITE, GW_PEER_F_UP), 0);
	s.tcp_flags = GW_TCP_SYN;
	len = tunnelled4(f, GWT_PEER4, &s);
	fib_run(c, 1, f, len, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), gwt_packet_len(c), &p), 0);
	rlen = tcp4(r, GWT_BE4, GWT_BE_PORT, GWT_INT4, gw_ntohs(p.sport), GW_TCP_ACK, 0);
	s.tcp_flags = GW_TCP_ACK;
	len = tunnelled4(f, GWT_PEER4, &s);
	assert_int_equal(fib_run(c, 1, f, len, &res), 1);
	assert_int_equal(fib_run(c, 1, f, len, &res), 0); /* cached */
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);

	/* through the second gateway: conntrack, then cached again */
	len = tunnelled4(f, peer2, &s);
	assert_int_equal(fib_run(c, 1, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(fib_run(c, 1, f, len, &res), 0);
	/* and the backend's replies go to it, the first one already */
	fib_run(c, 0, r, rlen, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_REMOTE);
	memcpy(&dst, gwt_packet(c) + 14 + 16, 4);
	assert_int_equal(dst, peer2);
	fib_run(c, 0, r, rlen, &res);
	memcpy(&dst, gwt_packet(c) + 14 + 16, 4);
	assert_int_equal(dst, peer2);
	gwt_ctx_free(c);
}

static size_t tcp6(__u8 *f, const __be32 *src, __u16 sport, const __be32 *dst, __u16 dport,
		   __u16 payload)
{
	struct gwt_spec s = spec6(IPPROTO_TCP, src, sport, dst, dport);

	s.tcp_flags = GW_TCP_ACK;
	s.payload_len = payload;
	return build(f, &s);
}

/* IPv6 has its own cache (128-byte slots, four-word addresses): a local
 * flow both ways leaves it as the conntrack path sends it, and a new epoch
 * sends it back through the FIB. */
static void test_ipv6_nat_both_ways(void **state)
{
	__u8 f[GWT_PKT_MAX], out[GWT_PKT_MAX], r[GWT_PKT_MAX];
	const __be32 *client = GWT_A6(10, 0, 5), *be = GWT_A6(1, 1, 0x10);
	struct gwt_spec sp = spec6(IPPROTO_TCP, client, CPORT, GWT_VIP6, 80);
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	size_t len, rlen, olen;
	struct gw_pkt p;
	__u16 snat;

	sp.tcp_flags = GW_TCP_SYN;
	len = build(f, &sp);
	fib_run(c, 0, f, len, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + gwt_packet_len(c), &p), 0);
	snat = gw_ntohs(p.sport);

	len = tcp6(f, client, CPORT, GWT_VIP6, 80, 200);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	olen = gwt_packet_len(c);
	memcpy(out, gwt_packet(c), olen);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(gwt_packet_len(c), olen);
	assert_memory_equal(gwt_packet(c), out, olen);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + olen, &p), 0);
	assert_memory_equal(p.dst, be, 16);
	assert_memory_equal(p.src, c->cfg.int_addr6, 16);

	/* a client differing only in the last address word is not this slot's */
	len = tcp6(f, GWT_A6(10, 0, 6), CPORT, GWT_VIP6, 80, 200);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);

	rlen = tcp6(r, be, GWT_BE_PORT, c->cfg.int_addr6, snat, 300);
	assert_int_equal(fib_run(c, 0, r, rlen, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	memcpy(out, gwt_packet(c), rlen);
	assert_int_equal(fib_run(c, 0, r, rlen, &res), 0);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);
	assert_memory_equal(gwt_packet(c), out, rlen);
	assert_int_equal(gw_parse(gwt_packet(c), gwt_packet(c) + rlen, &p), 0);
	assert_memory_equal(p.src, GWT_VIP6, 16);
	assert_memory_equal(p.dst, client, 16);

	c->epoch++;
	assert_int_equal(fib_run(c, 0, r, rlen, &res), 1);
	assert_int_equal(fib_run(c, 0, r, rlen, &res), 0);
	gwt_ctx_free(c);
}

static size_t udp4(__u8 *f, __u16 sport)
{
	struct gwt_spec s = spec4(IPPROTO_UDP, GWT_CLIENT4, sport, GWT_VIP4, 53);

	return build(f, &s);
}

static __u32 pair_of(__u16 sport)
{
	struct gw_pkt p;

	memset(&p, 0, sizeof(p));
	p.family = GW_AF_INET;
	p.proto = IPPROTO_UDP;
	p.src[0] = GWT_CLIENT4;
	p.dst[0] = GWT_VIP4;
	p.sport = gw_htons(sport);
	p.dport = gw_htons(53);
	return gw_flowc_index(&p, 0) & (GWT_FLOWC - 1) & ~1u;
}

/* Two flows whose indexes name the same pair of slots both stay cached; a
 * third does not evict either while both are current, so that three busy
 * flows do not evict each other on every packet; once one of the two is a
 * second old, the third takes its slot. */
static void test_two_way(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = cache_on();
	__u16 port[3], sp;
	size_t len;
	int n = 1;

	port[0] = 20000;
	for (sp = 20001; n < 3 && sp < 30000; sp++)
		if (pair_of(sp) == pair_of(port[0]))
			port[n++] = sp;
	assert_int_equal(n, 3);

	len = udp4(f, port[0]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	c->now += 10 * (1u << GW_FLOWC_STAMP_SHIFT);
	len = udp4(f, port[1]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	len = udp4(f, port[0]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	len = udp4(f, port[1]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);

	c->now += 10 * (1u << GW_FLOWC_STAMP_SHIFT);
	len = udp4(f, port[2]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1); /* not cached */
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	len = udp4(f, port[0]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	len = udp4(f, port[1]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);

	/* port[0]'s slot, filled first, ages out first: the third takes it */
	c->now += GW_CT_TOUCH_NS - 15 * (1ull << GW_FLOWC_STAMP_SHIFT);
	len = udp4(f, port[2]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	len = udp4(f, port[1]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 0);
	len = udp4(f, port[0]);
	assert_int_equal(fib_run(c, 0, f, len, &res), 1);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	gwt_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_hit_is_identical),
		cmocka_unit_test(test_local_nat_both_ways),
		cmocka_unit_test(test_epoch_moves_next_hop),
		cmocka_unit_test(test_age_refreshes_conntrack),
		cmocka_unit_test(test_tcp_flags_bypass),
		cmocka_unit_test(test_longer_packet_asks_fib),
		cmocka_unit_test(test_peer_down_leaves_cache),
		cmocka_unit_test(test_decap_and_udp),
		cmocka_unit_test(test_peer_flow_moves_gateway),
		cmocka_unit_test(test_ipv6_nat_both_ways),
		cmocka_unit_test(test_two_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
