/* Geneve (RFC 8926) framing over IPv4/UDP with no inner Ethernet: encap,
 * option walk and decap, plus the TCP MSS clamp for packets that cross the
 * tunnel. Needs the driver context (gw_ctx_*) for head adjustment. */
#ifndef GW_PIPELINE_GENEVE_H
#define GW_PIPELINE_GENEVE_H

#include "gw/pipeline/csum.h"
#include "gw/pipeline/parse.h"

#define GW_GENEVE_MAX_OPTS 4
#define GW_TCP_OPT_SPACE   40 /* bytes of options a TCP header can carry */
#define GW_TCPOPT_MSS	   2
#define GW_TCPOPT_EOL	   0
#define GW_TCPOPT_NOP	   1

/* Outer UDP source port from the flow hash, in the dynamic range, for ECMP
 * and RSS entropy (RFC 8926 §3.3). */
static __always_inline __be16 gw_geneve_sport(__u32 hash)
{
	return gw_htons(49152 | (hash & 0x3fff));
}

/* Prepend outer Ethernet/IPv4/UDP/Geneve/identity option in front of the
 * IP packet that follows the Ethernet header. The Ethernet header keeps the
 * addresses it had (the caller's FIB step rewrites them). */
static __always_inline int gw_geneve_encap(struct gw_ctx *c, const struct gw_cfg *cfg,
					   const struct gw_peer *peer, __u32 identity, __u32 hash,
					   const struct gw_pkt *p)
{
	struct gw_geneve_opt_identity *opt;
	struct gw_geneve_hdr *gnv;
	struct ethhdr eth_copy;
	struct udphdr *uh;
	struct iphdr *iph;
	struct ethhdr *eth;
	void *data, *data_end;
	__u16 inner_len = p->l3_len;

	if (inner_len + GW_TUNNEL_OVERHEAD > cfg->tunnel_mtu)
		return -GW_R_DROP_TOO_BIG;
	data = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	gw_memcpy(&eth_copy, eth, sizeof(eth_copy));
	if (gw_ctx_adjust_head(c, -(int)GW_TUNNEL_OVERHEAD))
		return -GW_R_DROP_NO_HEADROOM;
	data = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	eth = data;
	iph = (void *)(eth + 1);
	uh = (void *)(iph + 1);
	gnv = (void *)(uh + 1);
	opt = (void *)(gnv + 1);
	if ((void *)(opt + 1) > data_end)
		return -GW_R_DROP_NO_HEADROOM;

	gw_memcpy(eth, &eth_copy, sizeof(*eth));
	eth->h_proto = GW_BE16(ETH_P_IP);

	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = gw_htons(inner_len + GW_TUNNEL_OVERHEAD);
	iph->id = 0;
	iph->frag_off = GW_BE16(0x4000); /* DF: we clamp and signal instead */
	iph->ttl = 64;
	iph->protocol = IPPROTO_UDP;
	iph->check = 0;
	iph->saddr = cfg->ext_addr4;
	iph->daddr = peer->addr;
	iph->check = gw_csum_ipv4_hdr(iph);

	uh->source = gw_geneve_sport(hash);
	uh->dest = cfg->geneve_port;
	uh->len = gw_htons(inner_len + GW_TUNNEL_OVERHEAD - 20);
	uh->check = 0; /* allowed for IPv4 (RFC 8926 §3.3) */

	gnv->opt_len_ver = sizeof(*opt) / 4;
	gnv->flags = 0;
	gnv->proto = p->family == GW_AF_INET ? GW_BE16(ETH_P_IP) : GW_BE16(ETH_P_IPV6);
	gnv->vni[0] = 0;
	gnv->vni[1] = cfg->site_id >> 8;
	gnv->vni[2] = cfg->site_id & 0xff;
	gnv->_rsvd = 0;

	opt->opt_class = GW_BE16(GW_GENEVE_OPT_CLASS);
	opt->type = GW_GENEVE_OPT_TYPE_IDENTITY;
	opt->len = GW_GENEVE_OPT_LEN_WORDS;
	opt->identity = gw_htonl(identity);
	opt->site_id = gw_htons(cfg->site_id);
	opt->flags = 0;
	return 0;
}

