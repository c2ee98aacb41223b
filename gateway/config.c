/* Site configuration loader: libconfig syntax, a keyword schema walked
 * generically (config-walk.c), then gw_config_check(); the loaded config's
 * memory, error list and source lines. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, qsort_r */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <jansson.h>
#include <libconfig.h>

#include "gw/config.h"
#include "config-int.h"

#define CHUNK_SIZE (64 * 1024)

/* ---- memory ---------------------------------------------------------- */

void *cfg_arena_alloc(struct ctx *ctx, size_t size)
{
	struct gw_config_priv *p = ctx->cfg->priv;
	struct chunk *c = p->chunks;
	size_t align = _Alignof(max_align_t);
	void *r;

	if (size > SIZE_MAX / 4) {
		ctx->oom = true;
		return NULL;
	}
	size = (size + align - 1) & ~(align - 1);
	if (!c || c->size - c->used < size) {
		size_t cs = size > CHUNK_SIZE ? size : CHUNK_SIZE;

		c = malloc(sizeof(*c) + cs);
		if (!c) {
			ctx->oom = true;
			return NULL;
		}
		c->size = cs;
		c->used = 0;
		c->next = p->chunks;
		p->chunks = c;
	}
	r = (char *)c->data + c->used;
	c->used += size;
	memset(r, 0, size);
	return r;
}

char *cfg_arena_strdup(struct ctx *ctx, const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = cfg_arena_alloc(ctx, n);

	if (r)
		memcpy(r, s, n);
	return r;
}

/* ---- messages -------------------------------------------------------- */

void gw_config_errors_add(struct gw_config_errors *errs, bool warning, const char *fmt, ...)
{
	size_t *n;
	char ***v;
	char **nv;
	char *msg;
	va_list ap;
	int r;

	if (!errs)
		return;
	n = warning ? &errs->n_warn : &errs->n;
	v = warning ? &errs->warn : &errs->msg;
	if (*n >= GW_CONFIG_MAX_ERRORS) {
		errs->n_dropped++;
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		errs->n_dropped++;
		return;
	}
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(msg);
		errs->n_dropped++;
		return;
	}
	nv[(*n)++] = msg;
	*v = nv;
}

void gw_config_errors_done(struct gw_config_errors *errs)
{
	size_t i;

	if (!errs)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	for (i = 0; i < errs->n_warn; i++)
		free(errs->warn[i]);
	free(errs->msg);
	free(errs->warn);
	memset(errs, 0, sizeof(*errs));
}

/* ---- after the walk -------------------------------------------------- */

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct src_line *)a)->key, ((const struct src_line *)b)->key);
}

static int cmp_service_name(const void *a, const void *b, void *arg)
{
	const struct gw_service_conf *s = arg;

	return strcmp(s[*(const size_t *)a].name, s[*(const size_t *)b].name);
}

/* Service indexes sorted by name (unnamed ones left out), for lookups. */
static size_t *service_index(const struct gw_config *cfg, size_t *ret_n)
{
	size_t *idx = malloc((cfg->n_services + 1) * sizeof(*idx));
	size_t i, n = 0;

	if (!idx)
		return NULL;
	for (i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].name)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_service_name, (void *)cfg->services);
	*ret_n = n;
	return idx;
}

/* The index of the service called name, or SIZE_MAX. */
static size_t service_find(const struct gw_config *cfg, const size_t *idx, size_t n,
			   const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, cfg->services[idx[mid]].name);

		if (!c)
			return idx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return SIZE_MAX;
}

