/* The records cluster-syncd reads and writes in etcd (DESIGN.md §8): their
 * keys, their JSON values, and the checks a record from etcd must pass
 * before anything of it is believed. */
#ifndef GW_RECORDS_H
#define GW_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CS_RECORD_VERSION   1
#define CS_RECORD_MAX_VALUE (64 * 1024) /* larger values are refused */
#define CS_DEFAULT_PREFIX   "/isthmus/v1"

enum cs_record_kind {
	CS_REC_SITE,	 /* PREFIX/sites/SITE */
	CS_REC_GATEWAY,	 /* PREFIX/gateways/SITE/GATEWAY */
	CS_REC_SERVICE,	 /* PREFIX/services/SITE/SERVICE */
	CS_REC_IDENTITY, /* PREFIX/identities/... (read by others, not here) */
	CS_REC_POLICY,	 /* PREFIX/policies/NAME */
};

/* Why a record was refused; each has a counter in cluster-syncd. */
#define CS_REFUSALS(X)                                                                             \
	X(bad_key, "key outside the schema")                                                       \
	X(too_large, "value over 64 KiB")                                                          \
	X(bad_json, "value is not a JSON object")                                                  \
	X(bad_version, "missing or unknown \"version\"")                                           \
	X(foreign_site, "record claims another site than its key's")                               \
	X(bad_field, "a field is missing, of the wrong type or out of range")

enum cs_refusal {
#define CS_REFUSAL_ENUM(sym, help) CS_REFUSE_##sym,
	CS_REFUSALS(CS_REFUSAL_ENUM)
#undef CS_REFUSAL_ENUM
		CS_REFUSE__COUNT
};

const char *cs_refusal_name(enum cs_refusal r);

struct cs_record_key {
	enum cs_record_kind kind;
	char site[64];
	char name[64]; /* gateway or service name; "" for a site record */
};

/* Splits key (key_len bytes, not NUL-terminated) under prefix: 0, or
 * -EINVAL for a key outside the schema. */
int cs_record_key_parse(const char *prefix, const char *key, size_t key_len,
			struct cs_record_key *ret);

/* Validates a value for the key k. On success *ret_obj is the parsed object
 * (caller decrefs) and 0 is returned; otherwise the refusal is returned as a
 * positive enum cs_refusal + 1 and why is filled. */
int cs_record_check(const struct cs_record_key *k, const char *value, size_t len, json_t **ret_obj,
		    char *why, size_t why_len);

/* Builds the records this site publishes from gatewayd's GET /v1/export. */
json_t *cs_record_site(const char *site, uint16_t site_id, const char *trust_domain);
json_t *cs_record_gateway(json_t *export);
json_t *cs_record_service(json_t *export, json_t *service);

#endif
