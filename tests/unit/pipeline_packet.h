/* Packets for the native pipeline tests, built with full (non-incremental)
 * checksums: Ethernet/IP/TCP/UDP/ICMP frames, Geneve-wrapped ones and the
 * identity option; and the slow checksums that outputs are checked against. */
#ifndef GW_TESTS_PIPELINE_PACKET_H
#define GW_TESTS_PIPELINE_PACKET_H

#include <stddef.h>
#include <string.h>

#include "pipeline_topo.h" /* the MACs of the frames built */

/* --- checksums computed the slow way -------------------------------------------- */

static inline __u32 gwt_sum16(__u32 sum, const void *buf, size_t len)
{
	const __u8 *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

/* Host-order checksum value of the summed words. */
static inline __u16 gwt_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Full TCP/UDP checksum of the L4 segment at l4 (its checksum field treated
 * as zero), host order; UDP's 0 is sent as 0xffff. */
static inline __u16 gwt_l4_csum_full(__u8 family, __u8 proto, const __be32 *src, const __be32 *dst,
				     const __u8 *l4, size_t l4_len)
{
	__u8 pseudo[40];
	size_t plen, csum_off = proto == IPPROTO_TCP ? 16 : 6;
	__u32 sum;
	__u16 r;

	if (family == GW_AF_INET) {
		memcpy(pseudo, src, 4);
		memcpy(pseudo + 4, dst, 4);
		pseudo[8] = 0;
		pseudo[9] = proto;
		pseudo[10] = (__u8)(l4_len >> 8);
		pseudo[11] = (__u8)l4_len;
		plen = 12;
	} else {
		memcpy(pseudo, src, 16);
		memcpy(pseudo + 16, dst, 16);
		pseudo[32] = (__u8)(l4_len >> 24);
		pseudo[33] = (__u8)(l4_len >> 16);
		pseudo[34] = (__u8)(l4_len >> 8);
		pseudo[35] = (__u8)l4_len;
		pseudo[36] = pseudo[37] = pseudo[38] = 0;
		pseudo[39] = proto;
		plen = 40;
	}
	sum = gwt_sum16(0, pseudo, plen);
	sum = gwt_sum16(sum, l4, csum_off);
	sum = gwt_sum16(sum, l4 + csum_off + 2, l4_len - csum_off - 2);
	r = gwt_fold(sum);
	if (proto == IPPROTO_UDP && r == 0)
		r = 0xffff;
	return r;
}

/* Header checksum of the IPv4 header at iph (any IHL), host order. */
static inline __u16 gwt_ipv4_csum_full(const __u8 *iph)
{
	size_t hlen = (size_t)(iph[0] & 0xf) * 4;
	__u32 sum = gwt_sum16(0, iph, 10);

	sum = gwt_sum16(sum, iph + 12, hlen - 12);
	return gwt_fold(sum);
}

static inline __u16 gwt_get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static inline void gwt_put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* --- packet builders -------------------------------------------------------------- */

struct gwt_spec {
	__u8 family; /* GW_AF_INET / GW_AF_INET6 */
	__u8 proto;
	__be32 src[4];
	__be32 dst[4];
	__u16 sport; /* host order */
	__u16 dport;
	__u8 tcp_flags;
	__u8 ttl;	     /* 0: 64 */
	__u16 frag;	     /* IPv4 flags + offset, host order */
	const __u8 *ip_opts; /* IPv4 options (a multiple of 4 bytes) */
	__u8 ip_opts_len;
	const __u8 *tcp_opts; /* TCP options (a multiple of 4 bytes) */
	__u8 tcp_opts_len;
	const __u8 *payload; /* NULL: a counting pattern */
	__u16 payload_len;
	__u8 udp_csum_zero; /* UDP without checksum (IPv6: a tunnel's, RFC 6935) */
	__u8 no_eth;	    /* build only the IP packet (a tunnel's inner) */
};

static inline size_t gwt_l4_hdr_len(const struct gwt_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20 + s->tcp_opts_len;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

/* Writes an Ethernet frame (or bare IP packet) with correct checksums;
 * returns its length, or 0 when cap is too small. */
static inline size_t gwt_build(__u8 *buf, size_t cap, const struct gwt_spec *s)
{
	size_t eth = s->no_eth ? 0 : 14;
	size_t l3h = s->family == GW_AF_INET ? 20 + s->ip_opts_len : 40;
	size_t l4h = gwt_l4_hdr_len(s);
	size_t l4_len = l4h + s->payload_len, total = eth + l3h + l4_len, i;
	__u8 *ip = buf + eth, *l4 = ip + l3h;

	if (total > cap)
		return 0;
	memset(buf, 0, total);
	if (eth) {
		memcpy(buf, gwt_mac_int, 6);
		memcpy(buf + 6, gwt_mac_hostA, 6);
		gwt_put16(buf + 12, s->family == GW_AF_INET ? ETH_P_IP : ETH_P_IPV6);
	}
	if (s->family == GW_AF_INET) {
		ip[0] = (__u8)(0x40 | (l3h / 4));
		gwt_put16(ip + 2, (__u16)(l3h + l4_len));
		gwt_put16(ip + 4, 0x1234);
		gwt_put16(ip + 6, s->frag);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		if (s->ip_opts_len)
			memcpy(ip + 20, s->ip_opts, s->ip_opts_len);
	} else {
		ip[0] = 0x60;
		gwt_put16(ip + 4, (__u16)l4_len);
		ip[6] = s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
	}
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		gwt_put16(l4, s->sport);
		gwt_put16(l4 + 2, s->dport);
	}
	if (s->proto == IPPROTO_TCP) {
		gwt_put16(l4 + 4, 0x0102);
		gwt_put16(l4 + 6, 0x0304);
		l4[12] = (__u8)((l4h / 4) << 4);
		l4[13] = s->tcp_flags;
		gwt_put16(l4 + 14, 64240);
		if (s->tcp_opts_len)
			memcpy(l4 + 20, s->tcp_opts, s->tcp_opts_len);
	} else if (s->proto == IPPROTO_UDP) {
		gwt_put16(l4 + 4, (__u16)l4_len);
	} else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
		l4[0] = s->proto == IPPROTO_ICMP ? ICMP_ECHO : ICMPV6_ECHO_REQUEST;
		gwt_put16(l4 + 4, s->sport); /* echo identifier */
		gwt_put16(l4 + 6, 1);
	}
	for (i = 0; i < s->payload_len; i++)
		l4[l4h + i] = s->payload ? s->payload[i] : (__u8)(i * 7 + 1);
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		__u16 sum = gwt_l4_csum_full(s->family, s->proto, s->src, s->dst, l4, l4_len);

		if (s->proto == IPPROTO_UDP && s->udp_csum_zero)
			sum = 0;
		gwt_put16(l4 + (s->proto == IPPROTO_TCP ? 16 : 6), sum);
	}
	if (s->family == GW_AF_INET)
		gwt_put16(ip + 10, gwt_ipv4_csum_full(ip));
	return total;
}