/* Top-level backends join their service, after its inline ones. */
static void merge_backends(struct ctx *ctx, const config_setting_t *root)
{
	struct gw_config_priv *p = ctx->cfg->priv;
	struct gw_service_conf *svcs = (struct gw_service_conf *)ctx->cfg->services;
	const config_setting_t *list = config_setting_get_member(root, "backends");
	size_t *idx = NULL, *owner = NULL, *extra = NULL, n_idx = 0, i, j;
	bool names_ok = true;
	char key[64];

	for (i = 0; i < ctx->cfg->n_services; i++) {
		struct gw_backend_conf *b = (struct gw_backend_conf *)svcs[i].backends;

		for (j = 0; j < svcs[i].n_backends; j++)
			b[j].toplevel_index = -1;
		if (!svcs[i].name)
			names_ok = false;
	}
	if (!p->n_tl)
		return;
	idx = service_index(ctx->cfg, &n_idx);
	owner = calloc(p->n_tl, sizeof(*owner));
	extra = calloc(ctx->cfg->n_services + 1, sizeof(*extra));
	if (!idx || !owner || !extra) {
		ctx->oom = true;
		goto out;
	}
	for (i = 0; i < p->n_tl; i++) {
		p->tl[i].b.toplevel_index = (int32_t)i;
		owner[i] = SIZE_MAX;
		if (!p->tl[i].service)
			continue; /* already reported */
		owner[i] = service_find(ctx->cfg, idx, n_idx, p->tl[i].service);
		if (owner[i] != SIZE_MAX) {
			extra[owner[i]]++;
		} else if (names_ok) {
			const config_setting_t *e = config_setting_get_elem(list, (unsigned int)i);
			char found[100];

			snprintf(key, sizeof(key), "backends[%zu].service", i);
			cfg_quote(p->tl[i].service, found, sizeof(found));
			cfg_fail(ctx, config_setting_get_member(e, "service"), key,
				 "expected the name of a service defined in services; found %s "
				 "(a backend with no service)",
				 found);
		}
	}
	for (i = 0; i < ctx->cfg->n_services; i++) {
		struct gw_backend_conf *nb;

		if (!extra[i])
			continue;
		nb = cfg_arena_alloc(ctx, (svcs[i].n_backends + extra[i]) * sizeof(*nb));
		if (!nb)
			goto out;
		if (svcs[i].n_backends)
			memcpy(nb, svcs[i].backends, svcs[i].n_backends * sizeof(*nb));
		svcs[i].backends = nb;
	}
	for (i = 0; i < p->n_tl; i++) {
		struct gw_service_conf *s;

		if (owner[i] == SIZE_MAX)
			continue;
		s = &svcs[owner[i]];
		((struct gw_backend_conf *)s->backends)[s->n_backends++] = p->tl[i].b;
	}
out:
	free(idx);
	free(owner);
	free(extra);
}

static void resolve_site(const struct gw_config *cfg, const char **site, uint16_t *site_id,
			 bool *local)
{
	size_t i;

	if (!*site || !strcmp(*site, cfg->site.name)) {
		*site = cfg->site.name;
		*site_id = cfg->site.id;
		*local = true;
		return;
	}
	*local = false;
	for (i = 0; i < cfg->n_peers; i++) {
		if (!strcmp(cfg->peers[i].site, *site)) {
			*site_id = cfg->peers[i].site_id;
			return;
		}
	}
}

/* Fill the derived fields; gw_config_check() has vouched for the references. */
static int resolve(struct gw_config *cfg)
{
	size_t i, j, n_idx, *idx = service_index(cfg, &n_idx);

	if (!idx)
		return -ENOMEM;

	for (i = 0; i < cfg->n_services; i++) {
		struct gw_backend_conf *b = (struct gw_backend_conf *)cfg->services[i].backends;

		for (j = 0; j < cfg->services[i].n_backends; j++)
			resolve_site(cfg, &b[j].site, &b[j].site_id, &b[j].local);
	}
	for (i = 0; i < cfg->n_identities; i++) {
		struct gw_identity_conf *id = (struct gw_identity_conf *)&cfg->identities[i];

		resolve_site(cfg, &id->site, &id->site_id, &id->local);
	}
	for (i = 0; i < cfg->n_policies; i++) {
		struct gw_policy_conf *p = (struct gw_policy_conf *)&cfg->policies[i];

		p->to_service = service_find(cfg, idx, n_idx, p->to);
	}
	free(idx);
	return 0;
}

static const char *const default_endpoints[] = {"http://127.0.0.1:2379"};

