/* The flow cache: per-CPU tables in front of conntrack, one for IPv4 flows
 * (64-byte slots) and one for IPv6 (128-byte slots). Nearly every packet a
 * gateway forwards belongs to a flow it saw less than a second ago; for
 * those the cache holds what the conntrack path decided last time (the
 * entry's rewrites and peer, the flow hash) and the next hop the FIB gave,
 * so a hit costs one cache line (two for IPv6) instead of a conntrack
 * lookup, the flow hash and bpf_fib_lookup.
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
 * The functions below work on a slot's head and take the family's address
 * width w in words (1 or 4, a constant at every call, so each family's
 * code is its own and the verifier sees each table's bounds).
 * Needs the driver's gw_ctx_flowc(), gw_ctx_flowc6() and gw_ctx_epoch(). */
#ifndef GW_PIPELINE_FLOWC_H
#define GW_PIPELINE_FLOWC_H

#include "gw/abi/maps.h"
#include "gw/pipeline/parse.h"

#define GW_FLOWC_TTL (GW_CT_TOUCH_NS >> GW_FLOWC_STAMP_SHIFT)

/* The four addresses after a slot's head: source at [0], destination at
 * [w], NAT source at [2w], NAT destination at [3w]. */
static __always_inline __be32 *gw_flowc_addr(struct gw_flowc_head *h)
{
	return (__be32 *)(h + 1);
}

static __always_inline const __be32 *gw_flowc_caddr(const struct gw_flowc_head *h)
{
	return (const __be32 *)(h + 1);
}

static __always_inline __u32 gw_flowc_mix(__u32 h, __u32 v)
{
	return ((h ^ (h >> 16)) * 0x7feb352du) ^ v;
}

/* Index of a tuple in its family's cache. Local to one gateway (unlike the
 * flow hash, which every gateway must compute alike), so cheap: a few
 * multiply-xorshift rounds over the tuple. */
static __always_inline __u32 gw_flowc_index(const struct gw_pkt *p, __u16 zone)
{
	__u32 h = p->src[0];
	int i;

	if (p->family == GW_AF_INET6) {
		GW_UNROLL
		for (i = 1; i < 4; i++)
			h = gw_flowc_mix(h, p->src[i]);
		GW_UNROLL
		for (i = 0; i < 4; i++)
			h = gw_flowc_mix(h, p->dst[i]);
	} else {
		h = gw_flowc_mix(h, p->dst[0]);
	}
	h = gw_flowc_mix(h, ((__u32)p->sport << 16) | p->dport);
	h = gw_flowc_mix(h, ((__u32)zone << 8) | p->proto);
	h = (h ^ (h >> 15)) * 0x846ca68bu;
	return h ^ (h >> 16);
}

/* May this packet use the cache at all? */
static __always_inline int gw_flowc_eligible(const struct gw_pkt *p)
{
	if (p->family != GW_AF_INET && p->family != GW_AF_INET6)
		return 0;
	if (p->proto == IPPROTO_UDP)
		return 1;
	return p->proto == IPPROTO_TCP && !(p->tcp_flags & (GW_TCP_SYN | GW_TCP_FIN | GW_TCP_RST));
}

/* Does the slot hold this tuple (whatever its epoch and age)? */
static __always_inline int gw_flowc_same(const struct gw_flowc_head *f, const int w,
					 const __be32 *src, const __be32 *dst, __be16 sport,
					 __be16 dport, __u8 proto, __u16 zone)
{
	const __be32 *a = gw_flowc_caddr(f);
	int i;

	GW_UNROLL
	for (i = 0; i < w; i++)
		if (a[i] != src[i] || a[w + i] != dst[i])
			return 0;
	return f->sport == sport && f->dport == dport && f->proto == proto && f->zone == zone;
}

static __always_inline int gw_flowc_holds(const struct gw_flowc_head *f, const int w,
					  const struct gw_pkt *p, __u16 zone)
{
	return gw_flowc_same(f, w, p->src, p->dst, p->sport, p->dport, p->proto, zone);
}

