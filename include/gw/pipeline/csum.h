/* Internet checksum helpers: full sums for headers we build, and RFC 1624
 * incremental updates for fields we rewrite. */
#ifndef GW_PIPELINE_CSUM_H
#define GW_PIPELINE_CSUM_H

#include "gw/pipeline/compiler.h"

static __always_inline __u16 gw_csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

/* One's complement sum of a 32-bit field as two 16-bit words in wire order. */
static __always_inline __u32 gw_csum_add32(__u32 c, __u32 v)
{
	return c + (v & 0xffff) + (v >> 16);
}

/* *sum covers `from`; make it cover `to` instead (both n 32-bit words). */
static __always_inline void gw_csum_replace_words(__u16 *sum, const __be32 *from, const __be32 *to,
						  int n)
{
	__u32 c = (__u16) ~*sum;
	int i;

	GW_UNROLL
	for (i = 0; i < 4; i++) {
		if (i >= n)
			break;
		c = gw_csum_add32(c, ~from[i]);
		c = gw_csum_add32(c, to[i]);
	}
	*sum = (__u16)~gw_csum_fold(c);
}

static __always_inline void gw_csum_replace2(__u16 *sum, __be16 from, __be16 to)
{
	__u32 c = (__u16) ~*sum;

	c += (__u16)~from;
	c += to;
	*sum = (__u16)~gw_csum_fold(c);
}

/* Checksum of a 20-byte IPv4 header without options (check field zero). */
static __always_inline __u16 gw_csum_ipv4_hdr(const void *hdr)
{
	const __u16 *w = hdr;
	__u32 c = 0;
	int i;

	GW_UNROLL
	for (i = 0; i < 10; i++)
		c += w[i];
	return (__u16)~gw_csum_fold(c);
}

#endif
