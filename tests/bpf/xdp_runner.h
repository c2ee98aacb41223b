/* Runs tables of XDP test cases (STYLE.md rule 12): each row a packet built
 * with pktbuild.h, the program it goes through, the verdict, the interface
 * it must leave by, the expected bytes, the reason counted and the effect on
 * conntrack. A failing row is reported and the table goes on. */
#ifndef GW_TESTS_XDP_RUNNER_H
#define GW_TESTS_XDP_RUNNER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gw/abi/maps.h"
#include "gw/abi/reasons.h"
/* The pipeline's loops carry clang's `#pragma unroll`, unknown to gcc. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "gw/pipeline/hash.h"
#pragma GCC diagnostic pop
#include "pktbuild.h"
#include "xdp_harness.h"

/* Placeholders in ports, resolved before a packet is built: VAR(n) is
 * the value a CT_LOCAL row saved (.save = n), HASHPORT the outer source
 * port of a tunnel packet for the row's own flow. */
#define VAR(n)	 (0x10000u + (n))
#define HASHPORT 0x20000u

enum { V_NONE, V_A, V_B, V_C, V_D, V_E, V_F, V_G, V_H, V_I, V_J, V_K, V_N };

enum { P_INT, P_EXT };
enum { E_NONE, E_INT0, E_EXT0 };
enum {
	CT_ANY,	   /* not checked */
	CT_LOCAL,  /* a new flow to a local backend: both entries, SNAT port saved */
	CT_REMOTE, /* a new flow to a remote backend: forward ENCAP + reply entry */
	CT_HIT,	   /* an existing entry, its packet count goes up by one */
	CT_CACHED, /* an existing entry the flow cache stands for: count unchanged */
	CT_ABSENT, /* no forward entry afterwards */
};

struct xcase {
	const char *desc;
	int prog;
	struct pb_spec in;
	uint32_t verdict;
	int egress; /* REDIRECT and TX: the interface the frame must leave by */
	enum gw_reason reason;
	const struct pb_spec *out; /* NULL: the input unchanged (not compared on DROP) */
	/* instead of out: builds the expected frame from the input */
	void (*expect)(const struct pb_pkt *in, struct pb_pkt *want);
	int ct;
	uint16_t zone; /* CT_LOCAL/HIT/ABSENT: the flow's zone; CT_REMOTE: its replies' zone */
	uint16_t peer; /* CT_REMOTE: peer id of the encap; CT_LOCAL with a zone: replies' peer */
	uint8_t save;  /* CT_LOCAL: var that keeps the SNAT port */
	void (*before)(struct hx *h);
	const char *bug; /* a known pipeline bug makes this row fail: why */
};

struct tctx {
	struct hx h;
	struct gw_cfg cfg;
	uint32_t var[V_N];
	struct gw_counter *c0, *c1; /* counter snapshots, ncpu * GW_R__COUNT */
	const struct xcase *cur;    /* the row running */
	jmp_buf row_fail;	    /* where a failing row ends */
	int rows, failed, known_bugs, live_checks;
};

static struct tctx *T; /* the one test context; set by the group setup */

/* Ends the current row as failed (the table goes on with the next one). */
static void __attribute__((noreturn, format(printf, 1, 2))) row_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s [%s]: ", T->cur && T->cur->bug ? "fails (known bug)" : "FAIL",
		T->cur ? T->cur->desc : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	longjmp(T->row_fail, 1);
}

#define XFAIL(c, ...) ((void)(c), row_fail(__VA_ARGS__))

static void must(int r, const char *what)
{
	if (r)
		row_fail("%s: %d", what, r);
}

/* A spec with every placeholder replaced, and the copies it points to. */
struct resolved {
	struct pb_spec s;
	struct pb_geneve g;
	struct pb_spec inner;
};

struct tuple {
	uint8_t family, proto;
	__be32 src[4], dst[4];
	__be16 sport, dport;
};

