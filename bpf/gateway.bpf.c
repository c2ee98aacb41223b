/* The gateway's XDP programs: one for the internal side (clients and local
 * backends), one for the external side (tunnels and probes from peers). */
#include "gw_ctx.h"
#include "gw/pipeline/pipeline.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Not pinned: scratch space only lives for one packet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_scratch);
} gw_scratch_map SEC(".maps");

static __always_inline struct gw_scratch *gw_ctx_scratch(struct gw_ctx *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&gw_scratch_map, &zero);
}

/* A global function, so the verifier checks the MSS walk once, on its own,
 * for any offset and MSS, instead of inline at every call site of gw_apply
 * (geneve.h). It reads the packet through the context it is given. */
__attribute__((noinline)) int gw_clamp_mss(struct xdp_md *xdp, __u64 l4_off, __u64 max_mss)
{
	gw_tcp_clamp_mss((void *)(long)xdp->data, (void *)(long)xdp->data_end, l4_off, max_mss);
	return 0;
}

static __always_inline void gw_ctx_clamp_mss(struct gw_ctx *c, __u32 l4_off, __u32 max_mss)
{
	gw_clamp_mss(c->xdp, l4_off, max_mss);
}

static __always_inline int gw_ctx_fib(struct gw_ctx *c, struct gw_fib *f)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.ifindex = c->xdp->ingress_ifindex;
	fib.tot_len = f->l3_len;
	if (f->family == GW_AF_INET) {
		fib.family = AF_INET;
		fib.ipv4_src = f->src[0];
		fib.ipv4_dst = f->dst[0];
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, f->src, 16);
		__builtin_memcpy(fib.ipv6_dst, f->dst, 16);
	}
	rc = bpf_fib_lookup(c->xdp, &fib, sizeof(fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		f->ifindex = fib.ifindex;
		__builtin_memcpy(f->smac, fib.smac, 6);
		__builtin_memcpy(f->dmac, fib.dmac, 6);
		return GW_FIB_OK;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return GW_FIB_PASS;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		f->mtu = fib.mtu_result;
		return -GW_R_DROP_TOO_BIG;
	default:
		return -GW_R_DROP_FIB;
	}
}

static __always_inline int gw_finish(struct xdp_md *xdp, const struct gw_result *res, __u32 len)
{
	__u32 reason = res->reason;
	struct gw_counter *cnt = bpf_map_lookup_elem(&gw_counters, &reason);

	if (cnt) {
		cnt->packets++;
		cnt->bytes += len;
	}
	switch (res->action) {
	case GW_ACT_DROP:
		return XDP_DROP;
	case GW_ACT_TX:
		return XDP_TX;
	case GW_ACT_REDIRECT:
		return bpf_redirect(res->ifindex, 0);
	default:
		return XDP_PASS;
	}
}

SEC("xdp")
int gw_xdp_int(struct xdp_md *xdp)
{
	struct gw_ctx c = {.xdp = xdp};
	struct gw_result res;
	__u32 len = xdp->data_end - xdp->data;

	gw_pipeline_int(&c, &res);
	return gw_finish(xdp, &res, len);
}

SEC("xdp")
int gw_xdp_ext(struct xdp_md *xdp)
{
	struct gw_ctx c = {.xdp = xdp};
	struct gw_result res;
	__u32 len = xdp->data_end - xdp->data;

	gw_pipeline_ext(&c, &res);
	return gw_finish(xdp, &res, len);
}
