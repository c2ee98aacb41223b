/* What the etcd parser suites (test_etcd_parse.c, test_etcd_malformed.c)
 * share: loading a recorded answer, and the sum of the error counters. */
#ifndef GW_TESTS_ETCD_TEST_H
#define GW_TESTS_ETCD_TEST_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gw/etcd.h"

/* Plain static functions: both suites use each of them (a helper only one
 * suite needs stays in that suite). */

#define FIXTURES_DEFAULT "tests/unit/etcd-fixtures"

static char *load(const char *name, size_t *ret_len)
{
	const char *dir = getenv("ETCD_FIXTURES");
	char path[512];
	char *buf;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : FIXTURES_DEFAULT, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository root or set ETCD_FIXTURES)",
			 path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	*ret_len = (size_t)len;
	return buf;
}

/* Sum of the counters a malformed answer may land in. */
static uint64_t errors(const struct cs_etcd_stats *st)
{
	return st->bad_json + st->bad_base64 + st->bad_field + st->too_large_response +
	       st->too_large_line + st->too_large_value + st->too_large_range + st->etcd_errors;
}

#endif /* GW_TESTS_ETCD_TEST_H */
