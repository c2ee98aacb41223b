/* Helpers shared by the native pipeline tests (test_pipeline_parse.c: the
 * parser; test_pipeline.c: checksums, MSS clamp, Geneve framing, flow hash;
 * test_pipeline_e2e*.c and test_flowc.c: whole packets through
 * gw_pipeline_int/ext). */
#ifndef GW_TESTS_PIPELINE_TEST_H
#define GW_TESTS_PIPELINE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pipeline_ctx.h"
#include "pipeline_topo.h"
#include "pipeline_packet.h"

/* --- helpers ------------------------------------------------------------------ */

/* A frame buffer whose IP header is 4-aligned, like the context's. */
#define FRAME(name)                                                                                \
	__u8 name##_mem[GWT_PKT_MAX + 8] __attribute__((aligned(8)));                              \
	__u8 *name = name##_mem + GWT_IP_ALIGN

/* Parse a copy of the frame in a buffer that ends where it ends, so that
 * ASan reports any read past the end. */
static inline int parse_exact(const __u8 *frame, size_t len, struct gw_pkt *p)
{
	__u8 *m = malloc(GWT_IP_ALIGN + len);
	int r;

	assert_non_null(m);
	memcpy(m + GWT_IP_ALIGN, frame, len);
	r = gw_parse(m + GWT_IP_ALIGN, m + GWT_IP_ALIGN + len, p);
	free(m);
	return r;
}

static __attribute__((noinline, unused)) void pipe_int(struct gw_ctx *c, struct gw_result *res)
{
	memset(res, 0xee, sizeof(*res));
	gw_pipeline_int(c, res);
}

static __attribute__((noinline, unused)) void pipe_ext(struct gw_ctx *c, struct gw_result *res)
{
	memset(res, 0xee, sizeof(*res));
	gw_pipeline_ext(c, res);
}

static inline struct gw_ctx *topo_new(void)
{
	struct gw_ctx *c = gwt_ctx_new();

	assert_non_null(c);
	gwt_topology(c);
	return c;
}

static inline void run(struct gw_ctx *c, int ext, const __u8 *frame, size_t len, size_t headroom,
		       struct gw_result *res)
{
	assert_int_equal(gwt_packet_set(c, frame, len, headroom), 0);
	if (ext)
		pipe_ext(c, res);
	else
		pipe_int(c, res);
}

static inline void expect_result(const struct gw_result *res, __u32 action, __u32 reason)
{
	if (res->action != action || res->reason != reason)
		print_error("result: action %u reason %u, expected action %u reason %u\n",
			    res->action, res->reason, action, reason);
	assert_int_equal(res->action, action);
	assert_int_equal(res->reason, reason);
}

static inline struct gwt_spec spec4(__u8 proto, __be32 src, __u16 sport, __be32 dst, __u16 dport)
{
	struct gwt_spec s;

	memset(&s, 0, sizeof(s));
	s.family = GW_AF_INET;
	s.proto = proto;
	s.src[0] = src;
	s.dst[0] = dst;
	s.sport = sport;
	s.dport = dport;
	s.tcp_flags = GW_TCP_ACK;
	s.payload_len = 32;
	return s;
}

static inline struct gwt_spec spec6(__u8 proto, const __be32 *src, __u16 sport, const __be32 *dst,
				    __u16 dport)
{
	struct gwt_spec s;

	memset(&s, 0, sizeof(s));
	s.family = GW_AF_INET6;
	s.proto = proto;
	memcpy(s.src, src, 16);
	memcpy(s.dst, dst, 16);
	s.sport = sport;
	s.dport = dport;
	s.tcp_flags = GW_TCP_ACK;
	s.payload_len = 32;
	return s;
}

static inline size_t build(__u8 *buf, const struct gwt_spec *s)
{
	size_t n = gwt_build(buf, GWT_PKT_MAX, s);

	assert_true(n > 0);
	return n;
}

/* Every checksum of the frame equals a full recomputation. */
static inline void expect_csums(const __u8 *frame, size_t len)
{
	struct gw_pkt p;
	const __u8 *l4;
	size_t l4_len;
	__u16 sum, want;

	assert_int_equal(parse_exact(frame, len, &p), 0);
	if (p.family == GW_AF_INET)
		assert_int_equal(gwt_get16(frame + p.l3_off + 10),
				 gwt_ipv4_csum_full(frame + p.l3_off));
	if (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP)
		return;
	l4 = frame + p.l4_off;
	l4_len = p.l3_len - (p.l4_off - p.l3_off);
	sum = gwt_get16(l4 + (p.proto == IPPROTO_TCP ? 16 : 6));
	if (p.proto == IPPROTO_UDP && sum == 0)
		return; /* no checksum: none to compare (nat_random checks it stays 0) */
	want = gwt_l4_csum_full(p.family, p.proto, p.src, p.dst, l4, l4_len);
	if (sum != want)
		print_error("L4 checksum %04x, full recomputation %04x\n", sum, want);
	assert_int_equal(sum, want);
}

static const __u8 opt_mss1460[] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};
static const __u8 opt_mss1412[] = {2, 4, 0x05, 0x84, 1, 1, 4, 2};
#define MSS_CLAMP (GWT_TUNNEL_MTU - GW_TUNNEL_OVERHEAD - 40)

static inline void expect_outer(const __u8 *f, size_t inner_len, __u32 identity, __u32 hash)
{
	__u8 want_opt[12];

	assert_int_equal(gwt_get16(f + 12), ETH_P_IP);
	assert_int_equal(f[14], 0x45);
	assert_int_equal(gwt_get16(f + 16), inner_len + GW_TUNNEL_OVERHEAD);
	assert_int_equal(gwt_get16(f + 20), 0x4000);
	assert_int_equal(f[23], IPPROTO_UDP);
	assert_int_equal(gwt_get16(f + 24), gwt_ipv4_csum_full(f + 14));
	assert_memory_equal(f + 26, &(__be32){GWT_EXT4}, 4);
	assert_memory_equal(f + 30, &(__be32){GWT_PEER4}, 4);
	assert_int_equal(gwt_get16(f + 34), 49152 | (hash & 0x3fff));
	assert_int_equal(gwt_get16(f + 36), GW_GENEVE_PORT);
	assert_int_equal(gwt_get16(f + 38), inner_len + GW_TUNNEL_OVERHEAD - 20);
	assert_int_equal(gwt_get16(f + 40), 0);
	assert_int_equal(f[42], 3); /* version 0, 12 bytes of options */
	assert_int_equal(f[43], 0);
	assert_int_equal(gwt_get16(f + 44), (f[62] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP);
	assert_int_equal(f[46] << 16 | f[47] << 8 | f[48], GWT_SITE);
	gwt_opt_identity(want_opt, identity, GWT_SITE);
	assert_memory_equal(f + 50, want_opt, 12);
}

#endif
