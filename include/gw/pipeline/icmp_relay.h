/* ICMP and ICMPv6 errors about the gateway's own flows, relayed where the
 * flow's replies go and rewritten like them (port unreachable, PMTU, time
 * exceeded). Part of pipeline.h, which includes it after the flow logic it
 * uses (gw_apply, the conntrack keys, the scratch room). */
#ifndef GW_PIPELINE_ICMP_RELAY_H
#define GW_PIPELINE_ICMP_RELAY_H

#ifndef GW_PIPELINE_H
#error "include gw/pipeline/pipeline.h, not this file"
#endif

/* The entry of the flow whose packet an ICMP error quotes: the quote went
 * out of this gateway, so the entry is keyed by it reversed (k is filled;
 * IPv4 addresses take the first word). An error from the backend's side
 * quotes a packet sent to the backend and finds the flow's reply entry; one
 * from the client's side (a router there that cannot forward a large reply)
 * quotes a reply and finds the flow's forward entry. Either way the entry
 * rewrites the error the way the flow's packets in its direction are
 * rewritten, and sends it where they go. */
static __always_inline struct gw_ct *gw_icmp_quote_entry(struct gw_ctx *c, struct gw_ct_key *k,
							 __u8 family, const void *qsrc,
							 const void *qdst, __be16 qsport,
							 __be16 qdport, __u8 proto, __u16 zone)
{
	struct gw_ct *e;

	gw_memset(k, 0, sizeof(*k));
	gw_memcpy(k->src, qdst, family == GW_AF_INET ? 4 : 16);
	gw_memcpy(k->dst, qsrc, family == GW_AF_INET ? 4 : 16);
	k->sport = qdport;
	k->dport = qsport;
	k->proto = proto;
	k->family = family;
	k->zone = zone;
	e = gw_ctx_ct_lookup(c, k);
	return e && (e->flags & (GW_CT_F_REPLY | GW_CT_F_NAT_DST | GW_CT_F_ENCAP)) ? e : 0;
}

/* The largest errors routers send: 576 bytes for IPv4 (RFC 1812
 * §4.3.2.3), the IPv6 minimum MTU for IPv6 (RFC 4443 §2.4 (c)). */
#define GW_ICMP4_ERROR_MAX 576
#define GW_ICMP6_ERROR_MAX GW_CSUM_SPAN_MAX

/* An error (p, of the family given) that goes through the tunnel must fit
 * it with the tunnel's headers, or gw_apply would answer it with a "too
 * big" of its own: an error about an error, which RFC 1122 §3.2.2 and
 * RFC 4443 §2.4 (e) forbid. Below a tunnel MTU of 576 + 48 (IPv4) or
 * 1280 + 48 (IPv6) a full-sized one does not. Errors may be cut short (the
 * quoted header and 8 bytes are all RFC 792 and the stacks need): its
 * quote is cut to what fits, and to the largest error a router sends,
 * which bounds the checksum's walk (gw_ctx_csum, which the BPF driver has
 * the verifier check once, not in every inlined copy of the relay). The
 * IP length and checksum and the ICMP checksum are redone, and an
 * RFC 4884 quote length cleared, since extensions after the quote are cut
 * first. 0, or -reason: -GW_R_DROP_TOO_BIG when not even the quoted
 * header and 8 bytes fit. */
static __always_inline int gw_icmp_error_fit(struct gw_ctx *c, const struct gw_cfg *cfg,
					     struct gw_pkt *p, const __u8 family)
{
	const __u16 max = family == GW_AF_INET ? GW_ICMP4_ERROR_MAX : GW_ICMP6_ERROR_MAX;
	const __u16 qhdr = family == GW_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u16 l3_off = p->l3_off, l4_off = p->l4_off, len, mlen;
	void *data, *data_end;
	__u8 *ih;
	__u32 sum;
	int r;