static uint32_t resolve_port(const struct tctx *t, uint32_t v, uint32_t hashport)
{
	if (v == HASHPORT)
		return hashport;
	if (v >= VAR(0) && v < VAR(V_N))
		return t->var[v - VAR(0)];
	return v;
}

static void resolve(const struct tctx *t, const struct pb_spec *in, uint32_t hashport,
		    struct resolved *r)
{
	r->s = *in;
	r->s.l4.sport = resolve_port(t, in->l4.sport, hashport);
	r->s.l4.dport = resolve_port(t, in->l4.dport, hashport);
	if (in->l4.geneve) {
		r->g = *in->l4.geneve;
		r->s.l4.geneve = &r->g;
		if (r->g.inner) {
			r->inner = *r->g.inner;
			r->inner.l4.sport = resolve_port(t, r->inner.l4.sport, hashport);
			r->inner.l4.dport = resolve_port(t, r->inner.l4.dport, hashport);
			r->g.inner = &r->inner;
		}
	}
}

/* The flow a (resolved) spec carries: the inner packet of a tunnel packet. */
static const struct pb_spec *flow_spec(const struct pb_spec *s)
{
	if (s->l4.geneve && s->l4.geneve->inner)
		return s->l4.geneve->inner;
	return s;
}

static void tuple_of(const struct pb_spec *s, struct tuple *tp)
{
	s = flow_spec(s);
	memset(tp, 0, sizeof(*tp));
	tp->family = s->ip.family;
	tp->proto = s->l4.proto;
	hx_addr16(s->ip.family, s->ip.src, tp->src);
	hx_addr16(s->ip.family, s->ip.dst, tp->dst);
	tp->sport = htons(pb_port(s->l4.sport));
	tp->dport = htons(pb_port(s->l4.dport));
}

static void ct_key(struct gw_ct_key *k, const struct tuple *tp, uint16_t zone, int reverse)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src, reverse ? tp->dst : tp->src, 16);
	memcpy(k->dst, reverse ? tp->src : tp->dst, 16);
	k->sport = reverse ? tp->dport : tp->sport;
	k->dport = reverse ? tp->sport : tp->dport;
	k->proto = tp->proto;
	k->family = tp->family;
	k->zone = zone;
}

static int ct_get(struct tctx *t, const struct gw_ct_key *k, struct gw_ct *v)
{
	return bpf_map_lookup_elem(bpf_map__fd(t->h.skel->maps.gw_ct), k, v) ? -errno : 0;
}

static void check_addr(const struct xcase *c, const char *what, const __be32 *got,
		       const __be32 *want)
{
	char g[INET6_ADDRSTRLEN], w[INET6_ADDRSTRLEN];

	if (memcmp(got, want, 16) == 0)
		return;
	inet_ntop(AF_INET6, got, g, sizeof(g));
	inet_ntop(AF_INET6, want, w, sizeof(w));
	XFAIL(c, "conntrack %s: got %s, want %s (as IPv6 words)", what, g, w);
}

/* A new flow to a local backend: the forward entry NATs to the backend from
 * the SNAT address, the reply entry (found with the SNAT port) restores VIP
 * and client. */
