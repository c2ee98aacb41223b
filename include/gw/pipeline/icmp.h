/* ICMP errors the gateway sends itself: "fragmentation needed" (IPv4 with
 * DF) and "packet too big" (IPv6) for packets that would not fit the tunnel,
 * built in place from the packet and sent back where it came from. */
#ifndef GW_PIPELINE_ICMP_H
#define GW_PIPELINE_ICMP_H

#include "gw/pipeline/csum.h"
#include "gw/pipeline/parse.h"

#define GW_ICMP_QUOTE6 48 /* IPv6 header + 8 bytes of what follows it */

/* The longest span gw_ctx_csum() sums: the largest ICMP error a router
 * sends (RFC 4443 §2.4 (c)). */
#define GW_CSUM_SPAN_MAX 1280

/* One's complement sum of len bytes (even, at most 2 * max_words) at p;
 * max_words is a constant, the bound of the loop the verifier walks. */
static __always_inline __u32 gw_csum_words(const void *p, const void *data_end, __u16 len,
					   __u32 sum, const int max_words)
{
	const __u16 *w = p;
	int i;

	for (i = 0; i < max_words; i++) {
		if (i * 2 >= len)
			break;
		if ((const void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	return sum;
}

/* The same for the short spans of the errors built here (128 bytes at most). */
static __always_inline __u32 gw_csum_bytes(const void *p, const void *data_end, __u16 len,
					   __u32 sum)
{
	return gw_csum_words(p, data_end, len, sum, 64);
}

/* Shrinks the packet to len bytes from data. */
static __always_inline int gw_truncate(struct gw_ctx *c, __u16 len)
{
	long have = (long)gw_ctx_data_end(c) - (long)gw_ctx_data(c);

	if (have < len)
		return -GW_R_DROP_TRUNCATED;
	if (have > len && gw_ctx_adjust_tail(c, (int)(len - have)))
		return -GW_R_DROP_NO_HEADROOM;
	return 0;
}

static __always_inline int gw_icmp4_too_big(struct gw_ctx *c, const struct gw_cfg *cfg, __u16 mtu,
					    struct gw_result *res)
{
	struct ethhdr *eth = gw_ctx_data(c), eth_copy;
	void *data_end = gw_ctx_data_end(c);
	struct iphdr *iph, *oiph;
	struct icmphdr *ih;
	__u16 quote, hlen;
	__be32 orig_src;

	oiph = (void *)(eth + 1);
	if ((void *)(oiph + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	if (!(oiph->frag_off & GW_BE16(0x4000)))
		return -GW_R_DROP_TOO_BIG; /* may be fragmented, but not by XDP */
	hlen = oiph->ihl * 4;
	if (hlen < 20 || hlen > 60)
		return -GW_R_DROP_BAD_IHL;
	quote = hlen + 8;
	orig_src = oiph->saddr;
	gw_memcpy(&eth_copy, eth, sizeof(eth_copy));

	if (gw_ctx_adjust_head(c, -(int)(sizeof(*iph) + sizeof(*ih))))
		return -GW_R_DROP_NO_HEADROOM;
	if (gw_truncate(c, sizeof(*eth) + sizeof(*iph) + sizeof(*ih) + quote))
		return -GW_R_DROP_NO_HEADROOM;
	eth = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	iph = (void *)(eth + 1);
	ih = (void *)(iph + 1);
	if ((void *)(ih + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;

	gw_memcpy(eth->h_dest, eth_copy.h_source, 6);
	gw_memcpy(eth->h_source, eth_copy.h_dest, 6);
	eth->h_proto = GW_BE16(ETH_P_IP);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0xc0; /* network control */
	iph->tot_len = gw_htons(sizeof(*iph) + sizeof(*ih) + quote);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = 64;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	iph->saddr = cfg->int_addr4;
	iph->daddr = orig_src;
	iph->check = gw_csum_ipv4_hdr(iph);
	ih->type = ICMP_DEST_UNREACH;
	ih->code = ICMP_FRAG_NEEDED;
	ih->checksum = 0;
	ih->un.frag.__unused = 0;
	ih->un.frag.mtu = gw_htons(mtu);
	ih->checksum = (__u16)~gw_csum_fold(gw_csum_bytes(ih, data_end, sizeof(*ih) + quote, 0));
	res->action = GW_ACT_TX;
	res->reason = GW_R_ICMP_TOO_BIG;
	return 0;
}

static __always_inline int gw_icmp6_too_big(struct gw_ctx *c, const struct gw_cfg *cfg, __u16 mtu,
					    struct gw_result *res)
{
	struct ethhdr *eth = gw_ctx_data(c), eth_copy;
	void *data_end = gw_ctx_data_end(c);
	struct ipv6hdr *ip6, *oip6;
	struct icmp6hdr *ih;
	__be32 orig_src[4];
	__u32 sum;

	if (!(cfg->flags & GW_CFG_F_HAVE_V6))
		return -GW_R_DROP_TOO_BIG;
	oip6 = (void *)(eth + 1);
	if ((void *)(oip6 + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	gw_memcpy(orig_src, &oip6->saddr, 16);
	gw_memcpy(&eth_copy, eth, sizeof(eth_copy));

	if (gw_ctx_adjust_head(c, -(int)(sizeof(*ip6) + sizeof(*ih))))
		return -GW_R_DROP_NO_HEADROOM;
	if (gw_truncate(c, sizeof(*eth) + sizeof(*ip6) + sizeof(*ih) + GW_ICMP_QUOTE6))
		return -GW_R_DROP_NO_HEADROOM;
	eth = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	ip6 = (void *)(eth + 1);
	ih = (void *)(ip6 + 1);
	if ((void *)(ih + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;

	gw_memcpy(eth->h_dest, eth_copy.h_source, 6);
	gw_memcpy(eth->h_source, eth_copy.h_dest, 6);
	eth->h_proto = GW_BE16(ETH_P_IPV6);
	gw_memset(ip6, 0, sizeof(*ip6));
	ip6->version = 6;
	ip6->payload_len = gw_htons(sizeof(*ih) + GW_ICMP_QUOTE6);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 64;
	gw_memcpy(&ip6->saddr, cfg->int_addr6, 16);
	gw_memcpy(&ip6->daddr, orig_src, 16);
	ih->icmp6_type = ICMPV6_PKT_TOOBIG;
	ih->icmp6_code = 0;
	ih->icmp6_cksum = 0;
	ih->icmp6_mtu = gw_htonl(mtu);
	/* pseudo-header: addresses, upper-layer length, next header */
	sum = gw_csum_bytes(&ip6->saddr, data_end, 32, 0);
	sum += gw_htons(sizeof(*ih) + GW_ICMP_QUOTE6);
	sum += gw_htons(IPPROTO_ICMPV6);
	sum = gw_csum_bytes(ih, data_end, sizeof(*ih) + GW_ICMP_QUOTE6, sum);
	ih->icmp6_cksum = (__u16)~gw_csum_fold(sum);
	res->action = GW_ACT_TX;
	res->reason = GW_R_ICMP_TOO_BIG;
	return 0;
}

/* The packet p (not rewritten yet) does not fit the tunnel or the link to
 * its next hop: answer its sender with mtu, the largest IP packet that
 * does. 0 with res set, or -reason. */
static __always_inline int gw_icmp_too_big(struct gw_ctx *c, const struct gw_cfg *cfg,
					   const struct gw_pkt *p, __u16 mtu, struct gw_result *res)
{
	if (p->family == GW_AF_INET)
		return gw_icmp4_too_big(c, cfg, mtu, res);
	return gw_icmp6_too_big(c, cfg, mtu, res);
}

#endif
