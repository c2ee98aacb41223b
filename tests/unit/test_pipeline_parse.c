/* Native unit tests of the shared pipeline's parser (gw_parse) and what the
 * pipeline does with what it refuses: short or non-IP frames, IPv4 and IPv6
 * headers, options, extension headers, fragments, truncated L4 headers, and
 * L4 kinds (TCP, ICMP echo and errors, SCTP, no ports). No root, no network. */
#include "pipeline_test.h"

static void test_parse_eth_short(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	struct gw_pkt p;
	size_t len, n;

	len = build(f, &s);
	for (n = 0; n < 14; n++) {
		assert_int_equal(parse_exact(f, n, &p), -GW_R_DROP_TRUNCATED);
		run(c, 0, f, n, GWT_HEADROOM, &res);
		expect_result(&res, GW_ACT_DROP, GW_R_DROP_TRUNCATED);
		run(c, 1, f, n, GWT_HEADROOM, &res);
		expect_result(&res, GW_ACT_DROP, GW_R_DROP_TRUNCATED);
	}
	/* exactly an Ethernet header of IPv4: the IP header is missing */
	assert_int_equal(parse_exact(f, 14, &p), -GW_R_DROP_TRUNCATED);
	assert_int_equal(parse_exact(f, len, &p), 0);
	gwt_ctx_free(c);
}

static void test_parse_not_ip(void **state)
{
	__u8 f[64] = {0};
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;

	gwt_put16(f + 12, 0x0806); /* ARP */
	assert_int_equal(parse_exact(f, sizeof(f), &p), GW_PARSE_NOT_IP);
	run(c, 0, f, sizeof(f), GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	run(c, 1, f, sizeof(f), GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	gwt_put16(f + 12, 0x8100); /* VLAN tags are not parsed */
	assert_int_equal(parse_exact(f, 14, &p), GW_PARSE_NOT_IP);
	gwt_ctx_free(c);
}

static void test_parse_ipv4_bad_header(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;
	size_t len = build(f, &s);
	int ihl;

	for (ihl = 0; ihl < 5; ihl++) {
		f[14] = (__u8)(0x40 | ihl);
		assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_BAD_IHL);
		run(c, 0, f, len, GWT_HEADROOM, &res);
		expect_result(&res, GW_ACT_DROP, GW_R_DROP_BAD_IHL);
	}
	f[14] = 0x65; /* version 6 behind an IPv4 ethertype */
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_BAD_IP);
	f[14] = 0x45;
	/* 19 bytes of IPv4 header */
	assert_int_equal(parse_exact(f, 14 + 19, &p), -GW_R_DROP_TRUNCATED);
	gwt_ctx_free(c);
}

static void test_parse_ipv4_options(void **state)
{
	__u8 f[GWT_PKT_MAX], opts[40];
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	struct gw_pkt p;
	size_t len;
	int ihl;

	memset(opts, 1, sizeof(opts)); /* NOPs */
	s.ip_opts = opts;
	for (ihl = 5; ihl <= 15; ihl++) {
		s.ip_opts_len = (__u8)((ihl - 5) * 4);
		len = build(f, &s);
		assert_int_equal(parse_exact(f, len, &p), 0);
		assert_int_equal(p.l4_off, 14 + ihl * 4);
		assert_int_equal(p.sport, gw_htons(1000));
		assert_int_equal(p.dport, gw_htons(80));
		assert_true(p.flags & GW_PKT_F_L4);
		expect_csums(f, len);
		/* the options run past the end of the buffer */
		if (ihl > 5)
			assert_int_equal(parse_exact(f, 14 + ihl * 4 - 1, &p),
					 -GW_R_DROP_TRUNCATED);
	}
}