static void check_ct_local(struct tctx *t, const struct xcase *c, const struct tuple *tp,
			   const struct pb_spec *out)
{
	struct gw_ct_key k, rk;
	struct gw_ct fwd, rev;
	__be32 be[4], snat[4];
	uint16_t want = GW_CT_F_REPLY | GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST;

	ct_key(&k, tp, c->zone, 0);
	if (ct_get(t, &k, &fwd))
		XFAIL(c, "no forward conntrack entry in zone %u", c->zone);
	if (fwd.flags != (GW_CT_F_NAT_SRC | GW_CT_F_NAT_DST))
		XFAIL(c, "forward entry flags %#x, want NAT_SRC|NAT_DST", fwd.flags);
	hx_addr16(out->ip.family, out->ip.dst, be);
	hx_addr16(out->ip.family, out->ip.src, snat);
	check_addr(c, "forward nat_dst", fwd.nat_dst, be);
	check_addr(c, "forward nat_src", fwd.nat_src, snat);
	if (fwd.nat_dport != htons(pb_port(out->l4.dport)))
		XFAIL(c, "forward nat_dport %u", ntohs(fwd.nat_dport));
	if (ntohs(fwd.nat_sport) < t->cfg.snat_port_min ||
	    ntohs(fwd.nat_sport) > t->cfg.snat_port_max)
		XFAIL(c, "SNAT port %u outside %u-%u", ntohs(fwd.nat_sport), t->cfg.snat_port_min,
		      t->cfg.snat_port_max);

	memset(&rk, 0, sizeof(rk));
	memcpy(rk.src, be, 16);
	memcpy(rk.dst, snat, 16);
	rk.sport = fwd.nat_dport;
	rk.dport = fwd.nat_sport;
	rk.proto = tp->proto;
	rk.family = tp->family;
	if (ct_get(t, &rk, &rev))
		XFAIL(c, "no reply entry for SNAT port %u", ntohs(fwd.nat_sport));
	if (c->zone)
		want |= GW_CT_F_ENCAP;
	if (rev.flags != want)
		XFAIL(c, "reply entry flags %#x, want %#x", rev.flags, want);
	check_addr(c, "reply nat_src (VIP)", rev.nat_src, tp->dst);
	check_addr(c, "reply nat_dst (client)", rev.nat_dst, tp->src);
	if (rev.nat_sport != tp->dport || rev.nat_dport != tp->sport)
		XFAIL(c, "reply entry ports %u/%u", ntohs(rev.nat_sport), ntohs(rev.nat_dport));
	if (c->zone && (rev.out_peer != c->peer || rev.identity != t->cfg.default_identity))
		XFAIL(c, "reply entry peer %u identity %#x, want peer %u identity %#x",
		      rev.out_peer, rev.identity, c->peer, t->cfg.default_identity);
	if (c->save)
		t->var[c->save] = ntohs(fwd.nat_sport);
}

static void check_ct_remote(struct tctx *t, const struct xcase *c, const struct tuple *tp,
			    const struct pb_spec *out)
{
	struct gw_ct_key k;
	struct gw_ct fwd, rev;

	ct_key(&k, tp, 0, 0);
	if (ct_get(t, &k, &fwd))
		XFAIL(c, "no forward conntrack entry");
	if (fwd.flags != GW_CT_F_ENCAP || fwd.out_peer != c->peer)
		XFAIL(c, "forward entry flags %#x peer %u, want ENCAP to peer %u", fwd.flags,
		      fwd.out_peer, c->peer);
	if (out->l4.geneve && fwd.identity != out->l4.geneve->opts[0].identity)
		XFAIL(c, "forward entry identity %#x", fwd.identity);
	ct_key(&k, tp, c->zone, 1);
	if (ct_get(t, &k, &rev))
		XFAIL(c, "no reply entry in zone %u", c->zone);
	if (rev.flags != GW_CT_F_REPLY)
		XFAIL(c, "reply entry flags %#x, want REPLY only", rev.flags);
}

static const char *const reason_names[] = {
#define RNAME(sym, name, help) name,
	GW_REASONS(RNAME)
#undef RNAME
};

/* Exactly one packet of len bytes counted, under the row's reason, on the
 * CPU this process is pinned to (any CPU if pinning failed). */
