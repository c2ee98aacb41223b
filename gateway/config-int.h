/* What the configuration loader (config.c), its schema (config-schema.c),
 * the walk over it (config-walk.c) and the source text's messages
 * (config-source.c) share: the schema's keyword type, the loader's state and
 * the layout of a loaded config. */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <libconfig.h>

#include "gw/config.h"

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	max_align_t data[];
};

struct src_line {
	const char *key;
	const char *file;
	unsigned int line;
};

/* A backend of the top-level backends list, before it joins its service. */
struct tl_backend {
	const char *service;
	struct gw_backend_conf b;
};

struct gw_config_priv {
	struct chunk *chunks;
	struct src_line *lines;
	size_t n_lines;
	size_t cap_lines;
	struct tl_backend *tl;
	size_t n_tl;
};

/* One allocation; the schema's root offsets are relative to it. */
struct config_block {
	struct gw_config cfg;
	struct gw_config_priv priv;
};

enum kind {
	K_STR,
	K_INT,
	K_BOOL,
	K_ENUM,
	K_IP,
	K_CIDR,
	K_PORTS,
	K_LISTEN,
	K_GROUP,
	K_LIST,
	K_ARRAY,
};

#define KF_REQUIRED 0x1
#define KF_NODUMP   0x2 /* not in gw_config_dump_json() (merged elsewhere) */

/* One schema keyword (HAProxy-style keyword table). */
struct key {
	const char *name;
	enum kind kind;
	unsigned int flags;
	size_t off;		  /* field offset in the enclosing object */
	size_t off_n;		  /* LIST, ARRAY: offset of the size_t count */
	size_t size;		  /* INT: field width; LIST, ARRAY: element size */
	int64_t min, max;	  /* INT: values; STR: length; LIST, ARRAY: element count */
	int64_t def;		  /* INT, BOOL, ENUM default */
	const char *def_str;	  /* STR, LISTEN default */
	const char *const *names; /* ENUM values, NULL-terminated */
	const struct key *sub;	  /* GROUP, LIST: members; ARRAY: the element */
	enum gw_syntax syntax;	  /* STR */
	const char *expect;	  /* STR: what a valid value looks like */
	int family;		  /* IP: AF_INET, AF_INET6 or 0 for either */
};

/* An integer literal libconfig 1.5 silently truncates to 32 bits. */
struct big_int {
	unsigned int line;
	int32_t truncated;
	bool used;
	char text[32];
};

/* The loader's state while it reads one file (config.c). */
struct ctx {
	const char *name;   /* file name for messages */
	const char *incdir; /* directory of name, for @include; NULL: current */
	struct gw_config *cfg;
	struct gw_config_errors *errs;
	size_t n_err;
	bool oom;
	const char *lc_file; /* last file name seen from libconfig ... */
	const char *file;    /* ... and our copy of it */
	struct big_int *bigs;
	size_t n_bigs;
};

/* config.c */
void *cfg_arena_alloc(struct ctx *ctx, size_t size);
char *cfg_arena_strdup(struct ctx *ctx, const char *s);

/* config-walk.c: the members of group g (path key, "" for the root) into obj
 * by the schema keys, defaults for the missing ones; errors go to ctx. */
void cfg_parse_group(struct ctx *ctx, const config_setting_t *g, const char *key,
		     const struct key *keys, void *obj);

/* config-source.c */
const char *cfg_src_file(struct ctx *ctx, const config_setting_t *s);
/* "FILE:LINE: KEY: text"; no LINE for the root, no KEY when key is NULL. */
void __attribute__((format(printf, 4, 5)))
cfg_fail(struct ctx *ctx, const config_setting_t *s, const char *key, const char *fmt, ...);
/* A string as it appears in a message: quoted, bounded, printable. */
void cfg_quote(const char *s, char *buf, size_t len);
struct big_int *cfg_big_at(struct ctx *ctx, const config_setting_t *s);
/* The value of a scalar, for "found ...". */
const char *cfg_describe_value(struct ctx *ctx, const config_setting_t *s, char *buf, size_t len);
const char *cfg_describe_type(struct ctx *ctx, const config_setting_t *s, char *buf, size_t len);
/* What a key wants, for "expected ...". */
const char *cfg_expect(const struct key *k, char *buf, size_t len);
/* The look at the text before libconfig's: 0 or -errno (errors reported). */
int cfg_scan_text(struct ctx *ctx, const char *t, size_t len);

/* The root of the schema (config-schema.c). */
extern const struct key gw_config_keys[];

static inline void store_int(void *dst, size_t size, int64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)dst = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)dst = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)dst = (uint32_t)v;
		break;
	case 8:
		*(uint64_t *)dst = (uint64_t)v;
		break;
	}
}

static inline int64_t load_int(const void *src, size_t size)
{
	switch (size) {
	case 1:
		return *(const uint8_t *)src;
	case 2:
		return *(const uint16_t *)src;
	case 4:
		return *(const uint32_t *)src;
	case 8:
		return (int64_t) * (const uint64_t *)src;
	}
	return 0;
}

#endif
