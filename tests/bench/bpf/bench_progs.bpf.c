/* Helper XDP programs of the benchmarks (not part of the gateway): the
 * harness floor, the parse + XDP_TX reference, the XDP_REDIRECT ceiling, a
 * live-frames generator that spreads frames over many flows, and the sink
 * that counts what reaches it. Built by tests/bench/run.sh. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 redirect_ifindex;	    /* ceiling: where frames go */
const volatile __u32 gen_flows = 16384;	    /* generator: distinct source ports */
const volatile __u16 gen_sport_base = 1024; /* generator: first source port */
/* generator: ns between frames when paced (0: as fast as it can) */
const volatile __u64 gen_gap_ns;
/* generator: when the next paced frame may go (its one core writes it) */
__u64 gen_next_ns;
/* generator: the frame it sends; a writable global, so that the compiler
 * cannot fold it the way it folds a const volatile array it copies */
__u64 gen_frame[8] = {1};

/* Sink categories; keep in step with enum sink_cat in veth_pps.c. */
#define SINK_ALL    0
#define SINK_GENEVE 1 /* IPv4 UDP to 6081 */
#define SINK_VXLAN  2 /* IPv4 UDP to 4789 */
#define SINK_UDP    3 /* any other IPv4 UDP */
#define SINK_OTHER  4 /* ARP, IPv6, non-UDP */
#define SINK_N	    5

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gen_count SEC(".maps");

struct sink_counts {
	__u64 n[SINK_N];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sink_counts);
} sink_count SEC(".maps");

/* The floor of BPF_PROG_TEST_RUN: what the harness loop costs per repeat. */
SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The reference: bounds-checked parse of Ethernet, IPv4 and UDP, then
 * XDP_TX. No rewrite, no map. Anything else is passed. */
SEC("xdp")
int bench_parse_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	struct udphdr *uh;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
		return XDP_PASS;
	if (iph->protocol != IPPROTO_UDP || (iph->frag_off & bpf_htons(0x3fff)))
		return XDP_PASS;
	uh = (void *)iph + iph->ihl * 4;
	if ((void *)(uh + 1) > data_end)
		return XDP_PASS;
	if (uh->dest == 0) /* reads the header so that the parse is not optimised out */
		return XDP_PASS;
	return XDP_TX;
}

/* The XDP_REDIRECT ceiling: every frame out of another interface, untouched. */
SEC("xdp")
int bench_redirect(struct xdp_md *ctx)
{
	return bpf_redirect(redirect_ifindex, 0);
}

/* Live-frames generator: a 64-byte Eth/IPv4/UDP frame (UDP checksum 0, so
 * a new source port needs no checksum work) with a new source port per
 * frame, sent out of the interface the run names (XDP_TX in live mode is a
 * redirect to it). Live mode resets a recycled frame's pointers but not its
 * bytes, and the gateway rewrites frames in place (the encap overwrites the
 * old Ethernet header), so every frame is written whole. Counts what it
 * offered. */
static long gen_wait(__u64 i, void *unused)
{
	return bpf_ktime_get_ns() >= gen_next_ns; /* 1 stops the loop */
}

/* Paced: each frame waits for its slot, gen_gap_ns after the last one's.
 * The pacing is in the program because a test run costs milliseconds to
 * set up and tear down: runs of a few frames could not reach 1 Mpps. The
 * kernel sends a run's XDP_TX frames in bursts of up to 64, which a
 * 256-frame veth ring takes whole when its reader keeps up. A generator
 * more than 1 ms behind does not catch up in a burst. */
static void gen_pace(void)
{
	__u64 now = bpf_ktime_get_ns();

	if (now > gen_next_ns + 1000000)
		gen_next_ns = now;
	if (now < gen_next_ns)
		bpf_loop(1 << 20, gen_wait, NULL, 0);
	gen_next_ns += gen_gap_ns;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct udphdr *uh = data + sizeof(struct ethhdr) + sizeof(struct iphdr);
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&gen_count, &zero);

	__u64 *w = data;
	int i;

	if (!n || data + sizeof(gen_frame) > data_end)
		return XDP_ABORTED;
#pragma unroll
	for (i = 0; i < 8; i++)
		w[i] = gen_frame[i];
	uh->source = bpf_htons(gen_sport_base + (__u16)(*n % gen_flows));
	*n += 1;
	if (gen_gap_ns)
		gen_pace();
	return XDP_TX;
}

/* The sink: count by kind (one per-CPU lookup), drop. */
SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *uh;
	__u32 cat = SINK_OTHER, zero = 0;
	struct sink_counts *c;

	if ((void *)(iph + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    iph->protocol == IPPROTO_UDP && iph->ihl == 5) {
		uh = (void *)(iph + 1);
		if ((void *)(uh + 1) <= data_end) {
			if (uh->dest == bpf_htons(6081))
				cat = SINK_GENEVE;
			else if (uh->dest == bpf_htons(4789))
				cat = SINK_VXLAN;
			else
				cat = SINK_UDP;
		}
	}
	c = bpf_map_lookup_elem(&sink_count, &zero);
	if (c) {
		c->n[SINK_ALL]++;
		if (cat < SINK_N)
			c->n[cat]++;
	}
	return XDP_DROP;
}
