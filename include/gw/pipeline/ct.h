/* Conntrack entries' keys and lifetimes: the key of a parsed packet, when
 * an entry is free for a new flow, and closing a flow both ways. Part of
 * pipeline.h, which includes it; needs the driver's gw_ctx_peer() and
 * gw_ctx_ct_lookup(). */
#ifndef GW_PIPELINE_CT_H
#define GW_PIPELINE_CT_H

#include "gw/abi/maps.h"
#include "gw/pipeline/compiler.h"
#include "gw/pipeline/parse.h"

/* The conntrack key of a parsed packet that came from zone (0: this site's
 * internal side, else the sending site). */
static __always_inline void gw_ct_key_from_pkt(struct gw_ct_key *k, const struct gw_pkt *p,
					       __u16 zone)
{
	gw_memset(k, 0, sizeof(*k));
	gw_memcpy(k->src, p->src, 16);
	gw_memcpy(k->dst, p->dst, 16);
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->proto;
	k->family = p->family;
	k->zone = zone;
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
	__u32 diff = 0;
	int i;

	gw_memset(k, 0, sizeof(*k));
	if (nat) {
		gw_memcpy(k->src, e->nat_dst, 16);
		gw_memcpy(k->dst, e->nat_src, 16);
		k->sport = e->nat_dport;
		k->dport = e->nat_sport;
	} else {
		gw_memcpy(k->src, p->dst, 16);
		gw_memcpy(k->dst, p->src, 16);
		k->sport = p->dport;
		k->dport = p->sport;
	}
	k->proto = p->proto;
	k->family = p->family;
	if (e->flags & GW_CT_F_ENCAP) {
		peer = gw_ctx_peer(c, e->out_peer);
		if (!peer)
			return;
		k->zone = peer->site_id;
	}
	o = gw_ctx_ct_lookup(c, k);
	if (!o || !((o->flags ^ e->flags) & GW_CT_F_REPLY) || (o->flags & GW_CT_F_CLOSING))
		return;
	if (nat) {
		GW_UNROLL
		for (i = 0; i < 4; i++)
			diff |= (o->nat_src[i] ^ p->dst[i]) | (o->nat_dst[i] ^ p->src[i]);
		if (diff || o->nat_sport != p->dport || o->nat_dport != p->sport)
			return;
	}
	o->flags |= GW_CT_F_CLOSING;
	o->last_seen_ns = now;
}

#endif
