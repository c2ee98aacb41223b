/* Whole packets through the shared pipeline, conntrack lifetime: FIN and RST
 * close a flow's entries, a closed flow gives its SNAT port back, and a
 * backend's SNAT ports run out. No root, no network. */
#include "pipeline_e2e.h"

/* Conntrack entries end: a FIN or RST marks them closing, and once closed
 * and quiet for GW_CT_CLOSED_NS their SNAT port serves a new flow and their
 * tuple starts a new flow, so a backend is not out of ports after a few
 * thousand short connections. */
static void test_e2e_ct_closing_frees_snat_port(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	size_t len;

	c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	/* the backend closes: its reply entry (the one holding the port) */
	s = spec4(IPPROTO_TCP, GWT_BE4, GWT_BE_PORT, GWT_INT4, 40000);
	s.tcp_flags = GW_TCP_FIN | GW_TCP_ACK;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL);

	/* another client's flow: the port is still the first flow's */
	s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1001, GWT_VIP4, 80);
	s.tcp_flags = GW_TCP_SYN;
	len = build(f, &s);
	c->now += GW_CT_CLOSED_NS / 2;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED);
	/* ... and free once the first flow has been closed long enough */
	c->now += GW_CT_CLOSED_NS;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);

	/* a new SYN on a tuple whose flow ended long ago is a new flow; an
	 * idle flow that is not closed keeps its entry */
	c->now += GW_CT_IDLE_NS + 1;
	s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1001, GWT_VIP4, 80);
	s.tcp_flags = GW_TCP_ACK;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);
	gwt_ctx_free(c);
}

/* One TCP packet in: from the internal side, or tunnelled from peer 1. */
static void send_tcp(struct gw_ctx *c, int ext, __be32 src, __u16 sport, __be32 dst, __u16 dport,
		     __u8 flags, struct gw_result *res)
{
	__u8 f[GWT_PKT_MAX], inner[GWT_PKT_MAX], o[12];
	struct gwt_spec s = spec4(IPPROTO_TCP, src, sport, dst, dport);
	size_t len, n;

	s.tcp_flags = flags;
	if (!ext) {
		len = build(f, &s);
		run(c, 0, f, len, GWT_HEADROOM, res);
		return;
	}
	s.no_eth = 1;
	n = gwt_build(inner, GWT_PKT_MAX, &s);
	gwt_opt_identity(o, GWT_ID_PEER, GWT_PEER_SITE);
	len = gwt_build_geneve(f, GWT_PKT_MAX, GWT_PEER4, GWT_EXT4, 51234, GW_GENEVE_PORT,
			       GWT_PEER_SITE, o, 12, inner, n);
	run(c, 1, f, len, GWT_HEADROOM, res);
}

/* One step of a TCP conversation with a single SNAT port (40000): a packet
 * from the client's port cport to the VIP, or from the backend to that
 * port, wait_ns after the step before, and the result it must get. */
struct ct_step {
	const char *desc;
	int from_backend;
	__u16 cport;
	__u8 flags;
	__u64 wait_ns;
	__u32 action, reason;
};

static void run_ct_steps(const struct ct_step *st, size_t n)
{
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	size_t i;

	c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
	for (i = 0; i < n; i++) {
		print_message("%s\n", st[i].desc);
		c->now += st[i].wait_ns;
		if (st[i].from_backend)
			send_tcp(c, 0, GWT_BE4, GWT_BE_PORT, GWT_INT4, 40000, st[i].flags, &res);
		else
			send_tcp(c, 0, GWT_CLIENT4, st[i].cport, GWT_VIP4, 80, st[i].flags, &res);
		expect_result(&res, st[i].action, st[i].reason);
		if (st[i].action != GW_ACT_REDIRECT)
			continue;
		if (st[i].from_backend)
			expect_tuple(c, GWT_VIP4, 80, GWT_CLIENT4, st[i].cport);
		else
			expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);
	}
	gwt_ctx_free(c);
}

/* A client may open a new connection on the tuple of one that closed a
 * moment ago (both FINs seen, not yet quiet for GW_CT_CLOSED_NS): the
 * entries carry the new connection, so its SYN and SYN-ACK make them live
 * again. Otherwise the new connection, once idle past GW_CT_CLOSED_NS,
 * would lose its SNAT port to another client's flow. */
