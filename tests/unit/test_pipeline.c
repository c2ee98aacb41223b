/* Native unit tests of the shared packet pipeline's parts
 * (include/gw/pipeline/): checksum updates against full recomputation, MSS
 * clamp, Geneve framing, the flow hash. The parser's edge cases are in
 * test_pipeline_parse.c, whole packets through gw_pipeline_int/ext in
 * test_pipeline_e2e*.c. No root, no network. */
#include "pipeline_test.h"

#define RAND_SEED  0x15f4a2c3d5e6f708ull
#define CSUM_ITERS 20000

static __u64 rng = RAND_SEED;

static inline __u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (__u32)(rng >> 32);
}

static inline void rnd_bytes(void *buf, size_t n)
{
	__u8 *b = buf;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (__u8)rnd();
}

/* --- checksums -------------------------------------------------------------------- */

static void test_csum_ipv4_header_vector(void **state)
{
	/* the textbook example header: checksum 0xb861 */
	static const __u8 h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	__u16 sum = gw_csum_ipv4_hdr(h);

	assert_int_equal(gwt_get16((__u8 *)&sum), 0xb861);
	assert_int_equal(gwt_ipv4_csum_full(h), 0xb861);
}

static void rnd_addr(__u8 family, __be32 *a)
{
	memset(a, 0, 16);
	rnd_bytes(a, family == GW_AF_INET ? 4 : 16);
}

/* Random TCP/UDP packets: gw_nat_rewrite's incremental updates equal a
 * full recomputation, for one or both rewrites and either order; a UDP
 * checksum 0 (none) stays 0, in IPv6 too. */
static void nat_random(__u8 family)
{
	__u8 ipo[40], tcpo[40];
	FRAME(f);
	unsigned int it, zero_kept = 0, udp_ffff = 0;

	for (it = 0; it < CSUM_ITERS; it++) {
		struct gwt_spec s;
		struct gw_pkt p;
		__be32 a[4];
		__be16 port;
		size_t len;
		int which, twice = rnd() & 1, k;

		memset(&s, 0, sizeof(s));
		s.family = family;
		s.proto = rnd() & 1 ? IPPROTO_TCP : IPPROTO_UDP;
		rnd_addr(family, s.src);
		rnd_addr(family, s.dst);
		s.sport = (__u16)rnd();
		s.dport = (__u16)rnd();
		s.tcp_flags = (__u8)rnd();
		s.payload_len = rnd() % 300;
		if (family == GW_AF_INET) {
			s.ip_opts_len = (rnd() % 11) * 4;
			rnd_bytes(ipo, sizeof(ipo));
			s.ip_opts = ipo;
		}
		s.udp_csum_zero = s.proto == IPPROTO_UDP && rnd() % 8 == 0;
		if (s.proto == IPPROTO_TCP) {
			s.tcp_opts_len = (rnd() % 11) * 4;
			rnd_bytes(tcpo, sizeof(tcpo));
			s.tcp_opts = tcpo;
		}
		len = build(f, &s);
		assert_int_equal(parse_exact(f, len, &p), 0);
		which = rnd() & 1;
		for (k = 0; k <= twice; k++, which ^= 1) {
			rnd_addr(family, a);
			port = (__be16)rnd();
			assert_int_equal(gw_nat_rewrite(f, f + len, &p, which, a, port), 0);
			assert_memory_equal(which == GW_NAT_SRC ? p.src : p.dst, a, 16);
			assert_int_equal(which == GW_NAT_SRC ? p.sport : p.dport, port);
			assert_memory_equal(f + p.l4_off + (which == GW_NAT_SRC ? 0 : 2), &port, 2);
		}
		if (s.udp_csum_zero) {
			assert_int_equal(gwt_get16(f + p.l4_off + 6), 0);
			zero_kept++;
		}
		if (s.proto == IPPROTO_UDP && gwt_get16(f + p.l4_off + 6) == 0xffff)
			udp_ffff++;
		expect_csums(f, len);
		{
			struct gw_pkt q;

			assert_int_equal(parse_exact(f, len, &q), 0);
			assert_memory_equal(q.src, p.src, 16);
			assert_memory_equal(q.dst, p.dst, 16);
			assert_int_equal(q.sport, p.sport);
			assert_int_equal(q.dport, p.dport);
		}
	}
	assert_true(zero_kept > 100);
	print_message("    %u packets, %u UDP with checksum 0 kept, %u UDP sums 0xffff\n",
		      CSUM_ITERS, zero_kept, udp_ffff);
}

