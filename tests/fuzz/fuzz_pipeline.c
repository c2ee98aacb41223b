/* libFuzzer target for the shared packet pipeline: one mode byte and an
 * Ethernet frame, run through gw_pipeline_int or gw_pipeline_ext with the
 * native context of tests/unit/pipeline_ctx.h and the topology of
 * pipeline_topo.h (services, local and remote backends, a peer and
 * identities), checking the invariants every driver relies on. ASan/UBSan
 * catch accesses outside the packet.
 *
 * Mode byte: bit 0 external side; 1 run the frame twice (conntrack hit);
 * 2 answer a forwarded packet as its peer would and check the reply finds
 * the flow, then (for a packet forwarded to a local backend) send the
 * backend's ICMP port unreachable about it, quoting as much of it as the
 * input's last byte says, and check the relayed error is the flow's NAT
 * undone; 3 fix up the input's checksums and check the output's; 4 a
 * one-entry conntrack; 5 32 bytes of headroom; 6 no neighbour entries;
 * 7 one SNAT port, and peer 1 goes down before the repeat.
 *
 * The seeds in tests/fuzz/seeds/pipeline/ come from this file:
 *   clang -DGW_FUZZ_WRITE_SEEDS -Iinclude tests/fuzz/fuzz_pipeline.c -o /tmp/seeds &&
 *   /tmp/seeds tests/fuzz/seeds/pipeline */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/pipeline_ctx.h"
#include "../unit/pipeline_topo.h"
#include "../unit/pipeline_packet.h"

#define M_EXT	   0x01
#define M_REPEAT   0x02
#define M_REPLY	   0x04
#define M_CSUM	   0x08
#define M_CT_TINY  0x10
#define M_HEADROOM 0x20
#define M_NO_NEIGH 0x40
#define M_SCARCE   0x80

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_pipeline: invariant failed: %s: ", #cond);           \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Frames are handled with their IP header 4-aligned, as in the context. */
#define ALIGNED_BUF(name, size)                                                                    \
	static __u8 name##_mem[(size) + 8] __attribute__((aligned(8)));                            \
	static __u8 *const name = name##_mem + GWT_IP_ALIGN

static struct gw_ctx *ctx;
static struct gw_cfg cfg0;
static struct gw_peer peers0[GWT_MAX_PEERS];
static struct gwt_route routes0[GWT_MAX_ROUTES];

static void ctx_prepare(__u8 mode)
{
	__u32 i;

	if (!ctx) {
		ctx = gwt_ctx_new();
		if (!ctx)
			abort();
		gwt_topology(ctx);
		cfg0 = ctx->cfg;
		memcpy(peers0, ctx->peers, sizeof(peers0));
		memcpy(routes0, ctx->routes, sizeof(routes0));
	}
	gwt_ctx_reset_flows(ctx);
	ctx->cfg = cfg0;
	memcpy(ctx->peers, peers0, sizeof(peers0));
	memcpy(ctx->routes, routes0, sizeof(routes0));
	ctx->ct_cap = mode & M_CT_TINY ? 1 : GWT_CT_MAX;
	if (mode & M_NO_NEIGH)
		for (i = 0; i < ctx->n_routes; i++)
			ctx->routes[i].kind = GWT_ROUTE_NO_NEIGH;
	if (mode & M_SCARCE)
		ctx->cfg.snat_port_max = ctx->cfg.snat_port_min;
}

/* --- checksums: fix up the input, verify the output ---------------------------- */

/* Checksums of an Ethernet frame: fix (fix != 0) or check them. Only what
 * the pipeline is expected to keep right: the IPv4 header, and TCP/UDP of
 * unfragmented packets whose data offset stays inside the segment. */