struct gw_geneve_info {
	__u16 inner_off;   /* offset of the inner IP header */
	__u16 inner_proto; /* ETH_P_IP / ETH_P_IPV6, host order */
	__u32 identity;
	__u32 vni;     /* the sending site's id (gw_geneve_encap) */
	__u16 site_id; /* the identity option's: the sending site's too */
	__u8 have_identity;
	__u8 _pad;
};

/* The end (offset from data) of the UDP datagram at p's l4_off that carries
 * a Geneve packet, or -reason: its length must fit the outer IP packet.
 * The tunnel packet ends there; what follows (an Ethernet trailer, or
 * bytes past a short UDP length) was never tunnelled. */
static __always_inline int gw_geneve_udp_end(void *data, void *data_end, const struct gw_pkt *p)
{
	__u32 off = p->l4_off, ulen;
	struct udphdr *uh;

	if (off > GW_MAX_L4_OFF)
		return -GW_R_DROP_TRUNCATED;
	uh = data + off;
	if ((void *)(uh + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	ulen = gw_ntohs(uh->len);
	if (ulen < sizeof(*uh) || off + ulen > (__u32)p->l3_off + p->l3_len)
		return -GW_R_DROP_TRUNCATED;
	return (int)(off + ulen);
}

/* Validate the Geneve header at off (just past the outer UDP header) and
 * find the identity option. Returns 0 or -reason. */
static __always_inline int gw_geneve_parse(void *data, void *data_end, __u16 off,
					   struct gw_geneve_info *gi)
{
	struct gw_geneve_hdr *gnv;
	void *opt, *opt_end;
	int i;

	gw_memset(gi, 0, sizeof(*gi));
	if (off > GW_MAX_L4_OFF)
		return -GW_R_DROP_BAD_GENEVE;
	gnv = data + off;
	if ((void *)(gnv + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	if (gnv->opt_len_ver >> 6) /* version must be 0 */
		return -GW_R_DROP_BAD_GENEVE;
	if (gnv->flags & 0x80) /* O: control packet, not for us */
		return -GW_R_DROP_BAD_GENEVE;
	if (gnv->proto == GW_BE16(ETH_P_IP))
		gi->inner_proto = ETH_P_IP;
	else if (gnv->proto == GW_BE16(ETH_P_IPV6))
		gi->inner_proto = ETH_P_IPV6;
	else
		return -GW_R_DROP_BAD_GENEVE;
	gi->vni = (__u32)gnv->vni[0] << 16 | (__u32)gnv->vni[1] << 8 | gnv->vni[2];

	/* the options walked by pointer, from the checked header on: each step
	 * adds at most 128 bytes, which the verifier follows, where an offset
	 * recomputed from data may reach it unbounded */
	opt = (void *)(gnv + 1);
	opt_end = opt + (gnv->opt_len_ver & 0x3f) * 4;
	if (opt_end > data_end)
		return -GW_R_DROP_TRUNCATED;
	gi->inner_off = off + sizeof(*gnv) + (gnv->opt_len_ver & 0x3f) * 4;

	for (i = 0; i < GW_GENEVE_MAX_OPTS; i++) {
		struct gw_geneve_opt_identity *o = opt;
		__u16 olen;

		if (opt >= opt_end)
			break;
		if (opt + 4 > data_end)
			return -GW_R_DROP_TRUNCATED;
		olen = 4 + (o->len & 0x1f) * 4;
		if (opt + olen > opt_end)
			return -GW_R_DROP_BAD_GENEVE;
		if (o->opt_class == GW_BE16(GW_GENEVE_OPT_CLASS) &&
		    o->type == GW_GENEVE_OPT_TYPE_IDENTITY) {
			if ((o->len & 0x1f) != GW_GENEVE_OPT_LEN_WORDS)
				return -GW_R_DROP_BAD_GENEVE;
			if ((void *)(o + 1) > data_end)
				return -GW_R_DROP_TRUNCATED;
			gi->identity = gw_ntohl(o->identity);
			gi->site_id = gw_ntohs(o->site_id);
			gi->have_identity = 1;
		} else if (o->type & 0x80) {
			return -GW_R_DROP_BAD_GENEVE; /* critical option we don't know */
		}
		opt += olen;
	}
	if (opt < opt_end)
		return -GW_R_DROP_BAD_GENEVE; /* more options than we walk */
	if (!gi->have_identity)
		return -GW_R_DROP_NO_IDENTITY;
	return 0;
}

/* Strip everything between the Ethernet header and the inner IP header;
 * the Ethernet addresses are kept, the type becomes the inner one. */
static __always_inline int gw_geneve_decap(struct gw_ctx *c, const struct gw_geneve_info *gi)
{
	struct ethhdr eth_copy, *eth;
	void *data = gw_ctx_data(c), *data_end = gw_ctx_data_end(c);
	int delta = gi->inner_off - (int)sizeof(struct ethhdr);

	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	gw_memcpy(&eth_copy, eth, sizeof(eth_copy));
	if (delta < 0 || delta > GW_MAX_L4_OFF)
		return -GW_R_DROP_BAD_GENEVE;
	if (gw_ctx_adjust_head(c, delta))
		return -GW_R_DROP_NO_HEADROOM;
	data = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	gw_memcpy(eth, &eth_copy, sizeof(*eth));
	eth->h_proto = gw_htons(gi->inner_proto);
	return 0;
}

/* A TCP SYN (with ACK or not) carries the MSS that the clamp lowers. */
static __always_inline int gw_tcp_is_syn(const struct gw_pkt *p)
{
	return p->proto == IPPROTO_TCP && (p->tcp_flags & GW_TCP_SYN);
}

/* Lower the MSS option of the TCP SYN whose header is at l4_off to max_mss,
 * so that the segments of the flow fit the tunnel. The walk covers the
 * whole option space, 40 bytes, one step per byte: a NOP is one byte, so an
 * MSS may follow 36 of them. A step inside an option (before next) does
 * nothing. The caller checks that the packet is a TCP SYN. Drivers run this
 * through gw_ctx_clamp_mss(): the BPF driver as a function the verifier
 * checks once, on its own (its 40 steps, checked inline at each of
 * gw_apply's call sites, doubled the programs' verifier counts). */
static __always_inline void gw_tcp_clamp_mss(void *data, void *data_end, __u64 l4_off,
					     __u64 max_mss)
{
	struct tcphdr *th;
	__u32 len, next = 0, i;
	__u8 *o;

	if (l4_off > GW_MAX_L4_OFF || max_mss > 0xffff)
		return;
	th = data + l4_off;
	if ((void *)(th + 1) > data_end || th->doff < 5)
		return;
	len = th->doff * 4 - sizeof(*th);
	o = (__u8 *)(th + 1);

	for (i = 0; i < GW_TCP_OPT_SPACE; i++) {
		if (i >= len)
			return;
		if (i < next)
			continue;
		if ((void *)(o + i + 1) > data_end || o[i] == GW_TCPOPT_EOL)
			return;
		if (o[i] == GW_TCPOPT_NOP) {
			next = i + 1;
			continue;
		}
		if (i + 2 > len || (void *)(o + i + 2) > data_end || o[i + 1] < 2)
			return;
		if (o[i] == GW_TCPOPT_MSS && o[i + 1] == 4) {
			__be16 mss, new_mss = gw_htons((__u16)max_mss);

			/* the whole option lies inside the TCP header */
			if (i + 4 > len || (void *)(o + i + 4) > data_end)
				return;
			gw_memcpy(&mss, o + i + 2, 2); /* may sit at an odd address */
			if (gw_ntohs(mss) <= max_mss)
				return;
			/* a field at an odd offset sums byte-swapped (the
			 * options start at an even offset, 20) */
			if (i & 1)
				gw_csum_replace2(&th->check, __builtin_bswap16(mss),
						 __builtin_bswap16(new_mss));
			else
				gw_csum_replace2(&th->check, mss, new_mss);
			gw_memcpy(o + i + 2, &new_mss, 2);
			return;
		}
		next = i + o[i + 1];
	}
}

#endif
