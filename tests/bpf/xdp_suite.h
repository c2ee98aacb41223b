/* What every XDP suite binary shares: the lab built and the programs loaded
 * once, in a private network namespace, pinning nothing; and, after its
 * tests, the count of rows it ran, failing if no live frame could be sent. */
#ifndef GW_TESTS_XDP_SUITE_H
#define GW_TESTS_XDP_SUITE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gw/abi/reasons.h"
#include "xdp_harness.h"
#include "xdp_lab.h"
#include "xdp_runner.h"

static int xdp_group_setup(void **state)
{
	struct tctx *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -1;
	T = t;
	*state = t;
	t->h.sock[0] = t->h.sock[1] = t->h.peer_prog_fd = -1;
	hx_pin_cpu(&t->h);
	if (hx_netns() || lab_topology(&t->h)) {
		fprintf(stderr, "setup: cannot build the test namespace\n");
		return -1;
	}
	r = hx_load(&t->h);
	if (r) {
		fprintf(stderr, "setup: cannot load the BPF object: %s\n", strerror(-r));
		return -1;
	}
	t->c0 = calloc((size_t)t->h.ncpu * GW_R__COUNT, sizeof(*t->c0));
	t->c1 = calloc((size_t)t->h.ncpu * GW_R__COUNT, sizeof(*t->c1));
	if (!t->c0 || !t->c1)
		return -1;
	if (lab_fill_maps(&t->h, &t->cfg)) {
		fprintf(stderr, "setup: cannot fill the maps\n");
		return -1;
	}
	r = hx_live_init(&t->h);
	if (r)
		fprintf(stderr, "setup: no live-frame egress checks: %s\n", strerror(-r));
	return 0;
}

/* The context outlives the group: xdp_suite_report() reads its counts. */
static int xdp_group_teardown(void **state)
{
	struct tctx *t = *state;

	/* The namespace, its veths and the programs on them die with this
	 * process; nothing was pinned. */
	if (!t)
		return 0;
	if (t->h.sock[0] >= 0)
		close(t->h.sock[0]);
	if (t->h.sock[1] >= 0)
		close(t->h.sock[1]);
	if (t->h.peer_prog_fd >= 0)
		close(t->h.peer_prog_fd);
	gateway__destroy(t->h.skel);
	free(t->c0);
	free(t->c1);
	t->h.skel = NULL;
	t->c0 = t->c1 = NULL;
	return 0;
}

/* How many rows the suite ran, and how many had their egress checked with
 * live frames. Without live frames no REDIRECT or TX row was seen to leave
 * by its interface, and the suite fails (a cmocka group teardown cannot). */
static int xdp_suite_report(int failed)
{
	struct tctx *t = T;

	if (!t)
		return failed;
	print_message("rows run: %d, of which egress checked with live frames: %d\n", t->rows,
		      t->live_checks);
	if (!t->h.live) {
		print_error("live-frame egress checks were not possible (see setup messages)\n");
		failed++;
	}
	free(t);
	T = NULL;
	return failed;
}

/* main() of an XDP suite: its tests, on one lab, then the report. */
#define XDP_SUITE_RUN(name, tests)                                                                 \
	xdp_suite_report(                                                                          \
		cmocka_run_group_tests_name(name, tests, xdp_group_setup, xdp_group_teardown))

#endif