static void test_csum_nat_random_ipv4(void **state)
{
	nat_random(GW_AF_INET);
}

static void test_csum_nat_random_ipv6(void **state)
{
	nat_random(GW_AF_INET6);
}

/* A rewrite whose incremental result would be 0 must send 0xffff for UDP. */
static void test_csum_nat_udp_zero_result(void **state)
{
	FRAME(f);
	struct gwt_spec s = spec4(IPPROTO_UDP, GWT_CLIENT4, 1000, GWT_VIP4, 53);
	unsigned int hits = 0, it;

	for (it = 0; it < 200000 && hits < 3; it++) {
		struct gw_pkt p;
		__be32 a[4] = {0};
		size_t len;
		__u16 before;
		__u32 t;

		s.payload_len = 4;
		s.sport = (__u16)rnd();
		len = build(f, &s);
		assert_int_equal(parse_exact(f, len, &p), 0);
		before = gwt_get16(f + 40);
		/* new port = old sum + old port (one's complement): the updated
		 * sum is a one's complement zero, which UDP must send as 0xffff */
		a[0] = p.dst[0];
		t = (__u32)before + gw_ntohs(p.dport);
		t = (t & 0xffff) + (t >> 16);
		assert_int_equal(gw_nat_rewrite(f, f + len, &p, GW_NAT_DST, a, gw_htons((__u16)t)),
				 0);
		if (gwt_get16(f + 40) == 0xffff)
			hits++;
		assert_int_not_equal(gwt_get16(f + 40), 0);
		expect_csums(f, len);
	}
	assert_true(hits > 0);
}

/* --- MSS clamp ---------------------------------------------------------------------- */

static void clamp_frame(__u8 *f, size_t len, __u16 max)
{
	struct gw_pkt p;

	assert_int_equal(parse_exact(f, len, &p), 0);
	if (gw_tcp_is_syn(&p))
		gw_tcp_clamp_mss(f, f + len, p.l4_off, max);
}

/* SYN with the options opts; the MSS after clamping, or 0 if none. */
static void expect_clamp(const __u8 *opts, size_t n, __u8 flags, __u16 max, __u16 want_mss,
			 int changed)
{
	__u8 orig[GWT_PKT_MAX], o[40];
	FRAME(f);
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	size_t len, i;

	memset(o, 0, sizeof(o));
	memcpy(o, opts, n);
	s.tcp_opts = o;
	s.tcp_opts_len = (__u8)((n + 3) & ~3u);
	s.tcp_flags = flags;
	s.payload_len = 7;
	len = build(f, &s);
	memcpy(orig, f, len);
	clamp_frame(f, len, max);
	expect_csums(f, len);
	if (!changed) {
		assert_memory_equal(f, orig, len);
		return;
	}
	for (i = 0; i + 4 <= n; i++)
		if (opts[i] == 2 && opts[i + 1] == 4)
			break;
	assert_true(i + 4 <= n);
	assert_int_equal(gwt_get16(f + 54 + i + 2), want_mss);
	/* nothing but the MSS value and the checksum moved */
	memcpy(orig + 54 + i + 2, f + 54 + i + 2, 2);
	memcpy(orig + 50, f + 50, 2);
	assert_memory_equal(f, orig, len);
}

static void test_mss_clamp_first(void **state)
{
	expect_clamp(opt_mss1460, sizeof(opt_mss1460), GW_TCP_SYN, 1412, 1412, 1);
	expect_clamp(opt_mss1460, sizeof(opt_mss1460), GW_TCP_SYN | GW_TCP_ACK, 1000, 1000, 1);
	expect_clamp(opt_mss1460, sizeof(opt_mss1460), GW_TCP_SYN, 1, 1, 1);
}