static void counters_diff(struct tctx *t, const struct xcase *c, size_t len)
{
	const struct gw_counter *before = t->c0, *after = t->c1;
	char seen[512] = "";
	int cpu, k, bad = 0;
	size_t n = 0;

	for (cpu = 0; cpu < t->h.ncpu; cpu++) {
		for (k = 0; k < GW_R__COUNT; k++) {
			size_t i = (size_t)cpu * GW_R__COUNT + (size_t)k;
			__u64 dp = after[i].packets - before[i].packets;
			__u64 db = after[i].bytes - before[i].bytes;
			int mine = k == (int)c->reason && (t->h.cpu < 0 || cpu == t->h.cpu);

			if (dp && n < sizeof(seen))
				n += (size_t)snprintf(seen + n, sizeof(seen) - n,
						      " %s+%llu/%lluB(cpu%d)", reason_names[k],
						      (unsigned long long)dp,
						      (unsigned long long)db, cpu);
			if (mine && t->h.cpu < 0)
				continue; /* unpinned: summed below */
			if (dp != (__u64)mine || db != (mine ? len : 0))
				bad = 1;
		}
	}
	if (t->h.cpu < 0) {
		__u64 dp = 0;

		for (cpu = 0; cpu < t->h.ncpu; cpu++)
			dp += after[(size_t)cpu * GW_R__COUNT + c->reason].packets -
			      before[(size_t)cpu * GW_R__COUNT + c->reason].packets;
		bad |= dp != 1;
	}
	if (bad)
		XFAIL(c, "counted:%s; want %s+1/%zuB", seen[0] ? seen : " nothing",
		      reason_names[c->reason], len);
}

static const char *verdict_name(uint32_t v)
{
	static const char *const n[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					"XDP_REDIRECT"};

	return v < 5 ? n[v] : "?";
}

static void compare(const struct xcase *c, const char *what, const struct pb_pkt *want,
		    const struct pb_pkt *got)
{
	if (want->len == got->len && memcmp(want->b, got->b, want->len) == 0)
		return;
	fprintf(stderr, "  [%s] %s differs:\n", c->desc, what);
	pb_hexdiff(stderr, want->b, want->len, got->b, got->len);
	XFAIL(c, "%s differs from the expected bytes", what);
}

