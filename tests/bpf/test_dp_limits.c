/* gw_dp_open's limits on the flow cache, checked before anything is loaded:
 * a size that is not a power of two, and one whose two tables (IPv4 and
 * IPv6) would take over GW_DP_FLOWC_MAX_BYTES over all possible CPUs, are
 * refused with a reason that names the key to change. Runs as root in a
 * private mount namespace with its own bpffs, so no pin directory it makes
 * outlives it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <cmocka.h>

#include "gw/dataplane.h"
#include "../private_bpffs.h"

#define PIN_DIR "/sys/fs/bpf/gw/dp-limits"

static int setup(void **state)
{
	(void)state;
	return private_bpffs("test_dp_limits");
}

static struct gw_dp_opts opts_with_cache(uint32_t slots)
{
	struct gw_dp_opts o = {
		.pin_dir = PIN_DIR,
		.int_ifname = "lo",
		.ext_ifname = "lo",
		.max_services = 16,
		.max_backends = 16,
		.max_peers = 4,
		.max_identities = 16,
		.max_conntrack = 1024,
		.flow_cache = slots,
	};

	return o;
}

static void test_not_a_power_of_two(void **state)
{
	struct gw_dp_opts o = opts_with_cache(3000);
	const char *why = NULL;

	(void)state;
	assert_null(gw_dp_open(&o, &why));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(why, "power of two"));
}

/* 2^24 slots per CPU: 2^24 x 64 + 2^23 x 128 bytes = 2 GiB on one CPU. */
static void test_over_the_memory_bound(void **state)
{
	struct gw_dp_opts o = opts_with_cache(1u << 24);
	int ncpu = libbpf_num_possible_cpus();
	const char *why = NULL;

	(void)state;
	assert_true(ncpu > 0);
	assert_true(gw_dp_flowc_bytes(o.flow_cache) * (uint64_t)ncpu > GW_DP_FLOWC_MAX_BYTES);
	assert_null(gw_dp_open(&o, &why));
	assert_int_equal(errno, E2BIG);
	assert_non_null(strstr(why, "limits.flow_cache_entries"));
	assert_non_null(strstr(why, "1 GiB"));
}

/* What gatewayd logs and the bound counts: both tables, the IPv6 one with
 * half as many slots of twice the size. */
static void test_bytes_per_cpu(void **state)
{
	(void)state;
	assert_int_equal(gw_dp_flowc6_slots(65536), 32768);
	assert_int_equal(gw_dp_flowc6_slots(2), 0);
	assert_int_equal(gw_dp_flowc6_slots(0), 0);
	assert_true(gw_dp_flowc_bytes(65536) == 65536ull * 64 + 32768ull * 128);
	assert_true(gw_dp_flowc_bytes(0) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_a_power_of_two),
		cmocka_unit_test(test_over_the_memory_bound),
		cmocka_unit_test(test_bytes_per_cpu),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
