/* The per-packet logic of a gateway, written once for XDP, DPDK/AF_XDP and
 * native tests (DESIGN.md §6). Include the driver's context header first: it
 * defines struct gw_ctx and the gw_ctx_* functions listed below. */
#ifndef GW_PIPELINE_H
#define GW_PIPELINE_H

/*
 * Driver contract (all static __always_inline):
 *   void *gw_ctx_data(struct gw_ctx *c);          void *gw_ctx_data_end(c);
 *   int gw_ctx_adjust_head(c, int delta);         0, or non-zero on failure
 *   int gw_ctx_adjust_tail(c, int delta);         0, or non-zero (shrinks only)
 *   const struct gw_cfg *gw_ctx_cfg(c);           NULL if unconfigured
 *   const struct gw_svc *gw_ctx_svc(c, const struct gw_svc_key *k);
 *   int gw_ctx_maglev(c, __u32 slot, __u32 hash, __u32 *ret_backend);   0 or -1
 *   const struct gw_backend *gw_ctx_backend(c, __u32 id);
 *   const struct gw_peer *gw_ctx_peer(c, __u32 id);
 *   const __u32 *gw_ctx_peer_by_addr(c, __be32 addr);
 *   __u32 gw_ctx_identity_of(c, const struct gw_pkt *p);   source → identity
 *   const struct gw_identity *gw_ctx_identity(c, __u32 id);
 *   int gw_ctx_policy_allows(c, __u32 identity, __u32 svc_id);
 *   struct gw_ct *gw_ctx_ct_lookup(c, const struct gw_ct_key *k);
 *   int gw_ctx_ct_insert(c, const struct gw_ct_key *k, const struct gw_ct *v, int excl);
 *   __u64 gw_ctx_now(c);
 *   int gw_ctx_fib(c, struct gw_fib *f);   GW_FIB_OK, GW_FIB_PASS or -reason
 *   struct gw_scratch *gw_ctx_scratch(c);  per-CPU room for the large
 *                                          temporaries (BPF stack is 512 B)
 *   struct gw_flowc *gw_ctx_flowc(c, __u32 index);  this CPU's IPv4 flow
 *                                          cache slot for index, NULL when off
 *   struct gw_flowc6 *gw_ctx_flowc6(c, __u32 index);  the same for IPv6
 *   __u32 gw_ctx_epoch(c);                 the data plane's epoch (flowc.h)
 *   void gw_ctx_clamp_mss(c, __u32 l4_off, __u32 max_mss);  gw_tcp_clamp_mss
 *                                          on the packet (geneve.h)
 *   int gw_ctx_csum(c, __u32 off, __u32 len);  the folded one's complement
 *                                          sum of the packet's len bytes
 *                                          from off (len even, at most
 *                                          GW_CSUM_SPAN_MAX), or -1 when
 *                                          they are not all in the packet
 */

#include "gw/abi/maps.h"
#include "gw/pipeline/compiler.h"
#include "gw/pipeline/csum.h"
#include "gw/pipeline/flowc.h"
#include "gw/pipeline/geneve.h"
#include "gw/pipeline/hash.h"
#include "gw/pipeline/nat.h"
#include "gw/pipeline/parse.h"

#define GW_ACT_PASS	0
#define GW_ACT_DROP	1
#define GW_ACT_TX	2
#define GW_ACT_REDIRECT 3

#define GW_SNAT_TRIES	8

struct gw_result {
	__u32 action;
	__u32 reason; /* enum gw_reason */
	__u32 ifindex;
	__u32 _pad;
};

#define GW_FIB_OK   0
#define GW_FIB_PASS 1 /* no neighbour entry yet: let the kernel route it */

struct gw_fib {
	__u8 family;
	__u8 _pad[3];
	__u32 ifindex; /* out: egress interface */
	__be32 src[4];
	__be32 dst[4];
	__u16 l3_len;
	__u8 smac[6]; /* out */
	__u8 dmac[6]; /* out */
	__u16 mtu;    /* out, when too big: the route's MTU */
};

/* Temporaries too large for the BPF stack when all is inlined. */
struct gw_scratch {
	struct gw_ct_key rk;
	struct gw_ct fwd;
	struct gw_ct rev;
	struct gw_fib fib;
	/* the flow cache slot a miss fills once the conntrack path is done:
	 * its index, GW_FC6 for the IPv6 cache, or GW_FC_NONE; with the epoch
	 * and stamp read before the lookup. Held here, not in registers, so
	 * that the verifier walks the conntrack path once for all of its
	 * outcomes (it does not track this memory's contents). */
	__u32 fc_slot;
	__u32 fc_epoch;
	__u32 fc_stamp;
	__u32 _pad;
};

