/* Nanoseconds per packet of the gateway's XDP paths under BPF_PROG_TEST_RUN,
 * next to a bare parse + XDP_TX reference. Prints a table and the ratio;
 * asserts nothing. Needs root; runs in private network and mount namespaces
 * that die with it. See docs/benchmarks.md for the method. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>

#include "bench_fixture.h"

#define PIN_DIR "/sys/fs/bpf/gw-bench"

struct prog_set {
	int pass, parse_tx;		/* bench_progs.bpf.o */
	int gw_int, gw_ext;		/* the gateway as gatewayd loads it */
	int wrap_int, wrap_int_restore; /* gw_wrap.bpf.o */
	int wrap_ext, wrap_ext_restore;
	int tmpl_fd, ct_fd, counters_fd, epoch_fd;
	struct bpf_object *parts; /* gw_parts.bpf.o: one step per program */
	int if_int, if_ext;
};

/* Must match struct bench_tmpl in bpf/gw_wrap.bpf.c. */
struct bench_tmpl {
	__u32 len;
	__u16 port_off;
	__u16 addr_off;
	__u32 flows;
	__u32 _pad;
	__u8 b[BF_GENEVE_LEN];
};

static int opt_trials = 5;
static unsigned int opt_flows = 16384;
static unsigned int opt_repeat = 1000000;
static unsigned int opt_single = 20000;
static unsigned int opt_misses = 100000;

