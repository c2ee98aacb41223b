/* The walk of a libconfig tree against the keyword schema (config-schema.c):
 * types, ranges, defaults, unknown keys with a guess, and where every key is. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "gw/config.h"
#include "config-int.h"

static void record(struct ctx *ctx, const char *key, const config_setting_t *s)
{
	struct gw_config_priv *p = ctx->cfg->priv;
	unsigned int line = config_setting_source_line(s);
	struct src_line *l;

	if (!line)
		return;
	if (p->n_lines == p->cap_lines) {
		size_t cap = p->cap_lines ? p->cap_lines * 2 : 256;

		l = realloc(p->lines, cap * sizeof(*l));
		if (!l) {
			ctx->oom = true;
			return;
		}
		p->lines = l;
		p->cap_lines = cap;
	}
	l = &p->lines[p->n_lines];
	l->key = cfg_arena_strdup(ctx, key);
	l->file = cfg_src_file(ctx, s);
	l->line = line;
	if (l->key)
		p->n_lines++;
}

/* Parse the text of a string-typed value into dst; 0, or -EINVAL with
 * maybe a hint. */
static int parse_text(struct ctx *ctx, const struct key *k, const char *s, void *dst, char *hint,
		      size_t hint_len)
{
	size_t n;
	int i;

	switch (k->kind) {
	case K_STR:
		n = strlen(s);
		if ((int64_t)n < k->min || (int64_t)n > k->max) {
			snprintf(hint, hint_len, "%zu characters", n);
			return -EINVAL;
		}
		if (!gw_config_syntax_ok(k->syntax, s))
			return -EINVAL;
		*(const char **)dst = cfg_arena_strdup(ctx, s);
		return 0;
	case K_ENUM:
		for (i = 0; k->names[i]; i++) {
			if (!strcmp(s, k->names[i])) {
				store_int(dst, k->size, i);
				return 0;
			}
		}
		return -EINVAL;
	case K_IP: {
		struct gw_ip ip;

		if (gw_ip_parse(s, &ip) || (k->family && ip.family != k->family))
			return -EINVAL;
		if (!gw_ip_is_unicast(&ip)) {
			snprintf(hint, hint_len, "not a unicast address");
			return -EINVAL;
		}
		*(struct gw_ip *)dst = ip;
		return 0;
	}
	case K_CIDR:
		return gw_cidr_parse(s, dst, hint, hint_len);
	case K_PORTS:
		return gw_port_range_parse(s, dst, hint, hint_len);
	case K_LISTEN:
		return gw_endpoint_parse(s, dst);
	default:
		return -EINVAL;
	}
}

static void set_defaults(struct ctx *ctx, const struct key *keys, void *obj);

static void set_default(struct ctx *ctx, const struct key *k, void *obj)
{
	void *dst = (char *)obj + k->off;
	char hint[64];

	switch (k->kind) {
	case K_INT:
	case K_BOOL:
	case K_ENUM:
		store_int(dst, k->size, k->def);
		break;
	case K_STR:
		*(const char **)dst = k->def_str;
		break;
	case K_LISTEN:
		if (k->def_str)
			parse_text(ctx, k, k->def_str, dst, hint, sizeof(hint));
		break;
	case K_GROUP:
		set_defaults(ctx, k->sub, dst);
		break;
	default:
		break;
	}
}

static void set_defaults(struct ctx *ctx, const struct key *keys, void *obj)
{
	const struct key *k;

	for (k = keys; k->name; k++)
		set_default(ctx, k, obj);
}

/* A scalar setting s for key k; dst is the field itself. */
static void parse_scalar(struct ctx *ctx, const config_setting_t *s, const char *key,
			 const struct key *k, void *dst)
{
	int type = config_setting_type(s);
	char found[160], exp[256], hint[160] = "";
	struct big_int *big;
	int64_t v;

	switch (k->kind) {
	case K_INT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			goto bad_type;
		big = cfg_big_at(ctx, s);
		if (big) {
			big->used = true;
			cfg_fail(ctx, s, key,
				 "expected %s; found %s (too large for libconfig's 32-bit "
				 "integers, which would truncate it; write %sL if you meant it)",
				 cfg_expect(k, exp, sizeof(exp)), big->text, big->text);
			goto bad_value;
		}
		v = config_setting_get_int64(s);
		if (v < k->min || v > k->max) {
			cfg_fail(ctx, s, key, "expected %s; found %" PRId64,
				 cfg_expect(k, exp, sizeof(exp)), v);
			goto bad_value;
		}
		store_int(dst, k->size, v);
		return;
	case K_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			goto bad_type;
		store_int(dst, k->size, config_setting_get_bool(s));
		return;
	default:
		if (type != CONFIG_TYPE_STRING)
			goto bad_type;
		if (parse_text(ctx, k, config_setting_get_string(s), dst, hint, sizeof(hint))) {
			cfg_fail(ctx, s, key, "expected %s; found %s%s%s%s",
				 cfg_expect(k, exp, sizeof(exp)),
				 cfg_describe_value(ctx, s, found, sizeof(found)),
				 hint[0] ? " (" : "", hint, hint[0] ? ")" : "");
			goto bad_value;
		}
		return;
	}
bad_type:
	cfg_fail(ctx, s, key, "expected %s; found %s", cfg_expect(k, exp, sizeof(exp)),
		 cfg_describe_type(ctx, s, found, sizeof(found)));
bad_value:
	/* Keep later checks quiet about values that already failed. */
	if (k->kind == K_INT || k->kind == K_BOOL || k->kind == K_ENUM)
		store_int(dst, k->size, k->def);
}