static void test_mss_clamp_after_nops_odd(void **state)
{
	static const __u8 nop1[] = {1, 2, 4, 0x05, 0xb4, 1, 1, 1};
	static const __u8 nop2[] = {1, 1, 2, 4, 0x05, 0xb4, 1, 1};
	static const __u8 nop3[] = {1, 1, 1, 2, 4, 0x05, 0xb4, 1};
	/* NOP, timestamps, then MSS at an odd offset */
	static const __u8 ts_odd[] = {1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 2, 4, 0xff, 0xff, 0};
	static const __u8 ws_odd[] = {3, 3, 7, 2, 4, 0x23, 0x45, 0};
	__u8 nops[40];
	size_t n;
	__u16 v;

	/* as late as the option space allows: after 11 NOPs (the walk once
	 * stopped at 10 options), and after 36 (the last 4 bytes) */
	for (n = 11; n <= 36; n += 25) {
		memset(nops, 1, n);
		memcpy(nops + n, opt_mss1460, 4);
		expect_clamp(nops, n + 4, GW_TCP_SYN, 1412, 1412, 1);
	}
	for (v = 536; v < 1460; v += 37) {
		expect_clamp(nop1, sizeof(nop1), GW_TCP_SYN, v, v, 1);
		expect_clamp(nop2, sizeof(nop2), GW_TCP_SYN, v, v, 1);
		expect_clamp(nop3, sizeof(nop3), GW_TCP_SYN, v, v, 1);
		expect_clamp(ts_odd, sizeof(ts_odd), GW_TCP_SYN, v, v, 1);
		expect_clamp(ws_odd, sizeof(ws_odd), GW_TCP_SYN, v, v, 1);
	}
}

