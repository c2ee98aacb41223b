/* Native driver context for the shared pipeline (include/gw/pipeline/): the
 * packet in an exactly sized heap buffer with headroom, small bounded tables
 * and a fake FIB, so unit tests and the fuzzer run gw_pipeline_int/ext and
 * every helper under ASan without a kernel. The standard topology is in
 * pipeline_topo.h, the packet builders in pipeline_packet.h. */
#ifndef GW_TESTS_PIPELINE_CTX_H
#define GW_TESTS_PIPELINE_CTX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The pipeline's loops carry clang's `#pragma unroll` for the BPF verifier;
 * gcc does not know it and -Wall -Werror would refuse the headers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include "gw/abi/maps.h"
#include "gw/pipeline/compiler.h"
#include "gw/pipeline/parse.h"

#if defined(__SANITIZE_ADDRESS__)
#define GWT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GWT_ASAN 1
#endif
#endif
#ifdef GWT_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define GWT_HEADROOM 256 /* default room in front of the packet (XDP has 256) */
/* data sits at 6 mod 8: IP headers 4-aligned, as NET_IP_ALIGN drivers deliver
 * them and the verifier assumes, and every struct the pipeline reads through
 * a pointer (gw_probe needs 8) naturally aligned, so UBSan stays quiet */
#define GWT_IP_ALIGN	   6
#define GWT_PKT_MAX	   4096
#define GWT_MAX_SVCS	   32
#define GWT_MAGLEV_SLOTS   64
#define GWT_MAGLEV_MAX	   16
#define GWT_MAX_BACKENDS   32
#define GWT_MAX_PEERS	   8
#define GWT_MAX_SRC_IDENTS 16
#define GWT_MAX_IDENTS	   16
#define GWT_MAX_POLICY	   32
#define GWT_CT_MAX	   256
#define GWT_MAX_ROUTES	   16
#define GWT_SCRATCH_BYTES  512
#define GWT_FLOWC	   64 /* flow cache slots (a power of two) */

#define GWT_ENOSPC	   28
#define GWT_EEXIST	   17
#define GWT_EINVAL	   22

/* What the fake FIB answers for a destination. */
#define GWT_ROUTE_OK	   0 /* next hop known: ifindex and MACs */
#define GWT_ROUTE_NO_NEIGH 1 /* route but no neighbour entry yet */

struct gwt_svc {
	struct gw_svc_key key;
	struct gw_svc val;
};

struct gwt_maglev {
	__u32 n;
	__u32 be[GWT_MAGLEV_MAX];
};

struct gwt_peer_addr {
	__be32 addr;
	__u32 id;
};

struct gwt_src_ident {
	__u8 family;
	__u8 plen;
	__be32 addr[4];
	__u32 identity;
};

struct gwt_ident {
	__u32 id;
	struct gw_identity val;
};

struct gwt_policy {
	__u32 identity;
	__u32 svc_id;
};

struct gwt_ct_slot {
	struct gw_ct_key k;
	struct gw_ct v;
};

struct gwt_route {
	__u8 family;
	__u8 plen;
	__u8 kind;
	__be32 dst[4];
	__u32 ifindex;
	__u16 mtu; /* 0: no limit; else a larger l3_len gets "fragmentation needed" */
	__u8 smac[6];
	__u8 dmac[6];
};

struct gwt_fib_req {
	__u32 calls;
	__u8 family;
	__be32 src[4];
	__be32 dst[4];
	__u16 l3_len;
};

struct gw_ctx {
	/* The packet: mem[head, mem_len) is data..data_end. mem is allocated
	 * to exactly mem_len bytes, so ASan sees any access past data_end. */
	__u8 *mem;
	__u32 mem_len;
	__u32 head;
	__u32 floor; /* alignment padding: not headroom */

	struct gw_cfg cfg;
	int have_cfg;
	struct gwt_svc svcs[GWT_MAX_SVCS];
	__u32 n_svcs;
	struct gwt_maglev maglev[GWT_MAGLEV_SLOTS];
	struct gw_backend backends[GWT_MAX_BACKENDS]; /* array map: unset = zeroed */
	struct gw_peer peers[GWT_MAX_PEERS];	      /* array map; id 0 is never a peer */
	struct gwt_peer_addr peer_addrs[GWT_MAX_PEERS];
	__u32 n_peer_addrs;
	struct gwt_src_ident src_idents[GWT_MAX_SRC_IDENTS];
	__u32 n_src_idents;
	struct gwt_ident idents[GWT_MAX_IDENTS];
	__u32 n_idents;
	struct gwt_policy policy[GWT_MAX_POLICY];
	__u32 n_policy;
	struct gwt_ct_slot ct[GWT_CT_MAX];
	__u32 n_ct;
	__u32 ct_cap; /* inserts of new keys fail beyond this many entries */
	__u64 now;
	struct gwt_route routes[GWT_MAX_ROUTES];
	__u32 n_routes;
	/* The flow cache: off while epoch is 0, as in a data plane gatewayd
	 * has not yet written. Tests that change state behind the pipeline's
	 * back bump epoch as gatewayd does. */
	struct gw_flowc flowc[GWT_FLOWC];
	struct gw_flowc6 flowc6[GWT_FLOWC];
	__u32 epoch;