static void test_e2e_ct_syn_reopens_closing(void **state)
{
	static const struct ct_step steps[] = {
		{"client SYN", 0, 1000, GW_TCP_SYN, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend FIN", 1, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"client FIN", 0, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_FWD_LOCAL},
		{"client SYN on the same tuple", 0, 1000, GW_TCP_SYN, GW_CT_TOUCH_NS * 2,
		 GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend SYN-ACK", 1, 1000, GW_TCP_SYN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"client ACK", 0, 1000, GW_TCP_ACK, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"another client, the connection idle but open", 0, 1001, GW_TCP_SYN,
		 GW_CT_CLOSED_NS + GW_CT_TOUCH_NS, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED},
		{"backend data", 1, 1000, GW_TCP_ACK, 0, GW_ACT_REDIRECT, GW_R_REPLY_LOCAL},
	};

	run_ct_steps(steps, sizeof(steps) / sizeof(steps[0]));
}

/* A FIN or RST of no tracked flow (its state lost, or a stray packet) is
 * forwarded as a new flow that starts closing: its SNAT port is free again
 * after GW_CT_CLOSED_NS, not held for GW_CT_IDLE_NS. */
static void test_e2e_ct_stray_close_holds_briefly(void **state)
{
	static const __u8 flags[] = {GW_TCP_RST, GW_TCP_RST | GW_TCP_ACK, GW_TCP_FIN | GW_TCP_ACK};
	size_t i;

	for (i = 0; i < sizeof(flags); i++) {
		const struct ct_step steps[] = {
			{"stray FIN or RST", 0, 1000, flags[i], 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
			{"another client: the port still held", 0, 1001, GW_TCP_SYN,
			 GW_CT_CLOSED_NS / 2, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED},
			{"... and free after GW_CT_CLOSED_NS", 0, 1001, GW_TCP_SYN, GW_CT_CLOSED_NS,
			 GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		};

		print_message("stray flags 0x%02x\n", flags[i]);
		run_ct_steps(steps, sizeof(steps) / sizeof(steps[0]));
	}
}

/* A RST ends the connection both ways (RFC 9293 §3.10.7.4): whichever side
 * sends it, both entries close, so the SNAT port is free again after
 * GW_CT_CLOSED_NS, as after a FIN each way, not after GW_CT_IDLE_NS. */
static void test_e2e_ct_rst_closes_both(void **state)
{
	static const struct {
		const char *desc;
		int from_backend;
		__u8 flags;
		int fin_first; /* the same side sent a FIN before */
	} rows[] = {
		{"client RST", 0, GW_TCP_RST, 0},
		{"client RST-ACK", 0, GW_TCP_RST | GW_TCP_ACK, 0},
		{"client FIN, then RST", 0, GW_TCP_RST, 1},
		{"backend RST", 1, GW_TCP_RST, 0},
		{"backend RST-ACK", 1, GW_TCP_RST | GW_TCP_ACK, 0},
		{"backend FIN, then RST", 1, GW_TCP_RST, 1},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int be = rows[i].from_backend;
		__u32 reason = be ? GW_R_REPLY_LOCAL : GW_R_FWD_LOCAL;
		const struct ct_step fin = {
			"FIN first", be, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT, reason};
		struct ct_step steps[5] = {
			{"client SYN", 0, 1000, GW_TCP_SYN, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
			{"backend SYN-ACK", 1, 1000, GW_TCP_SYN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
			 GW_R_REPLY_LOCAL},
		};
		size_t n = 2;

		if (rows[i].fin_first)
			steps[n++] = fin;
		steps[n++] = (struct ct_step){rows[i].desc,    be,    1000, rows[i].flags, 0,
					      GW_ACT_REDIRECT, reason};
		/* closed and quiet long enough: another client gets the port */
		steps[n++] = (struct ct_step){"another client gets the port",
					      0,
					      1001,
					      GW_TCP_SYN,
					      GW_CT_CLOSED_NS + GW_CT_TOUCH_NS,
					      GW_ACT_REDIRECT,
					      GW_R_FWD_LOCAL};
		run_ct_steps(steps, n);
	}
}

/* A late RST of an ended flow whose SNAT port has gone to a new flow must
 * not close the new flow's reply entry (same key, another flow). */
static void test_e2e_ct_late_rst_spares_new_flow(void **state)
{
	static const struct ct_step steps[] = {
		{"client 1000 SYN", 0, 1000, GW_TCP_SYN, 0, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend FIN", 1, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"client 1000 FIN", 0, 1000, GW_TCP_FIN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_FWD_LOCAL},
		{"client 1001 SYN takes the port", 0, 1001, GW_TCP_SYN,
		 GW_CT_CLOSED_NS + GW_CT_TOUCH_NS, GW_ACT_REDIRECT, GW_R_FWD_LOCAL},
		{"backend SYN-ACK to 1001", 1, 1001, GW_TCP_SYN | GW_TCP_ACK, 0, GW_ACT_REDIRECT,
		 GW_R_REPLY_LOCAL},
		{"late RST from client 1000", 0, 1000, GW_TCP_RST, 0, GW_ACT_REDIRECT,
		 GW_R_FWD_LOCAL},
		{"client 1002, while 1001 is idle but open", 0, 1002, GW_TCP_SYN,
		 GW_CT_CLOSED_NS + GW_CT_TOUCH_NS, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED},
	};

	run_ct_steps(steps, sizeof(steps) / sizeof(steps[0]));
}

/* ... and so for flows through the tunnel, on either gateway: a RST from
 * either end closes both of the flow's entries. */
static void test_e2e_ct_rst_closes_both_tunnelled(void **state)
{
	static const struct {
		const char *desc;
		int open_ext;
		__be32 open_src, open_dst;
		__u16 open_sport, open_dport;
		__u32 open_reason;
		int rst_ext;
		__be32 rst_src, rst_dst;
		__u16 rst_sport, rst_dport;
		__u32 rst_reason;
	} rows[] = {
		{"remote flow, the client resets", 0, GWT_CLIENT4, GWT_VIP4_REMOTE, 1000, 443,
		 GW_R_FWD_REMOTE, 0, GWT_CLIENT4, GWT_VIP4_REMOTE, 1000, 443, GW_R_FWD_REMOTE},
		{"remote flow, the far end resets", 0, GWT_CLIENT4, GWT_VIP4_REMOTE, 1000, 443,
		 GW_R_FWD_REMOTE, 1, GWT_VIP4_REMOTE, GWT_CLIENT4, 443, 1000, GW_R_REPLY_LOCAL},
		{"peer flow, the remote client resets", 1, GWT_REMOTE_CLIENT4, GWT_VIP4, 1000, 80,
		 GW_R_FWD_LOCAL, 1, GWT_REMOTE_CLIENT4, GWT_VIP4, 1000, 80, GW_R_FWD_LOCAL},
		{"peer flow, the backend resets", 1, GWT_REMOTE_CLIENT4, GWT_VIP4, 1000, 80,
		 GW_R_FWD_LOCAL, 0, GWT_BE4, GWT_INT4, GWT_BE_PORT, 40000, GW_R_REPLY_REMOTE},
	};
	struct gw_result res;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct gw_ctx *c = topo_new();

		print_message("%s\n", rows[i].desc);
		c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
		send_tcp(c, rows[i].open_ext, rows[i].open_src, rows[i].open_sport,
			 rows[i].open_dst, rows[i].open_dport, GW_TCP_SYN, &res);
		expect_result(&res, GW_ACT_REDIRECT, rows[i].open_reason);
		assert_int_equal(c->n_ct, 2);
		send_tcp(c, rows[i].rst_ext, rows[i].rst_src, rows[i].rst_sport, rows[i].rst_dst,
			 rows[i].rst_dport, GW_TCP_RST | GW_TCP_ACK, &res);
		expect_result(&res, GW_ACT_REDIRECT, rows[i].rst_reason);
		assert_int_equal(c->n_ct, 2);
		assert_true(c->ct[0].v.flags & GW_CT_F_CLOSING);
		assert_true(c->ct[1].v.flags & GW_CT_F_CLOSING);
		gwt_ctx_free(c);
	}
}

static void test_e2e_drop_snat_exhausted(void **state)
{
	__u8 f[GWT_PKT_MAX];
	struct gw_result res;
	struct gw_ctx *c = topo_new();
	struct gwt_spec s = spec4(IPPROTO_TCP, GWT_CLIENT4, 1000, GWT_VIP4, 80);
	size_t len;

	c->cfg.snat_port_min = c->cfg.snat_port_max = 40000; /* one port */
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	expect_tuple(c, GWT_INT4, 40000, GWT_BE4, GWT_BE_PORT);
	s.sport = 1001; /* a second flow to the same backend */
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED);
	assert_int_equal(c->n_ct, 2);
	/* the first flow still works */
	s.sport = 1000;
	len = build(f, &s);
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_REDIRECT, GW_R_FWD_LOCAL);
	/* an empty range */
	gwt_ctx_reset_flows(c);
	c->cfg.snat_port_max = 39999;
	run(c, 0, f, len, GWT_HEADROOM, &res);
	expect_result(&res, GW_ACT_DROP, GW_R_DROP_SNAT_EXHAUSTED);
	assert_int_equal(c->n_ct, 0);
	gwt_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_ct_closing_frees_snat_port),
		cmocka_unit_test(test_e2e_ct_syn_reopens_closing),
		cmocka_unit_test(test_e2e_ct_stray_close_holds_briefly),
		cmocka_unit_test(test_e2e_ct_rst_closes_both),
		cmocka_unit_test(test_e2e_ct_rst_closes_both_tunnelled),
		cmocka_unit_test(test_e2e_ct_late_rst_spares_new_flow),
		cmocka_unit_test(test_e2e_drop_snat_exhausted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