#define GW_FC6	    0x80000000u
#define GW_FC_INDEX 0x3fffffffu /* more than any cache's slots per CPU */
#define GW_FC_NONE  0xffffffffu

/* needs struct gw_result and the GW_ACT_* verdicts above */
#include "gw/pipeline/icmp.h"
#include "gw/pipeline/ct.h"

/* Look up the route of a packet with these addresses and IP length (the
 * ones it has, or will have once rewritten): GW_FIB_OK or GW_FIB_PASS with
 * the scratch's fib filled, or -reason. */
static __always_inline int gw_route(struct gw_ctx *c, __u8 family, const __be32 *src,
				    const __be32 *dst, __u16 l3_len)
{
	struct gw_scratch *s = gw_ctx_scratch(c);
	struct gw_fib *f;

	if (!s)
		return -GW_R_DROP_FIB;
	f = &s->fib;
	gw_memset(f, 0, sizeof(*f));
	f->family = family;
	gw_memcpy(f->src, src, 16);
	gw_memcpy(f->dst, dst, 16);
	f->l3_len = l3_len;
	return gw_ctx_fib(c, f);
}

/* Set the result from the route gw_route found (r its result): redirect
 * the packet now in the buffer with fresh MAC addresses, or pass it to the
 * kernel. */
static __always_inline int gw_emit_routed(struct gw_ctx *c, struct gw_result *res, int r,
					  __u32 reason)
{
	struct gw_scratch *s = gw_ctx_scratch(c);
	struct gw_fib *f;
	struct ethhdr *eth;
	void *data_end;

	if (r < 0)
		return r;
	if (!s)
		return -GW_R_DROP_FIB;
	f = &s->fib;
	res->reason = reason;
	if (r == GW_FIB_PASS) {
		res->action = GW_ACT_PASS;
		return 0;
	}
	eth = gw_ctx_data(c);
	data_end = gw_ctx_data_end(c);
	if ((void *)(eth + 1) > data_end)
		return -GW_R_DROP_TRUNCATED;
	gw_memcpy(eth->h_dest, f->dmac, 6);
	gw_memcpy(eth->h_source, f->smac, 6);
	res->action = GW_ACT_REDIRECT;
	res->ifindex = f->ifindex;
	return 0;
}

/* Route the packet now in the buffer (its addresses given) and set the
 * result. */
static __always_inline int gw_emit(struct gw_ctx *c, struct gw_result *res, __u8 family,
				   const __be32 *src, const __be32 *dst, __u16 l3_len, __u32 reason)
{
	return gw_emit_routed(c, res, gw_route(c, family, src, dst, l3_len), reason);
}

/* Send the packet now in the buffer to a next hop the flow cache holds. */
static __always_inline int gw_emit_cached(struct gw_ctx *c, struct gw_result *res,
					  const struct gw_flowc_head *hop, __u32 reason)
{
	struct ethhdr *eth = gw_ctx_data(c);

	if ((void *)(eth + 1) > gw_ctx_data_end(c))
		return -GW_R_DROP_TRUNCATED;
	gw_memcpy(eth->h_dest, hop->dmac, 6);
	gw_memcpy(eth->h_source, hop->smac, 6);
	res->action = GW_ACT_REDIRECT;
	res->reason = reason;
	res->ifindex = hop->ifindex;
	return 0;
}

/* Apply a conntrack entry to the parsed packet: NAT, then either deliver
 * inside this site or encapsulate to the entry's peer; to the next hop of
 * hop (a flow cache entry) when given, else to the one the FIB names.
 * answer: whether a packet too big for a local link may be answered with an
 * ICMP error here (it came from this site's internal side and is no ICMP
 * error itself; a packet that came through the tunnel has its sender behind
 * a peer, and the tunnel MTU bounds it). */