/* Key paths are short (schema names and indexes); truncation cannot happen,
 * and going through vsnprintf spares us the compiler's doubts. */
static void __attribute__((format(printf, 3, 4)))
key_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void key_join(char *buf, size_t len, const char *parent, const char *name)
{
	if (parent[0])
		key_printf(buf, len, "%s.%s", parent, name);
	else
		key_printf(buf, len, "%s", name);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = d[0];

		d[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = d[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			d[j] = best;
			diag = up;
		}
	}
	return d[lb];
}

static void unknown_key(struct ctx *ctx, const config_setting_t *m, const char *parent,
			const struct key *keys)
{
	const char *name = config_setting_name(m);
	const struct key *k, *best = NULL;
	size_t d, best_d = SIZE_MAX, o = 0;
	char in[300], list[512] = "";

	if (parent[0])
		snprintf(in, sizeof(in), "in %s", parent);
	else
		snprintf(in, sizeof(in), "at top level");
	for (k = keys; k->name; k++) {
		d = edit_distance(name, k->name);
		if (d < best_d) {
			best_d = d;
			best = k;
		}
		if (o < sizeof(list))
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
					      k->name);
	}
	if (best && best_d <= 2 + strlen(best->name) / 4 && best_d < strlen(name))
		cfg_fail(ctx, m, NULL, "unknown key \"%s\" %s; did you mean \"%s\"?", name, in,
			 best->name);
	else
		cfg_fail(ctx, m, NULL, "unknown key \"%s\" %s; known keys: %s", name, in, list);
}

static void parse_member(struct ctx *ctx, const config_setting_t *s, const char *key,
			 const struct key *k, void *obj)
{
	void *dst = (char *)obj + k->off;
	char exp[256], found[160], ekey[320];
	int type = config_setting_type(s);
	char *arr;
	int i, n;

	record(ctx, key, s);
	switch (k->kind) {
	case K_GROUP:
		if (type != CONFIG_TYPE_GROUP)
			break;
		cfg_parse_group(ctx, s, key, k->sub, dst);
		return;
	case K_LIST:
	case K_ARRAY:
		if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY)
			break;
		n = config_setting_length(s);
		if (n < k->min || n > k->max) {
			cfg_fail(ctx, s, key,
				 "expected %" PRId64 "..%" PRId64 " elements; found %d", k->min,
				 k->max, n);
			return;
		}
		if (n == 0)
			return;
		arr = cfg_arena_alloc(ctx, (size_t)n * k->size);
		if (!arr)
			return;
		for (i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
			void *edst = arr + (size_t)i * k->size;

			key_printf(ekey, sizeof(ekey), "%s[%d]", key, i);
			record(ctx, ekey, e);
			if (k->kind == K_ARRAY) {
				parse_scalar(ctx, e, ekey, k->sub, edst);
			} else if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
				cfg_fail(ctx, e, ekey, "expected a group { ... }; found %s",
					 cfg_describe_type(ctx, e, found, sizeof(found)));
				set_defaults(ctx, k->sub, edst);
			} else {
				cfg_parse_group(ctx, e, ekey, k->sub, edst);
			}
		}
		*(void **)dst = arr;
		*(size_t *)((char *)obj + k->off_n) = (size_t)n;
		return;
	default:
		parse_scalar(ctx, s, key, k, dst);
		return;
	}
	cfg_fail(ctx, s, key, "expected %s; found %s", cfg_expect(k, exp, sizeof(exp)),
		 cfg_describe_type(ctx, s, found, sizeof(found)));
	set_default(ctx, k, obj);
}

void cfg_parse_group(struct ctx *ctx, const config_setting_t *g, const char *key,
		     const struct key *keys, void *obj)
{
	int i, n = config_setting_length(g);
	const struct key *k;
	char ckey[320], exp[256];

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned int)i);
		const char *name = config_setting_name(m);

		for (k = keys; k->name; k++)
			if (name && !strcmp(name, k->name))
				break;
		if (!k->name)
			unknown_key(ctx, m, key, keys);
	}
	for (k = keys; k->name; k++) {
		const config_setting_t *m = config_setting_get_member(g, k->name);

		key_join(ckey, sizeof(ckey), key, k->name);
		if (m) {
			parse_member(ctx, m, ckey, k, obj);
			continue;
		}
		if (k->flags & KF_REQUIRED)
			cfg_fail(ctx, g, ckey, "required key is missing; expected %s",
				 cfg_expect(k, exp, sizeof(exp)));
		set_default(ctx, k, obj);
	}
}