static void test_parse_ipv4_tot_len(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gwt_spec s = spec4(IPPROTO_UDP, GWT_CLIENT4, 1000, GWT_VIP4, 53);
	struct gw_pkt p;
	size_t len = build(f, &s);
	__u16 tot = gwt_get16(f + 16);

	gwt_put16(f + 16, tot + 1); /* one byte beyond the buffer */
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
	gwt_put16(f + 16, 0xffff);
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
	gwt_put16(f + 16, 19); /* shorter than the header */
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_BAD_IP);
	gwt_put16(f + 16, tot);
	/* Ethernet padding after the IP packet is fine */
	memset(f + len, 0, 18);
	assert_int_equal(parse_exact(f, len + 18, &p), 0);
	assert_int_equal(p.l3_len, tot);
}

static void test_parse_ipv4_fragments(void **state)
{
	static const __u16 frags[] = {0x2000, 0x2010, 0x0010, 0x1fff};
	__u8 f[GWT_PKT_MAX];
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;
	size_t len, i;

	for (i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		s.frag = frags[i]; /* first (MF, offset 0), middle, last, odd offset */
		s.dst[0] = GWT_VIP4;
		len = build(f, &s);
		assert_int_equal(parse_exact(f, len, &p), 0);
		assert_true(p.flags & GW_PKT_F_FRAGMENT);
		assert_false(p.flags & GW_PKT_F_L4);
		assert_int_equal(p.sport, 0);
		run(c, 0, f, len, GWT_HEADROOM, &res);
		expect_result(&res, GW_ACT_DROP, GW_R_DROP_FRAGMENT);
		s.dst[0] = GWT_IP4(10, 50, 0, 1); /* not a VIP: the kernel's business */
		len = build(f, &s);
		run(c, 0, f, len, GWT_HEADROOM, &res);
		expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	}
	/* a non-first fragment too short for a TCP header is still no error */
	s.frag = 0x0010;
	s.payload_len = 0;
	s.tcp_opts_len = 0;
	len = build(f, &s) - 20;
	gwt_put16(f + 16, 20);
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_true(p.flags & GW_PKT_F_FRAGMENT);
	s.frag = 0x4000; /* DF alone is no fragment */
	len = build(f, &s);
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_false(p.flags & GW_PKT_F_FRAGMENT);
	assert_true(p.flags & GW_PKT_F_L4);
	gwt_ctx_free(c);
}

/* IPv6 + the given extension headers + TCP; returns the frame length. */
static size_t build_v6_ext(__u8 *f, const __u8 *types, int n, size_t *ret_l4_off)
{
	struct gwt_spec s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 5), 1000, GWT_A6(96, 0, 0x10), 80);
	__u8 tcp[GWT_PKT_MAX];
	size_t tcp_len, off = 54;
	int i;

	tcp_len = build(tcp, &s) - 54;
	memcpy(f, tcp, 54);
	f[20] = n ? types[0] : IPPROTO_TCP;
	for (i = 0; i < n; i++) {
		size_t ext_len = types[i] == IPPROTO_ROUTING ? 24 : 8;

		memset(f + off, 0, ext_len);
		f[off] = i + 1 < n ? types[i + 1] : IPPROTO_TCP;
		if (types[i] != IPPROTO_FRAGMENT)
			f[off + 1] = (__u8)(ext_len / 8 - 1);
		else
			f[off + 3] = 1; /* M: a first fragment */
		off += ext_len;
	}
	memcpy(f + off, tcp + 54, tcp_len);
	gwt_put16(f + 18, (__u16)(off - 54 + tcp_len));
	*ret_l4_off = off;
	return off + tcp_len;
}