static __always_inline int gw_apply(struct gw_ctx *c, const struct gw_cfg *cfg, struct gw_pkt *p,
				    const struct gw_ct *e, __u32 hash, struct gw_result *res,
				    const struct gw_flowc_head *hop, int answer)
{
	void *data = gw_ctx_data(c), *data_end = gw_ctx_data_end(c);
	int reply = e->flags & GW_CT_F_REPLY;
	struct gw_scratch *s;
	int routed = -GW_R_DROP_FIB;
	__u16 mtu = 0;
	__u32 reason;
	int r;

	/* Too big for the tunnel, or for the link to a local next hop: tell
	 * the sender (before any NAT, so the error quotes the packet as it
	 * sent it). The local route is looked up for the addresses the packet
	 * will have. One call builds the error for both (it is large, and
	 * every copy of it multiplies the verifier's work). */
	if (e->flags & GW_CT_F_ENCAP) {
		if (p->l3_len + GW_TUNNEL_OVERHEAD > cfg->tunnel_mtu)
			mtu = cfg->tunnel_mtu - GW_TUNNEL_OVERHEAD;
	} else if (!hop) {
		routed = gw_route(c, p->family, (e->flags & GW_CT_F_NAT_SRC) ? e->nat_src : p->src,
				  (e->flags & GW_CT_F_NAT_DST) ? e->nat_dst : p->dst, p->l3_len);
		s = gw_ctx_scratch(c);
		if (routed == -GW_R_DROP_TOO_BIG && answer && s && s->fib.mtu >= 68)
			mtu = s->fib.mtu;
		else if (routed < 0)
			return routed;
	}
	if (mtu)
		return gw_icmp_too_big(c, cfg, p, mtu, res);
	if (e->flags & GW_CT_F_NAT_DST) {
		r = gw_nat_rewrite(data, data_end, p, GW_NAT_DST, e->nat_dst, e->nat_dport);
		if (r)
			return r;
	}
	if (e->flags & GW_CT_F_NAT_SRC) {
		r = gw_nat_rewrite(data, data_end, p, GW_NAT_SRC, e->nat_src, e->nat_sport);
		if (r)
			return r;
	}
	if (e->flags & GW_CT_F_ENCAP) {
		const struct gw_peer *peer = gw_ctx_peer(c, e->out_peer);
		__u16 hdrs = p->family == GW_AF_INET ? 40 : 60;

		if (!peer || !(peer->flags & GW_PEER_F_UP))
			return -GW_R_DROP_NO_PEER;
		if (gw_tcp_is_syn(p) && cfg->tunnel_mtu > GW_TUNNEL_OVERHEAD + hdrs)
			gw_ctx_clamp_mss(c, p->l4_off, cfg->tunnel_mtu - GW_TUNNEL_OVERHEAD - hdrs);
		r = gw_geneve_encap(c, cfg, peer, e->identity, hash, p);
		if (r)
			return r;
		/* From here on p describes the outer packet. */
		gw_memset(p->src, 0, 16);
		gw_memset(p->dst, 0, 16);
		p->src[0] = cfg->ext_addr4;
		p->dst[0] = peer->addr;
		p->family = GW_AF_INET;
		p->l3_len += GW_TUNNEL_OVERHEAD;
	}
	reason = (e->flags & GW_CT_F_ENCAP) ? (reply ? GW_R_REPLY_REMOTE : GW_R_FWD_REMOTE)
					    : (reply ? GW_R_REPLY_LOCAL : GW_R_FWD_LOCAL);
	if (hop)
		return gw_emit_cached(c, res, hop, reason);
	if (e->flags & GW_CT_F_ENCAP)
		return gw_emit(c, res, p->family, p->src, p->dst, p->l3_len, reason);
	return gw_emit_routed(c, res, routed, reason);
}

#define GW_REPICKS	 8	     /* tries to avoid a backend whose gateway is down */
#define GW_IDENTITY_LAZY 0xffffffffu /* classify the source only if needed */

/* Balance a new flow to a service and create its two conntrack entries.
 * zone is 0 for this site's clients, else the sending site's id (in_peer
 * the gateway it came from); fk is the flow's key. Returns 0 with the
 * forward entry in scratch->fwd, GW_PARSE_NOT_IP when the packet is for no
 * service, or -reason. */