	/* What the pipeline did, for assertions. */
	struct gwt_fib_req fib_last;
	__u32 ct_inserts;
	__u32 ct_insert_fails;
	__u32 adjust_calls;
	int no_scratch; /* make gw_ctx_scratch() fail */

	union {
		__u64 align;
		__u8 bytes[GWT_SCRATCH_BYTES];
	} scratch;
};

/* --- packet buffer --------------------------------------------------------- */

static inline void gwt_poison(struct gw_ctx *c)
{
#ifdef GWT_ASAN
	/* The headroom is not part of the packet: reading it is a bug. ASan
	 * tracks 8-byte granules, so up to 7 bytes before data stay readable. */
	ASAN_UNPOISON_MEMORY_REGION(c->mem, c->mem_len);
	ASAN_POISON_MEMORY_REGION(c->mem, c->head);
#else
	(void)c;
#endif
}

static inline void gwt_packet_free(struct gw_ctx *c)
{
	if (!c->mem)
		return;
#ifdef GWT_ASAN
	ASAN_UNPOISON_MEMORY_REGION(c->mem, c->mem_len);
#endif
	free(c->mem);
	c->mem = NULL;
	c->mem_len = c->head = c->floor = 0;
}

/* Put a frame in the context with `headroom` bytes in front of it. */
static inline int gwt_packet_set(struct gw_ctx *c, const void *frame, size_t len, size_t headroom)
{
	size_t pad = (GWT_IP_ALIGN + 8 - headroom % 8) % 8; /* malloc aligns to 8 */

	gwt_packet_free(c);
	if (len > GWT_PKT_MAX || headroom > 4096)
		return -GWT_EINVAL;
	c->mem = malloc(pad + headroom + len);
	if (!c->mem)
		return -GWT_ENOSPC;
	memset(c->mem, 0xa5, pad + headroom);
	if (len)
		memcpy(c->mem + pad + headroom, frame, len);
	c->mem_len = (__u32)(pad + headroom + len);
	c->head = (__u32)(pad + headroom);
	c->floor = (__u32)pad;
	gwt_poison(c);
	return 0;
}

static inline __u8 *gwt_packet(struct gw_ctx *c)
{
	return c->mem + c->head;
}

static inline size_t gwt_packet_len(const struct gw_ctx *c)
{
	return c->mem_len - c->head;
}

/* --- the driver contract ----------------------------------------------------- */

static __always_inline void *gw_ctx_data(struct gw_ctx *c)
{
	return c->mem + c->head;
}

static __always_inline void *gw_ctx_data_end(struct gw_ctx *c)
{
	return c->mem + c->mem_len;
}

/* Same limits as bpf_xdp_adjust_head: data stays inside the buffer and at
 * least an Ethernet header remains. */
static __always_inline int gw_ctx_adjust_head(struct gw_ctx *c, int delta)
{
	long nh = (long)c->head + delta;

	c->adjust_calls++;
	if (nh < (long)c->floor || nh > (long)c->mem_len - (long)sizeof(struct ethhdr))
		return -GWT_EINVAL;
	c->head = (__u32)nh;
	gwt_poison(c);
	return 0;
}

/* Like bpf_xdp_adjust_tail for a shrink: at least an Ethernet header stays. */
static __always_inline int gw_ctx_adjust_tail(struct gw_ctx *c, int delta)
{
	long nl = (long)c->mem_len + delta;

	if (delta > 0 || nl < (long)c->head + (long)sizeof(struct ethhdr))
		return -GWT_EINVAL;
	c->mem_len = (__u32)nl;
	return 0;
}

static __always_inline const struct gw_cfg *gw_ctx_cfg(struct gw_ctx *c)
{
	if (!c->have_cfg || c->cfg.abi_version != GW_ABI_VERSION)
		return 0;
	return &c->cfg;
}

