/* Conntrack entries' keys and lifetimes: the key of a parsed packet, when
 * an entry is free for a new flow, and closing a flow both ways. Part of
 * pipeline.h, which includes it; needs the driver's gw_ctx_peer() and
 * gw_ctx_ct_lookup(). */
#ifndef GW_PIPELINE_CT_H
#define GW_PIPELINE_CT_H

#include "gw/abi/maps.h"
#include "gw/pipeline/compiler.h"
#include "gw/pipeline/parse.h"

/* A conntrack key: the tuple, of p's protocol and family, in zone (0: this
 * site's internal side, else the sending site). */
static __always_inline void gw_ct_key_set(struct gw_ct_key *k, const struct gw_pkt *p,
					  const __be32 *src, const __be32 *dst, __be16 sport,
					  __be16 dport, __u16 zone)
{
	gw_memset(k, 0, sizeof(*k));
	gw_memcpy(k->src, src, 16);
	gw_memcpy(k->dst, dst, 16);
	k->sport = sport;
	k->dport = dport;
	k->proto = p->proto;
	k->family = p->family;
	k->zone = zone;
}

/* The key of a parsed packet that came from zone. */
static __always_inline void gw_ct_key_from_pkt(struct gw_ct_key *k, const struct gw_pkt *p,
					       __u16 zone)
{
	gw_ct_key_set(k, p, p->src, p->dst, p->sport, p->dport, zone);
}

/* An entry nobody owns any more: closed and quiet for GW_CT_CLOSED_NS, or
 * idle for GW_CT_IDLE_NS. */
static __always_inline int gw_ct_stale(const struct gw_ct *e, __u64 now)
{
	if (now < e->last_seen_ns)
		return 0;
	return now - e->last_seen_ns >
	       ((e->flags & GW_CT_F_CLOSING) ? GW_CT_CLOSED_NS : GW_CT_IDLE_NS);
}

/* Does entry o rewrite a packet to p's tuple reversed (the other half of
 * p's flow, not a newer flow that took the same SNAT port)? */
static __always_inline int gw_ct_rewrites_to(const struct gw_ct *o, const struct gw_pkt *p)
{
	__u32 diff = 0;
	int i;

	GW_UNROLL
	for (i = 0; i < 4; i++)
		diff |= (o->nat_src[i] ^ p->dst[i]) | (o->nat_dst[i] ^ p->src[i]);
	return !diff && o->nat_sport == p->dport && o->nat_dport == p->sport;
}

/* A RST ends both directions at once: mark the flow's other entry closing
 * too (e the entry of the packet p). Its key is the tuple e rewrites to,
 * reversed, or p's own reversed when e rewrites nothing; its zone is the
 * site of e's peer when e encapsulates (the other side's packets come from
 * there), else 0. An entry under a rewritten key is only the other half if
 * it rewrites back to p's tuple: once e's flow ended, its SNAT port (and so
 * that key) may belong to a new flow. k is room for the key. */
static __always_inline void gw_ct_close_other(struct gw_ctx *c, struct gw_ct_key *k,
					      const struct gw_pkt *p, const struct gw_ct *e,
					      __u64 now)
{
	int nat = (e->flags & (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST)) ==
		  (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST);
	const struct gw_peer *peer;
	struct gw_ct *o;
	__u16 zone = 0;

	if (e->flags & GW_CT_F_ENCAP) {
		peer = gw_ctx_peer(c, e->out_peer);
		if (!peer)
			return;
		zone = peer->site_id;
	}
	if (nat)
		gw_ct_key_set(k, p, e->nat_dst, e->nat_src, e->nat_dport, e->nat_sport, zone);
	else
		gw_ct_key_set(k, p, p->dst, p->src, p->dport, p->sport, zone);
	o = gw_ctx_ct_lookup(c, k);
	if (!o || !((o->flags ^ e->flags) & GW_CT_F_REPLY) || (o->flags & GW_CT_F_CLOSING))
		return;
	if (nat && !gw_ct_rewrites_to(o, p))
		return;
	o->flags |= GW_CT_F_CLOSING;
	o->last_seen_ns = now;
}

/* Has a packet of another site's client (zone set) come through another
 * of that site's gateways than the one its flow's entry (or its flow cache
 * copy: flags, out_peer) records? Only such a flow's forward entry records
 * the gateway its packets come through; replies and tunnelled flows name
 * where they go. */
static __always_inline int gw_ct_peer_moved(__u16 zone, __u16 flags, __u16 out_peer, __u32 in_peer)
{
	return zone && out_peer != in_peer && !(flags & (GW_CT_F_REPLY | GW_CT_F_ENCAP));
}

/* A flow from another site whose packets now come through another gateway
 * of that site (the first one failed, or its routers moved the flow): its
 * replies follow, where the reply entry named the first gateway and would
 * drop them while it is down. e is the flow's entry here, whose out_peer
 * records the peer its packets came through; in_peer is this packet's.
 * Both are of the site e's zone names. k is room for the key. */
static __always_inline void gw_ct_follow_peer(struct gw_ctx *c, struct gw_ct_key *k,
					      const struct gw_pkt *p, struct gw_ct *e,
					      __u32 in_peer)
{
	struct gw_ct *o;

	gw_ct_key_set(k, p, e->nat_dst, e->nat_src, e->nat_dport, e->nat_sport, 0);
	o = gw_ctx_ct_lookup(c, k);
	if (o && (o->flags & GW_CT_F_REPLY) && (o->flags & GW_CT_F_ENCAP) &&
	    gw_ct_rewrites_to(o, p))
		o->out_peer = in_peer;
	e->out_peer = in_peer;
}

#endif