static void run_case(struct tctx *t, const struct xcase *c)
{
	static struct pb_pkt in, out, want;
	struct resolved rin, rout;
	struct gw_ct ct_before, ct_after;
	struct gw_ct_key k;
	struct tuple tp;
	uint32_t verdict = 0, hashport = 0;
	int prog, ifindex;

	if (c->before)
		c->before(&t->h);
	prog = bpf_program__fd(c->prog == P_INT ? t->h.skel->progs.gw_xdp_int
						: t->h.skel->progs.gw_xdp_ext);
	ifindex = t->h.ifindex[c->prog == P_INT ? HX_INT0 : HX_EXT0];

	resolve(t, &c->in, 0, &rin);
	pb_build(&rin.s, &in);
	if (flow_spec(&rin.s)->ip.family) {
		tuple_of(&rin.s, &tp);
		hashport = 49152u |
			   (gw_flow_hash(tp.src, tp.dst, tp.sport, tp.dport, tp.proto) & 0x3fff);
	}
	if (c->ct == CT_HIT || c->ct == CT_CACHED) {
		ct_key(&k, &tp, c->zone, 0);
		if (ct_get(t, &k, &ct_before))
			XFAIL(c, "no conntrack entry before the packet");
	}

	if (hx_counters(&t->h, t->c0))
		XFAIL(c, "reading counters");
	if (hx_run(prog, ifindex, &in, &out, 0, &verdict))
		XFAIL(c, "BPF_PROG_TEST_RUN failed: %s", strerror(errno));
	if (hx_counters(&t->h, t->c1))
		XFAIL(c, "reading counters");

	if (verdict != c->verdict) {
		counters_diff(t, c, in.len); /* names the reason it took, if another */
		XFAIL(c, "verdict %s, want %s", verdict_name(verdict), verdict_name(c->verdict));
	}
	counters_diff(t, c, in.len);

	switch (c->ct) {
	case CT_LOCAL:
		check_ct_local(t, c, &tp, c->out ? c->out : &c->in);
		break;
	case CT_REMOTE:
		check_ct_remote(t, c, &tp, c->out);
		break;
	case CT_HIT:
		if (ct_get(t, &k, &ct_after))
			XFAIL(c, "conntrack entry gone after the packet");
		if (ct_after.packets != ct_before.packets + 1)
			XFAIL(c, "conntrack packets %llu -> %llu",
			      (unsigned long long)ct_before.packets,
			      (unsigned long long)ct_after.packets);
		break;
	case CT_CACHED:
		if (ct_get(t, &k, &ct_after))
			XFAIL(c, "conntrack entry gone after the packet");
		if (ct_after.packets != ct_before.packets)
			XFAIL(c, "conntrack packets %llu -> %llu: not served by the flow cache",
			      (unsigned long long)ct_before.packets,
			      (unsigned long long)ct_after.packets);
		break;
	case CT_ABSENT:
		ct_key(&k, &tp, c->zone, 0);
		if (!ct_get(t, &k, &ct_after))
			XFAIL(c, "a conntrack entry was created");
		break;
	default:
		break;
	}

	if (c->verdict != XDP_DROP || c->out) {
		if (c->out) {
			resolve(t, c->out, hashport, &rout);
			pb_build(&rout.s, &want);
		} else if (c->expect) {
			c->expect(&in, &want);
		} else {
			want = in;
		}
		compare(c, "output frame", &want, &out);
	}

	/* Where did it go? Send it again for real and catch it on the far end
	 * of the egress veth. The flow now exists, so the same bytes come out. */
	if ((c->verdict == XDP_REDIRECT || c->verdict == XDP_TX) && t->h.live) {
		int sock = t->h.sock[c->egress == E_INT0 ? 0 : 1], others = 0;
		static struct pb_pkt last;

		if (c->egress == E_NONE)
			XFAIL(c, "row has no egress interface");
		hx_drain(t->h.sock[0]);
		hx_drain(t->h.sock[1]);
		if (hx_counters(&t->h, t->c0))
			XFAIL(c, "reading counters");
		if (hx_run(prog, ifindex, &in, &out, 1, &verdict))
			XFAIL(c, "live BPF_PROG_TEST_RUN failed: %s", strerror(errno));
		if (hx_counters(&t->h, t->c1))
			XFAIL(c, "reading counters");
		counters_diff(t, c, in.len);
		if (hx_capture_expect(sock, &want, 2000, &others, &last)) {
			if (others) {
				fprintf(stderr, "  [%s] last other frame seen:\n", c->desc);
				pb_hexdiff(stderr, want.b, want.len, last.b, last.len);
			}
			XFAIL(c, "the frame did not leave by %s (%d other frames seen)",
			      c->egress == E_INT0 ? "int0" : "ext0", others);
		}
		t->live_checks++;
	}
}

/* Runs every row, even after a failing one, then fails the test if any row
 * did. A row marked with a known bug is expected to fail: it is counted in
 * known_bugs, and if it passes, that is a failure (remove the mark). */
static void run_table(struct tctx *t, const struct xcase *rows, size_t n)
{
	volatile size_t i;

	t->failed = 0;
	for (i = 0; i < n; i++) {
		t->cur = &rows[i];
		t->rows++;
		if (setjmp(t->row_fail) == 0) {
			run_case(t, &rows[i]);
			if (rows[i].bug) {
				fprintf(stderr,
					"  FAIL [%s]: passes, but is marked as known bug "
					"\"%s\": remove the mark\n",
					rows[i].desc, rows[i].bug);
				t->failed++;
			}
		} else if (rows[i].bug) {
			fprintf(stderr, "  KNOWN BUG [%s]: %s\n", rows[i].desc, rows[i].bug);
			t->known_bugs++;
		} else {
			t->failed++;
		}
	}
	t->cur = NULL;
	if (t->failed)
		fail_msg("%d of %zu rows failed (see above)", t->failed, n);
}

#define RUN_TABLE(rows) run_table(*state, rows, sizeof(rows) / sizeof(rows[0]))

#endif