static __always_inline const struct gw_svc *gw_ctx_svc(struct gw_ctx *c, const struct gw_svc_key *k)
{
	__u32 i;

	for (i = 0; i < c->n_svcs && i < GWT_MAX_SVCS; i++)
		if (!memcmp(&c->svcs[i].key, k, sizeof(*k)))
			return &c->svcs[i].val;
	return 0;
}

static __always_inline int gw_ctx_maglev(struct gw_ctx *c, __u32 slot, __u32 hash,
					 __u32 *ret_backend)
{
	const struct gwt_maglev *m;

	if (slot >= GWT_MAGLEV_SLOTS)
		return -1;
	m = &c->maglev[slot];
	if (!m->n || m->n > GWT_MAGLEV_MAX)
		return -1;
	*ret_backend = m->be[hash % m->n];
	return 0;
}

static __always_inline const struct gw_backend *gw_ctx_backend(struct gw_ctx *c, __u32 id)
{
	return id < GWT_MAX_BACKENDS ? &c->backends[id] : 0;
}

static __always_inline const struct gw_peer *gw_ctx_peer(struct gw_ctx *c, __u32 id)
{
	return id && id < GWT_MAX_PEERS ? &c->peers[id] : 0;
}

static __always_inline const __u32 *gw_ctx_peer_by_addr(struct gw_ctx *c, __be32 addr)
{
	__u32 i;

	for (i = 0; i < c->n_peer_addrs && i < GWT_MAX_PEERS; i++)
		if (c->peer_addrs[i].addr == addr)
			return &c->peer_addrs[i].id;
	return 0;
}

/* Does addr fall in the plen-bit prefix pfx? */
static inline int gwt_prefix_match(const __be32 *pfx, __u8 plen, const __be32 *addr)
{
	const __u8 *a = (const __u8 *)pfx, *b = (const __u8 *)addr;
	__u8 i, full = plen / 8, rest = plen % 8;

	for (i = 0; i < full && i < 16; i++)
		if (a[i] != b[i])
			return 0;
	if (rest && full < 16) {
		__u8 mask = (__u8)(0xff << (8 - rest));

		if ((a[full] & mask) != (b[full] & mask))
			return 0;
	}
	return 1;
}

static __always_inline __u32 gw_ctx_identity_of(struct gw_ctx *c, const struct gw_pkt *p)
{
	const struct gwt_src_ident *best = 0;
	__u32 i;

	for (i = 0; i < c->n_src_idents && i < GWT_MAX_SRC_IDENTS; i++) {
		const struct gwt_src_ident *s = &c->src_idents[i];

		if (s->family != p->family || !gwt_prefix_match(s->addr, s->plen, p->src))
			continue;
		if (!best || s->plen > best->plen)
			best = s;
	}
	if (best)
		return best->identity;
	return c->have_cfg ? c->cfg.default_identity : 0;
}

static __always_inline const struct gw_identity *gw_ctx_identity(struct gw_ctx *c, __u32 id)
{
	__u32 i;

	for (i = 0; i < c->n_idents && i < GWT_MAX_IDENTS; i++)
		if (c->idents[i].id == id)
			return &c->idents[i].val;
	return 0;
}

static __always_inline int gw_ctx_policy_allows(struct gw_ctx *c, __u32 identity, __u32 svc_id)
{
	__u32 i;

	for (i = 0; i < c->n_policy && i < GWT_MAX_POLICY; i++)
		if (c->policy[i].identity == identity && c->policy[i].svc_id == svc_id)
			return 1;
	return 0;
}

static __always_inline struct gw_ct *gw_ctx_ct_lookup(struct gw_ctx *c, const struct gw_ct_key *k)
{
	__u32 i;

	for (i = 0; i < c->n_ct && i < GWT_CT_MAX; i++)
		if (!memcmp(&c->ct[i].k, k, sizeof(*k)))
			return &c->ct[i].v;
	return 0;
}

/* excl: fail if the key exists (BPF_NOEXIST); else create or replace. New
 * keys fail once ct_cap entries exist (unlike an LRU map, which evicts). */
static __always_inline int gw_ctx_ct_insert(struct gw_ctx *c, const struct gw_ct_key *k,
					    const struct gw_ct *v, int excl)
{
	struct gw_ct *e = gw_ctx_ct_lookup(c, k);
	__u32 cap = c->ct_cap < GWT_CT_MAX ? c->ct_cap : GWT_CT_MAX;

	c->ct_inserts++;
	if (e) {
		if (excl) {
			c->ct_insert_fails++;
			return -GWT_EEXIST;
		}
		memcpy(e, v, sizeof(*v));
		return 0;
	}
	if (c->n_ct >= cap) {
		c->ct_insert_fails++;
		return -GWT_ENOSPC;
	}
	memcpy(&c->ct[c->n_ct].k, k, sizeof(*k));
	memcpy(&c->ct[c->n_ct].v, v, sizeof(*v));
	c->n_ct++;
	return 0;
}