static __always_inline int gw_new_flow(struct gw_ctx *c, const struct gw_cfg *cfg,
				       struct gw_scratch *s, const struct gw_pkt *p,
				       const struct gw_ct_key *fk, __u16 zone, __u32 in_peer,
				       __u32 identity, __u32 hash)
{
	struct gw_ct *fwd = &s->fwd, *rev = &s->rev;
	struct gw_ct_key *rk = &s->rk;
	const struct gw_backend *be;
	const struct gw_svc *svc;
	struct gw_svc_key sk;
	__u32 be_id = 0, slot;
	/* A flow first seen by its FIN or RST (its state was lost, or the
	 * packet is stray) starts closing: it gives its SNAT port back after
	 * GW_CT_CLOSED_NS, not after GW_CT_IDLE_NS. */
	__u16 closing = p->proto == IPPROTO_TCP && (p->tcp_flags & (GW_TCP_FIN | GW_TCP_RST))
				? GW_CT_F_CLOSING
				: 0;
	int i;

	gw_memset(&sk, 0, sizeof(sk));
	gw_memcpy(sk.vip, p->dst, 16);
	sk.port = p->dport;
	sk.proto = p->proto;
	sk.family = p->family;
	svc = gw_ctx_svc(c, &sk);
	if (!svc || (svc->flags & GW_SVC_F_VIP))
		return GW_PARSE_NOT_IP;
	if (svc->flags & GW_SVC_F_L7)
		return GW_PARSE_NOT_IP; /* the stack hands it to gw-proxy */
	/* Policy is decided where the client's labels are known: at the gateway
	 * of its own site. A peer's flow was checked there; the identity check
	 * on decap makes sure the peer may speak for it. */
	if (identity == GW_IDENTITY_LAZY)
		identity = gw_ctx_identity_of(c, p);
	if (!zone && (svc->flags & GW_SVC_F_POLICY) && !gw_ctx_policy_allows(c, identity, svc->id))
		return -GW_R_DROP_POLICY;
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return -GW_R_DROP_UNSUPPORTED;
	slot = GW_MAGLEV_SLOT(svc->id, zone ? GW_MAGLEV_PEER : GW_MAGLEV_CLIENT,
			      p->family == GW_AF_INET6);
	if (gw_ctx_maglev(c, slot, hash, &be_id))
		return -GW_R_DROP_NO_BACKEND;
	be = gw_ctx_backend(c, be_id);
	if (!be || be->family != p->family)
		return -GW_R_DROP_NO_BACKEND;
	/* A gateway that just went down leaves the tables a moment later;
	 * until then, look again elsewhere in the same table. */
	GW_UNROLL
	for (i = 1; i <= GW_REPICKS; i++) {
		const struct gw_peer *bp;

		if (!(be->flags & GW_BE_F_REMOTE))
			break;
		bp = gw_ctx_peer(c, be->peer_id);
		if (bp && (bp->flags & GW_PEER_F_UP))
			break;
		if (gw_ctx_maglev(c, slot, gw_hash_mix(hash, 0x9e37 + i), &be_id))
			return -GW_R_DROP_NO_BACKEND;
		be = gw_ctx_backend(c, be_id);
		if (!be || be->family != p->family)
			return -GW_R_DROP_NO_BACKEND;
	}

	gw_memset(fwd, 0, sizeof(*fwd));
	gw_memset(rev, 0, sizeof(*rev));
	fwd->backend_id = rev->backend_id = be_id;
	fwd->svc_id = rev->svc_id = svc->id;
	fwd->identity = identity;
	/* replies sent back to a peer carry this site's identity */
	rev->identity = zone ? cfg->default_identity : identity;
	fwd->last_seen_ns = rev->last_seen_ns = gw_ctx_now(c);

	if (be->flags & GW_BE_F_REMOTE) {
		const struct gw_peer *peer;

		if (zone)
			return -GW_R_DROP_NO_BACKEND; /* never relay between two peers */
		peer = gw_ctx_peer(c, be->peer_id);
		if (!peer || !(peer->flags & GW_PEER_F_UP))
			return -GW_R_DROP_NO_PEER;
		/* Replies come back decapsulated with the original tuple. */
		gw_ct_key_set(rk, p, p->dst, p->src, p->dport, p->sport, peer->site_id);
		rev->flags = GW_CT_F_REPLY | closing;
		if (gw_ctx_ct_insert(c, rk, rev, 0))
			return -GW_R_DROP_CT_FULL;
		fwd->flags = GW_CT_F_ENCAP | closing;
		fwd->out_peer = be->peer_id;
	} else {
		__u32 range = (__u32)cfg->snat_port_max - cfg->snat_port_min + 1;
		/* port 0: the backend listens on the port the client asked for */
		__be16 be_port = be->port ? be->port : p->dport;
		__be32 snat[4] = {cfg->int_addr4, 0, 0, 0};
		__be16 port = 0;

		if (p->family == GW_AF_INET6) {
			if (!(cfg->flags & GW_CFG_F_HAVE_V6))
				return -GW_R_DROP_UNSUPPORTED;
			gw_memcpy(snat, cfg->int_addr6, 16);
		}
		if (cfg->snat_port_max < cfg->snat_port_min)
			return -GW_R_DROP_SNAT_EXHAUSTED;

		/* the port, rk->dport, is chosen below */
		gw_ct_key_set(rk, p, be->addr, snat, be_port, 0, 0);
		rev->flags = GW_CT_F_REPLY | GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST | closing;
		gw_memcpy(rev->nat_src, p->dst, 16);
		rev->nat_sport = p->dport;
		gw_memcpy(rev->nat_dst, p->src, 16);
		rev->nat_dport = p->sport;
		if (zone) {
			rev->flags |= GW_CT_F_ENCAP;
			rev->out_peer = in_peer;
		}
		GW_UNROLL
		for (i = 0; i < GW_SNAT_TRIES; i++) {
			struct gw_ct *old;

			rk->dport = gw_htons(cfg->snat_port_min + gw_hash_mix(hash, i) % range);
			if (!gw_ctx_ct_insert(c, rk, rev, 1)) {
				port = rk->dport;
				break;
			}
			/* taken: by a flow that has ended, the port is free again */
			old = gw_ctx_ct_lookup(c, rk);
			if (old && gw_ct_stale(old, rev->last_seen_ns) &&
			    !gw_ctx_ct_insert(c, rk, rev, 0)) {
				port = rk->dport;
				break;
			}
		}
		if (!port)
			return -GW_R_DROP_SNAT_EXHAUSTED;
		fwd->flags = GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST | closing;
		fwd->out_peer = in_peer; /* where its packets come through (0: here) */
		gw_memcpy(fwd->nat_src, snat, 16);
		fwd->nat_sport = port;
		gw_memcpy(fwd->nat_dst, be->addr, 16);
		fwd->nat_dport = be_port;
	}
	if (gw_ctx_ct_insert(c, fk, fwd, 0))
		return -GW_R_DROP_CT_FULL;
	return 0;
}