static void frame_csums(__u8 *f, size_t len, int fix, const char *what)
{
	struct gw_pkt p;
	__u8 *l4;
	size_t l4_len, sum_off;
	__u16 want;

	if (gw_parse(f, f + len, &p))
		return;
	if (p.family == GW_AF_INET) {
		want = gwt_ipv4_csum_full(f + p.l3_off);
		if (fix)
			gwt_put16(f + p.l3_off + 10, want);
		else
			CHECK(gwt_get16(f + p.l3_off + 10) == want, "%s: IPv4 header checksum",
			      what);
	}
	if (!(p.flags & GW_PKT_F_L4) || (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP))
		return;
	l4 = f + p.l4_off;
	if (p.l3_len < (size_t)(p.l4_off - p.l3_off) + (p.proto == IPPROTO_TCP ? 20 : 8))
		return;
	l4_len = p.l3_len - (p.l4_off - p.l3_off);
	if (p.proto == IPPROTO_TCP && (size_t)(l4[12] >> 4) * 4 > l4_len)
		return; /* options past the segment: malformed anyway */
	sum_off = p.proto == IPPROTO_TCP ? 16 : 6;
	if (p.proto == IPPROTO_UDP && !gwt_get16(l4 + sum_off))
		return; /* no checksum (IPv6 too: a tunnel's, RFC 6935) */
	want = gwt_l4_csum_full(p.family, p.proto, p.src, p.dst, l4, l4_len);
	if (fix)
		gwt_put16(l4 + sum_off, want);
	else
		CHECK(gwt_get16(l4 + sum_off) == want, "%s: L4 checksum %04x, want %04x", what,
		      gwt_get16(l4 + sum_off), want);
}

