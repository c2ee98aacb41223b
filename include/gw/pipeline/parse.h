/* Header parsing: Ethernet, IPv4 (options, fragments), IPv6 (a bounded
 * number of extension headers), TCP, UDP, SCTP and ICMP/ICMPv6, into one
 * flat description of the packet that the rest of the pipeline uses. */
#ifndef GW_PIPELINE_PARSE_H
#define GW_PIPELINE_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>

#include "gw/abi/maps.h"
#include "gw/pipeline/compiler.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

#define GW_IPV6_MAX_EXT 4   /* extension headers we walk before giving up */
#define GW_MAX_L3_OFF	64  /* an L3 header never starts later than this */
#define GW_MAX_L4_OFF	256 /* nor an L4 header */

/* Outcome of a parse: 0 parsed, GW_PARSE_NOT_IP, or -reason. */
#define GW_PARSE_NOT_IP	  1

#define GW_PKT_F_FRAGMENT (1u << 0) /* any fragment: L4 ports may be absent */
#define GW_PKT_F_L4	  (1u << 1) /* ports/ids are valid */

struct gw_pkt {
	__u16 l3_off;
	__u16 l4_off;
	__u16 l3_len; /* IP total length (IPv4) or payload + 40 (IPv6) */
	__u8 family;
	__u8 proto;
	__u8 flags;
	__u8 tcp_flags; /* byte 13 of the TCP header */
	__u8 ttl;
	__u8 _pad;
	__be32 src[4];
	__be32 dst[4];
	__be16 sport; /* ICMP echo: the identifier in both */
	__be16 dport;
};

#define GW_TCP_FIN 0x01
#define GW_TCP_SYN 0x02
#define GW_TCP_RST 0x04
#define GW_TCP_ACK 0x10

/* The L4 header must lie inside the IP packet (l3_len), not only inside
 * the frame: what follows the IP packet is link-layer padding (a 64-byte
 * Ethernet minimum), never a header. */
static __always_inline int gw_parse_l4(void *data, void *data_end, struct gw_pkt *p)
{
	__u32 off = p->l4_off, end = (__u32)p->l3_off + p->l3_len;

	if (off > GW_MAX_L4_OFF)
		return -GW_R_DROP_TRUNCATED;
	if (p->flags & GW_PKT_F_FRAGMENT)
		return 0;

	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end || off + sizeof(*th) > end)
			return -GW_R_DROP_TRUNCATED;
		if (th->doff < 5 || off + th->doff * 4 > end)
			return -GW_R_DROP_TRUNCATED;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end || off + sizeof(*uh) > end)
			return -GW_R_DROP_TRUNCATED;
		p->sport = uh->source;
		p->dport = uh->dest;
		break;
	}
	case IPPROTO_SCTP: {
		__be16 *ports = data + off;

		if ((void *)(ports + 6) > data_end || off + 12 > end) /* common header */
			return -GW_R_DROP_TRUNCATED;
		p->sport = ports[0];
		p->dport = ports[1];
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct icmphdr *ih = data + off; /* same first 8 bytes for v6 */

		if ((void *)(ih + 1) > data_end || off + sizeof(*ih) > end)
			return -GW_R_DROP_TRUNCATED;
		if ((p->proto == IPPROTO_ICMP &&
		     (ih->type == ICMP_ECHO || ih->type == ICMP_ECHOREPLY)) ||
		    (p->proto == IPPROTO_ICMPV6 &&
		     (ih->type == ICMPV6_ECHO_REQUEST || ih->type == ICMPV6_ECHO_REPLY))) {
			p->sport = ih->un.echo.id;
			p->dport = ih->un.echo.id;
			break;
		}
		return 0; /* errors and the rest carry no flow identifiers */
	}
	default:
		return 0; /* no ports: the caller decides */
	}
	p->flags |= GW_PKT_F_L4;
	return 0;
}