/* The conntrack path: the entry of the packet's flow (k its key, now the
 * time if already read, else 0), brought up to date with the packet, or a
 * new flow's. 0 with *ret set, or what gw_new_flow returns. */
static __always_inline int gw_ct_track(struct gw_ctx *c, const struct gw_cfg *cfg,
				       struct gw_scratch *s, struct gw_pkt *p,
				       const struct gw_ct_key *k, __u16 zone, __u32 in_peer,
				       __u32 identity, __u32 hash, __u64 now, struct gw_ct **ret)
{
	struct gw_ct *e;
	int r;

	e = gw_ctx_ct_lookup(c, k);
	/* A flow sent to a gateway that has since gone down is balanced anew
	 * (the tables no longer hold its site): UDP flows move at once, TCP
	 * ones get a reset from their new backend instead of silence. */
	if (e && (e->flags & (GW_CT_F_ENCAP | GW_CT_F_REPLY)) == GW_CT_F_ENCAP) {
		const struct gw_peer *peer = gw_ctx_peer(c, e->out_peer);

		if (!peer || !(peer->flags & GW_PEER_F_UP))
			e = 0;
	}
	/* A new connection on the tuple of one that ended is a new flow. */
	if (e && p->proto == IPPROTO_TCP &&
	    (p->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_SYN &&
	    gw_ct_stale(e, now = gw_ctx_now(c)))
		e = 0;
	if (e) {
		if (!now)
			now = gw_ctx_now(c);
		if (now - e->last_seen_ns > GW_CT_TOUCH_NS)
			e->last_seen_ns = now;
		if (gw_ct_peer_moved(zone, e->flags, e->out_peer, in_peer))
			gw_ct_follow_peer(c, &s->rk, p, e, in_peer);
		if (p->proto == IPPROTO_TCP && (p->tcp_flags & (GW_TCP_FIN | GW_TCP_RST))) {
			if (!(e->flags & GW_CT_F_CLOSING)) {
				e->flags |= GW_CT_F_CLOSING;
				e->last_seen_ns = now;
			}
			if (p->tcp_flags & GW_TCP_RST)
				gw_ct_close_other(c, &s->rk, p, e, now);
		} else if (p->proto == IPPROTO_TCP &&
			   (p->tcp_flags & (GW_TCP_SYN | GW_TCP_FIN | GW_TCP_RST)) == GW_TCP_SYN &&
			   (e->flags & GW_CT_F_CLOSING)) {
			/* SYN or SYN-ACK: a new connection on the tuple of one
			 * that closed, so the entry is owned again */
			e->flags &= ~GW_CT_F_CLOSING;
			e->last_seen_ns = now;
		}
		e->packets++;
	} else {
		r = gw_new_flow(c, cfg, s, p, k, zone, in_peer, identity, hash);
		if (r)
			return r;
		e = &s->fwd;
	}
	*ret = e;
	return 0;
}

/* A packet of a flow in the flow cache: 1 when the slot serves it (s->fwd
 * then holds the entry to apply), 0 when it must take the conntrack path. */
static __always_inline int gw_flowc_serves(struct gw_ctx *c, struct gw_scratch *s,
					   const struct gw_flowc_head *f, const int w, __u16 zone,
					   __u32 in_peer)
{
	/* conntrack moves such a flow's replies (gw_ct_follow_peer); served
	 * from here, they would go to the old gateway until the slot aged */
	if (gw_ct_peer_moved(zone, f->ct_flags, f->out_peer, in_peer))
		return 0;
	if (f->ct_flags & GW_CT_F_ENCAP) {
		const struct gw_peer *peer = gw_ctx_peer(c, f->out_peer);

		if (!peer || !(peer->flags & GW_PEER_F_UP))
			return 0; /* conntrack balances it anew */
	}
	gw_flowc_to_ct(f, w, &s->fwd);
	return 1;
}

/* A tracked flow, or a new one; shared by both sides after parsing. */
static __always_inline int gw_flow(struct gw_ctx *c, const struct gw_cfg *cfg, struct gw_pkt *p,
				   __u16 zone, __u32 in_peer, __u32 identity, struct gw_result *res)
{
	struct gw_scratch *s = gw_ctx_scratch(c);
	const struct gw_flowc_head *hop = 0;
	struct gw_flowc6 *a6, *b6;
	struct gw_flowc *a4, *b4;
	__u32 hash, epoch, idx, stamp, slot;
	int hit, fill = -1;
	struct gw_ct_key k;
	struct gw_ct *e;
	__u64 now = 0;
	__u16 len = 0;
	int r;

	if (!s)
		return -GW_R_DROP_CT_FULL;
	s->fc_slot = GW_FC_NONE;
	/* the epoch first: what is read after it cannot be older than it. Each
	 * family's slots stay typed, so that the verifier knows their size. */
	if (gw_flowc_eligible(p)) {
		epoch = gw_ctx_epoch(c);
		idx = gw_flowc_index(p, zone);
		now = gw_ctx_now(c);
		stamp = now >> GW_FLOWC_STAMP_SHIFT;
		s->fc_epoch = epoch;
		s->fc_stamp = stamp;
		if (p->family == GW_AF_INET) {
			a4 = gw_ctx_flowc(c, idx & ~1u);
			b4 = gw_ctx_flowc(c, idx | 1u);
			hit = gw_flowc_probe(a4 ? &a4->h : 0, b4 ? &b4->h : 0, 1, p, zone, epoch,
					     stamp, &fill);
			if (hit == 0 && a4 && gw_flowc_serves(c, s, &a4->h, 1, zone, in_peer))
				hop = &a4->h;
			else if (hit == 1 && b4 && gw_flowc_serves(c, s, &b4->h, 1, zone, in_peer))
				hop = &b4->h;
			slot = 0;
		} else {
			a6 = gw_ctx_flowc6(c, idx & ~1u);
			b6 = gw_ctx_flowc6(c, idx | 1u);
			hit = gw_flowc_probe(a6 ? &a6->h : 0, b6 ? &b6->h : 0, 4, p, zone, epoch,
					     stamp, &fill);
			if (hit == 0 && a6 && gw_flowc_serves(c, s, &a6->h, 4, zone, in_peer))
				hop = &a6->h;
			else if (hit == 1 && b6 && gw_flowc_serves(c, s, &b6->h, 4, zone, in_peer))
				hop = &b6->h;
			slot = GW_FC6;
		}
		if (hop)
			return gw_apply(c, cfg, p, &s->fwd, hop->hash, res, hop, !zone);
		/* a hit sent back to conntrack refills its own slot */
		if (hit >= 0)
			fill = hit;
		if (fill >= 0)
			s->fc_slot = slot | (((idx & ~1u) + (__u32)fill) & GW_FC_INDEX);
	}
	hash = gw_flow_hash(p->src, p->dst, p->sport, p->dport, p->proto);
	len = p->l3_len;
	gw_ct_key_from_pkt(&k, p, zone);
	r = gw_ct_track(c, cfg, s, p, &k, zone, in_peer, identity, hash, now, &e);
	if (r)
		return r;
	r = gw_apply(c, cfg, p, e, hash, res, 0, !zone);
	if (r || res->action != GW_ACT_REDIRECT ||
	    (res->reason != GW_R_FWD_LOCAL && res->reason != GW_R_FWD_REMOTE &&
	     res->reason != GW_R_REPLY_LOCAL && res->reason != GW_R_REPLY_REMOTE))
		return r;
	slot = s->fc_slot;
	if (slot == GW_FC_NONE)
		return r;
	if (slot & GW_FC6) {
		a6 = gw_ctx_flowc6(c, slot & ~GW_FC6);
		if (a6)
			gw_flowc_fill(&a6->h, 4, &k, len, e, hash, s->fib.ifindex, s->fib.dmac,
				      s->fib.smac, s->fc_epoch, s->fc_stamp);
	} else {
		a4 = gw_ctx_flowc(c, slot);
		if (a4)
			gw_flowc_fill(&a4->h, 1, &k, len, e, hash, s->fib.ifindex, s->fib.dmac,
				      s->fib.smac, s->fc_epoch, s->fc_stamp);
	}
	return r;
}

/* the ICMP error relay (gw_icmp_error) uses gw_apply and the conntrack keys */
#include "gw/pipeline/icmp_relay.h"

static __always_inline int gw_is_vip(struct gw_ctx *c, const struct gw_pkt *p)
{
	struct gw_svc_key sk;

	gw_memset(&sk, 0, sizeof(sk));
	gw_memcpy(sk.vip, p->dst, 16);
	sk.family = p->family;
	return gw_ctx_svc(c, &sk) != 0;
}

static __always_inline void gw_set_drop(struct gw_result *res, int r)
{
	res->action = GW_ACT_DROP;
	res->reason = (__u32)-r;
}

static __always_inline void gw_set_pass(struct gw_result *res)
{
	res->action = GW_ACT_PASS;
	res->reason = GW_R_PASS;
}

/* Packets arriving on the internal side: this site's clients and the
 * replies of its backends. */
static __always_inline void gw_pipeline_int(struct gw_ctx *c, struct gw_result *res)
{
	const struct gw_cfg *cfg = gw_ctx_cfg(c);
	struct gw_pkt p;
	int r;

	gw_set_pass(res);
	if (!cfg)
		return;
	r = gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p);
	if (r == GW_PARSE_NOT_IP)
		return;
	/* more extension headers than we walk is no fault of the packet's:
	 * one to no VIP of ours is the kernel's to handle */
	if (r == -GW_R_DROP_IPV6_EXT && !gw_is_vip(c, &p))
		return;
	if (r < 0) {
		gw_set_drop(res, r);
		return;
	}
	if (!(p.flags & (GW_PKT_F_L4 | GW_PKT_F_FRAGMENT))) {
		r = gw_icmp_error(c, cfg, &p, 0, res);
		if (r < 0)
			gw_set_drop(res, r);
		if (r != GW_PARSE_NOT_IP)
			return;
	}
	if (!(p.flags & GW_PKT_F_L4) || (p.flags & GW_PKT_F_FRAGMENT)) {
		if (gw_is_vip(c, &p))
			gw_set_drop(res, (p.flags & GW_PKT_F_FRAGMENT) ? -GW_R_DROP_FRAGMENT
								       : -GW_R_DROP_UNSUPPORTED);
		return;
	}
	r = gw_flow(c, cfg, &p, 0, 0, GW_IDENTITY_LAZY, res);
	if (r < 0)
		gw_set_drop(res, r);
	else if (r == GW_PARSE_NOT_IP)
		gw_set_pass(res);
}

