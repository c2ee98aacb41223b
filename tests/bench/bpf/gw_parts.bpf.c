/* The gateway's per-packet steps one at a time, for the analysis in
 * docs/benchmarks.md: each program parses the frame as the pipeline does,
 * then performs one step (a map lookup, a helper) with the gateway's own
 * inline functions on the gateway's own maps (shared through the pins), and
 * drops. The cost of a step is its program minus part_parse.
 *
 * Includes bpf/gateway.bpf.c on purpose (the steps must be the shipped
 * code); benchmarks only. */
#include "../../../bpf/gateway.bpf.c"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} part_seq SEC(".maps");

#define PART_BEGIN(xdp, c, cfg, p)                                                                 \
	struct gw_ctx c = {.xdp = (xdp)};                                                          \
	const struct gw_cfg *cfg = gw_ctx_cfg(&c);                                                 \
	struct gw_pkt p;                                                                           \
	if (!cfg || gw_parse(gw_ctx_data(&c), gw_ctx_data_end(&c), &p) ||                          \
	    !(p.flags & GW_PKT_F_L4))                                                              \
	return XDP_ABORTED

#define PART_HASH(p) gw_flow_hash((p).src, (p).dst, (p).sport, (p).dport, (p).proto)

SEC("xdp")
int part_parse(struct xdp_md *xdp)
{
	PART_BEGIN(xdp, c, cfg, p);
	return p.sport ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int part_hash(struct xdp_md *xdp)
{
	PART_BEGIN(xdp, c, cfg, p);
	return PART_HASH(p) == 12345 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int part_ktime(struct xdp_md *xdp)
{
	PART_BEGIN(xdp, c, cfg, p);
	return gw_ctx_now(&c) == 12345 ? XDP_PASS : XDP_DROP;
}

/* Cheaper clocks, for comparison with part_ktime. */
SEC("xdp")
int part_ktime_coarse(struct xdp_md *xdp)
{
	PART_BEGIN(xdp, c, cfg, p);
	return bpf_ktime_get_coarse_ns() == 12345 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int part_jiffies(struct xdp_md *xdp)
{
	PART_BEGIN(xdp, c, cfg, p);
	return bpf_jiffies64() == 12345 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int part_identity(struct xdp_md *xdp)
{
	PART_BEGIN(xdp, c, cfg, p);
	return gw_ctx_identity_of(&c, &p) == 12345 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int part_svc(struct xdp_md *xdp)
{
	struct gw_svc_key sk;

	PART_BEGIN(xdp, c, cfg, p);
	gw_memset(&sk, 0, sizeof(sk));
	gw_memcpy(sk.vip, p.dst, 16);
	sk.port = p.dport;
	sk.proto = p.proto;
	sk.family = p.family;
	return gw_ctx_svc(&c, &sk) ? XDP_DROP : XDP_PASS;
}

/* Maglev of service 1's client table (map-in-map, two inner lookups). */
SEC("xdp")
int part_maglev(struct xdp_md *xdp)
{
	__u32 be = 0;

	PART_BEGIN(xdp, c, cfg, p);
	if (gw_ctx_maglev(&c, GW_MAGLEV_SLOT(1, GW_MAGLEV_CLIENT, 0), PART_HASH(p), &be))
		return XDP_PASS;
	return gw_ctx_backend(&c, be) ? XDP_DROP : XDP_PASS;
}

/* Conntrack lookup of the frame's own tuple (a hit or a miss, by fixture). */
SEC("xdp")
int part_ct_lookup(struct xdp_md *xdp)
{
	struct gw_ct_key k;

	PART_BEGIN(xdp, c, cfg, p);
	gw_ct_key_from_pkt(&k, &p, 0);
	return gw_ctx_ct_lookup(&c, &k) ? XDP_DROP : XDP_PASS;
}

/* Conntrack lookup of one of 16384 tracked flows in turn (source ports
 * 0..16383 of the frame's tuple, set up by the benchmark): the veth
 * benchmark's working set, which no longer fits the caches. */
SEC("xdp")
int part_ct_lookup_16k(struct xdp_md *xdp)
{
	struct gw_ct_key k;
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&part_seq, &zero);

	PART_BEGIN(xdp, c, cfg, p);
	if (!seq)
		return XDP_ABORTED;
	*seq += 1;
	gw_ct_key_from_pkt(&k, &p, 0);
	k.sport = (__u16)(*seq % 16384);
	return gw_ctx_ct_lookup(&c, &k) ? XDP_DROP : XDP_PASS;
}

/* A conntrack key no earlier repeat used, and an empty entry for it in
 * scratch; NULL when the maps are missing. */
static __always_inline struct gw_ct *part_new_flow(struct gw_ctx *c, const struct gw_pkt *p,
						   struct gw_ct_key *k)
{
	struct gw_scratch *s = gw_ctx_scratch(c);
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&part_seq, &zero);

	if (!seq || !s)
		return 0;
	*seq += 1;
	gw_ct_key_from_pkt(k, p, 0);
	k->sport = (__u16)*seq;
	k->src[1] = (__u32)(*seq >> 16); /* not a valid IPv4 key: only its newness matters */
	gw_memset(&s->fwd, 0, sizeof(s->fwd));
	return &s->fwd;
}

/* One conntrack insert of a tuple no earlier repeat used. */
SEC("xdp")
int part_ct_insert(struct xdp_md *xdp)
{
	struct gw_ct_key k;
	struct gw_ct *v;

	PART_BEGIN(xdp, c, cfg, p);
	v = part_new_flow(&c, &p, &k);
	if (!v)
		return XDP_ABORTED;
	return gw_ctx_ct_insert(&c, &k, v, 0) ? XDP_PASS : XDP_DROP;
}

/* For comparison with part_ct_insert: the same insert into a plain
 * preallocated hash of the same sizes (not LRU). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct gw_ct_key);
	__type(value, struct gw_ct);
} part_plain_hash SEC(".maps");

SEC("xdp")
int part_hash_insert(struct xdp_md *xdp)
{
	struct gw_ct_key k;
	struct gw_ct *v;

	PART_BEGIN(xdp, c, cfg, p);
	v = part_new_flow(&c, &p, &k);
	if (!v)
		return XDP_ABORTED;
	return bpf_map_update_elem(&part_plain_hash, &k, v, BPF_ANY) ? XDP_PASS : XDP_DROP;
}

/* FIB lookup for the frame's destination and the MAC rewrite (gw_emit). */
SEC("xdp")
int part_fib(struct xdp_md *xdp)
{
	struct gw_result res = {};

	PART_BEGIN(xdp, c, cfg, p);
	if (gw_emit(&c, &res, p.family, p.src, p.dst, p.l3_len, GW_R_FWD_LOCAL))
		return XDP_PASS;
	return res.action == GW_ACT_REDIRECT ? XDP_DROP : XDP_PASS;
}

/* The per-reason counter update of gw_finish. */
SEC("xdp")
int part_counter(struct xdp_md *xdp)
{
	__u32 reason = GW_R_FWD_LOCAL;
	struct gw_counter *cnt;

	PART_BEGIN(xdp, c, cfg, p);
	cnt = bpf_map_lookup_elem(&gw_counters, &reason);
	if (!cnt)
		return XDP_PASS;
	cnt->packets++;
	cnt->bytes += p.l3_len;
	return XDP_DROP;
}
