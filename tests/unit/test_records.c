/* Unit tests of the etcd record checks: every kind of bad key or value a
 * person or a broken site could write is refused with the right reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw/records.h"

#define PFX "/isthmus/v1"

static int check_kv(const char *key, const char *value)
{
	struct cs_record_key k;
	json_t *o = NULL;
	char why[160];
	int r;

	if (cs_record_key_parse(PFX, key, strlen(key), &k))
		return -1;
	r = cs_record_check(&k, value, strlen(value), &o, why, sizeof(why));
	json_decref(o);
	return r ? r - 1 : CS_REFUSE__COUNT; /* COUNT means accepted */
}

static void test_keys(void **state)
{
	struct cs_record_key k;

	assert_int_equal(cs_record_key_parse(PFX, PFX "/services/site-b/web",
					     strlen(PFX "/services/site-b/web"), &k),
			 0);
	assert_int_equal(k.kind, CS_REC_SERVICE);
	assert_string_equal(k.site, "site-b");
	assert_string_equal(k.name, "web");
	assert_int_equal(cs_record_key_parse(PFX, PFX "/gateways/site-c/gw1",
					     strlen(PFX "/gateways/site-c/gw1"), &k),
			 0);
	assert_int_equal(k.kind, CS_REC_GATEWAY);
	assert_int_equal(
		cs_record_key_parse(PFX, PFX "/sites/site-a", strlen(PFX "/sites/site-a"), &k), 0);
	assert_int_equal(k.kind, CS_REC_SITE);

	static const char *const bad[] = {
		"/other/v1/services/site-b/web",  /* another prefix */
		PFX "/nonsense/x",		  /* unknown directory */
		PFX "/services/site-b",		  /* missing name */
		PFX "/services/site-b/web/extra", /* too deep */
		PFX "/services/Site-B/web",	  /* not a DNS label */
		PFX "/services/site-b/",	  /* empty name */
		PFX "/sites/site-a/x",		  /* site record with a name */
		PFX "/services/site-b/"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cs_record_key_parse(PFX, bad[i], strlen(bad[i]), &k), -EINVAL);
}

#define SVC_OK                                                                                     \
	"{\"version\":1,\"site\":\"site-b\",\"site_id\":2,\"name\":\"web\",\"vips\":[\"10.100.0."  \
	"10\"],"                                                                                   \
	"\"ports\":[\"80/"                                                                         \
	"tcp\"],\"backends\":[{\"address\":\"10.2.0.11\",\"port\":80,\"weight\":100,"              \
	"\"healthy\":true}]}"