	if (p->l3_len + GW_TUNNEL_OVERHEAD <= cfg->tunnel_mtu)
		return 0;
	if (l4_off > GW_MAX_L4_OFF || l3_off > GW_MAX_L3_OFF || l4_off < l3_off)
		return -GW_R_DROP_TRUNCATED;
	len = cfg->tunnel_mtu > GW_TUNNEL_OVERHEAD ? cfg->tunnel_mtu - GW_TUNNEL_OVERHEAD : 0;
	if (len > max)
		len = max;
	len &= ~1; /* the checksum is summed by 16-bit words */
	if (len < (l4_off - l3_off) + 8 + qhdr + 8)
		return -GW_R_DROP_TOO_BIG;
	mlen = len - (l4_off - l3_off); /* the ICMP message's */

	data = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	ih = data + l4_off;
	if ((void *)(ih + 8) > data_end)
		return -GW_R_DROP_TRUNCATED;
	if (family == GW_AF_INET) {
		struct iphdr *ip = data + l3_off;

		if ((void *)(ip + 1) > data_end)
			return -GW_R_DROP_TRUNCATED;
		gw_csum_replace2(&ip->check, ip->tot_len, gw_htons(len));
		ip->tot_len = gw_htons(len);
		ih[5] = 0; /* destination unreachable, time exceeded, parameter problem */
	} else {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return -GW_R_DROP_TRUNCATED;
		ip6->payload_len = gw_htons(len - sizeof(*ip6));
		if (ih[0] == ICMPV6_DEST_UNREACH || ih[0] == ICMPV6_TIME_EXCEED)
			ih[4] = 0;
	}
	ih[2] = ih[3] = 0;
	if (gw_truncate(c, l3_off + len))
		return -GW_R_DROP_NO_HEADROOM;

	r = gw_ctx_csum(c, l4_off, mlen);
	if (r < 0)
		return -GW_R_DROP_TRUNCATED;
	sum = (__u32)r;
	data = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	if (family == GW_AF_INET6) {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return -GW_R_DROP_TRUNCATED;
		/* pseudo-header: addresses, upper-layer length, next header */
		sum = gw_csum_bytes(&ip6->saddr, data_end, 32, sum);
		sum += gw_htons(mlen);
		sum += gw_htons(IPPROTO_ICMPV6);
	}
	ih = data + l4_off;
	if ((void *)(ih + 8) > data_end)
		return -GW_R_DROP_TRUNCATED;
	*(__u16 *)(ih + 2) = (__u16)~gw_csum_fold(sum);
	p->l3_len = len;
	return 0;
}

/* Send a translated error where the flow's replies go: to the client here,
 * or back to its gateway (cut to fit the tunnel); no port rewriting applies
 * to the error itself. */
static __always_inline int gw_icmp_error_send(struct gw_ctx *c, const struct gw_cfg *cfg,
					      struct gw_pkt *p, struct gw_scratch *s,
					      const struct gw_ct *e, const struct gw_ct_key *k,
					      struct gw_result *res, const __u8 family)
{
	int r;

	if (e->flags & GW_CT_F_ENCAP) {
		r = gw_icmp_error_fit(c, cfg, p, family);
		if (r)
			return r;
	}
	gw_memcpy(&s->rev, e, sizeof(s->rev));
	s->rev.flags &= ~(GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST);
	return gw_apply(c, cfg, p, &s->rev,
			gw_flow_hash(k->src, k->dst, k->sport, k->dport, k->proto), res, 0, 0);
}

/* An ICMP error about a packet of one of our flows (IPv4): a backend, or a
 * router on its side, answered a packet the gateway sent from its SNAT
 * address; a router on the client's side answered a reply sent from the
 * VIP; or, after decap, a peer relays one of either. The error goes the way
 * the answered packet came, rewritten like the flow's packets that way
 * (from the VIP to the client, quoting the client's own packet; or from the
 * SNAT address to the backend, quoting the backend's), so the sender's
 * stack learns of it (port unreachable, PMTU). Returns 0 with res set,
 * GW_PARSE_NOT_IP for an error about no flow of ours, or -reason. */
static __always_inline int gw_icmp4_error(struct gw_ctx *c, const struct gw_cfg *cfg,
					  struct gw_pkt *p, __u16 zone, struct gw_result *res)
{
	void *data = gw_ctx_data(c), *data_end = gw_ctx_data_end(c);
	struct gw_scratch *s = gw_ctx_scratch(c);
	struct iphdr *oip, *qip;
	struct icmphdr *ih;
	__be16 *qp, qsport, qdport;
	__u16 l3_off = p->l3_off, l4_off = p->l4_off;
	struct gw_ct *e;
	__u16 old_qcheck;