static void test_parse_ipv6_ext_headers(void **state)
{
	static const __u8 types[] = {IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
				     IPPROTO_DSTOPTS, IPPROTO_ROUTING};
	static const __u8 frag[] = {IPPROTO_HOPOPTS, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS};
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;
	size_t len, l4_off;
	int n;

	for (n = 0; n <= 4; n++) { /* DESIGN: four are walked, a fifth is dropped */
		len = build_v6_ext(f, types, n, &l4_off);
		assert_int_equal(parse_exact(f, len, &p), 0);
		assert_int_equal(p.family, GW_AF_INET6);
		assert_int_equal(p.proto, IPPROTO_TCP);
		assert_int_equal(p.l4_off, l4_off);
		assert_int_equal(p.l3_len, len - 14);
		assert_true(p.flags & GW_PKT_F_L4);
		assert_int_equal(p.dport, gw_htons(80));
		/* cut inside the last extension header, payload length agreeing */
		if (n) {
			gwt_put16(f + 18, (__u16)(l4_off - 1 - 54));
			assert_int_equal(parse_exact(f, l4_off - 1, &p), -GW_R_DROP_TRUNCATED);
			/* the payload ends inside the first extension header,
			 * the frame goes on: what follows is not a header */
			gwt_put16(f + 18, 4);
			assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
		}
	}
	len = build_v6_ext(f, types, 5, &l4_off);
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_IPV6_EXT);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_IPV6_EXT);

	len = build_v6_ext(f, frag, 3, &l4_off);
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_true(p.flags & GW_PKT_F_FRAGMENT);
	assert_false(p.flags & GW_PKT_F_L4);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_FRAGMENT);

	/* one routing header of 2 KiB puts L4 beyond what we walk */
	len = build_v6_ext(f, types, 1, &l4_off);
	f[54 + 1] = 255;
	memset(f + len, 0, 2048);
	gwt_put16(f + 18, (__u16)(len + 2048 - 54));
	assert_true(parse_exact(f, len + 2048, &p) < 0);
	gwt_ctx_free(c);
}

/* IPv6 + a Fragment header (frag: offset << 3 | M, host order) with the
 * given next header, then payload; returns the frame length. */
static size_t build_v6_frag(__u8 *f, const __be32 *dst, __u16 frag, __u8 next, const __u8 *payload,
			    size_t payload_len)
{
	struct gwt_spec s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 5), 1000, dst, 80);
	__u8 hdr[GWT_PKT_MAX];

	build(hdr, &s);
	memcpy(f, hdr, 54);
	f[20] = IPPROTO_FRAGMENT;
	memset(f + 54, 0, 8);
	f[54] = next;
	gwt_put16(f + 56, frag);
	gwt_put16(f + 58, 0x1234); /* identification */
	memcpy(f + 62, payload, payload_len);
	gwt_put16(f + 18, (__u16)(8 + payload_len));
	return 62 + payload_len;
}

/* Only the first fragment carries the headers after the Fragment header
 * (RFC 8200 §4.5): in a later one the same Next Header value is followed by
 * payload, which the parser must not walk as extension headers. Fragments
 * to a VIP are dropped; others are the kernel's. */
static void test_parse_ipv6_fragments(void **state)
{
	static const struct {
		const char *desc;
		__u16 frag;
		__u8 next;
		__u8 first_byte, second_byte; /* of the payload, else zeros */
	} rows[] = {
		{"first fragment, TCP follows", 0x0001, IPPROTO_TCP, 0, 0},
		{"first fragment, destination options then TCP", 0x0001, IPPROTO_DSTOPTS,
		 IPPROTO_TCP, 0},
		{"middle fragment, TCP payload", 0x05c9, IPPROTO_TCP, 0, 0},
		{"last fragment of a packet with destination options", 0x05c8, IPPROTO_DSTOPTS, 0,
		 0},
		{"middle fragment whose payload looks like a 2 KiB header", 0x05c9, IPPROTO_DSTOPTS,
		 IPPROTO_TCP, 255},
	};
	__u8 f[GWT_PKT_MAX], payload[64], seg[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s;
	struct gw_pkt p;
	size_t len, i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("%s\n", rows[i].desc);
		memset(payload, 0, sizeof(payload));
		payload[0] = rows[i].first_byte;
		payload[1] = rows[i].second_byte;
		len = build_v6_frag(f, GWT_VIP6, rows[i].frag, rows[i].next, payload,
				    sizeof(payload));
		assert_int_equal(parse_exact(f, len, &p), 0);
		assert_true(p.flags & GW_PKT_F_FRAGMENT);
		assert_false(p.flags & GW_PKT_F_L4);
		run(c, 0, f, len, GWT_HEADROOM, &res);
		expect_result(&res, GW_ACT_DROP, GW_R_DROP_FRAGMENT);
		len = build_v6_frag(f, GWT_A6(50, 0, 1), rows[i].frag, rows[i].next, payload,
				    sizeof(payload));
		run(c, 0, f, len, GWT_HEADROOM, &res);
		expect_result(&res, GW_ACT_PASS, GW_R_PASS);
		/* with a payload length of 0, the same bytes are padding
		 * after the packet, and the packet is truncated */
		gwt_put16(f + 18, 0);
		assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
	}

	/* offset 0 and no M: an atomic fragment is a whole packet (RFC 8200
	 * §4.5, RFC 6946), balanced like one */
	s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 5), 1000, GWT_VIP6, 80);
	s.tcp_flags = GW_TCP_SYN;
	len = build(seg, &s);
	len = build_v6_frag(f, GWT_VIP6, 0, IPPROTO_TCP, seg + 54, len - 54);
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_false(p.flags & GW_PKT_F_FRAGMENT);
	assert_true(p.flags & GW_PKT_F_L4);
	assert_int_equal(p.l4_off, 62);
	assert_int_equal(p.dport, gw_htons(80));
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	assert_int_equal(parse_exact(gwt_packet(c), gwt_packet_len(c), &p), 0);
	assert_memory_equal(p.dst, GWT_A6(1, 1, 0x10), 16);
	assert_int_equal(gw_ntohs(p.dport), GWT_BE_PORT);
	expect_csums(gwt_packet(c), gwt_packet_len(c));
	gwt_ctx_free(c);
}