static __always_inline __u64 gw_ctx_now(struct gw_ctx *c)
{
	return c->now;
}

static __always_inline struct gw_flowc *gw_ctx_flowc(struct gw_ctx *c, __u32 index)
{
	return &c->flowc[index & (GWT_FLOWC - 1)];
}

static __always_inline struct gw_flowc6 *gw_ctx_flowc6(struct gw_ctx *c, __u32 index)
{
	return &c->flowc6[index & (GWT_FLOWC - 1)];
}

static __always_inline __u32 gw_ctx_epoch(struct gw_ctx *c)
{
	return c->epoch;
}

struct gw_fib;
static __always_inline int gw_ctx_fib(struct gw_ctx *c, struct gw_fib *f);
struct gw_scratch;
static __always_inline struct gw_scratch *gw_ctx_scratch(struct gw_ctx *c);
static __always_inline void gw_ctx_clamp_mss(struct gw_ctx *c, __u32 l4_off, __u32 max_mss);
static __always_inline int gw_ctx_csum(struct gw_ctx *c, __u32 off, __u32 len);

#include "gw/pipeline/pipeline.h"

_Static_assert(sizeof(struct gw_scratch) <= GWT_SCRATCH_BYTES, "scratch room");

/* Longest-prefix match over the configured routes; no match is "no route". */
static __always_inline int gw_ctx_fib(struct gw_ctx *c, struct gw_fib *f)
{
	const struct gwt_route *best = 0;
	__u32 i;

	c->fib_last.calls++;
	c->fib_last.family = f->family;
	memcpy(c->fib_last.src, f->src, 16);
	memcpy(c->fib_last.dst, f->dst, 16);
	c->fib_last.l3_len = f->l3_len;
	for (i = 0; i < c->n_routes && i < GWT_MAX_ROUTES; i++) {
		const struct gwt_route *r = &c->routes[i];

		if (r->family != f->family || !gwt_prefix_match(r->dst, r->plen, f->dst))
			continue;
		if (!best || r->plen > best->plen)
			best = r;
	}
	if (!best)
		return -GW_R_DROP_FIB;
	if (best->kind == GWT_ROUTE_NO_NEIGH)
		return GW_FIB_PASS;
	if (best->mtu && f->l3_len > best->mtu) {
		f->mtu = best->mtu;
		return -GW_R_DROP_TOO_BIG;
	}
	f->ifindex = best->ifindex;
	memcpy(f->smac, best->smac, 6);
	memcpy(f->dmac, best->dmac, 6);
	return GW_FIB_OK;
}

static __always_inline struct gw_scratch *gw_ctx_scratch(struct gw_ctx *c)
{
	return c->no_scratch ? 0 : (struct gw_scratch *)c->scratch.bytes;
}

static __always_inline void gw_ctx_clamp_mss(struct gw_ctx *c, __u32 l4_off, __u32 max_mss)
{
	gw_tcp_clamp_mss(gw_ctx_data(c), gw_ctx_data_end(c), l4_off, max_mss);
}

static __always_inline int gw_ctx_csum(struct gw_ctx *c, __u32 off, __u32 len)
{
	__u8 *data = gw_ctx_data(c);

	if (len > GW_CSUM_SPAN_MAX || data + off + len > (__u8 *)gw_ctx_data_end(c))
		return -1;
	return gw_csum_fold(
		gw_csum_words(data + off, gw_ctx_data_end(c), (__u16)len, 0, GW_CSUM_SPAN_MAX / 2));
}

/* --- building the tables ------------------------------------------------------ */

static inline struct gw_ctx *gwt_ctx_new(void)
{
	struct gw_ctx *c = calloc(1, sizeof(*c));

	if (c)
		c->ct_cap = GWT_CT_MAX;
	return c;
}

static inline void gwt_ctx_free(struct gw_ctx *c)
{
	if (!c)
		return;
	gwt_packet_free(c);
	free(c);
}

/* Forget every flow and what was recorded; tables stay. */
static inline void gwt_ctx_reset_flows(struct gw_ctx *c)
{
	c->n_ct = 0;
	memset(&c->fib_last, 0, sizeof(c->fib_last));
	c->ct_inserts = c->ct_insert_fails = c->adjust_calls = 0;
}

