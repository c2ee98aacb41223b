/* Timing wrappers around the gateway's own XDP code, for BPF_PROG_TEST_RUN
 * with repeat. The kernel re-runs a program on the same buffer, so after one
 * repeat an encapsulated frame has grown by 48 bytes, a decapsulated one has
 * shrunk, and a new flow has become a tracked one. Each wrapper first puts
 * the frame back (head offset and bytes, from a template written by the
 * benchmark; optionally with a new flow tuple per repeat) and then runs the
 * unmodified pipeline. A restore-only twin of each wrapper measures what the
 * restore costs, so it can be subtracted.
 *
 * This file includes bpf/gateway.bpf.c on purpose: the timed code must be
 * the shipped code, not a copy. Benchmarks only; never do this in the tree. */
#include "../../../bpf/gateway.bpf.c"

#define BENCH_LEN_INT  64  /* Eth/IPv4/UDP client frame */
#define BENCH_LEN_EXT  112 /* Geneve frame carrying a 50-byte inner packet */
#define BENCH_VARY_MAX 108

struct bench_tmpl {
	__u32 len;	/* BENCH_LEN_INT or BENCH_LEN_EXT */
	__u16 port_off; /* 0, or where the 16-bit source port to vary lies */
	__u16 addr_off; /* 0, or where the low 16 bits of the source address lie */
	__u32 flows;	/* 0: a new tuple every repeat; n: cycle through n tuples */
	__u32 _pad;
	__u8 b[BENCH_LEN_EXT];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_tmpl);
} bench_tmpl_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_seq SEC(".maps");

static __always_inline int bench_put16(void *data, void *data_end, __u16 off, __u16 v)
{
	__u16 *p;

	if (off > BENCH_VARY_MAX)
		return -1;
	p = data + off;
	if ((void *)(p + 1) > data_end)
		return -1;
	*p = v;
	return 0;
}

/* Put the frame back as the template has it; with port_off set, give it a
 * flow tuple that no earlier repeat has used (2^32 of them), or the next of
 * `flows` tuples in turn. Checksums are not fixed: the pipeline never
 * verifies one, it only updates them. */
static __always_inline int bench_restore(struct xdp_md *xdp, const __u32 len)
{
	__u32 zero = 0;
	struct bench_tmpl *t = bpf_map_lookup_elem(&bench_tmpl_map, &zero);
	void *data, *data_end;
	__u64 *seq, v;
	int delta;

	if (!t || t->len != len)
		return -1;
	delta = (int)(xdp->data_end - xdp->data) - (int)len;
	if (delta && bpf_xdp_adjust_head(xdp, delta))
		return -1;
	data = (void *)(long)xdp->data;
	data_end = (void *)(long)xdp->data_end;
	if (data + len > data_end)
		return -1;
	__builtin_memcpy(data, t->b, len);
	if (!t->port_off)
		return 0;
	seq = bpf_map_lookup_elem(&bench_seq, &zero);
	if (!seq)
		return -1;
	*seq += 1;
	v = t->flows ? *seq % t->flows : *seq;
	if (bench_put16(data, data_end, t->port_off, (__u16)v))
		return -1;
	if (t->addr_off && bench_put16(data, data_end, t->addr_off, (__u16)(v >> 16)))
		return -1;
	return 0;
}

/* The bodies below are those of gw_xdp_int and gw_xdp_ext, so that the
 * pipeline is inlined exactly as there (calling the entry points would
 * make them global subprograms, verified and called differently). */
SEC("xdp")
int wrap_int(struct xdp_md *xdp)
{
	struct gw_ctx c = {.xdp = xdp};
	struct gw_result res;

	if (bench_restore(xdp, BENCH_LEN_INT))
		return XDP_ABORTED;
	gw_pipeline_int(&c, &res);
	return gw_finish(xdp, &res, BENCH_LEN_INT);
}

SEC("xdp")
int wrap_int_restore(struct xdp_md *xdp)
{
	if (bench_restore(xdp, BENCH_LEN_INT))
		return XDP_ABORTED;
	return XDP_DROP;
}

SEC("xdp")
int wrap_ext(struct xdp_md *xdp)
{
	struct gw_ctx c = {.xdp = xdp};
	struct gw_result res;

	if (bench_restore(xdp, BENCH_LEN_EXT))
		return XDP_ABORTED;
	gw_pipeline_ext(&c, &res);
	return gw_finish(xdp, &res, BENCH_LEN_EXT);
}

SEC("xdp")
int wrap_ext_restore(struct xdp_md *xdp)
{
	if (bench_restore(xdp, BENCH_LEN_EXT))
		return XDP_ABORTED;
	return XDP_DROP;
}