static void test_mss_clamp_unchanged(void **state)
{
	static const __u8 none[] = {1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
	static const __u8 eol_first[] = {0, 2, 4, 0x05, 0xb4, 0, 0, 0};
	static const __u8 bad_len[] = {1, 5, 1, 2, 4, 0x05, 0xb4, 0};
	static const __u8 mss1200[] = {2, 4, 0x04, 0xb0};

	expect_clamp(none, sizeof(none), GW_TCP_SYN, 1412, 0, 0);
	expect_clamp(mss1200, sizeof(mss1200), GW_TCP_SYN, 1412, 0, 0);
	expect_clamp(mss1200, sizeof(mss1200), GW_TCP_SYN, 1200, 0, 0);		/* equal */
	expect_clamp(opt_mss1460, sizeof(opt_mss1460), GW_TCP_ACK, 1412, 0, 0); /* no SYN */
	expect_clamp(eol_first, sizeof(eol_first), GW_TCP_SYN, 1412, 0, 0);
	expect_clamp(bad_len, sizeof(bad_len), GW_TCP_SYN, 1412, 0, 0);
	expect_clamp(opt_mss1460, 0, GW_TCP_SYN, 1412, 0, 0); /* no options at all */
}

/* Options claimed by the data offset but beyond the packet are not read. */
static void test_mss_clamp_options_past_end(void **state)
{
	__u8 orig[GWT_PKT_MAX];
	FRAME(f);
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	size_t len, cut;

	s.tcp_flags = GW_TCP_SYN;
	s.tcp_opts = (const __u8[]){1, 1, 1, 1};
	s.tcp_opts_len = 4;
	s.payload_len = 0;
	len = build(f, &s);
	f[46] = 0xf0; /* doff 15: 40 bytes of options that are not there */
	for (cut = 54; cut <= len; cut++) {
		struct gw_pkt p;

		gwt_put16(f + 16, (__u16)(cut - 14));
		/* the parser refuses the packet */
		assert_int_equal(parse_exact(f, cut, &p), -GW_R_DROP_TRUNCATED);
		/* and the clamp, which the BPF driver verifies on its own for
		 * any offset, does not go past the frame either */
		memcpy(orig, f, cut);
		gw_tcp_clamp_mss(f, f + cut, 34, 536);
		assert_memory_equal(f, orig, cut);
	}
}

/* An MSS option that runs past the TCP header (here into bytes after the IP
 * packet) is not an option: rewriting it would corrupt what follows and the
 * checksum. Found by fuzz_pipeline. */
static void test_mss_clamp_option_past_header(void **state)
{
	__u8 orig[GWT_PKT_MAX];
	FRAME(f);
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	size_t len;

	/* 8 option bytes: a 5-byte unknown option, then MSS kind/len and the
	 * first value byte; the second value byte is Ethernet padding */
	s.tcp_opts = (const __u8[8]){0xfd, 5, 0x85, 0xff, 0xff, 2, 4, 0x05};
	s.tcp_opts_len = 8;
	s.tcp_flags = GW_TCP_SYN;
	s.payload_len = 0;
	len = build(f, &s);
	f[len] = 0xb4;
	memset(f + len + 1, 0, 5);
	len += 6;
	memcpy(orig, f, len);
	clamp_frame(f, len, 1000);
	assert_memory_equal(f, orig, len);
	expect_csums(f, len);
	/* the same with payload after the header: the payload is not touched */
	s.payload_len = 4;
	len = build(f, &s);
	memcpy(orig, f, len);
	clamp_frame(f, len, 1000);
	assert_memory_equal(f, orig, len);
}

/* Random option layouts: the clamp's checksum equals a full recomputation. */
static void test_mss_clamp_random(void **state)
{
	__u8 o[40];
	FRAME(f);
	unsigned int it, clamped = 0;

	for (it = 0; it < CSUM_ITERS; it++) {
		struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
		size_t pos = 0, len;
		__u16 mss = (__u16)rnd(), max = (__u16)(rnd() % 1500 + 1);
		struct gw_pkt p;

		while (pos < 36 && rnd() % 3) {
			if (rnd() & 1) {
				o[pos++] = 1;
			} else {
				size_t l = 2 + rnd() % 8;

				if (pos + l > 36)
					break;
				o[pos] = (__u8)(3 + rnd() % 20);
				o[pos + 1] = (__u8)l;
				rnd_bytes(o + pos + 2, l - 2);
				pos += l;
			}
		}
		o[pos++] = 2;
		o[pos++] = 4;
		gwt_put16(o + pos, mss);
		pos += 2;
		memset(o + pos, 0, sizeof(o) - pos);
		s.tcp_opts = o;
		s.tcp_opts_len = (__u8)((pos + 3) & ~3u);
		s.tcp_flags = GW_TCP_SYN;
		s.payload_len = rnd() % 64;
		len = build(f, &s);
		assert_int_equal(parse_exact(f, len, &p), 0);
		assert_true(gw_tcp_is_syn(&p));
		gw_tcp_clamp_mss(f, f + len, p.l4_off, max);
		expect_csums(f, len);
		/* wherever the MSS sits, it is clamped if it is above max */
		if (mss > max) {
			assert_int_equal(gwt_get16(f + 54 + pos - 2), max);
			clamped++;
		} else {
			assert_int_equal(gwt_get16(f + 54 + pos - 2), mss);
		}
	}
	assert_true(clamped > CSUM_ITERS / 10);
}

/* --- Geneve ------------------------------------------------------------------------ */

static void geneve_roundtrip(const struct gwt_spec *s)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_ctx *c = topo_new();
	struct gw_geneve_info gi;
	struct gw_pkt p;
	size_t len = build(f, s);

	assert_int_equal(gwt_packet_set(c, f, len, GWT_HEADROOM), 0);
	assert_int_equal(gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p), 0);
	assert_int_equal(
		gw_geneve_encap(c, &c->cfg, &c->peers[GWT_PEER_ID], 0xabcdef01, 0x12345678, &p), 0);
	assert_int_equal(gwt_packet_len(c), len + GW_TUNNEL_OVERHEAD);
	assert_memory_equal(gwt_packet(c), f, 12); /* MACs kept for the FIB step */
	expect_outer(gwt_packet(c), len - 14, 0xabcdef01, 0x12345678);
	assert_memory_equal(gwt_packet(c) + 62, f + 14, len - 14);

	assert_int_equal(gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p), 0);
	assert_int_equal(gw_geneve_parse(gw_ctx_data(c), gw_ctx_data_end(c),
					 p.l4_off + sizeof(struct udphdr), &gi),
			 0);
	assert_int_equal(gi.identity, 0xabcdef01);
	assert_int_equal(gi.inner_off, 62);
	assert_int_equal(gw_geneve_decap(c, &gi), 0);
	assert_int_equal(gwt_packet_len(c), len);
	assert_memory_equal(gwt_packet(c), f, len);
	gwt_ctx_free(c);
}

