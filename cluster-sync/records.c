/* Keys and values of the etcd records: parsing a key, checking a value
 * before believing it, and building the records this site publishes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/config.h"
#include "gw/records.h"

static const char *const refusal_names[] = {
#define CS_REFUSAL_NAME(sym, help) #sym,
	CS_REFUSALS(CS_REFUSAL_NAME)
#undef CS_REFUSAL_NAME
};

const char *cs_refusal_name(enum cs_refusal r)
{
	return r < CS_REFUSE__COUNT ? refusal_names[r] : "?";
}

/* A name segment: [a-z0-9-]{1,63}, as the config allows for names. */
static int segment(const char *s, size_t n, char *out, size_t out_len)
{
	size_t i;

	if (n == 0 || n >= out_len)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -EINVAL;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int cs_record_key_parse(const char *prefix, const char *key, size_t key_len,
			struct cs_record_key *ret)
{
	static const struct {
		const char *dir;
		enum cs_record_kind kind;
		int segments;
	} kinds[] = {
		{"/sites/", CS_REC_SITE, 1},	   {"/gateways/", CS_REC_GATEWAY, 2},
		{"/services/", CS_REC_SERVICE, 2}, {"/identities/", CS_REC_IDENTITY, 0},
		{"/policies/", CS_REC_POLICY, 0},
	};
	size_t plen = strlen(prefix), i;
	const char *rest, *slash;
	size_t n;

	memset(ret, 0, sizeof(*ret));
	if (key_len <= plen || memcmp(key, prefix, plen) != 0)
		return -EINVAL;
	rest = key + plen;
	n = key_len - plen;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t dl = strlen(kinds[i].dir);

		if (n <= dl || memcmp(rest, kinds[i].dir, dl) != 0)
			continue;
		ret->kind = kinds[i].kind;
		rest += dl;
		n -= dl;
		if (kinds[i].segments == 0)
			return 0; /* not interpreted by cluster-syncd */
		slash = memchr(rest, '/', n);
		if (kinds[i].segments == 1)
			return slash ? -EINVAL : segment(rest, n, ret->site, sizeof(ret->site));
		if (!slash || segment(rest, slash - rest, ret->site, sizeof(ret->site)))
			return -EINVAL;
		n -= slash - rest + 1;
		rest = slash + 1;
		if (memchr(rest, '/', n))
			return -EINVAL;
		return segment(rest, n, ret->name, sizeof(ret->name));
	}
	return -EINVAL;
}

#define REFUSE(r, ...)                                                                             \
	do {                                                                                       \
		snprintf(why, why_len, __VA_ARGS__);                                               \
		ret = CS_REFUSE_##r + 1;                                                           \
		goto fail;                                                                         \
	} while (0)

static bool str_field(json_t *o, const char *k, const char *want)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v && (!want || strcmp(v, want) == 0);
}

static bool ip_field(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	struct gw_ip ip;

	return v && gw_ip_parse(v, &ip) == 0;
}

static bool int_field(json_t *o, const char *k, json_int_t lo, json_int_t hi)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

static int check_service(json_t *o, char *why, size_t why_len)
{
	json_t *vips = json_object_get(o, "vips"), *ports = json_object_get(o, "ports");
	json_t *bes = json_object_get(o, "backends"), *v;
	struct gw_port_range pr;
	char hint[64];
	size_t i;
	int ret;

	if (!json_is_array(vips) || json_array_size(vips) == 0 ||
	    json_array_size(vips) > GW_CONFIG_MAX_VIPS)
		REFUSE(bad_field, "\"vips\": expected 1..%d addresses", GW_CONFIG_MAX_VIPS);
	json_array_foreach(vips, i, v)
	{
		struct gw_ip ip;

		if (!json_is_string(v) || gw_ip_parse(json_string_value(v), &ip))
			REFUSE(bad_field, "\"vips[%zu]\": expected an IP address", i);
	}
	if (!json_is_array(ports) || json_array_size(ports) == 0 ||
	    json_array_size(ports) > GW_CONFIG_MAX_PORTS)
		REFUSE(bad_field, "\"ports\": expected 1..%d PORT/PROTO", GW_CONFIG_MAX_PORTS);
	json_array_foreach(ports, i, v)
	{
		if (!json_is_string(v) ||
		    gw_port_range_parse(json_string_value(v), &pr, hint, sizeof(hint)))
			REFUSE(bad_field, "\"ports[%zu]\": expected PORT[-PORT]/PROTO", i);
	}
	if (!json_is_array(bes) || json_array_size(bes) > 1024)
		REFUSE(bad_field, "\"backends\": expected an array of at most 1024");
	json_array_foreach(bes, i, v)
	{
		if (!ip_field(v, "address") || !int_field(v, "port", 0, 65535) ||
		    !int_field(v, "weight", 0, 65535) ||
		    !json_is_boolean(json_object_get(v, "healthy")))
			REFUSE(bad_field,
			       "\"backends[%zu]\": expected address, port, weight, healthy", i);
	}
	return 0;
fail:
	return ret;
}

