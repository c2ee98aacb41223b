/* Unit tests of the site configuration loader's edges: files missing,
 * unreadable, too big, with a NUL byte, included or cut short; the bounds
 * on VIP and port pairs and on errors kept; a small Maglev table's warning. */
#include "config_test.h"

static void test_missing_file(void **state)
{
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_int_equal(gw_config_load("conf/no-such-site.conf", &cfg, &e), -ENOENT);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
			    "conf/no-such-site.conf: cannot open: No such file or directory");
	gw_config_errors_done(&e);
	gw_config_errors_done(NULL);
	gw_config_free(NULL);
	/* Errors may be discarded. */
	assert_int_equal(gw_config_load("conf/no-such-site.conf", &cfg, NULL), -ENOENT);
	assert_int_equal(gw_config_load_string("x = ;", "x.conf", &cfg, NULL), -EINVAL);
}

static void test_unreadable_files(void **state)
{
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const char *path;
	char *big;

	(void)state;
	assert_int_equal(gw_config_load(tmpdir, &cfg, &e), -EISDIR);
	assert_non_null(strstr(e.msg[0], "cannot read: Is a directory"));
	gw_config_errors_done(&e);

	big = malloc(GW_CONFIG_MAX_FILE_SIZE + 1);
	assert_non_null(big);
	memset(big, '#', GW_CONFIG_MAX_FILE_SIZE + 1);
	path = write_file("big.conf", big, GW_CONFIG_MAX_FILE_SIZE + 1);
	free(big);
	assert_int_equal(gw_config_load(path, &cfg, &e), -EFBIG);
	assert_non_null(strstr(e.msg[0], "big.conf: larger than 16777216 bytes"));
	assert_null(cfg);
	gw_config_errors_done(&e);
	unlink(path);
}

/* The VIP overlap check is bounded: too many VIP and port pairs are refused. */
static void test_vip_port_cap(void **state)
{
	size_t per = GW_CONFIG_MAX_VIPS * GW_CONFIG_MAX_PORTS;
	size_t n_svc = GW_CONFIG_MAX_VIP_PORTS / per + 1, cap = n_svc * 700 + 4096, o, i, j;
	char *text = malloc(cap);
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_non_null(text);
	o = (size_t)snprintf(text, cap, "%slimits = { services = 65535; };\nservices = (\n", HEAD);
	for (i = 0; i < n_svc; i++) {
		o += (size_t)snprintf(text + o, cap - o, "%s{ name = \"s%zu\"; vips = [",
				      i ? "," : "", i);
		for (j = 0; j < GW_CONFIG_MAX_VIPS; j++)
			o += (size_t)snprintf(text + o, cap - o, "%s\"10.%zu.%zu.%zu\"",
					      j ? "," : "", 100 + i / 256, i % 256, j + 1);
		o += (size_t)snprintf(text + o, cap - o, "]; ports = [");
		for (j = 0; j < GW_CONFIG_MAX_PORTS; j++)
			o += (size_t)snprintf(text + o, cap - o, "%s\"%zu\"", j ? "," : "", j + 1);
		o += (size_t)snprintf(text + o, cap - o, "]; }\n");
	}
	snprintf(text + o, cap - o, ");\n");
	assert_true(o < cap - 8);
	assert_int_equal(gw_config_load_string(text, "cap.conf", &cfg, &e), -EINVAL);
	if (e.n != 1)
		print_errors(&e);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "cap.conf:5: services: expected at most 1048576 VIP "
					 "and port spec pairs in all services; found 1049088"));
	gw_config_errors_done(&e);
	free(text);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "site = { name = \"a\"; id = 1; };\n\0services = ();\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const char *path = write_file("nul.conf", text, sizeof(text) - 1);

	(void)state;
	assert_int_equal(gw_config_load(path, &cfg, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "nul.conf:2: NUL byte"));
	gw_config_errors_done(&e);
}

/* Errors past GW_CONFIG_MAX_ERRORS are counted, not kept. */
static void test_error_cap(void **state)
{
	size_t cap = 64 * 1024, o, i;
	char *text = malloc(cap);
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_non_null(text);
	o = (size_t)snprintf(text, cap, "%s", HEAD WEB "identities = (\n");
	for (i = 0; i < GW_CONFIG_MAX_ERRORS + 50; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "%s{ name = \"i%zu\"; labels = [ \"bad\" ]; }\n",
				      i ? "," : "", i);
	snprintf(text + o, cap - o, ");\n");
	assert_int_equal(gw_config_load_string(text, "many.conf", &cfg, &e), -EINVAL);
	assert_int_equal(e.n, GW_CONFIG_MAX_ERRORS);
	assert_int_equal(e.n_dropped, 50);
	assert_non_null(strstr(e.msg[0], "many.conf:6: identities[0].labels[0]"));
	gw_config_errors_done(&e);
	free(text);
}

/* A small Maglev table loads, with a warning. */
static void test_maglev_warning(void **state)
{
	static const char text[] = HEAD
		"services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" "
		"];\n  backends = ( { address = \"10.1.0.11\"; }, { address = \"10.1.0.12\"; } ); "
		"} );\n"
		"limits = { maglev_table_size = 101; };\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;

	(void)state;
	assert_int_equal(gw_config_load_string(text, "w.conf", &cfg, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(e.n_warn, 1);
	assert_non_null(strstr(e.warn[0], "w.conf:6: limits.maglev_table_size: 101 is less than "
					  "100 times the 2 backends of services[0]"));
	gw_config_free(cfg);
	gw_config_errors_done(&e);
}

/* @include is resolved next to the including file and errors name it. */
static void test_include(void **state)
{
	static const char main_text[] = HEAD "@include \"svc.inc\"\n";
	static const char inc_text[] = "services = (\n  { name = \"web\"; vips = [ \"10.100.0.10\" "
				       "]; ports = [ \"80/tcp\" ]; lb = \"fastest\"; } );\n";
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	char want[300];
	const char *path;

	(void)state;
	write_file("svc.inc", inc_text, strlen(inc_text));
	path = write_file("main.conf", main_text, strlen(main_text));
	assert_int_equal(gw_config_load(path, &cfg, &e), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s/svc.inc:2: services[0].lb: expected one of maglev, random, "
		 "round_robin; found \"fastest\"",
		 tmpdir);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], want);
	gw_config_errors_done(&e);
}

/* Every prefix of a good config is refused or accepted, never a crash. */
static void test_truncated_configs(void **state)
{
	size_t len, i;
	char *text = read_all("conf/site-a.conf", &len);

	(void)state;
	for (i = 0; i <= len; i += 3) {
		struct gw_config_errors e = {0};
		struct gw_config *cfg = NULL;
		char saved = text[i];
		int r;

		text[i] = '\0';
		r = gw_config_load_string(text, "cut.conf", &cfg, &e);
		text[i] = saved;
		assert_true(r == 0 || r == -EINVAL);
		assert_true((r == 0) == (cfg != NULL));
		assert_true(r == 0 || e.n > 0);
		gw_config_free(cfg);
		gw_config_errors_done(&e);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file), cmocka_unit_test(test_unreadable_files),
		cmocka_unit_test(test_vip_port_cap), cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_error_cap),    cmocka_unit_test(test_maglev_warning),
		cmocka_unit_test(test_include),	     cmocka_unit_test(test_truncated_configs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
