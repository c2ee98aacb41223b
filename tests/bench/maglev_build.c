/* Micro benchmark: milliseconds per Maglev table build for the table sizes
 * gatewayd uses (16381, 65537) and 10, 100, 1000 backends; then the share
 * of slots that move when one of N equal backends is removed, in units of
 * 1/N (the minimum, 1.00, and the bound, 1.20, next to it), with the
 * worst backend's imbalance. Prints, asserts nothing. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/maglev.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Repeat until ~200 ms have passed (at least 3 builds); returns ms per build. */
static int bench_one(const struct gw_maglev_backend *be, size_t n, uint32_t m, uint32_t *table,
		     double *ret_ms, unsigned int *ret_iters)
{
	unsigned int iters = 0;
	double start = now_ms(), elapsed;
	int err;

	do {
		err = gw_maglev_build(be, n, m, table);
		if (err)
			return err;
		iters++;
		elapsed = now_ms() - start;
	} while (iters < 3 || elapsed < 200);
	*ret_ms = elapsed / iters;
	*ret_iters = iters;
	return 0;
}

/* Removing each of the first min(n, 20) backends in turn: mean and worst
 * share of slots moved, times n; and the largest |slots / (m / n) - 1|. */
static int churn_one(const struct gw_maglev_backend *be, size_t n, uint32_t m, uint32_t *full,
		     uint32_t *less_table, struct gw_maglev_backend *less)
{
	size_t tries = n < 20 ? n : 20, r, i, o, moved;
	double sum = 0, worst = 0, skew = 0;
	uint32_t *count = calloc(n, sizeof(*count));
	int err;

	if (!count)
		return -ENOMEM;
	err = gw_maglev_build(be, n, m, full);
	for (i = 0; !err && i < m; i++)
		count[full[i]]++;
	for (i = 0; !err && i < n; i++) {
		double d = count[i] / ((double)m / n) - 1;

		skew = d > skew ? d : -d > skew ? -d : skew;
	}
	for (r = 0; !err && r < tries; r++) {
		for (i = 0, o = 0; i < n; i++)
			if (i != r)
				less[o++] = be[i];
		err = gw_maglev_build(less, n - 1, m, less_table);
		for (i = 0, moved = 0; !err && i < m; i++)
			moved += full[i] != less_table[i];
		sum += (double)moved / m * n;
		worst = (double)moved / m * n > worst ? (double)moved / m * n : worst;
	}
	if (!err)
		printf("%-8u %-6zu %8.0f %10.3f %10.3f %8s %8s %9.1f%%\n", m, n, (double)m / n,
		       sum / tries, worst, "1.00", "1.20", skew * 100);
	free(count);
	return err;
}

static int churn(struct gw_maglev_backend *be)
{
	static const size_t ns[] = {10, 20, 50, 100, 200};
	struct gw_maglev_backend *less = calloc(200, sizeof(*less));
	uint32_t *full = malloc(65537 * sizeof(*full)), *t = malloc(65537 * sizeof(*t));
	size_t b, a;
	int err = -ENOMEM;

	if (!less || !full || !t)
		goto out;
	printf("\nremoving 1 of N equal backends: slots moved, in units of 1/N\n");
	printf("%-8s %-6s %8s %10s %10s %8s %8s %10s\n", "M", "N", "M/N", "mean", "worst",
	       "minimum", "bound", "imbalance");
	for (b = 0; b < sizeof(ns) / sizeof(ns[0]); b++) {
		const uint32_t ms[] = {gw_maglev_prime_at_least((uint32_t)(100 * ns[b])), 16381,
				       65537};

		for (a = 0; a < 3; a++) {
			for (size_t i = 0; i < ns[b]; i++)
				be[i].weight = 1;
			err = churn_one(be, ns[b], ms[a], full, t, less);
			if (err)
				goto out;
		}
	}
out:
	free(less);
	free(full);
	free(t);
	return err;
}

int main(void)
{
	static const uint32_t ms[] = {16381, 65537};
	static const size_t ns[] = {10, 100, 1000};
	struct gw_maglev_backend *be;
	uint32_t *table;
	size_t i, a, b;
	int ret = 1;

	be = calloc(1000, sizeof(*be));
	table = malloc(65537 * sizeof(*table));
	if (!be || !table)
		goto out;
	for (i = 0; i < 1000; i++) {
		char name[64];
		int len = snprintf(name, sizeof(name), "site-b|10.2.%zu.%zu|443", i / 250,
				   i % 250 + 1);

		be[i].id = (uint32_t)i;
		be[i].key = gw_maglev_key(name, (size_t)len);
	}

	printf("%-8s %-6s %-10s %12s %8s\n", "M", "N", "weights", "ms/build", "builds");
	for (a = 0; a < sizeof(ms) / sizeof(ms[0]); a++) {
		for (b = 0; b < sizeof(ns) / sizeof(ns[0]); b++) {
			/* "1x1000": one backend of weight 1000, the rest 1 (skewed). */
			static const char *const kinds[] = {"equal", "1..10", "1x1000"};
			size_t k;

			for (k = 0; k < 3; k++) {
				double per;
				unsigned int iters;
				int err;

				for (i = 0; i < ns[b]; i++)
					be[i].weight = k == 1 ? (uint32_t)(i % 10 + 1) : 1;
				if (k == 2)
					be[0].weight = 1000;
				err = bench_one(be, ns[b], ms[a], table, &per, &iters);
				if (err) {
					fprintf(stderr, "maglev_build: M=%u N=%zu: %s\n", ms[a],
						ns[b], strerror(-err));
					goto out;
				}
				printf("%-8u %-6zu %-10s %12.3f %8u\n", ms[a], ns[b], kinds[k], per,
				       iters);
			}
		}
	}
	if (churn(be)) {
		fprintf(stderr, "maglev_build: churn: out of memory or a build failed\n");
		goto out;
	}
	ret = 0;
out:
	free(table);
	free(be);
	return ret;
}
