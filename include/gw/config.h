/* Site configuration: load and validate a libconfig file into a struct
 * gw_config. The only module that reads libconfig; keys in docs/config.md. */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "gw/config-t.h"

struct json_t; /* jansson's json_t */

/* Read, parse and check the file at path. Every error found in the run is
 * appended to errs (which may be NULL); warnings too. On success *ret_cfg
 * is set and 0 returned; otherwise no config is returned and the result is
 * -EINVAL (bad content), -ENOENT/-EACCES/... (cannot read), -EFBIG (over
 * GW_CONFIG_MAX_FILE_SIZE) or -ENOMEM. */
int gw_config_load(const char *path, struct gw_config **ret_cfg, struct gw_config_errors *errs);

/* The same from text in memory; name stands for the file in messages and
 * @include is resolved against the current directory. For tests and fuzzing. */
int gw_config_load_string(const char *text, const char *name, struct gw_config **ret_cfg,
			  struct gw_config_errors *errs);

/* Accepts NULL. */
void gw_config_free(struct gw_config *cfg);

/* Cross-checks over a parsed config (names, references, overlaps, limits);
 * gw_config_load() already ran them. 0 or -EINVAL, -ENOMEM. */
int gw_config_check(const struct gw_config *cfg, struct gw_config_errors *errs);

/* Where key (e.g. "services[1].backends[0].weight") was set: its file and
 * line, or those of the nearest enclosing group when the key was not given.
 * 0, or -ENOENT when nothing of that path is known. */
int gw_config_source(const struct gw_config *cfg, const char *key, const char **ret_file,
		     unsigned int *ret_line);

/* Every schema key as a dotted path without indexes ("site.name",
 * "services.backends.weight"), groups and lists included. Static storage. */
const char *const *gw_config_known_keys(size_t *ret_n);

/* The config in the same shape as the file, for gwctl config. NULL on ENOMEM. */
struct json_t *gw_config_dump_json(const struct gw_config *cfg);

/* Append a message; errs may be NULL. Messages past GW_CONFIG_MAX_ERRORS
 * are only counted in n_dropped. */
void gw_config_errors_add(struct gw_config_errors *errs, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Frees the messages and zeroes errs; accepts NULL. */
void gw_config_errors_done(struct gw_config_errors *errs);

/* Value syntax as in the file. The parsers return 0 or -EINVAL and may put
 * a reason ("host bits are set; did you mean 10.1.0.0/24?") into hint. */
int gw_ip_parse(const char *s, struct gw_ip *ret);
bool gw_ip_is_unicast(const struct gw_ip *ip); /* not unspecified, loopback, multicast */
int gw_cidr_parse(const char *s, struct gw_cidr *ret, char *hint, size_t hint_len);
int gw_port_range_parse(const char *s, struct gw_port_range *ret, char *hint, size_t hint_len);
int gw_endpoint_parse(const char *s, struct gw_endpoint *ret); /* "10.0.0.1:80", "[::1]:80" */
bool gw_config_syntax_ok(enum gw_syntax syntax, const char *s);

/* Formatters write at most len bytes and return buf. */
const char *gw_ip_format(const struct gw_ip *ip, char *buf, size_t len);
const char *gw_cidr_format(const struct gw_cidr *c, char *buf, size_t len);
const char *gw_port_range_format(const struct gw_port_range *r, char *buf, size_t len);
const char *gw_endpoint_format(const struct gw_endpoint *e, char *buf, size_t len);

/* Names of enum values as written in the file, "?" if out of range. */
const char *gw_datapath_name(enum gw_datapath v);
const char *gw_xdp_mode_name(enum gw_xdp_mode v);
const char *gw_affinity_name(enum gw_affinity v);
const char *gw_lb_name(enum gw_lb v);
const char *gw_l7_name(enum gw_l7 v);
const char *gw_health_type_name(enum gw_health_type v);
const char *gw_proto_name(enum gw_proto v);

#endif /* GW_CONFIG_H */