static int load_text(const char *name, const char *incdir, const char *text, size_t len,
		     struct gw_config **ret_cfg, struct gw_config_errors *errs)
{
	struct ctx ctx = {.name = name, .incdir = incdir, .errs = errs};
	struct config_block *blk;
	const config_setting_t *root;
	const char *nul;
	config_t lc;
	size_t i;
	int r;

	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	ctx.cfg = &blk->cfg;
	blk->cfg.priv = &blk->priv;
	config_init(&lc);
	blk->cfg.path = cfg_arena_strdup(&ctx, name);
	if (!blk->cfg.path) {
		r = -ENOMEM;
		goto out;
	}
	ctx.name = blk->cfg.path; /* source lines keep it: it must live as long */
	nul = memchr(text, '\0', len);
	if (nul) {
		unsigned int line = 1;

		for (i = 0; text + i < nul; i++)
			line += text[i] == '\n';
		gw_config_errors_add(errs, false, "%s:%u: NUL byte in the file; not a text file?",
				     name, line);
		r = -EINVAL;
		goto out;
	}
	r = cfg_scan_text(&ctx, text, len);
	if (!r && ctx.n_err)
		r = -EINVAL;
	if (r)
		goto out;
	if (incdir)
		config_set_include_dir(&lc, incdir);
	if (!config_read_string(&lc, text)) {
		const char *f = config_error_file(&lc);
		char *copy = NULL;

		if (f && f[0] != '/' && incdir && asprintf(&copy, "%s/%s", incdir, f) > 0)
			f = copy;
		gw_config_errors_add(errs, false, "%s:%d: %s", f ? f : name, config_error_line(&lc),
				     config_error_text(&lc));
		free(copy);
		r = -EINVAL;
		goto out;
	}
	root = config_root_setting(&lc);
	cfg_parse_group(&ctx, root, "", gw_config_keys, blk);
	for (i = 0; i < ctx.n_bigs; i++) {
		if (ctx.bigs[i].used)
			continue;
		ctx.n_err++;
		gw_config_errors_add(errs, false,
				     "%s:%u: integer %s is too large for libconfig's 32-bit "
				     "integers, which would truncate it; write %sL if you meant it",
				     name, ctx.bigs[i].line, ctx.bigs[i].text, ctx.bigs[i].text);
	}
	blk->cfg.tls.enabled = config_setting_get_member(root, "tls") != NULL;
	if (!blk->cfg.etcd.n_endpoints) {
		blk->cfg.etcd.endpoints = default_endpoints;
		blk->cfg.etcd.n_endpoints = 1;
	}
	merge_backends(&ctx, root);
	if (ctx.oom) {
		r = -ENOMEM;
		goto out;
	}
	if (blk->priv.n_lines)
		qsort(blk->priv.lines, blk->priv.n_lines, sizeof(*blk->priv.lines), cmp_line);
	r = gw_config_check(&blk->cfg, errs);
	if (r == -ENOMEM)
		goto out;
	if (r || ctx.n_err) {
		r = -EINVAL;
		goto out;
	}
	r = resolve(&blk->cfg);
	if (r)
		goto out;
	*ret_cfg = &blk->cfg;
out:
	config_destroy(&lc);
	free(ctx.bigs);
	if (r)
		gw_config_free(&blk->cfg);
	return r;
}

int gw_config_load_string(const char *text, const char *name, struct gw_config **ret_cfg,
			  struct gw_config_errors *errs)
{
	return load_text(name, NULL, text, strlen(text), ret_cfg, errs);
}

int gw_config_load(const char *path, struct gw_config **ret_cfg, struct gw_config_errors *errs)
{
	const char *slash = strrchr(path, '/');
	char *buf = NULL, *dir = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		gw_config_errors_add(errs, false, "%s: cannot open: %s", path, strerror(errno));
		return r;
	}
	/* Read up to one byte past the cap, growing the buffer as needed. */
	errno = 0;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64 * 1024;
			char *nb;

			if (ncap > GW_CONFIG_MAX_FILE_SIZE + 1)
				ncap = GW_CONFIG_MAX_FILE_SIZE + 1;
			if (ncap == cap)
				break;
			nb = realloc(buf, ncap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	if (ferror(f)) {
		r = errno ? -errno : -EIO;
		gw_config_errors_add(errs, false, "%s: cannot read: %s", path, strerror(-r));
		goto out;
	}
	if (len > GW_CONFIG_MAX_FILE_SIZE) {
		r = -EFBIG;
		gw_config_errors_add(errs, false, "%s: larger than %d bytes", path,
				     GW_CONFIG_MAX_FILE_SIZE);
		goto out;
	}
	buf[len] = '\0';
	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		if (!dir) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = load_text(path, dir, buf, len, ret_cfg, errs);
out:
	fclose(f);
	free(buf);
	free(dir);
	return r;
}

void gw_config_free(struct gw_config *cfg)
{
	struct chunk *c, *next;

	if (!cfg)
		return;
	for (c = cfg->priv->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(cfg->priv->lines);
	free(cfg); /* the config_block */
}

int gw_config_source(const struct gw_config *cfg, const char *key, const char **ret_file,
		     unsigned int *ret_line)
{
	const struct gw_config_priv *p = cfg->priv;
	char buf[320];

	snprintf(buf, sizeof(buf), "%s", key);
	while (buf[0]) {
		struct src_line k = {.key = buf};
		const struct src_line *l =
			bsearch(&k, p->lines, p->n_lines, sizeof(*p->lines), cmp_line);
		char *dot, *br;

		if (l) {
			if (ret_file)
				*ret_file = l->file;
			if (ret_line)
				*ret_line = l->line;
			return 0;
		}
		dot = strrchr(buf, '.');
		br = strrchr(buf, '[');
		if (br && (!dot || br > dot))
			*br = '\0';
		else if (dot)
			*dot = '\0';
		else
			buf[0] = '\0';
	}
	return -ENOENT;
}