static void test_geneve_roundtrip(void **state)
{
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	__u16 n;

	for (n = 0; n < 1400; n += 173) {
		s.proto = n & 1 ? IPPROTO_UDP : IPPROTO_TCP;
		s.payload_len = n;
		geneve_roundtrip(&s);
	}
	s = spec6(IPPROTO_UDP, GWT_A6(10, 0, 5), 1000, GWT_A6(96, 0, 0x10), 53);
	geneve_roundtrip(&s);
	s.proto = IPPROTO_TCP;
	s.payload_len = 0;
	geneve_roundtrip(&s);
}

static void test_geneve_encap_limits(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_UDP, GWT_CLIENT4, 1000, GWT_VIP4, 53);
	struct gw_pkt p;
	size_t len;

	s.payload_len = GWT_TUNNEL_MTU - GW_TUNNEL_OVERHEAD - 28; /* exactly fits */
	len = build(f, &s);
	assert_int_equal(gwt_packet_set(c, f, len, GW_TUNNEL_OVERHEAD), 0);
	assert_int_equal(gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p), 0);
	assert_int_equal(gw_geneve_encap(c, &c->cfg, &c->peers[GWT_PEER_ID], 1, 0, &p), 0);
	assert_int_equal(gwt_get16(gwt_packet(c) + 16), GWT_TUNNEL_MTU);

	s.payload_len++;
	len = build(f, &s);
	c->adjust_calls = 0;
	assert_int_equal(gwt_packet_set(c, f, len, GWT_HEADROOM), 0);
	assert_int_equal(gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p), 0);
	assert_int_equal(gw_geneve_encap(c, &c->cfg, &c->peers[GWT_PEER_ID], 1, 0, &p),
			 -GW_R_DROP_TOO_BIG);
	assert_int_equal(c->adjust_calls, 0);

	s.payload_len = 10;
	len = build(f, &s);
	assert_int_equal(gwt_packet_set(c, f, len, GW_TUNNEL_OVERHEAD - 1), 0);
	assert_int_equal(gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p), 0);
	assert_int_equal(gw_geneve_encap(c, &c->cfg, &c->peers[GWT_PEER_ID], 1, 0, &p),
			 -GW_R_DROP_NO_HEADROOM);
	assert_int_equal(gwt_packet_len(c), len);
	assert_memory_equal(gwt_packet(c), f, len);
	gwt_ctx_free(c);
}

/* A Geneve frame from the peer with raw options; returns its length. */
static size_t geneve_frame(__u8 *f, const __u8 *opts, size_t opts_len)
{
	__u8 inner[GWT_PKT_MAX];
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_REMOTE_CLIENT4, 40000, GWT_VIP4, 80);
	size_t n, len;

	s.no_eth = 1;
	s.tcp_flags = GW_TCP_SYN;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	assert_true(n > 0);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 50000, GW_GENEVE_PORT,
			       GWT_PEER_SITE, opts, opts_len, inner, n);
	assert_true(len > 0);
	return len;
}

static int geneve_parse_frame(const __u8 *f, size_t len, struct gw_geneve_info *gi)
{
	__u8 *m = malloc(GWT_IP_ALIGN + len);
	int r;

	assert_non_null(m);
	memcpy(m + GWT_IP_ALIGN, f, len);
	r = gw_geneve_parse(m + GWT_IP_ALIGN, m + GWT_IP_ALIGN + len, 42, gi);
	free(m);
	return r;
}

