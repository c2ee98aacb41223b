/* XDP driver context for the shared pipeline: the maps of a gateway and the
 * gw_ctx_* functions the pipeline calls (see include/gw/pipeline/pipeline.h). */
#ifndef GW_BPF_CTX_H
#define GW_BPF_CTX_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "gw/abi/maps.h"
#include "gw/pipeline/parse.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Default sizes; gatewayd sets the real ones from the config's limits
 * before loading. Every map is pinned by name so that a restarted gatewayd
 * takes over the running data plane. */
#define GW_PIN LIBBPF_PIN_BY_NAME

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_cfg);
	__uint(pinning, GW_PIN);
} gw_cfg_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct gw_svc_key);
	__type(value, struct gw_svc);
	__uint(pinning, GW_PIN);
} gw_svcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1024 * GW_MAGLEV_TABLES);
	__type(key, __u32);
	__uint(pinning, GW_PIN);
	__array(
		values, struct {
			__uint(type, BPF_MAP_TYPE_ARRAY);
			__uint(max_entries, 1);
			__uint(map_flags, BPF_F_INNER_MAP);
			__type(key, __u32);
			__type(value, __u32);
		});
} gw_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct gw_backend);
	__uint(pinning, GW_PIN);
} gw_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct gw_peer);
	__uint(pinning, GW_PIN);
} gw_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __be32);
	__type(value, __u32);
	__uint(pinning, GW_PIN);
} gw_peer_addr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gw_lpm4_key);
	__type(value, __u32);
	__uint(pinning, GW_PIN);
} gw_ident4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gw_lpm6_key);
	__type(value, __u32);
	__uint(pinning, GW_PIN);
} gw_ident6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct gw_identity);
	__uint(pinning, GW_PIN);
} gw_identities SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct gw_policy_key);
	__type(value, __u32);
	__uint(pinning, GW_PIN);
} gw_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct gw_ct_key);
	__type(value, struct gw_ct);
	__uint(pinning, GW_PIN);
} gw_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_R__COUNT);
	__type(key, __u32);
	__type(value, struct gw_counter);
	__uint(pinning, GW_PIN);
} gw_counters SEC(".maps");

/* Bumped by gatewayd after every map write and every route, neighbour or
 * link change: flow cache entries of an older epoch are ignored. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, GW_PIN);
} gw_epoch SEC(".maps");

/* Not pinned: a cache, which a new program may start empty. One plain
 * array per family holding a region of mask + 1 slots per possible CPU,
 * each CPU using its own: a lookup is one address computation and one
 * slot (a per-CPU array takes a pointer load and a separately allocated
 * element per slot, two cache misses for a cold slot). BPF_F_MMAPABLE
 * puts the array's data on a page boundary; without it, the data starts
 * 312 bytes into struct bpf_array (6.18's BTF), 56 bytes into a cache
 * line, and every 64-byte slot would straddle two lines. gatewayd sizes
 * them and sets the masks to the slots per CPU - 1, or leaves a mask at 0
 * to turn that family's cache off. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct gw_flowc);
} gw_flowc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct gw_flowc6);
} gw_flowc6 SEC(".maps");

const volatile __u32 gw_flowc_mask = 0;
const volatile __u32 gw_flowc6_mask = 0;

struct gw_ctx {
	struct xdp_md *xdp;
};

static __always_inline void *gw_ctx_data(struct gw_ctx *c)
{
	return (void *)(long)c->xdp->data;
}

static __always_inline void *gw_ctx_data_end(struct gw_ctx *c)
{
	return (void *)(long)c->xdp->data_end;
}

static __always_inline int gw_ctx_adjust_head(struct gw_ctx *c, int delta)
{
	return bpf_xdp_adjust_head(c->xdp, delta);
}

static __always_inline int gw_ctx_adjust_tail(struct gw_ctx *c, int delta)
{
	return bpf_xdp_adjust_tail(c->xdp, delta);
}

static __always_inline const struct gw_cfg *gw_ctx_cfg(struct gw_ctx *c)
{
	__u32 zero = 0;
	const struct gw_cfg *cfg = bpf_map_lookup_elem(&gw_cfg_map, &zero);

	if (!cfg || cfg->abi_version != GW_ABI_VERSION)
		return 0;
	return cfg;
}

static __always_inline const struct gw_svc *gw_ctx_svc(struct gw_ctx *c, const struct gw_svc_key *k)
{
	return bpf_map_lookup_elem(&gw_svcs, k);
}

/* Inner maps hold the table size in slot 0 and the table after it, so a
 * table and its size are swapped together. */