	if (p->family != GW_AF_INET || p->proto != IPPROTO_ICMP || !s)
		return GW_PARSE_NOT_IP;
	if (l4_off > GW_MAX_L4_OFF || l3_off > GW_MAX_L3_OFF)
		return -GW_R_DROP_TRUNCATED;
	oip = data + l3_off;
	ih = data + l4_off;
	qip = (void *)(ih + 1);
	qp = (void *)(qip + 1);
	if ((void *)(oip + 1) > data_end || (void *)(qp + 2) > data_end)
		return GW_PARSE_NOT_IP;
	if (ih->type != ICMP_DEST_UNREACH && ih->type != ICMP_TIME_EXCEEDED &&
	    ih->type != ICMP_PARAMETERPROB)
		return GW_PARSE_NOT_IP;
	/* a quoted header with options would move the ports, and after a
	 * later fragment's header come no ports at all: not ours to parse */
	if (qip->version != 4 || qip->ihl != 5 || (qip->frag_off & GW_BE16(0x1fff)) ||
	    (qip->protocol != IPPROTO_TCP && qip->protocol != IPPROTO_UDP))
		return GW_PARSE_NOT_IP;

	qsport = qp[0];
	qdport = qp[1];
	e = gw_icmp_quote_entry(c, &s->rk, GW_AF_INET, &qip->saddr, &qip->daddr, qsport, qdport,
				qip->protocol, zone);
	if (!e)
		return GW_PARSE_NOT_IP;

	if ((e->flags & (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST)) ==
	    (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST)) {
		/* quoted: what the gateway sent, (snat -> backend) or (VIP ->
		 * client), becomes what it received, (client -> VIP) or (backend
		 * -> snat); the ICMP checksum covers the quote, the quoted IP
		 * checksum changes too */
		old_qcheck = qip->check;
		gw_csum_replace_words(&qip->check, &qip->saddr, e->nat_dst, 1);
		gw_csum_replace_words(&qip->check, &qip->daddr, e->nat_src, 1);
		gw_csum_replace_words(&ih->checksum, &qip->saddr, e->nat_dst, 1);
		gw_csum_replace_words(&ih->checksum, &qip->daddr, e->nat_src, 1);
		gw_csum_replace2(&ih->checksum, qsport, e->nat_dport);
		gw_csum_replace2(&ih->checksum, qdport, e->nat_sport);
		gw_csum_replace2(&ih->checksum, old_qcheck, qip->check);
		qip->saddr = e->nat_dst[0];
		qip->daddr = e->nat_src[0];
		qp[0] = e->nat_dport;
		qp[1] = e->nat_sport;
		/* outer: from the VIP to the client, or from the SNAT address
		 * to the backend */
		gw_csum_replace_words(&oip->check, &oip->saddr, e->nat_src, 1);
		gw_csum_replace_words(&oip->check, &oip->daddr, e->nat_dst, 1);
		oip->saddr = e->nat_src[0];
		oip->daddr = e->nat_dst[0];
		p->src[0] = oip->saddr;
		p->dst[0] = oip->daddr;
	} else if (oip->daddr != qip->saddr) {
		/* sent on as it is: only to the sender of the quoted packet */
		return GW_PARSE_NOT_IP;
	}
	return gw_icmp_error_send(c, cfg, p, s, e, &s->rk, res, GW_AF_INET);
}

/* The same for IPv6: ICMPv6 destination unreachable, packet too big, time
 * exceeded and parameter problem quoting an IPv6 packet whose next header
 * is TCP or UDP (a quote with extension headers is not parsed). The ICMPv6
 * checksum covers the pseudo-header, so the outer addresses' change goes
 * into it too; the quoted TCP/UDP checksum is left as it was (the error's
 * receiver does not check it), as for IPv4. */