/* Answer an inter-gateway probe in place: swap the addresses, mark it a
 * reply and send it back out of the interface it came in on. Probes go from
 * the probe port to the probe port (gatewayd sends them from it), so only a
 * request from that port is answered: the answer goes back to the port the
 * request came from, and a spoofed one from any other port would aim it at
 * whatever listens there on the peer. An answer to our own probe passes to
 * gatewayd's socket. */
static __always_inline int gw_probe_reply(struct gw_ctx *c, const struct gw_cfg *cfg,
					  const struct gw_pkt *p, struct gw_result *res)
{
	void *data = gw_ctx_data(c), *data_end = gw_ctx_data_end(c);
	struct ethhdr *eth = data;
	struct iphdr *iph;
	struct udphdr *uh;
	struct gw_probe *pr;
	__u8 mac[6];
	__be32 a;
	__be16 port;

	if (p->l4_off != sizeof(*eth) + sizeof(*iph))
		return -GW_R_DROP_PROBE;
	iph = data + sizeof(*eth);
	uh = (void *)(iph + 1);
	pr = (void *)(uh + 1);
	if ((void *)(pr + 1) > data_end)
		return -GW_R_DROP_PROBE;
	if (pr->magic != gw_htonl(GW_PROBE_MAGIC) || uh->source != cfg->probe_port)
		return -GW_R_DROP_PROBE;
	if (pr->flags & GW_BE16(GW_PROBE_F_REPLY)) {
		gw_set_pass(res);
		return 0;
	}
	gw_memcpy(mac, eth->h_dest, 6);
	gw_memcpy(eth->h_dest, eth->h_source, 6);
	gw_memcpy(eth->h_source, mac, 6);
	a = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = a; /* the header checksum is unchanged by a swap */
	port = uh->source;
	uh->source = uh->dest;
	uh->dest = port;
	uh->check = 0;
	pr->flags |= GW_BE16(GW_PROBE_F_REPLY);
	res->action = GW_ACT_TX;
	res->reason = GW_R_PROBE_REPLY;
	return 0;
}

