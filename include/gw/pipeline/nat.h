/* Address and port rewriting with incremental checksum updates (IPv4 header,
 * TCP/UDP pseudo-header and ports; IPv6 has no header checksum). */
#ifndef GW_PIPELINE_NAT_H
#define GW_PIPELINE_NAT_H

#include "gw/pipeline/csum.h"
#include "gw/pipeline/parse.h"

#define GW_NAT_SRC 0
#define GW_NAT_DST 1

/* Pointer to the L4 checksum field, or NULL when there is none to fix. */
static __always_inline __u16 *gw_l4_csum(void *data, void *data_end, const struct gw_pkt *p)
{
	__u16 off = p->l4_off;
	__u16 *sum;

	if (off > GW_MAX_L4_OFF)
		return 0;
	if (p->proto == IPPROTO_TCP)
		sum = data + off + 16;
	else if (p->proto == IPPROTO_UDP)
		sum = data + off + 6;
	else
		return 0;
	if ((void *)(sum + 1) > data_end)
		return 0;
	/* UDP checksum 0 is "no checksum": any IPv4 sender may send it, an
	 * IPv6 one only on a tunnel port whose receiver allows it (RFC 6935);
	 * every other IPv6 receiver discards it (RFC 8200 §8.1). Neither is a
	 * middlebox's to decide: it forwards both (RFC 6936 §5). It leaves as
	 * 0, for the receiver to judge; an incremental update of it would
	 * make a wrong non-zero sum. */
	if (p->proto == IPPROTO_UDP && *sum == 0)
		return 0;
	return sum;
}

/* Rewrite the source (which = GW_NAT_SRC) or destination address and port of
 * a parsed TCP/UDP packet; keeps p in step. Returns 0 or -reason. */
static __always_inline int gw_nat_rewrite(void *data, void *data_end, struct gw_pkt *p, int which,
					  const __be32 *addr, __be16 port)
{
	__u16 *l4sum = gw_l4_csum(data, data_end, p);
	__be16 *ports = data + p->l4_off;
	__u16 old_port;
	__u16 l4_off = p->l4_off, l3_off = p->l3_off;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return -GW_R_DROP_UNSUPPORTED;
	/* bounded here, so that the verifier need not carry the parser's bound
	 * through every path that reaches a rewrite */
	if (l4_off > GW_MAX_L4_OFF || l3_off > GW_MAX_L3_OFF)
		return -GW_R_DROP_TRUNCATED;
	ports = data + l4_off;
	if ((void *)(ports + 2) > data_end)
		return -GW_R_DROP_TRUNCATED;

	if (p->family == GW_AF_INET) {
		struct iphdr *iph = data + l3_off;
		__be32 *field;

		if ((void *)(iph + 1) > data_end)
			return -GW_R_DROP_TRUNCATED;
		field = which == GW_NAT_SRC ? &iph->saddr : &iph->daddr;
		gw_csum_replace_words(&iph->check, field, addr, 1);
		if (l4sum)
			gw_csum_replace_words(l4sum, field, addr, 1);
		*field = addr[0];
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		__be32 old[4];
		void *field;

		if ((void *)(ip6 + 1) > data_end)
			return -GW_R_DROP_TRUNCATED;
		field = which == GW_NAT_SRC ? (void *)&ip6->saddr : (void *)&ip6->daddr;
		gw_memcpy(old, field, 16);
		if (l4sum)
			gw_csum_replace_words(l4sum, old, addr, 4);
		gw_memcpy(field, addr, 16);
	}

	old_port = ports[which];
	if (l4sum)
		gw_csum_replace2(l4sum, old_port, port);
	ports[which] = port;
	if (l4sum && p->proto == IPPROTO_UDP && *l4sum == 0)
		*l4sum = 0xffff;

	if (which == GW_NAT_SRC) {
		gw_memcpy(p->src, addr, 16);
		p->sport = port;
	} else {
		gw_memcpy(p->dst, addr, 16);
		p->dport = port;
	}
	return 0;
}

#endif
