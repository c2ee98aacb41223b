/* Helpers shared by the config loader suites (test_config*.c): a temporary
 * directory for config files, reading a file whole, printing a load's errors,
 * and the snippets broken configs are written from. */
#ifndef GW_TESTS_CONFIG_TEST_H
#define GW_TESTS_CONFIG_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, qsort_r */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gw/config.h"

static char tmpdir[] = "/tmp/gw-test-config-XXXXXX";

static inline int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static inline const char *write_file(const char *name, const char *text, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static inline char *read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static inline void print_errors(const struct gw_config_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		print_message("  error: %s\n", e->msg[i]);
	for (i = 0; i < e->n_warn; i++)
		print_message("  warning: %s\n", e->warn[i]);
}

/* Three lines every case may start with, so its own text begins at line 4. */
#define HEAD                                                                                       \
	"site = { name = \"site-a\"; id = 1; };\n"                                                 \
	"gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "  \
	"}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"                  \
	"peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = "                \
	"\"10.255.0.2\"; } );\n"
#define SVC(name, vip, port)                                                                       \
	"{ name = \"" name "\"; vips = [ \"" vip "\" ]; ports = [ \"" port "\" ]; }"
#define WEB "services = ( " SVC("web", "10.100.0.10", "80/tcp") " );\n"

#endif
