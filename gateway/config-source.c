/* What the configuration loader says about the source text: where a key
 * is (file:line), how a value looks in a message, what a key expects; and a
 * look at the text before libconfig's (integers it would truncate, what
 * @include names). */
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
#include <sys/socket.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "gw/config.h"
#include "config-int.h"

/* libconfig names included files as written; show them from our directory. */
const char *cfg_src_file(struct ctx *ctx, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;
	char *copy;

	if (!f)
		return ctx->name;
	if (f == ctx->lc_file)
		return ctx->file;
	if (f[0] != '/' && ctx->incdir) {
		size_t n = strlen(ctx->incdir) + strlen(f) + 2;

		copy = cfg_arena_alloc(ctx, n);
		if (copy)
			snprintf(copy, n, "%s/%s", ctx->incdir, f);
	} else {
		copy = cfg_arena_strdup(ctx, f);
	}
	if (!copy)
		return ctx->name;
	ctx->lc_file = f;
	ctx->file = copy;
	return copy;
}

/* "FILE:LINE: KEY: text"; no LINE for the root, no KEY when key is NULL. */
void __attribute__((format(printf, 4, 5)))
cfg_fail(struct ctx *ctx, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	unsigned int line = s ? config_setting_source_line(s) : 0;
	const char *file = cfg_src_file(ctx, s);
	char msg[1024];
	char where[64] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(where, sizeof(where), ":%u", line);
	ctx->n_err++;
	if (key)
		gw_config_errors_add(ctx->errs, false, "%s%s: %s: %s", file, where, key, msg);
	else
		gw_config_errors_add(ctx->errs, false, "%s%s: %s", file, where, msg);
}

