/* Harness for running the gateway's XDP programs under BPF_PROG_TEST_RUN: a
 * private network namespace with veth pairs, the skeleton loaded without
 * pins, test-run wrappers, per-CPU counter snapshots and capture of frames
 * that live-frame runs really send out of an interface. */
#ifndef GW_TESTS_XDP_HARNESS_H
#define GW_TESTS_XDP_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/if_packet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gw/abi/maps.h"
#include "gateway.skel.h"
#include "pktbuild.h"
#include "../run_sh.h"

enum { HX_INT0, HX_EXT0, HX_INT0P, HX_EXT0P, HX_NIF };

#define HX_FLOWC 1024 /* flow cache slots per CPU */

struct hx {
	struct gateway *skel;
	int ifindex[HX_NIF];
	int sock[2];	  /* AF_PACKET on int0p and ext0p: what int0 / ext0 send */
	int peer_prog_fd; /* XDP_PASS on int0p/ext0p: veth then accepts XDP frames */
	int live;	  /* live-frame runs possible (peers set up) */
	int ncpu;
	int cpu;	  /* the CPU this process is pinned to, -1 if not */
	long verified[2]; /* instructions the verifier processed: gw_xdp_int, _ext */
};

/* The verifier's statistics line ("processed N insns ...") of a log. */
static inline long hx_processed(const char *log)
{
	const char *p = strstr(log, "processed ");

	return p ? strtol(p + 10, NULL, 10) : -1;
}

/* An address in the maps' layout: IPv4 in word 0, zeros after it. */
static inline void hx_addr16(uint8_t family, const char *txt, __be32 *out)
{
	pb_addr(family, txt, (uint8_t *)out);
}

static inline int hx_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		r = -errno;
	close(fd);
	return r;
}

#define hx_sh(...) run_sh("harness", __VA_ARGS__)

/* Everything created from here on lives in a namespace of this process
 * only, and dies with it. */
static inline int hx_netns(void)
{
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "harness: unshare(CLONE_NEWNET): %s (the BPF suites need root)\n",
			strerror(errno));
		return -errno;
	}
	return hx_sh("ip link set lo up");
}

static inline int hx_pin_cpu(struct hx *h)
{
	cpu_set_t set;
	int cpu;

	h->cpu = -1;
	cpu = sched_getcpu();
	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == 0)
		h->cpu = cpu;
	return 0;
}

/* Opens and loads the skeleton with pinning turned off on every map, so
 * nothing of this test lands under /sys/fs/bpf. */
static inline int hx_load(struct hx *h)
{
	static char log[2][4096];
	struct bpf_map *m;
	int r;

	h->ncpu = libbpf_num_possible_cpus();
	if (h->ncpu <= 0)
		return -EINVAL;
	h->skel = gateway__open();
	if (!h->skel)
		return -errno;
	bpf_object__for_each_map(m, h->skel->obj)
	{
		r = bpf_map__set_pin_path(m, NULL);
		if (r)
			return r;
	}
	/* the flow cache on, as gatewayd has it (a small one) */
	r = bpf_map__set_max_entries(h->skel->maps.gw_flowc, HX_FLOWC * h->ncpu);
	if (r)
		return r;
	h->skel->rodata->gw_flowc_mask = HX_FLOWC - 1;
	r = bpf_map__set_max_entries(h->skel->maps.gw_flowc6, HX_FLOWC * h->ncpu);
	if (r)
		return r;
	h->skel->rodata->gw_flowc6_mask = HX_FLOWC - 1;
	/* the verifier's statistics only (level 4): how close each program
	 * comes to its 1M-instruction limit */
	bpf_program__set_log_level(h->skel->progs.gw_xdp_int, 4);
	bpf_program__set_log_buf(h->skel->progs.gw_xdp_int, log[0], sizeof(log[0]));
	bpf_program__set_log_level(h->skel->progs.gw_xdp_ext, 4);
	bpf_program__set_log_buf(h->skel->progs.gw_xdp_ext, log[1], sizeof(log[1]));
	r = gateway__load(h->skel);
	if (r)
		return r;
	h->verified[0] = hx_processed(log[0]);
	h->verified[1] = hx_processed(log[1]);
	bpf_object__for_each_map(m, h->skel->obj)
	{
		if (bpf_map__is_pinned(m)) {
			fprintf(stderr, "harness: map %s is pinned\n", bpf_map__name(m));
			return -EEXIST;
		}
	}
	return 0;
}