static void test_parse_ipv6_payload_len(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gwt_spec s = spec6(IPPROTO_UDP, GWT_A6(10, 0, 5), 1000, GWT_A6(96, 0, 0x10), 53);
	struct gw_pkt p;
	size_t len = build(f, &s);
	__u16 pl = gwt_get16(f + 18);

	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_int_equal(p.l3_len, pl + 40);
	gwt_put16(f + 18, pl + 1);
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
	f[14] = 0x40; /* version 4 behind an IPv6 ethertype */
	gwt_put16(f + 18, pl);
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_BAD_IP);
	f[14] = 0x60;
	assert_int_equal(parse_exact(f, 14 + 39, &p), -GW_R_DROP_TRUNCATED);
	/* payload lengths near 64 KiB must not wrap the 16-bit l3_len */
	gwt_put16(f + 18, 0xffff);
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
	gwt_put16(f + 18, 0xffd8);
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
}

/* Cut the packet right after k bytes of L4 header, with tot_len agreeing. */
static void expect_l4_truncated(struct gwt_spec *s, size_t hdr)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_pkt p;
	size_t k;

	s->payload_len = 0;
	build(f, s);
	for (k = 0; k < hdr; k++) {
		if (s->family == GW_AF_INET)
			gwt_put16(f + 16, (__u16)(20 + k));
		else
			gwt_put16(f + 18, (__u16)k);
		assert_int_equal(parse_exact(f, (s->family == GW_AF_INET ? 34 : 54) + k, &p),
				 -GW_R_DROP_TRUNCATED);
		/* the same with the header's other bytes still in the frame,
		 * after the IP packet's end: padding, not header */
		assert_int_equal(parse_exact(f, (s->family == GW_AF_INET ? 34 : 54) + hdr, &p),
				 -GW_R_DROP_TRUNCATED);
	}
	if (s->family == GW_AF_INET)
		gwt_put16(f + 16, (__u16)(20 + hdr));
	else
		gwt_put16(f + 18, (__u16)hdr);
	assert_int_equal(parse_exact(f, (s->family == GW_AF_INET ? 34 : 54) + hdr, &p), 0);
	assert_true(p.flags & GW_PKT_F_L4);
}

/* A TCP data offset that reaches past the IP packet's end is truncated,
 * even when padding fills the frame that far. */