/* One BPF_PROG_TEST_RUN; ns per repeat as the kernel measured it. */
static int run(int prog, int ifindex, const void *pkt, size_t len, unsigned int repeat,
	       double *ret_ns, __u32 *ret_verdict, void *out, __u32 *ret_out_len)
{
	static __u8 scratch[512];
	struct xdp_md ctx;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	memset(&ctx, 0, sizeof(ctx));
	ctx.data_end = (__u32)len;
	ctx.ingress_ifindex = (__u32)ifindex;
	o.data_in = pkt;
	o.data_size_in = (__u32)len;
	o.data_out = out ? out : scratch;
	o.data_size_out = sizeof(scratch);
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	o.repeat = repeat;
	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	if (ret_ns)
		*ret_ns = o.duration;
	if (ret_verdict)
		*ret_verdict = o.retval;
	if (ret_out_len)
		*ret_out_len = o.data_size_out;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median over trials of ns/packet with repeat; every repeat's verdict
 * (the last one is reported) must be want. */
static int timed(int prog, int ifindex, const void *pkt, size_t len, unsigned int repeat,
		 __u32 want, double *ret_ns)
{
	double v[32];
	__u32 verdict;
	int i, r;

	for (i = 0; i < opt_trials; i++) {
		r = run(prog, ifindex, pkt, len, repeat, &v[i], &verdict, NULL, NULL);
		if (r)
			return r;
		if (verdict != want) {
			fprintf(stderr, "xdp_prog_ns: verdict %u, want %u\n", verdict, want);
			return -EPROTO;
		}
	}
	*ret_ns = median(v, (size_t)opt_trials);
	return 0;
}

static int set_tmpl(const struct prog_set *ps, const void *pkt, size_t len, __u16 port_off,
		    __u16 addr_off, __u32 flows)
{
	struct bench_tmpl t;
	__u32 zero = 0;

	memset(&t, 0, sizeof(t));
	t.len = (__u32)len;
	t.port_off = port_off;
	t.addr_off = addr_off;
	t.flows = flows;
	memcpy(t.b, pkt, len);
	return bpf_map_update_elem(ps->tmpl_fd, &zero, &t, BPF_ANY) ? -errno : 0;
}

/* Empties conntrack, so that the next misses find room. */
/* The flow cache's epoch: moved on as gatewayd does after a write, or set
 * to 0, which no cache entry matches (the cache off, its lookups kept). */
static int epoch_set(const struct prog_set *ps, __u32 e)
{
	__u32 zero = 0;

	return bpf_map_update_elem(ps->epoch_fd, &zero, &e, BPF_ANY) ? -errno : 0;
}

static int epoch_bump(const struct prog_set *ps)
{
	__u32 zero = 0, e = 0;

	if (bpf_map_lookup_elem(ps->epoch_fd, &zero, &e))
		return -errno;
	return epoch_set(ps, e + 1 ? e + 1 : 1);
}

static long ct_clear(const struct prog_set *ps)
{
	struct gw_ct_key k, next, *prev = NULL;
	long n = 0;

	/* delete the previous key only after stepping past it */
	while (bpf_map_get_next_key(ps->ct_fd, prev, &next) == 0) {
		if (prev && bpf_map_delete_elem(ps->ct_fd, prev) == 0)
			n++;
		k = next;
		prev = &k;
	}
	if (prev && bpf_map_delete_elem(ps->ct_fd, prev) == 0)
		n++;
	epoch_bump(ps); /* cached flows no longer exist */
	return n;
}

static long ct_count(const struct prog_set *ps)
{
	struct gw_ct_key k, next, *prev = NULL;
	long n = 0;

	while (bpf_map_get_next_key(ps->ct_fd, prev, &next) == 0) {
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

/* Packets that took the conntrack path, over all entries (a packet the
 * flow cache serves does not count in its entry). */
static __u64 ct_packets(const struct prog_set *ps)
{
	struct gw_ct_key k, next, *prev = NULL;
	struct gw_ct v;
	__u64 n = 0;

	while (bpf_map_get_next_key(ps->ct_fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(ps->ct_fd, &next, &v) == 0)
			n += v.packets;
		k = next;
		prev = &k;
	}
	return n;
}

static __u64 counter(const struct prog_set *ps, __u32 reason)
{
	struct gw_counter c[512];
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 sum = 0;

	if (ncpu <= 0 || ncpu > 512 || bpf_map_lookup_elem(ps->counters_fd, &reason, c))
		return 0;
	for (i = 0; i < ncpu; i++)
		sum += c[i].packets;
	return sum;
}

/* Wrapper minus its restore-only twin, plus the harness floor: what the
 * gateway's program costs per repeat as the other rows are measured. The
 * twin never moves the head, so the subtraction leaves one head move in:
 * the corrected figure errs high, never low. */
struct corrected {
	double wrap, restore, net;
};

static int wrapped(const struct prog_set *ps, int wrap, int restore, int ifindex, const void *pkt,
		   size_t len, unsigned int repeat, double floor_ns, int clear_between,
		   struct corrected *ret)
{
	double w[32], rs[32];
	__u32 verdict;
	int i, r;

	for (i = 0; i < opt_trials; i++) {
		if (clear_between)
			ct_clear(ps);
		r = run(restore, ifindex, pkt, len, repeat, &rs[i], &verdict, NULL, NULL);
		if (r)
			return r;
		if (clear_between)
			ct_clear(ps);
		r = run(wrap, ifindex, pkt, len, repeat, &w[i], &verdict, NULL, NULL);
		if (r)
			return r;
		if (verdict != XDP_REDIRECT) {
			fprintf(stderr, "xdp_prog_ns: wrapped verdict %u, want XDP_REDIRECT\n",
				verdict);
			return -EPROTO;
		}
	}
	ret->wrap = median(w, (size_t)opt_trials);
	ret->restore = median(rs, (size_t)opt_trials);
	ret->net = ret->wrap - ret->restore + floor_ns;
	return 0;
}

/* Method 2 for the miss path: many runs of repeat = 1, each with a new flow,
 * the real program; the median of the kernel's per-run time. */
static int single_shot(int prog, int ifindex, const void *pkt, size_t len, int vary, __u32 want,
		       double *ret_median)
{
	double *v = calloc(opt_single, sizeof(*v));
	__u8 buf[BF_GENEVE_LEN];
	__u32 verdict, i;
	int r = 0;

	if (!v)
		return -ENOMEM;
	memcpy(buf, pkt, len);
	for (i = 0; i < opt_single; i++) {
		if (vary) {
			bf_put16(buf + 34, (uint16_t)(1024 + i % 60000));
			bf_put16(buf + 28, (uint16_t)(i / 60000 + 1));
		}
		r = run(prog, ifindex, buf, len, 1, &v[i], &verdict, NULL, NULL);
		if (r)
			break;
		if (verdict != want) {
			fprintf(stderr, "xdp_prog_ns: single-shot verdict %u, want %u\n", verdict,
				want);
			r = -EPROTO;
			break;
		}
	}
	if (!r)
		*ret_median = median(v, opt_single);
	free(v);
	return r;
}

static int prog_fd(struct bpf_object *obj, const char *name);

/* Where the time goes: each step of the pipeline alone, above a parse. The
 * conntrack entry of the client frame to the local VIP must exist. */
static int breakdown(const struct prog_set *ps)
{
	static const struct {
		const char *prog, *what;
		int frame; /* 0: tracked flow to the local VIP, 1: untracked flow */
		__u32 verdict;
	} steps[] = {
		{"part_hash", "flow hash (murmur3, 10 words)", 0, XDP_DROP},
		{"part_ktime", "bpf_ktime_get_ns (conntrack last_seen)", 0, XDP_DROP},
		{"part_ktime_coarse", "  bpf_ktime_get_coarse_ns instead, for comparison", 0,
		 XDP_DROP},
		{"part_jiffies", "  bpf_jiffies64 instead, for comparison", 0, XDP_DROP},
		{"part_identity", "source identity: LPM trie lookup", 0, XDP_DROP},
		{"part_svc", "service: hash lookup (20-byte key)", 0, XDP_DROP},
		{"part_maglev", "Maglev: outer + 2 inner lookups + backend", 1, XDP_DROP},
		{"part_ct_lookup", "conntrack lookup, hit (LRU hash, 40-byte key)", 0, XDP_DROP},
		{"part_ct_lookup_16k", "conntrack lookup, hit, 16384 flows in turn", 1, XDP_DROP},
		{"part_ct_lookup", "conntrack lookup, miss", 1, XDP_PASS},
		{"part_ct_insert", "conntrack insert, new key (map has room)", 0, XDP_DROP},
		{"part_hash_insert", "  same into a plain (non-LRU) hash, for comparison", 0,
		 XDP_DROP},
		{"part_fib", "bpf_fib_lookup + MAC rewrite (gw_emit)", 0, XDP_DROP},
		{"part_counter", "per-CPU reason counter", 0, XDP_DROP},
	};
	__u8 f[2][BF_FRAME_LEN];
	double base, ns;
	size_t i;
	int fd, base_fd;

	bf_udp_frame(f[0], BF_MAC_GI, BF_MAC_G0, BF_CLIENT, BF_VIP_LOCAL, 40000, BF_SVC_PORT, 0);
	bf_udp_frame(f[1], BF_MAC_GI, BF_MAC_G0, BF_CLIENT, BF_VIP_REMOTE, 50000, BF_SVC_PORT, 0);
	base_fd = prog_fd(ps->parts, "part_parse");
	if (timed(base_fd, ps->if_int, f[0], BF_FRAME_LEN, opt_repeat, XDP_DROP, &base))
		return -1;
	printf("where the time goes: each step alone = its program - a parse measured just before "
	       "(cfg + parse: %.0f ns); +-5 ns noise\n",
	       base);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned int rep = opt_repeat;

		if (timed(base_fd, ps->if_int, f[0], BF_FRAME_LEN, opt_repeat, XDP_DROP, &base))
			return -1;
		if (strstr(steps[i].prog, "_insert")) {
			/* empty maps of 262144 entries, filled to 250000 over the trials */
			ct_clear(ps);
			rep = 250000 / (unsigned int)opt_trials;
		}
		fd = prog_fd(ps->parts, steps[i].prog);
		if (timed(fd, ps->if_int, f[steps[i].frame], BF_FRAME_LEN, rep, steps[i].verdict,
			  &ns))
			return -1;
		printf("  %-50s %7.0f\n", steps[i].what, ns - base);
	}
	return 0;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -ENOENT;
}

static int attached_prog(int ifindex)
{
	__u32 id = 0;

	if (bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) || !id)
		return -ENOENT;
	return bpf_prog_get_fd_by_id(id);
}

static int setup(const char *objdir, struct bf_gw *g, struct prog_set *ps)
{
	struct bpf_object *progs, *wrap;
	char path[512];

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "xdp_prog_ns: unshare(CLONE_NEWNET): %s (needs root)\n",
			strerror(errno));
		return -1;
	}
	if (bf_private_bpffs())
		return -1;
	if (bf_sh("ip link add gi type veth peer name g0") ||
	    bf_sh("ip link add ge type veth peer name s0") ||
	    bf_sh("ip link set g0 address " BF_MAC_G0 " up") ||
	    bf_sh("ip link set s0 address " BF_MAC_S0 " up") || bf_gw_netcfg(NULL, "gi", "ge"))
		return -1;
	ps->if_int = (int)if_nametoindex("gi");
	ps->if_ext = (int)if_nametoindex("ge");
	if (bf_gw_open(g, PIN_DIR, "gi", "ge"))
		return -1;
	ps->gw_int = attached_prog(ps->if_int);
	ps->gw_ext = attached_prog(ps->if_ext);
	ps->ct_fd = bf_gw_map(g, "gw_ct");
	ps->counters_fd = bf_gw_map(g, "gw_counters");
	ps->epoch_fd = bf_gw_map(g, "gw_epoch");
	if (ps->gw_int < 0 || ps->gw_ext < 0 || ps->ct_fd < 0 || ps->counters_fd < 0 ||
	    ps->epoch_fd < 0) {
		fprintf(stderr, "xdp_prog_ns: cannot find the gateway's programs or maps\n");
		return -1;
	}

	snprintf(path, sizeof(path), "%s/bench_progs.bpf.o", objdir);
	progs = bf_obj_open(path, NULL);
	if (!progs || bpf_object__load(progs)) {
		fprintf(stderr, "xdp_prog_ns: cannot load %s\n", path);
		return -1;
	}
	ps->pass = prog_fd(progs, "bench_pass");
	ps->parse_tx = prog_fd(progs, "bench_parse_tx");

	/* The wrappers share the gateway's pinned maps, hence its state. */
	snprintf(path, sizeof(path), "%s/gw_wrap.bpf.o", objdir);
	wrap = bf_obj_open(path, PIN_DIR);
	if (!wrap)
		return -1;
	bpf_program__set_autoload(bpf_object__find_program_by_name(wrap, "gw_xdp_int"), false);
	bpf_program__set_autoload(bpf_object__find_program_by_name(wrap, "gw_xdp_ext"), false);
	if (bf_flowc_size(wrap, bf_flow_cache) || bpf_object__load(wrap)) {
		fprintf(stderr, "xdp_prog_ns: cannot load %s\n", path);
		return -1;
	}
	ps->wrap_int = prog_fd(wrap, "wrap_int");
	ps->wrap_int_restore = prog_fd(wrap, "wrap_int_restore");
	ps->wrap_ext = prog_fd(wrap, "wrap_ext");
	ps->wrap_ext_restore = prog_fd(wrap, "wrap_ext_restore");
	ps->tmpl_fd = bpf_map__fd(bpf_object__find_map_by_name(wrap, "bench_tmpl_map"));

	snprintf(path, sizeof(path), "%s/gw_parts.bpf.o", objdir);
	ps->parts = bf_obj_open(path, PIN_DIR);
	if (!ps->parts)
		return -1;
	bpf_program__set_autoload(bpf_object__find_program_by_name(ps->parts, "gw_xdp_int"), false);
	bpf_program__set_autoload(bpf_object__find_program_by_name(ps->parts, "gw_xdp_ext"), false);
	if (bf_flowc_size(ps->parts, bf_flow_cache) || bpf_object__load(ps->parts)) {
		fprintf(stderr, "xdp_prog_ns: cannot load %s\n", path);
		return -1;
	}
	return 0;
}