static __always_inline int gw_icmp6_error(struct gw_ctx *c, const struct gw_cfg *cfg,
					  struct gw_pkt *p, __u16 zone, struct gw_result *res)
{
	void *data = gw_ctx_data(c), *data_end = gw_ctx_data_end(c);
	struct gw_scratch *s = gw_ctx_scratch(c);
	struct icmp6hdr *ih;
	struct ipv6hdr *oip, *qip;
	__be16 *qp, qsport, qdport;
	struct gw_ct *e;

	if (p->family != GW_AF_INET6 || p->proto != IPPROTO_ICMPV6 || !s)
		return GW_PARSE_NOT_IP;
	if (p->l4_off > GW_MAX_L4_OFF || p->l3_off > GW_MAX_L4_OFF)
		return -GW_R_DROP_TRUNCATED;
	oip = data + p->l3_off;
	ih = data + p->l4_off;
	qip = (void *)(ih + 1);
	qp = (void *)(qip + 1);
	if ((void *)(oip + 1) > data_end || (void *)(qp + 2) > data_end)
		return GW_PARSE_NOT_IP;
	if (ih->icmp6_type != ICMPV6_DEST_UNREACH && ih->icmp6_type != ICMPV6_PKT_TOOBIG &&
	    ih->icmp6_type != ICMPV6_TIME_EXCEED && ih->icmp6_type != ICMPV6_PARAMPROB)
		return GW_PARSE_NOT_IP;
	if (qip->version != 6 || (qip->nexthdr != IPPROTO_TCP && qip->nexthdr != IPPROTO_UDP))
		return GW_PARSE_NOT_IP;

	qsport = qp[0];
	qdport = qp[1];
	e = gw_icmp_quote_entry(c, &s->rk, GW_AF_INET6, &qip->saddr, &qip->daddr, qsport, qdport,
				qip->nexthdr, zone);
	if (!e)
		return GW_PARSE_NOT_IP;

	if ((e->flags & (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST)) ==
	    (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST)) {
		/* quoted: as for IPv4 */
		gw_csum_replace_words(&ih->icmp6_cksum, (const __be32 *)&qip->saddr, e->nat_dst, 4);
		gw_csum_replace_words(&ih->icmp6_cksum, (const __be32 *)&qip->daddr, e->nat_src, 4);
		gw_csum_replace2(&ih->icmp6_cksum, qsport, e->nat_dport);
		gw_csum_replace2(&ih->icmp6_cksum, qdport, e->nat_sport);
		gw_memcpy(&qip->saddr, e->nat_dst, 16);
		gw_memcpy(&qip->daddr, e->nat_src, 16);
		qp[0] = e->nat_dport;
		qp[1] = e->nat_sport;
		/* outer (and pseudo-header): as for IPv4 */
		gw_csum_replace_words(&ih->icmp6_cksum, (const __be32 *)&oip->saddr, e->nat_src, 4);
		gw_csum_replace_words(&ih->icmp6_cksum, (const __be32 *)&oip->daddr, e->nat_dst, 4);
		gw_memcpy(&oip->saddr, e->nat_src, 16);
		gw_memcpy(&oip->daddr, e->nat_dst, 16);
		gw_memcpy(p->src, e->nat_src, 16);
		gw_memcpy(p->dst, e->nat_dst, 16);
	} else {
		const __be32 *od = (const __be32 *)&oip->daddr, *qs = (const __be32 *)&qip->saddr;

		/* as for IPv4 */
		if ((od[0] ^ qs[0]) | (od[1] ^ qs[1]) | (od[2] ^ qs[2]) | (od[3] ^ qs[3]))
			return GW_PARSE_NOT_IP;
	}
	return gw_icmp_error_send(c, cfg, p, s, e, &s->rk, res, GW_AF_INET6);
}

/* An ICMP or ICMPv6 error about one of our flows (see above). */
static __always_inline int gw_icmp_error(struct gw_ctx *c, const struct gw_cfg *cfg,
					 struct gw_pkt *p, __u16 zone, struct gw_result *res)
{
	if (p->family == GW_AF_INET6)
		return gw_icmp6_error(c, cfg, p, zone, res);
	return gw_icmp4_error(c, cfg, p, zone, res);
}

/* Is the destination one of our VIPs (for packets without ports)? */

#endif