static void test_geneve_options(void **state)
{
	__u8 f[GWT_PKT_MAX], o[256];
	struct gw_geneve_info gi;
	size_t len;

	/* an unknown non-critical option first, then ours */
	memset(o, 0, sizeof(o));
	gwt_put16(o, 0x0101);
	o[2] = 0x05;
	o[3] = 2;
	memset(o + 4, 0x77, 8);
	gwt_opt_identity(o + 12, GWT_ID_PEER, GWT_PEER_SITE);
	len = geneve_frame(f, o, 24);
	assert_int_equal(geneve_parse_frame(f, len, &gi), 0);
	assert_int_equal(gi.identity, GWT_ID_PEER);
	assert_int_equal(gi.inner_off, 42 + 8 + 24);
	assert_int_equal(gi.inner_proto, ETH_P_IP);

	/* ours first, then a zero-length unknown non-critical option */
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	memset(o + 12, 0, 4);
	gwt_put16(o + 12, 0x0102);
	o[14] = 0x7f;
	len = geneve_frame(f, o, 16);
	assert_int_equal(geneve_parse_frame(f, len, &gi), 0);

	/* unknown critical option: drop, whatever follows */
	memset(o, 0, 4);
	gwt_put16(o, 0x0101);
	o[2] = 0x85;
	gwt_opt_identity(o + 4, GWT_ID_PEER, GWT_PEER_SITE);
	len = geneve_frame(f, o, 16);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);

	/* our class with a critical type that is not ours */
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	o[2] = 0xc9;
	len = geneve_frame(f, o, 12);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);

	/* an option's length overruns the options area */
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	memset(o + 12, 0, 4);
	gwt_put16(o + 12, 0x0101);
	o[15] = 1; /* claims 8 bytes, 4 remain */
	len = geneve_frame(f, o, 16);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	o[3] = 0x1f; /* our option claiming 128 bytes */
	len = geneve_frame(f, o, 12);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);
	o[3] = 1; /* our option with a wrong length */
	len = geneve_frame(f, o, 8);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);

	/* no identity option at all, and no options */
	memset(o, 0, 8);
	gwt_put16(o, 0x0101);
	o[3] = 1;
	len = geneve_frame(f, o, 8);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_NO_IDENTITY);
	len = geneve_frame(f, o, 0);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_NO_IDENTITY);

	/* more options than we walk: four unknown, ours fifth */
	memset(o, 0, 16);
	for (len = 0; len < 4; len++) {
		gwt_put16(o + len * 4, 0x0101);
		o[len * 4 + 2] = 1;
	}
	gwt_opt_identity(o + 16, GWT_ID_PEER, GWT_PEER_SITE);
	len = geneve_frame(f, o, 28);
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);
}

static void test_geneve_header(void **state)
{
	__u8 f[GWT_PKT_MAX], o[12];
	struct gw_geneve_info gi;
	size_t len;

	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = geneve_frame(f, o, 12);
	assert_int_equal(geneve_parse_frame(f, len, &gi), 0);
	f[42] |= 0x40; /* version 1 */
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);
	f[42] &= 0x3f;
	f[43] = 0x80; /* O: control message */
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);
	f[43] = 0x40; /* C alone is fine: we checked every option */
	assert_int_equal(geneve_parse_frame(f, len, &gi), 0);
	f[43] = 0;
	gwt_put16(f + 44, 0x6558); /* inner Ethernet: not ours */
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_BAD_GENEVE);
	gwt_put16(f + 44, ETH_P_IP);
	/* cut in the fixed header and in the option */
	assert_int_equal(geneve_parse_frame(f, 42 + 7, &gi), -GW_R_DROP_TRUNCATED);
	assert_int_equal(geneve_parse_frame(f, 42 + 8 + 3, &gi), -GW_R_DROP_TRUNCATED);
	assert_int_equal(geneve_parse_frame(f, 42 + 8 + 11, &gi), -GW_R_DROP_TRUNCATED);
	assert_int_equal(geneve_parse_frame(f, 42 + 8 + 12, &gi), 0);
}

/* Options that claim more bytes than the packet has are a truncated packet. */
static void test_geneve_options_past_end(void **state)
{
	__u8 f[GWT_PKT_MAX], o[140];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_geneve_info gi;
	size_t len;

	memset(o, 0, sizeof(o));
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	gwt_put16(o + 12, 0x0101);
	o[15] = 31; /* a 128-byte unknown option */
	len = geneve_frame(f, o, 140);
	/* keep the option headers, lose the rest of the option and the inner packet */
	len = 42 + 8 + 16;
	gwt_put16(f + 16, (__u16)(len - 14));
	gwt_put16(f + 24, 0);
	gwt_put16(f + 24, gwt_ipv4_csum_full(f + 14));
	assert_int_equal(geneve_parse_frame(f, len, &gi), -GW_R_DROP_TRUNCATED);
	run(c, 1, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_TRUNCATED);
	gwt_ctx_free(c);
}