int cs_record_check(const struct cs_record_key *k, const char *value, size_t len, json_t **ret_obj,
		    char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *o = NULL;
	int ret;

	*ret_obj = NULL;
	if (len > CS_RECORD_MAX_VALUE)
		REFUSE(too_large, "value of %zu bytes (at most %d)", len, CS_RECORD_MAX_VALUE);
	o = json_loadb(value, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o))
		REFUSE(bad_json, "not a JSON object (%s)", o ? "other JSON" : jerr.text);
	if (!int_field(o, "version", CS_RECORD_VERSION, CS_RECORD_VERSION))
		REFUSE(bad_version, "\"version\" must be %d", CS_RECORD_VERSION);
	switch (k->kind) {
	case CS_REC_SITE:
		if (!str_field(o, "name", k->site))
			REFUSE(foreign_site, "\"name\" is not the key's site %s", k->site);
		if (!int_field(o, "id", 1, 65535))
			REFUSE(bad_field, "\"id\": expected 1..65535");
		break;
	case CS_REC_GATEWAY:
		if (!str_field(o, "site", k->site))
			REFUSE(foreign_site, "\"site\" is not the key's site %s", k->site);
		if (!int_field(o, "site_id", 1, 65535) || !str_field(o, "gateway", k->name) ||
		    !ip_field(o, "address"))
			REFUSE(bad_field,
			       "expected site_id (1..65535), gateway (the key's), address");
		break;
	case CS_REC_SERVICE:
		if (!str_field(o, "site", k->site))
			REFUSE(foreign_site, "\"site\" is not the key's site %s", k->site);
		if (!int_field(o, "site_id", 1, 65535) || !str_field(o, "name", k->name))
			REFUSE(bad_field, "expected site_id (1..65535) and name (the key's)");
		ret = check_service(o, why, why_len);
		if (ret)
			goto fail;
		break;
	default:
		break;
	}
	*ret_obj = o;
	return 0;
fail:
	json_decref(o);
	return ret;
}

json_t *cs_record_site(const char *site, uint16_t site_id, const char *trust_domain)
{
	return json_pack("{s:i,s:s,s:i,s:s?}", "version", CS_RECORD_VERSION, "name", site, "id",
			 site_id, "trust_domain", trust_domain);
}

json_t *cs_record_gateway(json_t *export)
{
	json_t *site = json_object_get(export, "site"), *gw = json_object_get(export, "gateway");

	return json_pack("{s:i,s:O,s:O,s:O,s:O}", "version", CS_RECORD_VERSION, "site",
			 json_object_get(site, "name"), "site_id", json_object_get(site, "id"),
			 "gateway", json_object_get(gw, "name"), "address",
			 json_object_get(gw, "address"));
}

json_t *cs_record_service(json_t *export, json_t *service)
{
	json_t *site = json_object_get(export, "site");

	return json_pack("{s:i,s:O,s:O,s:O,s:O,s:O,s:O}", "version", CS_RECORD_VERSION, "site",
			 json_object_get(site, "name"), "site_id", json_object_get(site, "id"),
			 "name", json_object_get(service, "name"), "vips",
			 json_object_get(service, "vips"), "ports",
			 json_object_get(service, "ports"), "backends",
			 json_object_get(service, "backends"));
}