static void expect_tcp_options_past_ip_end(struct gwt_spec *s)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_pkt p;
	size_t len;

	s->payload_len = 0;
	len = build(f, s);
	memset(f + len, 0, 40);
	f[len - 20 + 12] = 6 << 4; /* 24 bytes of header, 20 inside the packet */
	assert_int_equal(parse_exact(f, len + 40, &p), -GW_R_DROP_TRUNCATED);
	f[len - 20 + 12] = 5 << 4;
	assert_int_equal(parse_exact(f, len + 40, &p), 0);
}

static void test_parse_l4_truncated(void **state)
{
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);

	expect_l4_truncated(&s, 20);
	expect_tcp_options_past_ip_end(&s);
	s.proto = IPPROTO_UDP;
	expect_l4_truncated(&s, 8);
	s.proto = IPPROTO_ICMP;
	expect_l4_truncated(&s, 8);
	s = spec6(IPPROTO_TCP, GWT_A6(10, 0, 5), 1000, GWT_A6(96, 0, 0x10), 80);
	expect_l4_truncated(&s, 20);
	s.proto = IPPROTO_UDP;
	expect_l4_truncated(&s, 8);
	s.proto = IPPROTO_ICMPV6;
	expect_l4_truncated(&s, 8);
}

static void test_parse_l4_kinds(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gw_pkt p;
	size_t len;

	s.tcp_flags = GW_TCP_SYN | GW_TCP_ACK;
	len = build(f, &s);
	f[14 + 20 + 12] = 0x40; /* TCP data offset 4 */
	assert_int_equal(parse_exact(f, len, &p), -GW_R_DROP_TRUNCATED);
	f[14 + 20 + 12] = 0x50;
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_int_equal(p.tcp_flags, GW_TCP_SYN | GW_TCP_ACK);
	assert_int_equal(p.ttl, 64);

	s.proto = IPPROTO_ICMP; /* echo: the identifier stands in for both ports */
	s.sport = 0x4242;
	len = build(f, &s);
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_true(p.flags & GW_PKT_F_L4);
	assert_int_equal(p.sport, gw_htons(0x4242));
	assert_int_equal(p.dport, gw_htons(0x4242));
	f[34] = ICMP_DEST_UNREACH; /* errors carry no flow identifiers */
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_false(p.flags & GW_PKT_F_L4);
	assert_int_equal(p.sport, 0);
	/* ... so they are not balanced: dropped when sent to a VIP */
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_UNSUPPORTED);
	s.dst[0] = GWT_IP4(10, 50, 0, 1);
	len = build(f, &s);
	f[34] = ICMP_DEST_UNREACH;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	s.dst[0] = GWT_VIP4;

	s.proto = IPPROTO_SCTP;
	s.payload_len = 12;
	len = build(f, &s);
	gwt_put16(f + 34, 5000);
	gwt_put16(f + 36, 80);
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_int_equal(p.sport, gw_htons(5000));
	assert_int_equal(p.dport, gw_htons(80));
	gwt_put16(f + 16, 20 + 11);
	assert_int_equal(parse_exact(f, 34 + 11, &p), -GW_R_DROP_TRUNCATED);

	s.proto = 47; /* GRE: no ports */
	s.payload_len = 4;
	len = build(f, &s);
	assert_int_equal(parse_exact(f, len, &p), 0);
	assert_false(p.flags & GW_PKT_F_L4);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_UNSUPPORTED);
	s.dst[0] = GWT_IP4(10, 50, 0, 1);
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_PASS, GW_R_PASS);
	gwt_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_eth_short),
		cmocka_unit_test(test_parse_not_ip),
		cmocka_unit_test(test_parse_ipv4_bad_header),
		cmocka_unit_test(test_parse_ipv4_options),
		cmocka_unit_test(test_parse_ipv4_tot_len),
		cmocka_unit_test(test_parse_ipv4_fragments),
		cmocka_unit_test(test_parse_ipv6_ext_headers),
		cmocka_unit_test(test_parse_ipv6_fragments),
		cmocka_unit_test(test_parse_ipv6_payload_len),
		cmocka_unit_test(test_parse_l4_truncated),
		cmocka_unit_test(test_parse_l4_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