/* A string as it appears in a message: quoted, bounded, printable. */
void cfg_quote(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[o++] = '"';
	for (i = 0; s[i] && o + 6 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\')
			buf[o++] = '\\';
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

struct big_int *cfg_big_at(struct ctx *ctx, const config_setting_t *s)
{
	unsigned int line = config_setting_source_line(s);
	int32_t v = (int32_t)config_setting_get_int(s);
	struct big_int *any = NULL;
	size_t i;

	if (config_setting_source_file(s) || config_setting_type(s) != CONFIG_TYPE_INT)
		return NULL; /* only the main file is scanned */
	for (i = 0; i < ctx->n_bigs; i++) {
		struct big_int *b = &ctx->bigs[i];

		if (b->line != line || b->used)
			continue;
		if (b->truncated == v)
			return b;
		if (!any)
			any = b;
	}
	return any;
}

/* The value of a scalar, for "found ...". */
const char *cfg_describe_value(struct ctx *ctx, const config_setting_t *s, char *buf, size_t len)
{
	struct big_int *b;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		b = cfg_big_at(ctx, s);
		if (b)
			snprintf(buf, len, "%s", b->text);
		else
			snprintf(buf, len, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(buf, len, "%g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		cfg_quote(config_setting_get_string(s), buf, len);
		break;
	case CONFIG_TYPE_GROUP:
		snprintf(buf, len, "a group");
		break;
	case CONFIG_TYPE_ARRAY:
		snprintf(buf, len, "an array");
		break;
	case CONFIG_TYPE_LIST:
		snprintf(buf, len, "a list");
		break;
	default:
		snprintf(buf, len, "nothing");
		break;
	}
	return buf;
}

/* The type and value of a setting, for "found ..." after a type mismatch. */
const char *cfg_describe_type(struct ctx *ctx, const config_setting_t *s, char *buf, size_t len)
{
	char v[128];
	const char *t;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		t = "an integer";
		break;
	case CONFIG_TYPE_FLOAT:
		t = "a float";
		break;
	case CONFIG_TYPE_BOOL:
		t = "a boolean";
		break;
	case CONFIG_TYPE_STRING:
		t = "a string";
		break;
	default:
		return cfg_describe_value(ctx, s, buf, len);
	}
	snprintf(buf, len, "%s (%s)", t, cfg_describe_value(ctx, s, v, sizeof(v)));
	return buf;
}

const char *cfg_expect(const struct key *k, char *buf, size_t len)
{
	size_t o, i;

	switch (k->kind) {
	case K_STR:
		if (k->expect)
			return k->expect;
		snprintf(buf, len, "a string of %" PRId64 "..%" PRId64 " characters", k->min,
			 k->max);
		return buf;
	case K_INT:
		snprintf(buf, len, "an integer in %" PRId64 "..%" PRId64, k->min, k->max);
		return buf;
	case K_BOOL:
		return "true or false";
	case K_ENUM:
		o = (size_t)snprintf(buf, len, "one of ");
		for (i = 0; k->names[i] && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", k->names[i]);
		return buf;
	case K_IP:
		if (k->family == AF_INET)
			return "a unicast IPv4 address";
		if (k->family == AF_INET6)
			return "a unicast IPv6 address";
		return "a unicast IPv4 or IPv6 address";
	case K_CIDR:
		return "a network such as \"10.1.0.0/24\" or \"fd00:1::/64\"";
	case K_PORTS:
		return "a port or port range with protocol, such as \"80/tcp\" or "
		       "\"8000-8099/udp\" (ports 1..65535; tcp, udp or sctp)";
	case K_LISTEN:
		return "an address and port such as \"127.0.0.1:9400\" or \"[::1]:9400\"";
	case K_GROUP:
		return "a group { ... }";
	case K_LIST:
		return "a list ( { ... }, ... )";
	case K_ARRAY: {
		char el[200];

		snprintf(buf, len, "an array [ ... ] of %" PRId64 "..%" PRId64 " values, each %s",
			 k->min, k->max, cfg_expect(k->sub, el, sizeof(el)));
		return buf;
	}
	}
	return "?";
}

/* ---- libconfig's integer truncation ------------------------------------ */

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '*';
}

/* libconfig would read "@include /dev/zero" forever: only regular files of
 * bounded size may be included. Called at the opening quote. */
static void check_include(struct ctx *ctx, const char *t, size_t len, unsigned int line)
{
	const char *end = memchr(t + 1, '"', len - 1);
	char name[GW_CONFIG_PATH_MAX + 1], path[2 * GW_CONFIG_PATH_MAX + 2];
	struct stat st;
	size_t n;

	if (!end)
		return; /* libconfig reports it */
	n = (size_t)(end - t - 1);
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, t + 1, n);
	name[n] = '\0';
	if (name[0] != '/' && ctx->incdir)
		snprintf(path, sizeof(path), "%s/%s", ctx->incdir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	if (stat(path, &st))
		return; /* libconfig reports "cannot open include file" */
	if (!S_ISREG(st.st_mode) || st.st_size > GW_CONFIG_MAX_FILE_SIZE) {
		ctx->n_err++;
		gw_config_errors_add(
			ctx->errs, false,
			"%s:%u: @include \"%s\": expected a regular file of at most %d "
			"bytes; found %s",
			ctx->name, line, name, GW_CONFIG_MAX_FILE_SIZE,
			S_ISREG(st.st_mode) ? "a larger one" : "something else");
	}
}

/* A look at the text before libconfig's: libconfig 1.5 keeps an integer
 * literal without the L suffix in an int and silently drops the high bits,
 * so find such literals first and refuse a value like 4294967297 instead
 * of reading it as 1; and check what @include names. */
int cfg_scan_text(struct ctx *ctx, const char *t, size_t len)
{
	unsigned int line = 1;
	size_t i = 0;

	while (i < len) {
		char c = t[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < len && t[i + 1] == '/')) {
			while (i < len && t[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && t[i + 1] == '*') {
			for (i += 2; i < len && !(t[i] == '*' && i + 1 < len && t[i + 1] == '/');
			     i++)
				if (t[i] == '\n')
					line++;
			i += 2;
		} else if (c == '"') {
			for (i++; i < len && t[i] != '"'; i++) {
				if (t[i] == '\\')
					i++;
				else if (t[i] == '\n')
					line++;
			}
			i++;
		} else if (c == '@' && len - i > 8 && !strncmp(t + i, "@include", 8)) {
			for (i += 8; i < len && (t[i] == ' ' || t[i] == '\t'); i++)
				;
			if (i < len && t[i] == '"')
				check_include(ctx, t + i, len - i, line);
		} else if (is_word(c) && !(c >= '0' && c <= '9') && c != '-') {
			while (i < len && is_word(t[i]))
				i++;
		} else if ((c >= '0' && c <= '9') || ((c == '-' || c == '+') && i + 1 < len &&
						      t[i + 1] >= '0' && t[i + 1] <= '9')) {
			size_t s = i++;
			bool hex = false, big;
			unsigned long long u;
			char num[32];
			struct big_int *b;

			if (t[s] == '0' && i < len && (t[i] == 'x' || t[i] == 'X')) {
				hex = true;
				i++;
			}
			while (i < len &&
			       ((is_word(t[i]) && t[i] != '-' && t[i] != '*') || t[i] == '.' ||
				((t[i] == '-' || t[i] == '+') && !hex &&
				 (t[i - 1] == 'e' || t[i - 1] == 'E'))))
				i++;
			if (i - s >= sizeof(num) - 1 && !memchr(t + s, '.', i - s)) {
				big = true; /* far too long to be anything sane */
				snprintf(num, sizeof(num), "%.24s...", t + s);
				u = 0;
			} else {
				memcpy(num, t + s, i - s < sizeof(num) ? i - s : sizeof(num) - 1);
				num[i - s < sizeof(num) ? i - s : sizeof(num) - 1] = '\0';
				if (strpbrk(num, "Ll") || (!hex && strpbrk(num, ".eE")))
					continue; /* int64 or float: read correctly */
				errno = 0;
				u = strtoull(num + (num[0] == '-' || num[0] == '+'), NULL,
					     hex ? 16 : 10);
				if (num[0] == '-')
					big = errno == ERANGE ||
					      u > (unsigned long long)INT32_MAX + 1;
				else
					big = errno == ERANGE || u > INT32_MAX;
			}
			if (!big)
				continue;
			b = realloc(ctx->bigs, (ctx->n_bigs + 1) * sizeof(*b));
			if (!b)
				return -ENOMEM;
			ctx->bigs = b;
			b = &b[ctx->n_bigs++];
			b->line = line;
			b->truncated = (int32_t)(uint32_t)(num[0] == '-' ? 0 - u : u);
			b->used = false;
			snprintf(b->text, sizeof(b->text), "%s", num);
		} else {
			i++;
		}
	}
	return 0;
}
