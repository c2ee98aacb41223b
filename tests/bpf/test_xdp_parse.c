/* BPF_PROG_TEST_RUN suite for what gw_xdp_int and gw_xdp_ext do not forward
 * (not ours, malformed, probes, ICMP errors; rows in xdp_tables_parse.h), and
 * for the programs as a whole: the verifier's budget, every reason covered. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gw/abi/reasons.h"
#include "pktbuild.h"
#include "xdp_harness.h"
#include "xdp_runner.h"
#include "xdp_suite.h"
#include "xdp_tables_local.h"
#include "xdp_tables_parse.h"
#include "xdp_tables_remote.h"

static void test_int_not_ours_and_malformed(void **state)
{
	struct tctx *t = *state;
	struct pb_pkt in, out;
	uint32_t verdict;

	RUN_TABLE(T_INT_PARSE);
	/* A frame shorter than an Ethernet header never reaches the program:
	 * the kernel's test-run refuses it (so does every driver). */
	memset(&in, 0, sizeof(in));
	in.len = 13;
	assert_int_equal(hx_run(bpf_program__fd(t->h.skel->progs.gw_xdp_int), t->h.ifindex[HX_INT0],
				&in, &out, 0, &verdict),
			 -EINVAL);
}

static void test_geneve_malformed(void **state)
{
	RUN_TABLE(T_GENEVE_BAD);
}

static void test_ext_not_ours(void **state)
{
	RUN_TABLE(T_EXT_NOT_OURS);
}

static void test_probes(void **state)
{
	RUN_TABLE(T_PROBE);
}

static void test_icmp_errors(void **state)
{
	RUN_TABLE(T_ICMP);
}

/* The verifier walks every path of a program, up to 1M instructions, and
 * each inlined copy of a large step, and each pointer kept live across a
 * long stretch, multiplies its walk: the IPv6 flow cache, the RST and PMTU
 * handling once took the gateway's programs from 176k to 825k (2026-11-26;
 * about 250k and 350k since the flow cache's slot waits in scratch memory).
 * Past 900k a change fails here, while there is still room to make the
 * paths fewer, not at load time in production. */
#define VERIFIER_BUDGET 900000

static void test_verifier_budget(void **state)
{
	struct tctx *t = *state;

	print_message("verifier processed: gw_xdp_int %ld, gw_xdp_ext %ld instructions\n",
		      t->h.verified[0], t->h.verified[1]);
	assert_in_range(t->h.verified[0], 1, VERIFIER_BUDGET);
	assert_in_range(t->h.verified[1], 1, VERIFIER_BUDGET);
}

/* Every table of every XDP suite. */
#define TABLE(rows) {rows, sizeof(rows) / sizeof(rows[0])},
static const struct {
	const struct xcase *rows;
	size_t n;
} ALL_TABLES[] = {XDP_TABLES_PARSE(TABLE) XDP_TABLES_LOCAL(TABLE) XDP_TABLES_REMOTE(TABLE)};

/* Reasons no crafted packet can produce through BPF_PROG_TEST_RUN:
 * - DROP_CT_FULL: conntrack is an LRU hash, whose inserts evict instead of
 *   failing (a failure needs the LRU free lists exhausted across CPUs);
 * - DROP_NO_HEADROOM: test-run gives every frame 256 bytes of headroom (224
 *   with the most metadata it accepts), more than the 48 the tunnel needs,
 *   and decapsulation only shrinks a packet whose options are all present.
 * Every other reason must be the one some row expects. The suites run their
 * tables in processes of their own, so this walks the rows rather than the
 * counters: each row checks that its reason was counted (xdp_runner.h), and
 * a row marked as a known bug is not counted on. */
static void test_every_reason_seen(void **state)
{
	int seen[GW_R__COUNT] = {0};
	int k, missing = 0;
	size_t i, j;

	for (i = 0; i < sizeof(ALL_TABLES) / sizeof(ALL_TABLES[0]); i++)
		for (j = 0; j < ALL_TABLES[i].n; j++)
			if (!ALL_TABLES[i].rows[j].bug)
				seen[ALL_TABLES[i].rows[j].reason]++;
	for (k = 0; k < GW_R__COUNT; k++) {
		if (k == GW_R_DROP_CT_FULL || k == GW_R_DROP_NO_HEADROOM)
			continue;
		if (!seen[k]) {
			print_error("reason %s is expected by no row of any table\n",
				    reason_names[k]);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_not_ours_and_malformed),
		cmocka_unit_test(test_geneve_malformed),
		cmocka_unit_test(test_ext_not_ours),
		cmocka_unit_test(test_probes),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_verifier_budget),
		cmocka_unit_test(test_every_reason_seen),
	};

	return XDP_SUITE_RUN("xdp-parse", tests);
}
