/* BPF_PROG_TEST_RUN suite for flows to backends in this site through
 * gw_xdp_int and gw_xdp_ext: TCP and UDP, IPv4 and IPv6, service checks, SNAT
 * exhaustion. The rows are in xdp_tables_local.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xdp_runner.h"
#include "xdp_suite.h"
#include "xdp_tables_local.h"

static void test_local_tcp_flow(void **state)
{
	RUN_TABLE(T_LOCAL_TCP);
}

static void test_udp_and_ipv6_flows(void **state)
{
	RUN_TABLE(T_UDP_V6);
}

static void test_service_checks(void **state)
{
	RUN_TABLE(T_SERVICE);
}

static void test_snat_exhaustion(void **state)
{
	RUN_TABLE(T_SNAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_tcp_flow),
		cmocka_unit_test(test_udp_and_ipv6_flows),
		cmocka_unit_test(test_service_checks),
		cmocka_unit_test(test_snat_exhaustion),
	};

	return XDP_SUITE_RUN("xdp-local", tests);
}