static __always_inline int gw_flowc_current(const struct gw_flowc_head *f, __u32 epoch, __u32 stamp)
{
	return f->epoch == epoch && epoch && (__u32)(stamp - f->stamp) < GW_FLOWC_TTL;
}

/* Look a packet up in the pair of slots (a, b) its index names. Returns 0
 * when a serves it, 1 when b does, else -1 with *fill naming the slot a
 * miss fills (0: a, 1: b, -1: none): the tuple's own, else one holding
 * nothing current. Two current flows are not evicted for a third: it takes
 * the conntrack path until one of them is idle or a second old. Evicting
 * the older one instead makes three busy flows on a pair evict each other
 * on every packet; with 16384 flows sent in turn over 65536 slots, that
 * sent 9.4 % of packets to conntrack, against 3.4 % this way (a
 * simulation of both rules; xdp_prog_ns prints the share it measures). */
static __always_inline int gw_flowc_probe(const struct gw_flowc_head *a,
					  const struct gw_flowc_head *b, const int w,
					  const struct gw_pkt *p, __u16 zone, __u32 epoch,
					  __u32 stamp, int *fill)
{
	int sa = a && gw_flowc_holds(a, w, p, zone), sb;

	if (sa && gw_flowc_current(a, epoch, stamp) && p->l3_len <= a->max_len)
		return 0;
	sb = b && gw_flowc_holds(b, w, p, zone);
	if (sb && gw_flowc_current(b, epoch, stamp) && p->l3_len <= b->max_len)
		return 1;
	if (!a || !b)
		*fill = a ? 0 : b ? 1 : -1;
	else if (sa || sb)
		*fill = sa ? 0 : 1;
	else if (!gw_flowc_current(a, epoch, stamp))
		*fill = 0;
	else if (!gw_flowc_current(b, epoch, stamp))
		*fill = 1;
	else
		*fill = -1;
	return -1;
}

/* The conntrack entry a cache entry stands for, for gw_apply. */
static __always_inline void gw_flowc_to_ct(const struct gw_flowc_head *f, const int w,
					   struct gw_ct *e)
{
	const __be32 *a = gw_flowc_caddr(f);
	int i;

	gw_memset(e, 0, sizeof(*e));
	e->flags = f->ct_flags;
	e->out_peer = f->out_peer;
	e->identity = f->identity;
	GW_UNROLL
	for (i = 0; i < w; i++) {
		e->nat_src[i] = a[2 * w + i];
		e->nat_dst[i] = a[3 * w + i];
	}
	e->nat_sport = f->nat_sport;
	e->nat_dport = f->nat_dport;
}

/* Remember a packet's outcome: k its tuple as it arrived, len its IP length,
 * e the conntrack entry applied, hop the next hop it was sent to. */
static __always_inline void gw_flowc_fill(struct gw_flowc_head *f, const int w,
					  const struct gw_ct_key *k, __u16 len,
					  const struct gw_ct *e, __u32 hash, __u32 ifindex,
					  const __u8 *dmac, const __u8 *smac, __u32 epoch,
					  __u32 stamp)
{
	__be32 *a = gw_flowc_addr(f);
	__u16 max_len = len;
	int i;

	if (ifindex > 0xffff || !epoch)
		return;
	/* a flow's small and large packets must not evict each other's limit */
	if (f->epoch == epoch && f->ifindex == ifindex && f->max_len > max_len &&
	    gw_flowc_same(f, w, k->src, k->dst, k->sport, k->dport, k->proto, k->zone))
		max_len = f->max_len;
	GW_UNROLL
	for (i = 0; i < w; i++) {
		a[i] = k->src[i];
		a[w + i] = k->dst[i];
		a[2 * w + i] = e->nat_src[i];
		a[3 * w + i] = e->nat_dst[i];
	}
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
	f->nat_sport = e->nat_sport;
	f->nat_dport = e->nat_dport;
	f->identity = e->identity;
	f->ifindex = (__u16)ifindex;
	f->max_len = max_len;
	gw_memcpy(f->dmac, dmac, 6);
	gw_memcpy(f->smac, smac, 6);
}

#endif