static __always_inline int gw_parse_ipv4(void *data, void *data_end, struct gw_pkt *p)
{
	struct iphdr *iph = data + p->l3_off;
	__u16 frag, hlen;

	if ((void *)(iph + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	if (iph->version != 4)
		return -GW_R_DROP_BAD_IP;
	if (iph->ihl < 5)
		return -GW_R_DROP_BAD_IHL;
	hlen = iph->ihl * 4;
	if ((void *)iph + hlen > data_end)
		return -GW_R_DROP_TRUNCATED;
	p->l3_len = gw_ntohs(iph->tot_len);
	if (p->l3_len < hlen)
		return -GW_R_DROP_BAD_IP;
	if ((void *)iph + p->l3_len > data_end)
		return -GW_R_DROP_TRUNCATED;

	p->family = GW_AF_INET;
	p->proto = iph->protocol;
	p->ttl = iph->ttl;
	p->src[0] = iph->saddr;
	p->dst[0] = iph->daddr;
	frag = gw_ntohs(iph->frag_off);
	if (frag & 0x3fff) /* MF or a non-zero offset */
		p->flags |= GW_PKT_F_FRAGMENT;
	p->l4_off = p->l3_off + hlen;
	return gw_parse_l4(data, data_end, p);
}

static __always_inline int gw_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT;
}

static __always_inline int gw_parse_ipv6(void *data, void *data_end, struct gw_pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l3_off;
	__u16 off;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	if (ip6->version != 6)
		return -GW_R_DROP_BAD_IP;
	/* bound the payload before adding the header: the 16-bit sum wraps */
	if ((void *)(ip6 + 1) + gw_ntohs(ip6->payload_len) > data_end)
		return -GW_R_DROP_TRUNCATED;
	p->l3_len = gw_ntohs(ip6->payload_len) + sizeof(*ip6);
	p->family = GW_AF_INET6;
	p->ttl = ip6->hop_limit;
	gw_memcpy(p->src, &ip6->saddr, 16);
	gw_memcpy(p->dst, &ip6->daddr, 16);
	nh = ip6->nexthdr;
	off = p->l3_off + sizeof(*ip6);

	GW_UNROLL
	for (i = 0; i < GW_IPV6_MAX_EXT; i++) {
		__u8 *ext;

		if (!gw_ipv6_is_ext(nh))
			break;
		if (off > GW_MAX_L4_OFF)
			return -GW_R_DROP_IPV6_EXT;
		ext = data + off;
		/* inside the payload length, not only inside the frame */
		if ((void *)(ext + 8) > data_end || off + 8u > p->l3_off + (__u32)p->l3_len)
			return -GW_R_DROP_TRUNCATED;
		if (nh == IPPROTO_FRAGMENT) {
			nh = ext[0];
			off += 8;
			/* after a later fragment's header comes payload, not the
			 * headers its Next Header names (RFC 8200 §4.5) */
			if (ext[2] || (ext[3] & 0xf8)) {
				p->flags |= GW_PKT_F_FRAGMENT;
				p->proto = nh;
				p->l4_off = off;
				return 0;
			}
			/* offset 0 and no M: an atomic fragment, a whole packet
			 * (RFC 6946) */
			if (ext[3] & 1)
				p->flags |= GW_PKT_F_FRAGMENT;
		} else {
			nh = ext[0];
			off += (ext[1] + 1) * 8;
		}
	}
	if (gw_ipv6_is_ext(nh))
		return -GW_R_DROP_IPV6_EXT;
	p->proto = nh;
	p->l4_off = off;
	return gw_parse_l4(data, data_end, p);
}

/* Parse from the Ethernet header at data. */
static __always_inline int gw_parse(void *data, void *data_end, struct gw_pkt *p)
{
	struct ethhdr *eth = data;

	gw_memset(p, 0, sizeof(*p));
	if ((void *)(eth + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	p->l3_off = sizeof(*eth);
	if (eth->h_proto == GW_BE16(ETH_P_IP))
		return gw_parse_ipv4(data, data_end, p);
	if (eth->h_proto == GW_BE16(ETH_P_IPV6))
		return gw_parse_ipv6(data, data_end, p);
	return GW_PARSE_NOT_IP;
}

#endif