static __always_inline int gw_ctx_maglev(struct gw_ctx *c, __u32 slot, __u32 hash,
					 __u32 *ret_backend)
{
	__u32 zero = 0, idx, *m, *be;
	void *inner;

	inner = bpf_map_lookup_elem(&gw_maglev, &slot);
	if (!inner)
		return -1;
	m = bpf_map_lookup_elem(inner, &zero);
	if (!m || !*m)
		return -1;
	idx = 1 + hash % *m;
	be = bpf_map_lookup_elem(inner, &idx);
	if (!be)
		return -1;
	*ret_backend = *be;
	return 0;
}

static __always_inline const struct gw_backend *gw_ctx_backend(struct gw_ctx *c, __u32 id)
{
	return bpf_map_lookup_elem(&gw_backends, &id);
}

static __always_inline const struct gw_peer *gw_ctx_peer(struct gw_ctx *c, __u32 id)
{
	if (!id)
		return 0;
	return bpf_map_lookup_elem(&gw_peers, &id);
}

static __always_inline const __u32 *gw_ctx_peer_by_addr(struct gw_ctx *c, __be32 addr)
{
	return bpf_map_lookup_elem(&gw_peer_addr, &addr);
}

static __always_inline __u32 gw_ctx_identity_of(struct gw_ctx *c, const struct gw_pkt *p)
{
	const struct gw_cfg *cfg = gw_ctx_cfg(c);
	__u32 *id;

	if (p->family == GW_AF_INET) {
		struct gw_lpm4_key k = {.prefixlen = 32, .addr = p->src[0]};

		id = bpf_map_lookup_elem(&gw_ident4, &k);
	} else {
		struct gw_lpm6_key k = {.prefixlen = 128};

		__builtin_memcpy(k.addr, p->src, 16);
		id = bpf_map_lookup_elem(&gw_ident6, &k);
	}
	if (id)
		return *id;
	return cfg ? cfg->default_identity : 0;
}

static __always_inline const struct gw_identity *gw_ctx_identity(struct gw_ctx *c, __u32 id)
{
	return bpf_map_lookup_elem(&gw_identities, &id);
}

static __always_inline int gw_ctx_policy_allows(struct gw_ctx *c, __u32 identity, __u32 svc_id)
{
	struct gw_policy_key k = {.identity = identity, .svc_id = svc_id};

	return bpf_map_lookup_elem(&gw_policy, &k) != 0;
}

static __always_inline struct gw_ct *gw_ctx_ct_lookup(struct gw_ctx *c, const struct gw_ct_key *k)
{
	return bpf_map_lookup_elem(&gw_ct, k);
}

static __always_inline int gw_ctx_ct_insert(struct gw_ctx *c, const struct gw_ct_key *k,
					    const struct gw_ct *v, int excl)
{
	return bpf_map_update_elem(&gw_ct, k, v, excl ? BPF_NOEXIST : BPF_ANY);
}

static __always_inline struct gw_flowc *gw_ctx_flowc(struct gw_ctx *c, __u32 index)
{
	if (!gw_flowc_mask)
		return 0;
	index = bpf_get_smp_processor_id() * (gw_flowc_mask + 1) + (index & gw_flowc_mask);
	return bpf_map_lookup_elem(&gw_flowc, &index);
}

static __always_inline struct gw_flowc6 *gw_ctx_flowc6(struct gw_ctx *c, __u32 index)
{
	if (!gw_flowc6_mask)
		return 0;
	index = bpf_get_smp_processor_id() * (gw_flowc6_mask + 1) + (index & gw_flowc6_mask);
	return bpf_map_lookup_elem(&gw_flowc6, &index);
}

static __always_inline __u32 gw_ctx_epoch(struct gw_ctx *c)
{
	__u32 zero = 0, *e = bpf_map_lookup_elem(&gw_epoch, &zero);

	return e ? *e : 0;
}

static __always_inline __u64 gw_ctx_now(struct gw_ctx *c)
{
	/* ~4 ms resolution is plenty for conntrack ages, at a tenth of the cost */
	return bpf_ktime_get_coarse_ns();
}

struct gw_fib;
static __always_inline int gw_ctx_fib(struct gw_ctx *c, struct gw_fib *f);
struct gw_scratch;
static __always_inline struct gw_scratch *gw_ctx_scratch(struct gw_ctx *c);
static __always_inline void gw_ctx_clamp_mss(struct gw_ctx *c, __u32 l4_off, __u32 max_mss);
static __always_inline int gw_ctx_csum(struct gw_ctx *c, __u32 off, __u32 len);

#endif
