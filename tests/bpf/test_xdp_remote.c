/* BPF_PROG_TEST_RUN suite for flows that cross sites through gw_xdp_int and
 * gw_xdp_ext: Geneve to a peer and from one, ICMP errors relayed to a peer,
 * and the flow cache that sends a tracked flow's packets. The rows are in
 * xdp_tables_remote.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gw/abi/maps.h"
#include "xdp_harness.h"
#include "xdp_lab.h"
#include "xdp_runner.h"
#include "xdp_suite.h"
#include "xdp_tables_remote.h"

static void test_remote_backend(void **state)
{
	RUN_TABLE(T_REMOTE);
}

static void test_icmp_error_through_tunnel(void **state)
{
	RUN_TABLE(T_ICMP_RELAY);
}

static void test_geneve_in(void **state)
{
	struct tctx *t = *state;

	RUN_TABLE(T_GENEVE_IN);
	/* overlapping CIDRs: two flows with one inner tuple, two SNAT ports */
	assert_int_not_equal(t->var[V_A], t->var[V_B]);
}

/* The slot of this CPU's region that holds a tuple, if any: the cache is a
 * plain array, HX_FLOWC slots per CPU. */
static int flowc_holds(struct hx *h, const char *src, const char *dst, uint16_t sport,
		       uint16_t dport)
{
	int fd = bpf_map__fd(h->skel->maps.gw_flowc);
	uint32_t i, base = (uint32_t)(h->cpu < 0 ? 0 : h->cpu) * HX_FLOWC, epoch = 0, zero = 0;
	struct gw_flowc f;
	__be32 s[4], d[4];

	hx_addr16(4, src, s);
	hx_addr16(4, dst, d);
	if (bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.gw_epoch), &zero, &epoch))
		return 0;
	for (i = 0; i < HX_FLOWC; i++) {
		uint32_t k = base + i;

		if (bpf_map_lookup_elem(fd, &k, &f))
			return 0;
		if (f.h.epoch == epoch && f.addr[0] == s[0] && f.addr[1] == d[0] &&
		    f.h.sport == htons(sport) && f.h.dport == htons(dport))
			return 1;
	}
	return 0;
}

static void test_flow_cache(void **state)
{
	struct tctx *t = *state;

	RUN_TABLE(T_FLOWC);
	/* the last row refilled the slot under the current epoch, on the CPU
	 * this process (and so its test runs) is pinned to */
	if (t->h.cpu >= 0)
		assert_true(flowc_holds(&t->h, CLIENT, VIP_REMOTE_UDP, 42000, 53));
	RUN_TABLE(T_FLOWC6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_backend),
		cmocka_unit_test(test_icmp_error_through_tunnel),
		cmocka_unit_test(test_geneve_in),
		cmocka_unit_test(test_flow_cache),
	};

	return XDP_SUITE_RUN("xdp-remote", tests);
}