/* --- flow hash ----------------------------------------------------------------------- */

static void test_hash_same_tuple(void **state)
{
	__be32 a[4], b[4], a2[4];
	unsigned int i, differ = 0;

	for (i = 0; i < 1000; i++) {
		__u32 h;

		rnd_bytes(a, sizeof(a));
		rnd_bytes(b, sizeof(b));
		memcpy(a2, a, sizeof(a));
		h = gw_flow_hash(a, b, 1, 2, IPPROTO_TCP);
		assert_int_equal(h, gw_flow_hash(a2, b, 1, 2, IPPROTO_TCP));
		differ += h != gw_flow_hash(a, b, 1, 3, IPPROTO_TCP);
		differ += h != gw_flow_hash(a, b, 1, 2, IPPROTO_UDP);
		differ += h != gw_flow_hash(b, a, 2, 1, IPPROTO_TCP);
	}
	assert_true(differ >= 2990);
	/* Golden value: every gateway and driver must agree on the hash, so a
	 * change here is a data-plane ABI change (flows move between backends
	 * while gateways of two versions run). */
	a[0] = GWT_CLIENT4;
	b[0] = GWT_VIP4;
	a[1] = a[2] = a[3] = b[1] = b[2] = b[3] = 0;
	assert_int_equal(gw_flow_hash(a, b, gw_htons(33333), gw_htons(80), IPPROTO_TCP),
			 0x4c586a2f);
}

static void test_hash_distribution(void **state)
{
	unsigned int lo[16] = {0}, hi[16] = {0}, i;

	for (i = 0; i < 10000; i++) {
		__be32 a[4] = {0}, b[4] = {GWT_VIP4, 0, 0, 0};
		__u32 h;

		a[0] = gw_htonl(0x0a0a0000 | (rnd() & 0xffff)); /* clients in one /16 */
		h = gw_flow_hash(a, b, (__be16)rnd(), gw_htons(80), IPPROTO_TCP);
		lo[h % 16]++;
		hi[h >> 28]++;
	}
	for (i = 0; i < 16; i++) {
		if (lo[i] < 500 || lo[i] > 750 || hi[i] < 500 || hi[i] > 750)
			print_error("bucket %u: low bits %u, high bits %u (want 625 +-20%%)\n", i,
				    lo[i], hi[i]);
		assert_in_range(lo[i], 500, 750);
		assert_in_range(hi[i], 500, 750);
	}
	/* the outer source port stays in the dynamic range */
	for (i = 0; i < 1000; i++)
		assert_true(gw_ntohs(gw_geneve_sport(rnd())) >= 49152);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_ipv4_header_vector),
		cmocka_unit_test(test_csum_nat_random_ipv4),
		cmocka_unit_test(test_csum_nat_random_ipv6),
		cmocka_unit_test(test_csum_nat_udp_zero_result),
		cmocka_unit_test(test_mss_clamp_first),
		cmocka_unit_test(test_mss_clamp_after_nops_odd),
		cmocka_unit_test(test_mss_clamp_unchanged),
		cmocka_unit_test(test_mss_clamp_options_past_end),
		cmocka_unit_test(test_mss_clamp_option_past_header),
		cmocka_unit_test(test_mss_clamp_random),
		cmocka_unit_test(test_geneve_roundtrip),
		cmocka_unit_test(test_geneve_encap_limits),
		cmocka_unit_test(test_geneve_options),
		cmocka_unit_test(test_geneve_header),
		cmocka_unit_test(test_geneve_options_past_end),
		cmocka_unit_test(test_hash_same_tuple),
		cmocka_unit_test(test_hash_distribution),
	};

	print_message("pipeline tests: PRNG seed 0x%016llx\n", (unsigned long long)RAND_SEED);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