/* The same for the inner packet at f[off..len) (bare IP). */
static void inner_csums(__u8 *f, size_t off, size_t len, int fix, const char *what)
{
	ALIGNED_BUF(tmp, 14 + GWT_PKT_MAX);
	size_t n = len - off;

	if (off >= len || n > GWT_PKT_MAX)
		return;
	memset(tmp, 0, 14);
	gwt_put16(tmp + 12, (f[off] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(tmp + 14, f + off, n);
	frame_csums(tmp, n + 14, fix, what);
	if (fix)
		memcpy(f + off, tmp + 14, n);
}

/* Geneve from a known peer to us: the inner packet's offset, else 0. */
static size_t geneve_inner(__u8 *f, size_t len)
{
	struct gw_geneve_info gi;
	struct gw_pkt p;

	if (gw_parse(f, f + len, &p) || p.family != GW_AF_INET || p.proto != IPPROTO_UDP ||
	    !(p.flags & GW_PKT_F_L4) || p.dport != gw_htons(GW_GENEVE_PORT))
		return 0;
	if (gw_geneve_parse(f, f + len, p.l4_off + 8, &gi))
		return 0;
	return gi.inner_off;
}

static void fix_input(__u8 *f, size_t len)
{
	size_t off;

	frame_csums(f, len, 1, "input");
	off = geneve_inner(f, len);
	if (off)
		inner_csums(f, off, len, 1, "input inner");
}

/* --- invariants of a result --------------------------------------------------------- */

static int is_fwd_reason(__u32 r)
{
	return r == GW_R_FWD_LOCAL || r == GW_R_FWD_REMOTE || r == GW_R_REPLY_LOCAL ||
	       r == GW_R_REPLY_REMOTE;
}

static int is_remote(__u32 r)
{
	return r == GW_R_FWD_REMOTE || r == GW_R_REPLY_REMOTE;
}

static void check_result(const struct gw_result *res, const __u8 *in, size_t in_len, __u8 mode,
			 const char *pass)
{
	__u8 *out = gwt_packet(ctx);
	size_t len = gwt_packet_len(ctx);
	struct gw_pkt p;

	CHECK(res->action <= GW_ACT_REDIRECT, "%s: action %u", pass, res->action);
	CHECK(res->reason < GW_R__COUNT, "%s: reason %u", pass, res->reason);
	CHECK((res->action == GW_ACT_DROP) == gw_reason_is_drop(res->reason),
	      "%s: action %u with reason %u", pass, res->action, res->reason);
	CHECK(ctx->head <= ctx->mem_len, "%s: head %u past the end", pass, ctx->head);

	if (res->action == GW_ACT_PASS && res->reason == GW_R_PASS) {
		/* what goes to the kernel untouched must be untouched */
		CHECK(len == in_len && !memcmp(out, in, len), "%s: passed packet modified", pass);
		return;
	}
	if (res->action == GW_ACT_DROP)
		return;
	CHECK(res->action != GW_ACT_TX || res->reason == GW_R_PROBE_REPLY ||
		      res->reason == GW_R_ICMP_TOO_BIG,
	      "%s: TX reason %u", pass, res->reason);
	if (res->reason == GW_R_ICMP_TOO_BIG) {
		/* an answer to the sender: an ICMP error that parses */
		CHECK(res->action == GW_ACT_TX, "%s: ICMP too big not sent back", pass);
		CHECK(gw_parse(out, out + len, &p) == 0, "%s: ICMP error does not parse", pass);
		CHECK(p.proto == (p.family == GW_AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6),
		      "%s: ICMP too big is protocol %u", pass, p.proto);
		return;
	}
	CHECK(res->action != GW_ACT_PASS || is_fwd_reason(res->reason), "%s: PASS with reason %u",
	      pass, res->reason);
	CHECK(gw_parse(out, out + len, &p) == 0, "%s: output does not parse (reason %u)", pass,
	      res->reason);
	CHECK((p.flags & GW_PKT_F_L4) || p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6,
	      "%s: output without ports", pass);
	if (res->action == GW_ACT_REDIRECT) {
		CHECK(res->ifindex == GWT_IF_INT || res->ifindex == GWT_IF_EXT, "%s: ifindex %u",
		      pass, res->ifindex);
		CHECK(!memcmp(out, res->ifindex == GWT_IF_INT ? gwt_mac_hostA : gwt_mac_router, 6),
		      "%s: destination MAC", pass);
		CHECK(is_fwd_reason(res->reason), "%s: REDIRECT reason %u", pass, res->reason);
	}
	if (is_remote(res->reason)) {
		CHECK(p.family == GW_AF_INET && p.proto == IPPROTO_UDP &&
			      p.dport == gw_htons(GW_GENEVE_PORT) && p.src[0] == GWT_EXT4 &&
			      p.dst[0] == GWT_PEER4,
		      "%s: encapsulated packet's outer headers", pass);
		CHECK(gwt_get16(out + 24) == gwt_ipv4_csum_full(out + 14), "%s: outer checksum",
		      pass);
		CHECK(geneve_inner(out, len) == 62, "%s: our own Geneve does not parse", pass);
		if (mode & M_CSUM)
			inner_csums(out, 62, len, 0, pass);
	} else if (is_fwd_reason(res->reason) && (mode & M_CSUM)) {
		frame_csums(out, len, 0, pass);
	}
}

/* --- the reply a backend or peer would send -------------------------------------------- */

/* Swap addresses and ports of the IP packet at ip (bare, parsed as p). */
static void swap_tuple(__u8 *ip, const struct gw_pkt *p, size_t l4_rel)
{
	__u8 t[16];
	size_t a = p->family == GW_AF_INET ? 12 : 8, n = p->family == GW_AF_INET ? 4 : 16;

	memcpy(t, ip + a, n);
	memcpy(ip + a, ip + a + n, n);
	memcpy(ip + a + n, t, n);
	memcpy(t, ip + l4_rel, 2);
	memcpy(ip + l4_rel, ip + l4_rel + 2, 2);
	memcpy(ip + l4_rel + 2, t, 2);
}

ALIGNED_BUF(reply_buf, GWT_PKT_MAX);
static __u8 reply_in[GWT_PKT_MAX] __attribute__((aligned(8))); /* bare IP */

static void run_reply(const struct gw_result *fwd, __u8 mode, size_t headroom)
{
	__u8 *out = gwt_packet(ctx);
	size_t len = gwt_packet_len(ctx), rlen, n;
	struct gw_result res;
	struct gw_pkt p;
	int ext;

	if (!is_fwd_reason(fwd->reason) || fwd->reason == GW_R_REPLY_LOCAL ||
	    fwd->reason == GW_R_REPLY_REMOTE || len > GWT_PKT_MAX)
		return;
	if (fwd->reason == GW_R_FWD_LOCAL) {
		/* the backend answers on the internal side */
		memcpy(reply_buf, out, len);
		if (gw_parse(reply_buf, reply_buf + len, &p))
			return;
		swap_tuple(reply_buf + 14, &p, p.l4_off - 14);
		rlen = len;
		ext = 0;
	} else {
		/* the remote gateway sends the reply back tunnelled */
		__u8 o[12];

		n = len - 62;
		memcpy(reply_in, out + 62, n);
		memcpy(reply_buf, out, 14);
		gwt_put16(reply_buf + 12, (reply_in[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP);
		memcpy(reply_buf + 14, reply_in, n);
		if (gw_parse(reply_buf, reply_buf + 14 + n, &p))
			return;
		swap_tuple(reply_in, &p, p.l4_off - 14);
		gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
		rlen = gwt_build_geneve(reply_buf, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 50001,
					GW_GENEVE_PORT, GWT_PEER_SITE, o, 12, reply_in, n);
		if (!rlen)
			return;
		ext = 1;
	}
	if (mode & M_CSUM)
		fix_input(reply_buf, rlen);
	if (gwt_packet_set(ctx, reply_buf, rlen, headroom))
		abort();
	if (ext)
		gw_pipeline_ext(ctx, &res);
	else
		gw_pipeline_int(ctx, &res);
	check_result(&res, reply_buf, rlen, mode, "reply");
	CHECK(res.reason == GW_R_REPLY_LOCAL || res.reason == GW_R_REPLY_REMOTE ||
		      res.reason == GW_R_DROP_TOO_BIG || res.reason == GW_R_DROP_NO_HEADROOM ||
		      res.reason == GW_R_DROP_FIB || res.reason == GW_R_DROP_NO_PEER,
	      "reply to a %u flow got reason %u", fwd->reason, res.reason);
}

/* --- an ICMP error about the forwarded packet ---------------------------------------- */

ALIGNED_BUF(err_buf, GWT_PKT_MAX);
ALIGNED_BUF(fwd_copy, GWT_PKT_MAX);
static size_t fwd_copy_len;

/* The tuple of the packet a client sent (the input, or the input's inner
 * packet when it came through the tunnel), in quote order. */
struct tuple {
	__u8 family, proto;
	__be32 src[4], dst[4];
	__be16 sport, dport;
};

static int input_tuple(const __u8 *f, size_t len, struct tuple *t)
{
	ALIGNED_BUF(tmp, 14 + GWT_PKT_MAX);
	size_t off = geneve_inner((__u8 *)f, len), n;
	struct gw_pkt p;

	if (off) {
		n = len - off;
		if (off >= len || n > GWT_PKT_MAX)
			return -1;
		memset(tmp, 0, 14);
		gwt_put16(tmp + 12, (f[off] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP);
		memcpy(tmp + 14, f + off, n);
		f = tmp;
		len = n + 14;
	}
	if (gw_parse((void *)f, (void *)(f + len), &p) || !(p.flags & GW_PKT_F_L4) ||
	    (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP))
		return -1;
	t->family = p.family;
	t->proto = p.proto;
	memcpy(t->src, p.src, 16);
	memcpy(t->dst, p.dst, 16);
	t->sport = p.sport;
	t->dport = p.dport;
	return 0;
}

/* ICMPv6 checksum of the message at ic (len bytes, its checksum 0). */
static __u16 icmp6_csum(const __u8 *src, const __u8 *dst, const __u8 *ic, size_t len)
{
	__u8 ph[8] = {0, 0, (__u8)(len >> 8), (__u8)len, 0, 0, 0, IPPROTO_ICMPV6};
	__u32 sum = gwt_sum16(gwt_sum16(gwt_sum16(0, src, 16), dst, 16), ph, 8);

	return gwt_fold(gwt_sum16(sum, ic, len));
}

/* The backend (or a router near it) answers the packet we forwarded to it
 * with "port unreachable", quoting qlen bytes of it. When the gateway
 * relays the error, it must go to the client from the address the client
 * sent to, quoting the client's own packet: the relay is the inverse of
 * the flow's NAT, for the quote as for the error's own addresses. */
static void run_error(const struct tuple *orig, __u8 mode, size_t headroom, __u8 qsel)
{
	const __u8 *fwd = fwd_copy;
	size_t ip_off = 14, hl, qlen, elen, off;
	__u8 *ip = err_buf + 14, *ic, *out, *q;
	struct gw_result res;
	struct gw_pkt p;
	int v6;

	if (gw_parse((void *)fwd, (void *)(fwd + fwd_copy_len), &p) || !(p.flags & GW_PKT_F_L4))
		return;
	v6 = p.family == GW_AF_INET6;
	hl = v6 ? 40 : 20;
	/* from a minimal quote to most of the packet, as the input asks */
	qlen = p.l3_len;
	if (qlen > fwd_copy_len - ip_off)
		qlen = fwd_copy_len - ip_off;
	if (qlen > (size_t)(p.l4_off - ip_off) + 8 + (size_t)qsel * 4)
		qlen = (size_t)(p.l4_off - ip_off) + 8 + (size_t)qsel * 4;
	if (qlen < (size_t)(p.l4_off - ip_off) + 8 || 14 + hl + 8 + qlen > GWT_PKT_MAX)
		return;
	memset(err_buf, 0, 14 + hl + 8);
	memcpy(err_buf, gwt_mac_int, 6);
	memcpy(err_buf + 6, gwt_mac_hostA, 6);
	gwt_put16(err_buf + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);
	ic = ip + hl;
	if (v6) {
		ip[0] = 0x60;
		gwt_put16(ip + 4, (__u16)(8 + qlen));
		ip[6] = IPPROTO_ICMPV6;
		ip[7] = 64;
		memcpy(ip + 8, p.dst, 16);
		memcpy(ip + 24, p.src, 16);
		ic[0] = ICMPV6_DEST_UNREACH;
		ic[1] = ICMPV6_PORT_UNREACH;
	} else {
		ip[0] = 0x45;
		gwt_put16(ip + 2, (__u16)(20 + 8 + qlen));
		ip[8] = 64;
		ip[9] = IPPROTO_ICMP;
		memcpy(ip + 12, p.dst, 4);
		memcpy(ip + 16, p.src, 4);
		gwt_put16(ip + 10, gwt_ipv4_csum_full(ip));
		ic[0] = ICMP_DEST_UNREACH;
		ic[1] = ICMP_PORT_UNREACH;
	}
	memcpy(ic + 8, fwd + ip_off, qlen);
	elen = 14 + hl + 8 + qlen;
	if (v6)
		gwt_put16(ic + 2, icmp6_csum(ip + 8, ip + 24, ic, 8 + qlen));
	else
		gwt_put16(ic + 2, gwt_fold(gwt_sum16(0, ic, 8 + qlen)));
	if (gwt_packet_set(ctx, err_buf, elen, headroom))
		abort();
	gw_pipeline_int(ctx, &res);
	check_result(&res, err_buf, elen, mode, "error");
	if (res.action != GW_ACT_REDIRECT)
		return;
	CHECK(res.reason == GW_R_REPLY_LOCAL || res.reason == GW_R_REPLY_REMOTE,
	      "relayed error: reason %u", res.reason);
	out = gwt_packet(ctx);
	off = res.reason == GW_R_REPLY_REMOTE ? 62 : 14;
	CHECK(gwt_packet_len(ctx) > off + hl + 8 + hl + 4, "relayed error: %zu bytes",
	      gwt_packet_len(ctx));
	ip = out + off;
	ic = ip + hl;
	q = ic + 8;
	CHECK(orig->family == p.family, "relayed error: family %u, the client's %u", p.family,
	      orig->family);
	CHECK(!memcmp(ip + (v6 ? 8 : 12), orig->dst, v6 ? 16 : 4) &&
		      !memcmp(ip + (v6 ? 24 : 16), orig->src, v6 ? 16 : 4),
	      "relayed error: not from the client's destination to the client");
	CHECK(!memcmp(q + (v6 ? 8 : 12), orig->src, v6 ? 16 : 4) &&
		      !memcmp(q + (v6 ? 24 : 16), orig->dst, v6 ? 16 : 4),
	      "relayed error: the quote's addresses are not the client's packet's");
	hl = v6 ? 40 : (size_t)(q[0] & 0xf) * 4;
	CHECK(!memcmp(q + hl, &orig->sport, 2) && !memcmp(q + hl + 2, &orig->dport, 2),
	      "relayed error: the quote's ports are not the client's packet's");
	if (!v6)
		CHECK(gwt_get16(ip + 10) == gwt_ipv4_csum_full(ip), "relayed error: IP checksum");
}

/* --- the target ------------------------------------------------------------------------- */

ALIGNED_BUF(in_buf, GWT_PKT_MAX);

static void run_once(const __u8 *frame, size_t len, __u8 mode, size_t headroom,
		     struct gw_result *res, const char *pass)
{
	if (gwt_packet_set(ctx, frame, len, headroom))
		abort();
	memset(res, 0xee, sizeof(*res));
	if (mode & M_EXT)
		gw_pipeline_ext(ctx, res);
	else
		gw_pipeline_int(ctx, res);
	check_result(res, frame, len, mode, pass);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len, headroom;
	struct gw_result res;
	__u8 mode;

	if (size < 1 || size - 1 > GWT_PKT_MAX)
		return 0;
	mode = data[0];
	len = size - 1;
	memcpy(in_buf, data + 1, len);
	ctx_prepare(mode);
	headroom = mode & M_HEADROOM ? 32 : GWT_HEADROOM;
	if (mode & M_CSUM)
		fix_input(in_buf, len);

	run_once(in_buf, len, mode, headroom, &res, "first");
	if (mode & M_REPEAT) {
		struct gw_result again;
		__u32 n_ct = ctx->n_ct;

		if (mode & M_SCARCE)
			ctx->peers[GWT_PEER_ID].flags &= ~GW_PEER_F_UP;
		run_once(in_buf, len, mode, headroom, &again, "repeat");
		if ((mode & M_SCARCE) && res.reason == GW_R_FWD_REMOTE && res.action != GW_ACT_DROP)
			/* balanced anew; the only backend is behind that peer */
			CHECK(again.reason == GW_R_DROP_NO_PEER,
			      "repeat after peer down: reason %u", again.reason);
		else if (res.action != GW_ACT_DROP && is_fwd_reason(res.reason))
			/* a flow that was set up is found again, not set up twice */
			CHECK(again.reason == res.reason && ctx->n_ct == n_ct,
			      "repeat: reason %u then %u, %u then %u entries", res.reason,
			      again.reason, n_ct, ctx->n_ct);
		res = again;
	}
	if (mode & M_REPLY) {
		struct tuple orig;
		__u32 fwd_reason = res.reason;

		fwd_copy_len = gwt_packet_len(ctx);
		if (res.action == GW_ACT_REDIRECT && fwd_copy_len <= GWT_PKT_MAX)
			memcpy(fwd_copy, gwt_packet(ctx), fwd_copy_len);
		run_reply(&res, mode, headroom);
		if (res.action == GW_ACT_REDIRECT && fwd_reason == GW_R_FWD_LOCAL &&
		    fwd_copy_len <= GWT_PKT_MAX && !input_tuple(in_buf, len, &orig))
			run_error(&orig, mode, headroom, data[size - 1]);
	}
	return 0;
}

#ifdef GW_FUZZ_WRITE_SEEDS
/* Writes the seed corpus (see the top of this file). */
static int seed_write(const char *dir, const char *name, __u8 mode, const __u8 *f, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fputc(mode, fp) == EOF || fwrite(f, 1, len, fp) != len) {
		perror(path);
		return 1;
	}
	return fclose(fp) ? 1 : 0;
}

static struct gwt_spec seed_spec(__u8 family, __u8 proto, const __be32 *src, __u16 sport,
				 const __be32 *dst, __u16 dport)
{
	struct gwt_spec s;

	memset(&s, 0, sizeof(s));
	s.family = family;
	s.proto = proto;
	memcpy(s.src, src, 16);
	memcpy(s.dst, dst, 16);
	s.sport = sport;
	s.dport = dport;
	s.tcp_flags = GW_TCP_SYN;
	s.payload_len = 16;
	return s;
}

int main(int argc, char **argv)
{
	static const __u8 mss[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
	static const __u8 ipopt[] = {1, 1, 1, 0};
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[24];
	const __u8 reply = M_REPLY | M_CSUM | M_REPEAT;
	struct gwt_spec s;
	size_t len, n;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	s = seed_spec(GW_AF_INET, IPPROTO_TCP, GWT_A4(10, 10, 0, 5), 33333, GWT_A4(10, 96, 0, 10),
		      80);
	s.tcp_opts = mss;
	s.tcp_opts_len = sizeof(mss);
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-tcp-syn-vip", reply, f, len);

	s.dst[0] = GWT_VIP4_REMOTE;
	s.dport = 443;
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-tcp-syn-remote", reply, f, len);

	s.ip_opts = ipopt;
	s.ip_opts_len = sizeof(ipopt);
	s.dst[0] = GWT_VIP4;
	s.dport = 80;
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-tcp-ipopts", reply, f, len);

	s = seed_spec(GW_AF_INET, IPPROTO_UDP, GWT_A4(10, 10, 0, 5), 5353, GWT_A4(10, 96, 0, 10),
		      53);
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-udp-vip", reply, f, len);

	s = seed_spec(GW_AF_INET, IPPROTO_TCP, GWT_A4(10, 10, 0, 5), 1000, GWT_A4(10, 96, 0, 10),
		      80);
	s.frag = 0x2000;
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-fragment", 0, f, len);

	s = seed_spec(GW_AF_INET6, IPPROTO_TCP, GWT_A6(10, 0, 5), 40000, GWT_A6(96, 0, 0x10), 80);
	s.tcp_opts = mss;
	s.tcp_opts_len = sizeof(mss);
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-ipv6-syn-vip", reply, f, len);
	/* the same behind a destination options header */
	memmove(f + 62, f + 54, len - 54);
	memset(f + 54, 0, 8);
	f[54] = IPPROTO_TCP;
	f[20] = IPPROTO_DSTOPTS;
	gwt_put16(f + 18, gwt_get16(f + 18) + 8);
	err |= seed_write(argv[1], "int-ipv6-dstopts", reply, f, len + 8);

	/* Geneve from the peer: a new flow to a local backend */
	s = seed_spec(GW_AF_INET, IPPROTO_TCP, GWT_A4(10, 20, 0, 5), 40000, GWT_A4(10, 96, 0, 10),
		      80);
	s.no_eth = 1;
	s.tcp_opts = mss;
	s.tcp_opts_len = sizeof(mss);
	n = gwt_build(inner, sizeof(inner), &s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, sizeof(f), GWT_PEER4, GWT_EXT4, 51000, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	err |= seed_write(argv[1], "ext-geneve-peer", M_EXT | reply, f, len);
	/* with an unknown non-critical option first */
	memset(o, 0, 8);
	gwt_put16(o, 0x0101);
	o[2] = 0x05;
	o[3] = 1;
	gwt_opt_identity(o + 8, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, sizeof(f), GWT_PEER4, GWT_EXT4, 51000, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 20, inner, n);
	err |= seed_write(argv[1], "ext-geneve-two-options", M_EXT | reply, f, len);
	/* inner IPv6 */
	s = seed_spec(GW_AF_INET6, IPPROTO_TCP, GWT_A6(20, 0, 5), 40000, GWT_A6(96, 0, 0x10), 80);
	s.no_eth = 1;
	n = gwt_build(inner, sizeof(inner), &s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, sizeof(f), GWT_PEER4, GWT_EXT4, 51000, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	err |= seed_write(argv[1], "ext-geneve-inner-ipv6", M_EXT | reply, f, len);

	/* a client whose identity the policy service does not allow */
	s = seed_spec(GW_AF_INET, IPPROTO_TCP, GWT_A4(10, 11, 0, 5), 1000, GWT_A4(10, 96, 0, 12),
		      80);
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-policy-denied", M_CSUM, f, len);
	/* too big to tunnel once encapsulated */
	s = seed_spec(GW_AF_INET, IPPROTO_TCP, GWT_A4(10, 10, 0, 5), 1000, GWT_A4(10, 96, 0, 11),
		      443);
	s.payload_len = GWT_TUNNEL_MTU - 40;
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-remote-too-big", M_CSUM, f, len);
	/* the remote flow again after its peer went down */
	s.payload_len = 16;
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "int-remote-peer-down", M_REPEAT | M_SCARCE | M_CSUM, f, len);

	/* Geneve with an unknown critical option, and from no peer */
	memset(o, 0, 4);
	gwt_put16(o, 0x0101);
	o[2] = 0x85;
	gwt_opt_identity(o + 4, GWT_ID_PEER, GWT_PEER_SITE);
	s = seed_spec(GW_AF_INET, IPPROTO_UDP, GWT_A4(10, 20, 0, 5), 40000, GWT_A4(10, 96, 0, 10),
		      53);
	s.no_eth = 1;
	n = gwt_build(inner, sizeof(inner), &s);
	len = gwt_build_geneve(f, sizeof(f), GWT_PEER4, GWT_EXT4, 51000, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 16, inner, n);
	err |= seed_write(argv[1], "ext-geneve-critical-option", M_EXT, f, len);
	len = gwt_build_geneve(f, sizeof(f), GWT_IP4(198, 51, 100, 7), GWT_EXT4, 51000,
			       GW_GENEVE_PORT, GWT_PEER_SITE, o + 4, 12, inner, n);
	err |= seed_write(argv[1], "ext-geneve-unknown-peer", M_EXT, f, len);

	/* a probe */
	s = seed_spec(GW_AF_INET, IPPROTO_UDP, GWT_A4(192, 0, 2, 2), GW_PROBE_PORT,
		      GWT_A4(192, 0, 2, 1), GW_PROBE_PORT);
	s.payload = (const __u8[24]){0x49, 0x53, 0x54, 0x50, 0, 2, 0, 0, 0, 0, 0, 1};
	s.payload_len = 24;
	len = gwt_build(f, sizeof(f), &s);
	err |= seed_write(argv[1], "ext-probe", M_EXT, f, len);
	return err;
}
#endif
