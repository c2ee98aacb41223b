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

/* A global function for the same reason: the checksum of an ICMP error
 * cut to fit the tunnel (icmp_relay.h) walks up to 640 words, which,
 * inlined into the relay's IPv4 and IPv6 copies, took gw_xdp_int from 135k
 * to 591k instructions (155k as this function). */
__attribute__((noinline)) int gw_csum_span(struct xdp_md *xdp, __u64 off, __u64 len)
{
	void *data = (void *)(long)xdp->data, *data_end = (void *)(long)xdp->data_end;

	if (off > GW_MAX_L4_OFF || len > GW_CSUM_SPAN_MAX || data + off + len > data_end)
		return -1;
	return gw_csum_fold(gw_csum_words(data + off, data_end, len, 0, GW_CSUM_SPAN_MAX / 2));
}

static __always_inline int gw_ctx_csum(struct gw_ctx *c, __u32 off, __u32 len)
{
	return gw_csum_span(c->xdp, off, len);
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
