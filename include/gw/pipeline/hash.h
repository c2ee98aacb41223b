/* Flow hash: the same value on every gateway and in every driver, so Maglev
 * picks the same backend for a flow whichever gateway receives it. */
#ifndef GW_PIPELINE_HASH_H
#define GW_PIPELINE_HASH_H

#include "gw/pipeline/compiler.h"

#define GW_HASH_SEED 0x9e3779b9u

static __always_inline __u32 gw_rol32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* The murmur3 32-bit mixing steps over a fixed number of words. */
static __always_inline __u32 gw_hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = gw_rol32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = gw_rol32(h, 13);
	return h * 5 + 0xe6546b64u;
}

static __always_inline __u32 gw_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Hash of a 5-tuple; addresses are 4 words each (IPv4 in word 0). */
static __always_inline __u32 gw_flow_hash(const __be32 *src, const __be32 *dst, __be16 sport,
					  __be16 dport, __u8 proto)
{
	__u32 h = GW_HASH_SEED;
	int i;

	GW_UNROLL
	for (i = 0; i < 4; i++) {
		h = gw_hash_mix(h, src[i]);
		h = gw_hash_mix(h, dst[i]);
	}
	h = gw_hash_mix(h, ((__u32)sport << 16) | dport);
	h = gw_hash_mix(h, proto);
	return gw_hash_final(h ^ 37);
}

#endif