/* The idempotent conntrack-hit fixture: an entry that NATs the flow to the
 * addresses it already has, so every repeat takes the hit path (lookup,
 * both rewrites with checksum updates, FIB, redirect) on the same bytes. */
static int ct_identity_entry(const struct prog_set *ps, const char *src, const char *dst,
			     uint16_t sport, uint16_t dport)
{
	struct gw_ct_key k;
	struct gw_ct v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.src[0] = v.nat_src[0] = bf_ip(src);
	k.dst[0] = v.nat_dst[0] = bf_ip(dst);
	k.sport = v.nat_sport = htons(sport);
	k.dport = v.nat_dport = htons(dport);
	k.proto = IPPROTO_UDP;
	k.family = GW_AF_INET;
	v.flags = GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST;
	v.backend_id = BF_LOCAL_BE_ID;
	v.svc_id = BF_SVC_LOCAL;
	return bpf_map_update_elem(ps->ct_fd, &k, &v, BPF_ANY) ? -errno : 0;
}

static void row(const char *name, double ns, double ref, const char *how)
{
	printf("  %-46s %7.0f %7.1f   %s\n", name, ns, ns / ref, how);
}

int main(int argc, char **argv)
{
	const char *objdir = "build/bench";
	struct prog_set ps;
	struct bf_gw g = {0};
	struct corrected miss, miss_full, hit_remote, hit_16k, decap, nc_remote, nc_16k;
	char label[64];
	double floor_ns, ref_ns, hit_local, s_floor, s_ref, s_miss, ct_share;
	__u64 ct_before;
	__u8 frame[BF_GENEVE_LEN], out[512];
	__u32 verdict, out_len;
	size_t len;
	int c, cpu = 1, rc = 1;

	while ((c = getopt(argc, argv, "o:t:r:s:c:m:f:n:")) != -1) {
		switch (c) {
		case 'o':
			objdir = optarg;
			break;
		case 't':
			opt_trials = atoi(optarg);
			break;
		case 'r':
			opt_repeat = (unsigned int)atoi(optarg);
			break;
		case 's':
			opt_single = (unsigned int)atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'm':
			opt_misses = (unsigned int)atoi(optarg);
			break;
		case 'n':
			opt_flows = (unsigned int)atoi(optarg);
			break;
		case 'f':
			bf_flow_cache = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-o objdir] [-t trials] [-r repeat] "
				"[-s single-shot runs] [-c cpu] [-f flow cache slots per CPU, "
				"a power of two, 0: off] [-n flows of the 'in turn' rows, "
				"default 16384]\n",
				argv[0]);
			return 2;
		}
	}
	if (opt_trials < 1 || opt_trials > 31)
		opt_trials = 5;
	if (opt_flows < 1 || opt_flows > 65536 || (bf_flow_cache & (bf_flow_cache - 1))) {
		fprintf(stderr, "xdp_prog_ns: -n wants 1..65536 flows, -f a power of two or 0\n");
		return 2;
	}
	bf_pin_self(cpu);
	libbpf_set_print(NULL);
	memset(&ps, 0, sizeof(ps));
	if (setup(objdir, &g, &ps))
		goto out;

	/* Client frame to the local VIP: floor and reference. */
	len = bf_udp_frame(frame, BF_MAC_GI, BF_MAC_G0, BF_CLIENT, BF_VIP_LOCAL, 40000, BF_SVC_PORT,
			   0);
	if (timed(ps.pass, ps.if_int, frame, len, opt_repeat, XDP_PASS, &floor_ns) ||
	    timed(ps.parse_tx, ps.if_int, frame, len, opt_repeat, XDP_TX, &ref_ns))
		goto fail;

	/* Conntrack hit, local backend, the real program on an idempotent entry. */
	if (ct_identity_entry(&ps, BF_CLIENT, BF_VIP_LOCAL, 40000, BF_SVC_PORT) ||
	    timed(ps.gw_int, ps.if_int, frame, len, opt_repeat, XDP_REDIRECT, &hit_local))
		goto fail;

	/* Full remote path, a miss every repeat: new tuple per repeat from the
	 * wrapper (source port at 34, low source address bytes at 28). */
	len = bf_udp_frame(frame, BF_MAC_GI, BF_MAC_G0, BF_CLIENT, BF_VIP_REMOTE, 40000,
			   BF_SVC_PORT, 0);
	if (run(ps.gw_int, ps.if_int, frame, len, 1, NULL, &verdict, out, &out_len))
		goto fail;
	if (verdict != XDP_REDIRECT || out_len != len + GW_TUNNEL_OVERHEAD ||
	    memcmp(out + 14 + 16, &(uint32_t){bf_ip(BF_PEER_ADDR)}, 4)) {
		fprintf(stderr,
			"xdp_prog_ns: the remote path did not encapsulate to the peer "
			"(verdict %u, %u bytes)\n",
			verdict, out_len);
		goto out;
	}
	if (set_tmpl(&ps, frame, len, 34, 28, 0))
		goto fail;
	{
		/* 2 entries per miss: stay well below the 262144 of the map */
		unsigned int r = opt_misses;
		__u64 before = counter(&ps, GW_R_FWD_REMOTE);
		long ct_after;

		if (wrapped(&ps, ps.wrap_int, ps.wrap_int_restore, ps.if_int, frame, len, r,
			    floor_ns, 1, &miss))
			goto fail;
		ct_after = ct_count(&ps);
		if (counter(&ps, GW_R_FWD_REMOTE) - before != (__u64)r * opt_trials ||
		    ct_after != 2L * r) {
			fprintf(stderr,
				"xdp_prog_ns: misses were not all new flows (%llu forwarded, "
				"%ld entries)\n",
				(unsigned long long)(counter(&ps, GW_R_FWD_REMOTE) - before),
				ct_after);
			goto out;
		}
		/* Full table: every insert evicts (LRU). Fill first. */
		if (run(ps.wrap_int, ps.if_int, frame, len, 300000, NULL, &verdict, NULL, NULL) ||
		    wrapped(&ps, ps.wrap_int, ps.wrap_int_restore, ps.if_int, frame, len, r,
			    floor_ns, 0, &miss_full))
			goto fail;
	}

	/* Conntrack hit, remote backend: one flow, restored every repeat. */
	ct_clear(&ps);
	if (set_tmpl(&ps, frame, len, 0, 0, 0) ||
	    run(ps.wrap_int, ps.if_int, frame, len, 1, NULL, NULL, NULL, NULL) ||
	    wrapped(&ps, ps.wrap_int, ps.wrap_int_restore, ps.if_int, frame, len, opt_repeat,
		    floor_ns, 0, &hit_remote))
		goto fail;

	/* The same over 16384 tracked flows in turn, as in the veth benchmark:
	 * conntrack (32768 entries) no longer sits in the caches. */
	if (set_tmpl(&ps, frame, len, 34, 0, opt_flows) ||
	    run(ps.wrap_int, ps.if_int, frame, len, opt_flows, NULL, NULL, NULL, NULL))
		goto fail;
	ct_before = ct_packets(&ps);
	if (wrapped(&ps, ps.wrap_int, ps.wrap_int_restore, ps.if_int, frame, len, opt_repeat,
		    floor_ns, 0, &hit_16k))
		goto fail;
	ct_share = (double)(ct_packets(&ps) - ct_before) / ((double)opt_trials * opt_repeat);

	/* Both again with the flow cache out of play (epoch 0: its lookups
	 * stay, no entry matches): the conntrack path for every packet. */
	if (epoch_set(&ps, 0) ||
	    wrapped(&ps, ps.wrap_int, ps.wrap_int_restore, ps.if_int, frame, len, opt_repeat,
		    floor_ns, 0, &nc_16k) ||
	    set_tmpl(&ps, frame, len, 0, 0, 0) ||
	    wrapped(&ps, ps.wrap_int, ps.wrap_int_restore, ps.if_int, frame, len, opt_repeat,
		    floor_ns, 0, &nc_remote) ||
	    epoch_bump(&ps))
		goto fail;

	/* Decap: Geneve from the peer, identity check, decap, conntrack hit,
	 * DNAT + SNAT to the local backend, FIB, redirect. */
	len = bf_geneve_frame(frame, BF_PEER_CLIENT, BF_VIP_REMOTE, 40000, BF_SVC_PORT);
	if (run(ps.gw_ext, ps.if_ext, frame, len, 1, NULL, &verdict, out, &out_len))
		goto fail;
	if (verdict != XDP_REDIRECT || out_len != len - GW_TUNNEL_OVERHEAD) {
		fprintf(stderr,
			"xdp_prog_ns: the decap path did not forward (verdict %u, %u bytes)\n",
			verdict, out_len);
		goto out;
	}
	if (set_tmpl(&ps, frame, len, 0, 0, 0) ||
	    wrapped(&ps, ps.wrap_ext, ps.wrap_ext_restore, ps.if_ext, frame, len, opt_repeat,
		    floor_ns, 0, &decap))
		goto fail;

	/* Method 2: single runs of the real program, a new flow each. */
	ct_clear(&ps);
	len = bf_udp_frame(frame, BF_MAC_GI, BF_MAC_G0, BF_CLIENT, BF_VIP_REMOTE, 40000,
			   BF_SVC_PORT, 0);
	if (single_shot(ps.pass, ps.if_int, frame, len, 0, XDP_PASS, &s_floor) ||
	    single_shot(ps.parse_tx, ps.if_int, frame, len, 0, XDP_TX, &s_ref) ||
	    single_shot(ps.gw_int, ps.if_int, frame, len, 1, XDP_REDIRECT, &s_miss))
		goto fail;

	printf("BPF_PROG_TEST_RUN on CPU %d, 64-byte frames, median of %d trials\n", cpu,
	       opt_trials);
	printf("  %-46s %7s %7s   %s\n", "path", "ns/pkt", "x ref", "how (see docs/benchmarks.md)");
	row("harness floor: XDP_PASS", floor_ns, ref_ns, "repeat (in every row)");
	row("REFERENCE: parse Eth/IPv4/UDP + XDP_TX", ref_ns, ref_ns, "repeat");
	row("FULL remote path: parse, CT miss, Maglev,", miss.net, ref_ns, "restore-corrected,");
	printf("  %-46s %7s %7s   new flow every repeat, %u/trial\n",
	       "  2 CT inserts, Geneve encap, FIB, redirect", "", "", opt_misses);
	row("  same with conntrack full (LRU evicts)", miss_full.net, ref_ns, "restore-corrected");
	printf("  %-46s\n", "tracked flow, remote backend (Geneve encap):");
	row("  flow cache hit, 1 flow", hit_remote.net, ref_ns, "restore-corrected");
	snprintf(label, sizeof(label), "  same, %u flows in turn%s", opt_flows,
		 opt_flows == 16384 ? " (veth workload)" : "");
	row(label, hit_16k.net, ref_ns, "restore-corrected");
	printf("    of which through conntrack (flow cache miss)   %5.1f %%\n", 100 * ct_share);
	row("  conntrack path (flow cache off), 1 flow", nc_remote.net, ref_ns,
	    "restore-corrected, epoch 0");
	snprintf(label, sizeof(label), "  conntrack path, %u flows in turn", opt_flows);
	row(label, nc_16k.net, ref_ns, "restore-corrected, epoch 0");
	row("tracked flow, local backend (DNAT + SNAT)", hit_local, ref_ns,
	    "repeat, idempotent entry");
	row("decap: peer + identity check, CT hit, NAT", decap.net, ref_ns, "restore-corrected");
	printf("  (raw wrapper/restore-only ns: miss %.0f/%.0f, miss-full %.0f/%.0f, hit-remote "
	       "%.0f/%.0f, decap %.0f/%.0f)\n",
	       miss.wrap, miss.restore, miss_full.wrap, miss_full.restore, hit_remote.wrap,
	       hit_remote.restore, decap.wrap, decap.restore);
	printf("single runs: %u BPF_PROG_TEST_RUN calls of repeat 1, median of the kernel's time\n",
	       opt_single);
	row("harness floor: XDP_PASS", s_floor, s_ref, "single");
	row("REFERENCE: parse Eth/IPv4/UDP + XDP_TX", s_ref, s_ref, "single");
	row("FULL remote path, CT miss (gw_xdp_int itself)", s_miss, s_ref,
	    "single, new flow each");
	printf("RATIO full/reference: %.1f (repeat), %.1f (single runs); target <= 2.0: %s\n",
	       miss.net / ref_ns, s_miss / s_ref,
	       miss.net / ref_ns <= 2.0 && s_miss / s_ref <= 2.0 ? "met" : "MISSED");
	printf("  without the harness floor: full %.0f ns vs reference %.0f ns (repeat); "
	       "%.0f vs %.0f (single)\n",
	       miss.net - floor_ns, ref_ns - floor_ns, s_miss - s_floor, s_ref - s_floor);
	/* the breakdown's fixtures: the local flow's entry, 16384 remote flows */
	if (ct_identity_entry(&ps, BF_CLIENT, BF_VIP_LOCAL, 40000, BF_SVC_PORT) ||
	    set_tmpl(&ps, frame, len, 34, 0, 16384) ||
	    run(ps.wrap_int, ps.if_int, frame, len, 16384, NULL, NULL, NULL, NULL) ||
	    breakdown(&ps))
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "xdp_prog_ns: a measurement failed (%s)\n", strerror(errno));
out:
	bf_gw_close(&g);
	return rc;
}