static void test_values(void **state)
{
	static const struct {
		const char *desc, *key, *value;
		int want;
	} rows[] = {
		{"a good service", PFX "/services/site-b/web", SVC_OK, CS_REFUSE__COUNT},
		{"a good gateway", PFX "/gateways/site-b/gw1",
		 "{\"version\":1,\"site\":\"site-b\",\"site_id\":2,\"gateway\":\"gw1\",\"address\":"
		 "\"10.255.0.2\"}",
		 CS_REFUSE__COUNT},
		{"a good site", PFX "/sites/site-b", "{\"version\":1,\"name\":\"site-b\",\"id\":2}",
		 CS_REFUSE__COUNT},
		{"not JSON", PFX "/services/site-b/web", "this is not json", CS_REFUSE_bad_json},
		{"JSON but not an object", PFX "/services/site-b/web", "[1,2]", CS_REFUSE_bad_json},
		{"duplicate keys", PFX "/services/site-b/web", "{\"version\":1,\"version\":1}",
		 CS_REFUSE_bad_json},
		{"no version", PFX "/services/site-b/web", "{\"site\":\"site-b\"}",
		 CS_REFUSE_bad_version},
		{"version 2", PFX "/services/site-b/web", "{\"version\":2}", CS_REFUSE_bad_version},
		{"version as a string", PFX "/services/site-b/web", "{\"version\":\"1\"}",
		 CS_REFUSE_bad_version},
		{"another site's record", PFX "/services/site-b/web",
		 "{\"version\":1,\"site\":\"site-c\",\"site_id\":3,\"name\":\"web\",\"vips\":[\"10."
		 "100.0.10\"],"
		 "\"ports\":[\"80/tcp\"],\"backends\":[]}",
		 CS_REFUSE_foreign_site},
		{"a gateway record for another site", PFX "/gateways/site-b/gw1",
		 "{\"version\":1,\"site\":\"site-a\",\"site_id\":1,\"gateway\":\"gw1\",\"address\":"
		 "\"10.255.0.1\"}",
		 CS_REFUSE_foreign_site},
		{"name differs from the key", PFX "/services/site-b/api", SVC_OK,
		 CS_REFUSE_bad_field},
		{"site id out of range", PFX "/services/site-b/web",
		 "{\"version\":1,\"site\":\"site-b\",\"site_id\":70000,\"name\":\"web\",\"vips\":["
		 "\"10.100.0.10\"],"
		 "\"ports\":[\"80/tcp\"],\"backends\":[]}",
		 CS_REFUSE_bad_field},
		{"bad VIP", PFX "/services/site-b/web",
		 "{\"version\":1,\"site\":\"site-b\",\"site_id\":2,\"name\":\"web\",\"vips\":[\"10."
		 "100.0.300\"],"
		 "\"ports\":[\"80/tcp\"],\"backends\":[]}",
		 CS_REFUSE_bad_field},
		{"bad port", PFX "/services/site-b/web",
		 "{\"version\":1,\"site\":\"site-b\",\"site_id\":2,\"name\":\"web\",\"vips\":[\"10."
		 "100.0.10\"],"
		 "\"ports\":[\"70000/tcp\"],\"backends\":[]}",
		 CS_REFUSE_bad_field},
		{"backend weight out of range", PFX "/services/site-b/web",
		 "{\"version\":1,\"site\":\"site-b\",\"site_id\":2,\"name\":\"web\",\"vips\":[\"10."
		 "100.0.10\"],"
		 "\"ports\":[\"80/"
		 "tcp\"],\"backends\":[{\"address\":\"10.2.0.11\",\"port\":80,\"weight\":-1,"
		 "\"healthy\":true}]}",
		 CS_REFUSE_bad_field},
		{"backend without health", PFX "/services/site-b/web",
		 "{\"version\":1,\"site\":\"site-b\",\"site_id\":2,\"name\":\"web\",\"vips\":[\"10."
		 "100.0.10\"],"
		 "\"ports\":[\"80/"
		 "tcp\"],\"backends\":[{\"address\":\"10.2.0.11\",\"port\":80,\"weight\":1}]}",
		 CS_REFUSE_bad_field},
		{"gateway address not an IP", PFX "/gateways/site-b/gw1",
		 "{\"version\":1,\"site\":\"site-b\",\"site_id\":2,\"gateway\":\"gw1\",\"address\":"
		 "\"gw.example\"}",
		 CS_REFUSE_bad_field},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got = check_kv(rows[i].key, rows[i].value);

		if (got != rows[i].want)
			fail_msg("%s: got %d, want %d", rows[i].desc, got, rows[i].want);
	}
}

static void test_too_large(void **state)
{
	size_t n = 1 << 20;
	char *v = malloc(n + 1);
	struct cs_record_key k;
	json_t *o = NULL;
	char why[160];

	assert_non_null(v);
	memset(v, ' ', n);
	v[0] = '{';
	v[n - 1] = '}';
	v[n] = '\0';
	assert_int_equal(cs_record_key_parse(PFX, PFX "/services/site-b/web",
					     strlen(PFX "/services/site-b/web"), &k),
			 0);
	assert_int_equal(cs_record_check(&k, v, n, &o, why, sizeof(why)), CS_REFUSE_too_large + 1);
	assert_null(o);
	assert_non_null(strstr(why, "1048576"));
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