/* A two-instruction XDP_PASS program for the far ends of the veth pairs:
 * a veth only accepts redirected frames when its peer runs XDP. */
static inline int hx_peer_pass_prog(void)
{
	struct bpf_insn insns[2];

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
	insns[0].dst_reg = BPF_REG_0;
	insns[0].imm = XDP_PASS;
	insns[1].code = BPF_JMP | BPF_EXIT;
	return bpf_prog_load(BPF_PROG_TYPE_XDP, "isx_peer_pass", "GPL", insns, 2, NULL);
}

static inline int hx_capture_open(int ifindex)
{
	struct sockaddr_ll sll;
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Sets up live-frame checking: XDP_PASS on both peers, capture sockets. */
static inline int hx_live_init(struct hx *h)
{
	int i, fd;

	h->sock[0] = h->sock[1] = -1;
	fd = hx_peer_pass_prog();
	if (fd < 0)
		return fd;
	h->peer_prog_fd = fd;
	for (i = 0; i < 2; i++) {
		int r = bpf_xdp_attach(h->ifindex[HX_INT0P + i], fd, XDP_FLAGS_DRV_MODE, NULL);

		if (r)
			return r;
		h->sock[i] = hx_capture_open(h->ifindex[HX_INT0P + i]);
		if (h->sock[i] < 0)
			return h->sock[i];
	}
	h->live = 1;
	return 0;
}

static inline void hx_drain(int fd)
{
	uint8_t buf[PB_MAX];

	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

/* Runs prog once on in, as if received on ifindex. Live: the frame really
 * goes where the program sends it, and out is not filled. */
static inline int hx_run(int prog_fd, int ifindex, const struct pb_pkt *in, struct pb_pkt *out,
			 int live, uint32_t *ret_verdict)
{
	struct xdp_md ctx;
	int r;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	memset(&ctx, 0, sizeof(ctx));
	ctx.data_end = (__u32)in->len; /* the kernel wants data_end == data_size_in */
	ctx.ingress_ifindex = ifindex;
	ctx.rx_queue_index = 0;
	o.data_in = in->b;
	o.data_size_in = (__u32)in->len;
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	o.repeat = 1;
	if (live) {
		o.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
	} else {
		memset(out, 0, sizeof(*out));
		o.data_out = out->b;
		o.data_size_out = sizeof(out->b);
	}
	r = bpf_prog_test_run_opts(prog_fd, &o);
	if (r)
		return -errno;
	if (!live) {
		out->len = o.data_size_out;
		*ret_verdict = o.retval;
	}
	return 0;
}

/* Waits up to timeout_ms for a frame equal to want on capture socket fd;
 * other frames (the stack's own ND/MLD chatter) are counted and skipped. */
static inline int hx_capture_expect(int fd, const struct pb_pkt *want, int timeout_ms,
				    int *ret_others, struct pb_pkt *ret_last)
{
	struct timespec t0, t1;
	uint8_t buf[PB_MAX];

	*ret_others = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms -
		       ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if ((size_t)n == want->len && memcmp(buf, want->b, want->len) == 0)
			return 0;
		(*ret_others)++;
		ret_last->len = (size_t)n;
		memcpy(ret_last->b, buf, (size_t)n);
	}
}

/* counters[cpu * GW_R__COUNT + reason] */
static inline int hx_counters(const struct hx *h, struct gw_counter *out)
{
	int fd = bpf_map__fd(h->skel->maps.gw_counters);
	struct gw_counter *percpu = calloc((size_t)h->ncpu, sizeof(*percpu));
	__u32 k;
	int c;

	if (!percpu)
		return -ENOMEM;
	for (k = 0; k < GW_R__COUNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, percpu)) {
			free(percpu);
			return -errno;
		}
		for (c = 0; c < h->ncpu; c++)
			out[(size_t)c * GW_R__COUNT + k] = percpu[c];
	}
	free(percpu);
	return 0;
}

#endif