/* Wraps the bare IP packet inner in Ethernet/IPv4/UDP/Geneve with the raw
 * option bytes opts (a multiple of 4); returns the frame length or 0. */
static inline size_t gwt_build_geneve(__u8 *buf, size_t cap, __be32 src, __be32 dst, __u16 sport,
				      __u16 dport, __u16 vni, const __u8 *opts, size_t opts_len,
				      const __u8 *inner, size_t inner_len)
{
	size_t total = 14 + 20 + 8 + 8 + opts_len + inner_len;
	__u8 *ip = buf + 14, *uh = ip + 20, *gnv = uh + 8;

	if (total > cap || opts_len > 252 || (opts_len & 3))
		return 0;
	memset(buf, 0, 14 + 20 + 8 + 8);
	memcpy(buf, gwt_mac_ext, 6);
	memcpy(buf + 6, gwt_mac_router, 6);
	gwt_put16(buf + 12, ETH_P_IP);
	ip[0] = 0x45;
	gwt_put16(ip + 2, (__u16)(total - 14));
	gwt_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	gwt_put16(ip + 10, gwt_ipv4_csum_full(ip));
	gwt_put16(uh, sport);
	gwt_put16(uh + 2, dport);
	gwt_put16(uh + 4, (__u16)(total - 34));
	gnv[0] = (__u8)(opts_len / 4);
	gwt_put16(gnv + 2, inner_len && (inner[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP);
	gnv[5] = (__u8)(vni >> 8);
	gnv[6] = (__u8)vni;
	if (opts_len)
		memcpy(gnv + 8, opts, opts_len);
	if (inner_len)
		memcpy(gnv + 8 + opts_len, inner, inner_len);
	return total;
}

/* The 12-byte identity option. */
static inline void gwt_opt_identity(__u8 *o, __u32 identity, __u16 site_id)
{
	memset(o, 0, 12);
	gwt_put16(o, GW_GENEVE_OPT_CLASS);
	o[2] = GW_GENEVE_OPT_TYPE_IDENTITY;
	o[3] = GW_GENEVE_OPT_LEN_WORDS;
	o[4] = (__u8)(identity >> 24);
	o[5] = (__u8)(identity >> 16);
	o[6] = (__u8)(identity >> 8);
	o[7] = (__u8)identity;
	gwt_put16(o + 8, site_id);
}

#endif
