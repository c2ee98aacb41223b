/* The flow cache: a per-CPU, direct-mapped table in front of conntrack for
 * IPv4 flows. Nearly every packet a gateway forwards belongs to a flow it
 * saw less than a second ago; for those the cache holds what the conntrack
 * path decided last time (the entry's rewrites and peer, the flow hash) and
 * the next hop the FIB gave, so a hit costs one cache line instead of a
 * conntrack lookup, the flow hash and bpf_fib_lookup.
 *
 * A cache entry is only a copy, so it must never outlive what it copies:
 *   - the epoch: gatewayd bumps gw_epoch after every map write and on every
 *     route, neighbour or link change the kernel reports; an entry filled
 *     under another epoch is ignored;
 *   - the age: after GW_CT_TOUCH_NS the packet takes the conntrack path
 *     again, which refreshes the entry's last_seen (so conntrack's idle and
 *     closed timers see a busy flow as busy) and fills the cache anew;
 *   - the packet: only TCP without SYN, FIN or RST, and UDP, use the cache
 *     (the flags that open and close flows always reach conntrack), and only
 *     up to the largest length the FIB passed for the entry's next hop;
 *   - the peer: a cached flow to a gateway that is no longer up takes the
 *     conntrack path, which balances it anew.
 * The cache is two-way set-associative: a tuple may sit in either slot of
 * the pair its index names (index with the low bit cleared, and set), so
 * that two busy flows whose indexes collide do not evict each other on
 * every packet (direct-mapped, with 16384 flows in 65536 slots, a fifth of
 * the flows collided; two-way, about 3 %).
 * Needs the driver's gw_ctx_flowc() and gw_ctx_epoch(). */
#ifndef GW_PIPELINE_FLOWC_H
#define GW_PIPELINE_FLOWC_H

#include "gw/abi/maps.h"
#include "gw/pipeline/parse.h"

#define GW_FLOWC_TTL (GW_CT_TOUCH_NS >> GW_FLOWC_STAMP_SHIFT)

/* Index of a tuple in the cache. Local to one gateway (unlike the flow hash,
 * which every gateway must compute alike), so cheap: a few multiply-xorshift
 * rounds over the IPv4 tuple. */
static __always_inline __u32 gw_flowc_index(const struct gw_pkt *p, __u16 zone)
{
	__u32 h = p->src[0];

	h = ((h ^ (h >> 16)) * 0x7feb352du) ^ p->dst[0];
	h = ((h ^ (h >> 15)) * 0x846ca68bu) ^ (((__u32)p->sport << 16) | p->dport);
	h = ((h ^ (h >> 16)) * 0x7feb352du) ^ (((__u32)zone << 8) | p->proto);
	h = (h ^ (h >> 15)) * 0x846ca68bu;
	return h ^ (h >> 16);
}

/* May this packet use the cache at all? */
static __always_inline int gw_flowc_eligible(const struct gw_pkt *p)
{
	if (p->family != GW_AF_INET)
		return 0;
	if (p->proto == IPPROTO_UDP)
		return 1;
	return p->proto == IPPROTO_TCP && !(p->tcp_flags & (GW_TCP_SYN | GW_TCP_FIN | GW_TCP_RST));
}

static __always_inline int gw_flowc_same(const struct gw_flowc *f, const struct gw_pkt *p,
					 __u16 zone)
{
	return f->saddr == p->src[0] && f->daddr == p->dst[0] && f->sport == p->sport &&
	       f->dport == p->dport && f->proto == p->proto && f->zone == zone;
}

static __always_inline int gw_flowc_match(const struct gw_flowc *f, const struct gw_pkt *p,
					  __u16 zone, __u32 epoch, __u32 stamp)
{
	return f->epoch == epoch && epoch && gw_flowc_same(f, p, zone) &&
	       (__u32)(stamp - f->stamp) < GW_FLOWC_TTL && p->l3_len <= f->max_len;
}

/* The slot of the pair (a, b) a miss fills: the tuple's own, else one
 * holding nothing current, else the one filled longer ago. */
static __always_inline struct gw_flowc *gw_flowc_victim(struct gw_flowc *a, struct gw_flowc *b,
							const struct gw_pkt *p, __u16 zone,
							__u32 epoch, __u32 stamp)
{
	if (!a || !b)
		return a ? a : b;
	if (gw_flowc_same(a, p, zone))
		return a;
	if (gw_flowc_same(b, p, zone))
		return b;
	if (a->epoch != epoch || (__u32)(stamp - a->stamp) >= GW_FLOWC_TTL)
		return a;
	if (b->epoch != epoch || (__u32)(stamp - b->stamp) >= GW_FLOWC_TTL)
		return b;
	return (__s32)(a->stamp - b->stamp) <= 0 ? a : b;
}

/* The conntrack entry a cache entry stands for, for gw_apply. */
static __always_inline void gw_flowc_to_ct(const struct gw_flowc *f, struct gw_ct *e)
{
	gw_memset(e, 0, sizeof(*e));
	e->flags = f->ct_flags;
	e->out_peer = f->out_peer;
	e->identity = f->identity;
	e->nat_src[0] = f->nat_src;
	e->nat_dst[0] = f->nat_dst;
	e->nat_sport = f->nat_sport;
	e->nat_dport = f->nat_dport;
}

/* Remember a packet's outcome: k its tuple as it arrived, len its IP length,
 * e the conntrack entry applied, hop the next hop it was sent to. */
static __always_inline void gw_flowc_fill(struct gw_flowc *f, const struct gw_ct_key *k, __u16 len,
					  const struct gw_ct *e, __u32 hash, __u32 ifindex,
					  const __u8 *dmac, const __u8 *smac, __u32 epoch,
					  __u32 stamp)
{
	__u16 max_len = len;

	if (ifindex > 0xffff || !epoch)
		return;
	/* a flow's small and large packets must not evict each other's limit */
	if (f->epoch == epoch && f->saddr == k->src[0] && f->daddr == k->dst[0] &&
	    f->sport == k->sport && f->dport == k->dport && f->proto == k->proto &&
	    f->zone == k->zone && f->ifindex == ifindex && f->max_len > max_len)
		max_len = f->max_len;
	f->saddr = k->src[0];
	f->daddr = k->dst[0];
	f->sport = k->sport;
	f->dport = k->dport;
	f->zone = k->zone;
	f->proto = k->proto;
	f->_pad = 0;
	f->epoch = epoch;
	f->stamp = stamp;
	f->hash = hash;
	f->ct_flags =
		e->flags & (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST | GW_CT_F_ENCAP | GW_CT_F_REPLY);
	f->out_peer = e->out_peer;
	f->nat_src = e->nat_src[0];
	f->nat_dst = e->nat_dst[0];
	f->nat_sport = e->nat_sport;
	f->nat_dport = e->nat_dport;
	f->identity = e->identity;
	f->ifindex = (__u16)ifindex;
	f->max_len = max_len;
	gw_memcpy(f->dmac, dmac, 6);
	gw_memcpy(f->smac, smac, 6);
}

#endif