static inline int gwt_svc_add(struct gw_ctx *c, __u8 family, const __be32 *vip, __u16 port,
			      __u8 proto, __u32 id, __u32 flags)
{
	struct gwt_svc *s;

	if (c->n_svcs >= GWT_MAX_SVCS)
		return -GWT_ENOSPC;
	s = &c->svcs[c->n_svcs++];
	memset(s, 0, sizeof(*s));
	memcpy(s->key.vip, vip, 16);
	s->key.port = gw_htons(port);
	s->key.proto = proto;
	s->key.family = family;
	s->val.id = id;
	s->val.flags = flags;
	return 0;
}

/* The {vip, 0, 0} entry that marks an address as a VIP. */
static inline int gwt_vip_add(struct gw_ctx *c, __u8 family, const __be32 *vip)
{
	return gwt_svc_add(c, family, vip, 0, 0, 0, GW_SVC_F_VIP);
}

static inline int gwt_maglev_set(struct gw_ctx *c, __u32 slot, const __u32 *be, __u32 n)
{
	if (slot >= GWT_MAGLEV_SLOTS || n > GWT_MAGLEV_MAX)
		return -GWT_EINVAL;
	c->maglev[slot].n = n;
	memcpy(c->maglev[slot].be, be, n * sizeof(*be));
	return 0;
}

static inline int gwt_backend_set(struct gw_ctx *c, __u32 id, __u8 family, const __be32 *addr,
				  __u16 port, __u16 site_id, __u16 peer_id, __u32 flags)
{
	struct gw_backend *b;

	if (id >= GWT_MAX_BACKENDS)
		return -GWT_EINVAL;
	b = &c->backends[id];
	memset(b, 0, sizeof(*b));
	memcpy(b->addr, addr, 16);
	b->port = gw_htons(port);
	b->family = family;
	b->site_id = site_id;
	b->peer_id = peer_id;
	b->flags = flags;
	return 0;
}

static inline int gwt_peer_set(struct gw_ctx *c, __u32 id, __be32 addr, __u16 site_id, __u16 flags)
{
	__u32 i;

	if (!id || id >= GWT_MAX_PEERS)
		return -GWT_EINVAL;
	c->peers[id].addr = addr;
	c->peers[id].site_id = site_id;
	c->peers[id].flags = flags;
	for (i = 0; i < c->n_peer_addrs; i++)
		if (c->peer_addrs[i].addr == addr) {
			c->peer_addrs[i].id = id;
			return 0;
		}
	if (c->n_peer_addrs >= GWT_MAX_PEERS)
		return -GWT_ENOSPC;
	c->peer_addrs[c->n_peer_addrs].addr = addr;
	c->peer_addrs[c->n_peer_addrs].id = id;
	c->n_peer_addrs++;
	return 0;
}

static inline int gwt_src_ident_add(struct gw_ctx *c, __u8 family, const __be32 *addr, __u8 plen,
				    __u32 identity)
{
	struct gwt_src_ident *s;

	if (c->n_src_idents >= GWT_MAX_SRC_IDENTS)
		return -GWT_ENOSPC;
	s = &c->src_idents[c->n_src_idents++];
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->plen = plen;
	memcpy(s->addr, addr, 16);
	s->identity = identity;
	return 0;
}

static inline int gwt_ident_add(struct gw_ctx *c, __u32 id, __u16 site_id)
{
	if (c->n_idents >= GWT_MAX_IDENTS)
		return -GWT_ENOSPC;
	c->idents[c->n_idents].id = id;
	c->idents[c->n_idents].val.site_id = site_id;
	c->idents[c->n_idents].val.flags = 0;
	c->n_idents++;
	return 0;
}

static inline int gwt_policy_add(struct gw_ctx *c, __u32 identity, __u32 svc_id)
{
	if (c->n_policy >= GWT_MAX_POLICY)
		return -GWT_ENOSPC;
	c->policy[c->n_policy].identity = identity;
	c->policy[c->n_policy].svc_id = svc_id;
	c->n_policy++;
	return 0;
}

static inline int gwt_route_add(struct gw_ctx *c, __u8 family, const __be32 *dst, __u8 plen,
				__u8 kind, __u32 ifindex, const __u8 *smac, const __u8 *dmac)
{
	struct gwt_route *r;

	if (c->n_routes >= GWT_MAX_ROUTES)
		return -GWT_ENOSPC;
	r = &c->routes[c->n_routes++];
	memset(r, 0, sizeof(*r));
	r->family = family;
	r->plen = plen;
	r->kind = kind;
	memcpy(r->dst, dst, 16);
	r->ifindex = ifindex;
	if (smac)
		memcpy(r->smac, smac, 6);
	if (dmac)
		memcpy(r->dmac, dmac, 6);
	return 0;
}

#endif