/* Packets arriving on the external side: tunnel packets and probes from
 * peers; everything else (etcd, TLS, management) goes to the kernel. */
static __always_inline void gw_pipeline_ext(struct gw_ctx *c, struct gw_result *res)
{
	const struct gw_cfg *cfg = gw_ctx_cfg(c);
	const struct gw_identity *ident;
	const struct gw_peer *peer;
	struct gw_geneve_info gi;
	const __u32 *peer_id;
	struct gw_pkt p;
	__u32 pid;
	int r, end;

	gw_set_pass(res);
	if (!cfg)
		return;
	r = gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p);
	if (r == GW_PARSE_NOT_IP || r == -GW_R_DROP_IPV6_EXT)
		return; /* the tunnel is IPv4: an IPv6 packet here is not ours */
	if (r < 0)
		goto drop;
	if (p.family != GW_AF_INET || p.proto != IPPROTO_UDP || !(p.flags & GW_PKT_F_L4) ||
	    (p.flags & GW_PKT_F_FRAGMENT) || p.dst[0] != cfg->ext_addr4)
		return;
	if (p.dport != cfg->geneve_port && p.dport != cfg->probe_port)
		return;
	peer_id = gw_ctx_peer_by_addr(c, p.src[0]);
	if (!peer_id) {
		r = -GW_R_DROP_UNKNOWN_PEER;
		goto drop;
	}
	pid = *peer_id;
	peer = gw_ctx_peer(c, pid);
	if (!peer) {
		r = -GW_R_DROP_UNKNOWN_PEER;
		goto drop;
	}
	if (p.dport == cfg->probe_port) {
		r = gw_probe_reply(c, cfg, &p, res);
		if (r < 0)
			goto drop;
		return;
	}

	end = gw_geneve_udp_end(gw_ctx_data(c), gw_ctx_data_end(c), &p);
	if (end < 0) {
		r = end;
		goto drop;
	}
	r = gw_geneve_parse(gw_ctx_data(c), gw_ctx_data_end(c), p.l4_off + sizeof(struct udphdr),
			    &gi);
	if (r < 0)
		goto drop;
	/* An identity known here names its site; any other one must lie in the
	 * sending site's range (site id in the upper 16 bits). The VNI and the
	 * option's site field name the sending site too. */
	ident = gw_ctx_identity(c, gi.identity);
	if ((ident ? ident->site_id : gi.identity >> 16) != peer->site_id ||
	    gi.vni != peer->site_id || gi.site_id != peer->site_id) {
		r = -GW_R_DROP_IDENTITY_SITE;
		goto drop;
	}
	r = gw_geneve_decap(c, &gi);
	if (r < 0)
		goto drop;
	r = gw_parse(gw_ctx_data(c), gw_ctx_data_end(c), &p);
	if (r == GW_PARSE_NOT_IP) {
		r = -GW_R_DROP_BAD_GENEVE;
		goto drop;
	}
	if (r < 0)
		goto drop;
	/* the inner packet ends inside the datagram that carried it */
	if (gi.inner_off + (__u32)p.l3_len > (__u32)end) {
		r = -GW_R_DROP_TRUNCATED;
		goto drop;
	}
	if (!(p.flags & (GW_PKT_F_L4 | GW_PKT_F_FRAGMENT))) {
		r = gw_icmp_error(c, cfg, &p, peer->site_id, res);
		if (r == 0)
			return;
		if (r < 0)
			goto drop;
	}
	if (!(p.flags & GW_PKT_F_L4) || (p.flags & GW_PKT_F_FRAGMENT)) {
		r = (p.flags & GW_PKT_F_FRAGMENT) ? -GW_R_DROP_FRAGMENT : -GW_R_DROP_UNSUPPORTED;
		goto drop;
	}
	r = gw_flow(c, cfg, &p, peer->site_id, pid, gi.identity, res);
	if (r == GW_PARSE_NOT_IP)
		r = -GW_R_DROP_NO_SERVICE;
	if (r < 0)
		goto drop;
	return;
drop:
	gw_set_drop(res, r);
}

#endif
