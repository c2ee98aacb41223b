/* Site configuration checks: the syntax of values (addresses, networks,
 * ports, names) and the cross-checks over a parsed config (gw_config_check). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, qsort_r */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gw/config.h"

/* ---- value syntax ---------------------------------------------------- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A DNS label: it ends up in SPIFFE IDs and etcd keys. */
static bool valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > GW_CONFIG_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool valid_ifname(const char *s)
{
	size_t i;

	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; s[i]; i++)
		if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || s[i] == 0x7f)
			return false;
	return true;
}

/* SPIFFE trust domain: lowercase letters, digits, '.', '-', '_'. */
static bool valid_trust_domain(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static bool valid_port_text(const char *s, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* http(s)://HOST[:PORT] with HOST a name, an IPv4 address or [IPv6]. */
static bool valid_url(const char *s)
{
	const char *h, *end, *colon;
	size_t i;

	if (!strncmp(s, "http://", 7))
		h = s + 7;
	else if (!strncmp(s, "https://", 8))
		h = s + 8;
	else
		return false;
	end = h + strlen(h);
	if (end > h && end[-1] == '/')
		end--;
	if (*h == '[') {
		char a[64];
		unsigned char b[16];
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb || (size_t)(rb - h - 1) >= sizeof(a))
			return false;
		memcpy(a, h + 1, (size_t)(rb - h - 1));
		a[rb - h - 1] = '\0';
		if (inet_pton(AF_INET6, a, b) != 1)
			return false;
		colon = rb + 1;
		if (colon == end)
			return true;
		return *colon == ':' && valid_port_text(colon + 1, (size_t)(end - colon - 1));
	}
	colon = memchr(h, ':', (size_t)(end - h));
	if (!colon)
		colon = end;
	if (colon == h)
		return false;
	for (i = 0; h + i < colon; i++)
		if (!is_alnum(h[i]) && h[i] != '.' && h[i] != '-')
			return false;
	return colon == end || valid_port_text(colon + 1, (size_t)(end - colon - 1));
}

static bool valid_abs_path(const char *s)
{
	size_t i;

	if (s[0] != '/')
		return false;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool valid_etcd_prefix(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 2 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//"))
		return false;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("._/-", s[i]))
			return false;
	return true;
}

/* key=value as in Kubernetes: key [A-Za-z0-9._/-] from a letter or digit,
 * value [A-Za-z0-9._-], possibly empty. */
static bool valid_label(const char *s)
{
	const char *eq = strchr(s, '=');
	const char *p;

	if (!eq || eq == s || !is_alnum(s[0]))
		return false;
	for (p = s; p < eq; p++)
		if (!is_alnum(*p) && !strchr("._/-", *p))
			return false;
	for (p = eq + 1; *p; p++)
		if (!is_alnum(*p) && !strchr("._-", *p))
			return false;
	return true;
}

static bool valid_http_method(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

static bool valid_http_path(const char *s)
{
	size_t i;

	if (s[0] != '/')
		return false;
	for (i = 0; s[i]; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	return true;
}

bool gw_ip_is_unicast(const struct gw_ip *ip)
{
	static const uint8_t zero[16];
	const uint8_t *a = ip->addr;

	if (ip->family == AF_INET)
		return a[0] != 0 && a[0] != 127 && a[0] < 224;
	if (!memcmp(a, zero, 16) || a[0] == 0xff)
		return false;
	return memcmp(a, zero, 15) || a[15] != 1; /* ::1 */
}

int gw_ip_parse(const char *s, struct gw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->addr) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *gw_ip_format(const struct gw_ip *ip, char *buf, size_t len)
{
	if (!ip->family || !inet_ntop(ip->family, ip->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int gw_cidr_parse(const char *s, struct gw_cidr *c, char *hint, size_t hint_len)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	unsigned long len = 0;
	unsigned int i, max;
	const char *p;
	bool host = false;

	memset(c, 0, sizeof(*c));
	if (!slash || (size_t)(slash - s) >= sizeof(a) || !slash[1] || strlen(slash + 1) > 3)
		return -EINVAL;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (gw_ip_parse(a, &c->addr))
		return -EINVAL;
	for (p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		len = len * 10 + (unsigned long)(*p - '0');
	}
	max = c->addr.family == AF_INET ? 32 : 128;
	if (len > max) {
		snprintf(hint, hint_len, "prefix length is at most %u", max);
		return -EINVAL;
	}
	c->prefix_len = (uint8_t)len;
	for (i = 0; i < 16; i++) {
		unsigned int bits = i * 8 >= len ? 0 : (len - i * 8 >= 8 ? 8 : len - i * 8);
		uint8_t mask = (uint8_t)(0xff00 >> bits);

		if (c->addr.addr[i] & ~mask) {
			host = true;
			c->addr.addr[i] &= mask;
		}
	}
	if (host) {
		char n[INET6_ADDRSTRLEN];

		snprintf(hint, hint_len, "host bits are set; did you mean %s/%lu?",
			 gw_ip_format(&c->addr, n, sizeof(n)), len);
		return -EINVAL;
	}
	return 0;
}

static int port_parse(const char *s, size_t n, uint16_t *ret, char *hint, size_t hint_len)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		snprintf(hint, hint_len, "port %lu is out of 1..65535", v);
		return -ERANGE;
	}
	*ret = (uint16_t)v;
	return 0;
}

/* PORT[-PORT][/PROTO]; the protocol defaults to tcp. */
int gw_port_range_parse(const char *s, struct gw_port_range *r, char *hint, size_t hint_len)
{
	const char *slash = strchr(s, '/');
	const char *dash;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	memset(r, 0, sizeof(*r));
	r->proto = GW_PROTO_TCP;
	if (slash) {
		if (!strcmp(slash + 1, "tcp"))
			r->proto = GW_PROTO_TCP;
		else if (!strcmp(slash + 1, "udp"))
			r->proto = GW_PROTO_UDP;
		else if (!strcmp(slash + 1, "sctp"))
			r->proto = GW_PROTO_SCTP;
		else
			return -EINVAL;
	}
	dash = memchr(s, '-', n);
	if (!dash) {
		if (port_parse(s, n, &r->lo, hint, hint_len))
			return -EINVAL;
		r->hi = r->lo;
		return 0;
	}
	if (port_parse(s, (size_t)(dash - s), &r->lo, hint, hint_len) ||
	    port_parse(dash + 1, n - (size_t)(dash - s) - 1, &r->hi, hint, hint_len))
		return -EINVAL;
	if (r->lo > r->hi) {
		snprintf(hint, hint_len, "range start %u is above its end %u", r->lo, r->hi);
		return -EINVAL;
	}
	return 0;
}

/* ADDR:PORT or [ADDR6]:PORT; any address, including 0.0.0.0 and loopback. */
int gw_endpoint_parse(const char *s, struct gw_endpoint *e)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *colon, *as = s;
	size_t n;
	char hint[64];

	memset(e, 0, sizeof(*e));
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		as = s + 1;
		n = (size_t)(rb - as);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (n >= sizeof(a))
		return -EINVAL;
	memcpy(a, as, n);
	a[n] = '\0';
	if (gw_ip_parse(a, &e->addr) || (*s == '[') != (e->addr.family == AF_INET6))
		return -EINVAL;
	return port_parse(colon + 1, strlen(colon + 1), &e->port, hint, sizeof(hint)) ? -EINVAL : 0;
}

bool gw_config_syntax_ok(enum gw_syntax syntax, const char *s)
{
	switch (syntax) {
	case GW_SYNTAX_NAME:
		return valid_name(s);
	case GW_SYNTAX_IFNAME:
		return valid_ifname(s);
	case GW_SYNTAX_TRUST_DOMAIN:
		return valid_trust_domain(s);
	case GW_SYNTAX_URL:
		return valid_url(s);
	case GW_SYNTAX_ABS_PATH:
		return valid_abs_path(s);
	case GW_SYNTAX_ETCD_PREFIX:
		return valid_etcd_prefix(s);
	case GW_SYNTAX_LABEL:
		return valid_label(s);
	case GW_SYNTAX_HTTP_METHOD:
		return valid_http_method(s);
	case GW_SYNTAX_HTTP_PATH:
		return valid_http_path(s);
	}
	return false;
}

const char *gw_cidr_format(const struct gw_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", gw_ip_format(&c->addr, a, sizeof(a)), c->prefix_len);
	return buf;
}

const char *gw_port_range_format(const struct gw_port_range *r, char *buf, size_t len)
{
	const char *p = gw_proto_name(r->proto);

	if (r->lo == r->hi)
		snprintf(buf, len, "%u/%s", r->lo, p);
	else
		snprintf(buf, len, "%u-%u/%s", r->lo, r->hi, p);
	return buf;
}

const char *gw_endpoint_format(const struct gw_endpoint *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	gw_ip_format(&e->addr, a, sizeof(a));
	if (e->addr.family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, e->port);
	else
		snprintf(buf, len, "%s:%u", a, e->port);
	return buf;
}

/* ---- cross-checks ---------------------------------------------------- */

struct checker {
	const struct gw_config *cfg;
	struct gw_config_errors *errs;
	size_t n_err;
	bool oom;
};

static unsigned int line_of(const struct checker *c, const char *key)
{
	unsigned int line = 0;

	gw_config_source(c->cfg, key, NULL, &line);
	return line;
}

/* "FILE:LINE: KEY: text", LINE being where KEY (or its group) is. */
static void __attribute__((format(printf, 4, 5)))
report(struct checker *c, bool warning, const char *key, const char *fmt, ...)
{
	const char *file = c->cfg->path;
	unsigned int line = 0;
	char msg[1024], where[32] = "";
	va_list ap;

	gw_config_source(c->cfg, key, &file, &line);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(where, sizeof(where), ":%u", line);
	gw_config_errors_add(c->errs, warning, "%s%s: %s: %s", file, where, key, msg);
	if (!warning)
		c->n_err++;
}

static const char *backend_key(size_t svc, size_t i, const struct gw_backend_conf *b, char *buf,
			       size_t len)
{
	if (b->toplevel_index >= 0)
		snprintf(buf, len, "backends[%d]", (int)b->toplevel_index);
	else
		snprintf(buf, len, "services[%zu].backends[%zu]", svc, i);
	return buf;
}

static bool ip_eq(const struct gw_ip *a, const struct gw_ip *b)
{
	return a->family && a->family == b->family && !memcmp(a->addr, b->addr, 16);
}

static int ip_cmp(const struct gw_ip *a, const struct gw_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

struct named {
	const char *name;
	size_t idx;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Report each repeated name of list[*].field, pointing at the first one. */
static void check_unique(struct checker *c, const void *base, size_t n, size_t size, size_t off,
			 const char *list, const char *field, const char *what)
{
	struct named *v = malloc((n + 1) * sizeof(*v));
	size_t i, m = 0, first = 0;
	char key[96], fkey[96];

	if (!v) {
		c->oom = true;
		return;
	}
	for (i = 0; i < n; i++) {
		const char *name = *(const char *const *)((const char *)base + i * size + off);

		if (name)
			v[m++] = (struct named){name, i};
	}
	qsort(v, m, sizeof(*v), cmp_named);
	for (i = 1; i < m; i++) {
		if (strcmp(v[i].name, v[first].name)) {
			first = i;
			continue;
		}
		snprintf(key, sizeof(key), "%s[%zu].%s", list, v[i].idx, field);
		snprintf(fkey, sizeof(fkey), "%s[%zu]", list, v[first].idx);
		report(c, false, key,
		       "expected a unique %s name; found \"%s\" again (duplicate %s; "
		       "first at line %u, %s)",
		       what, v[i].name, what, line_of(c, fkey), fkey);
	}
	free(v);
}

static bool over_limit(struct checker *c, size_t n, uint32_t limit, const char *key,
		       const char *what)
{
	if (n <= limit)
		return false;
	report(c, false, key, "expected at most %u %s (limits.%s); found %zu", limit, what, what,
	       n);
	return true;
}

/* A site named by a backend or identity: this one, or a peer's. */
static void check_site_ref(struct checker *c, const char *site, const char *key)
{
	const struct gw_config *cfg = c->cfg;
	char known[512];
	size_t i, o;

	if (!site || !cfg->site.name || !strcmp(site, cfg->site.name))
		return;
	for (i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].site && !strcmp(cfg->peers[i].site, site))
			return;
	o = (size_t)snprintf(known, sizeof(known), "%s", cfg->site.name);
	for (i = 0; i < cfg->n_peers && o < sizeof(known); i++)
		if (cfg->peers[i].site)
			o += (size_t)snprintf(known + o, sizeof(known) - o, ", %s",
					      cfg->peers[i].site);
	report(c, false, key, "expected this site or a site in peers (%s); found \"%s\"", known,
	       site);
}

static void check_peers(struct checker *c)
{
	const struct gw_config *cfg = c->cfg;
	char key[64], a[INET6_ADDRSTRLEN];
	size_t i, j;

	if (over_limit(c, cfg->n_peers, cfg->limits.peers, "peers", "peers"))
		return;
	for (i = 0; i < cfg->n_peers; i++) {
		const struct gw_peer_conf *p = &cfg->peers[i];

		if (p->site && cfg->site.name && !strcmp(p->site, cfg->site.name)) {
			snprintf(key, sizeof(key), "peers[%zu].site", i);
			report(c, false, key,
			       "expected a remote site; found \"%s\", which is this "
			       "site (site.name)",
			       p->site);
		}
		if (p->site_id && p->site_id == cfg->site.id) {
			snprintf(key, sizeof(key), "peers[%zu].site_id", i);
			report(c, false, key,
			       "expected an id other than this site's (site.id); "
			       "found %u",
			       p->site_id);
		}
		if (ip_eq(&p->address, &cfg->gateway.external.address)) {
			snprintf(key, sizeof(key), "peers[%zu].address", i);
			report(c, false, key,
			       "expected a remote gateway's address; found %s, this "
			       "gateway's own (gateway.external.address)",
			       gw_ip_format(&p->address, a, sizeof(a)));
		}
		if (p->address.family && cfg->gateway.external.address.family &&
		    p->address.family != cfg->gateway.external.address.family) {
			snprintf(key, sizeof(key), "peers[%zu].address", i);
			report(c, false, key,
			       "expected an %s address like gateway.external.address; found %s",
			       cfg->gateway.external.address.family == AF_INET ? "IPv4" : "IPv6",
			       gw_ip_format(&p->address, a, sizeof(a)));
		}
		if (p->encrypt && !cfg->tls.enabled) {
			snprintf(key, sizeof(key), "peers[%zu].encrypt", i);
			report(c, false, key,
			       "expected false without a tls group (encryption needs "
			       "tls.ca, tls.cert and tls.key); found true");
		}
		for (j = 0; j < i; j++) {
			const struct gw_peer_conf *q = &cfg->peers[j];
			bool same_site = p->site && q->site && !strcmp(p->site, q->site);
			char fkey[32];

			snprintf(fkey, sizeof(fkey), "peers[%zu]", j);
			if (same_site && p->gateway && q->gateway &&
			    !strcmp(p->gateway, q->gateway)) {
				snprintf(key, sizeof(key), "peers[%zu]", i);
				report(c, false, key,
				       "expected a unique site and gateway; found "
				       "%s/%s again (duplicate peer; first at line "
				       "%u, %s)",
				       p->site, p->gateway, line_of(c, fkey), fkey);
				break;
			}
			if (same_site && p->site_id && q->site_id && p->site_id != q->site_id) {
				snprintf(key, sizeof(key), "peers[%zu].site_id", i);
				report(c, false, key,
				       "expected %u, the id %s (line %u) gives %s; "
				       "found %u",
				       q->site_id, fkey, line_of(c, fkey), q->site, p->site_id);
				break;
			}
			if (!same_site && p->site && q->site && p->site_id &&
			    p->site_id == q->site_id) {
				snprintf(key, sizeof(key), "peers[%zu].site_id", i);
				report(c, false, key,
				       "expected an id no other site has; found %u, "
				       "already %s's (%s, line %u)",
				       p->site_id, q->site, fkey, line_of(c, fkey));
				break;
			}
			if (ip_eq(&p->address, &q->address)) {
				snprintf(key, sizeof(key), "peers[%zu].address", i);
				report(c, false, key,
				       "expected an address no other peer has; found "
				       "%s, already %s's (line %u)",
				       gw_ip_format(&p->address, a, sizeof(a)), fkey,
				       line_of(c, fkey));
				break;
			}
		}
	}
}

/* One VIP and port range of one service, for the overlap sweep. */
struct vip_port {
	const struct gw_ip *vip;
	const struct gw_port_range *ports;
	size_t svc, v, p;
};

static int cmp_vip_port(const void *a, const void *b)
{
	const struct vip_port *x = a, *y = b;
	int r = ip_cmp(x->vip, y->vip);

	if (r)
		return r;
	if (x->ports->proto != y->ports->proto)
		return x->ports->proto < y->ports->proto ? -1 : 1;
	if (x->ports->lo != y->ports->lo)
		return x->ports->lo < y->ports->lo ? -1 : 1;
	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	return x->v < y->v ? -1 : x->v > y->v;
}

static int cmp_pos(const struct vip_port *x, const struct vip_port *y)
{
	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->p < y->p ? -1 : x->p > y->p;
}

/* The same VIP, protocol and port must lead to one service only. */
static void check_vips(struct checker *c)
{
	const struct gw_config *cfg = c->cfg;
	struct vip_port *t, *open = NULL;
	size_t i, j, k, n = 0;
	char key[96], okey[64], a[INET6_ADDRSTRLEN], pr[32], pr2[32];

	for (i = 0; i < cfg->n_services; i++)
		n += cfg->services[i].n_vips * cfg->services[i].n_ports;
	if (n > GW_CONFIG_MAX_VIP_PORTS) {
		report(c, false, "services",
		       "expected at most %d VIP and port spec pairs in all services; found %zu",
		       GW_CONFIG_MAX_VIP_PORTS, n);
		return;
	}
	t = malloc((n + 1) * sizeof(*t));
	if (!t) {
		c->oom = true;
		return;
	}
	n = 0;
	for (i = 0; i < cfg->n_services; i++) {
		const struct gw_service_conf *s = &cfg->services[i];

		for (j = 0; j < s->n_vips; j++)
			for (k = 0; k < s->n_ports; k++)
				if (s->vips[j].family && s->ports[k].lo)
					t[n++] = (struct vip_port){&s->vips[j], &s->ports[k], i, j,
								   k};
	}
	qsort(t, n, sizeof(*t), cmp_vip_port);
	/* open: the range reaching furthest among the same VIP and protocol. */
	for (i = 0; i < n; i++) {
		if (open &&
		    (ip_cmp(open->vip, t[i].vip) || open->ports->proto != t[i].ports->proto))
			open = NULL;
		if (open && t[i].ports->lo <= open->ports->hi) {
			/* Report at the later entry in the file, about the earlier. */
			bool later = cmp_pos(&t[i], open) > 0;
			const struct vip_port *x = later ? &t[i] : open, *y = later ? open : &t[i];

			snprintf(okey, sizeof(okey), "services[%zu]", y->svc);
			if (x->svc == y->svc && x->v == y->v)
				snprintf(key, sizeof(key), "services[%zu].ports[%zu]", x->svc,
					 x->p);
			else
				snprintf(key, sizeof(key), "services[%zu].vips[%zu]", x->svc, x->v);
			report(c, false, key,
			       "expected a VIP and port used by one service only; "
			       "found %s %s, which overlaps %s %s of %s (%s, line %u)",
			       gw_ip_format(x->vip, a, sizeof(a)),
			       gw_port_range_format(x->ports, pr, sizeof(pr)),
			       x->svc == y->svc ? "the entry" : "the VIP and port",
			       gw_port_range_format(y->ports, pr2, sizeof(pr2)),
			       cfg->services[y->svc].name ? cfg->services[y->svc].name : "?", okey,
			       line_of(c, okey));
		}
		if (!open || t[i].ports->hi > open->ports->hi)
			open = &t[i];
	}
	free(t);
}

struct backend_ref {
	const struct gw_backend_conf *b;
	size_t i;
};

/* A backend without a site is this site's (own): compare it as such. */
static int cmp_backend_ref(const void *a, const void *b, void *own)
{
	const struct backend_ref *x = a, *y = b;
	int r = ip_cmp(&x->b->address, &y->b->address);

	if (r)
		return r;
	if (x->b->port != y->b->port)
		return x->b->port < y->b->port ? -1 : 1;
	r = strcmp(x->b->site ? x->b->site : own, y->b->site ? y->b->site : own);
	if (r)
		return r;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void check_backends(struct checker *c, size_t svc, struct backend_ref *refs)
{
	const struct gw_config *cfg = c->cfg;
	const struct gw_service_conf *s = &cfg->services[svc];
	const char *own = cfg->site.name ? cfg->site.name : "";
	char key[96], fkey[96], skey[112], a[INET6_ADDRSTRLEN];
	size_t i, m = 0;

	for (i = 0; i < s->n_backends; i++) {
		const struct gw_backend_conf *b = &s->backends[i];

		backend_key(svc, i, b, key, sizeof(key));
		snprintf(skey, sizeof(skey), "%s.site", key);
		check_site_ref(c, b->site, skey);
		if (b->address.family)
			refs[m++] = (struct backend_ref){b, i};
	}
	qsort_r(refs, m, sizeof(*refs), cmp_backend_ref, (void *)own);
	for (i = 1; i < m; i++) {
		const struct backend_ref *x = &refs[i - 1], *y = &refs[i];

		if (cmp_backend_ref(&(struct backend_ref){x->b, 0}, &(struct backend_ref){y->b, 0},
				    (void *)own))
			continue;
		backend_key(svc, y->i, y->b, key, sizeof(key));
		backend_key(svc, x->i, x->b, fkey, sizeof(fkey));
		report(c, false, key,
		       "expected a backend address, port and site not already "
		       "in service %s; found %s port %u of %s again (first at line "
		       "%u, %s)",
		       s->name ? s->name : "?", gw_ip_format(&y->b->address, a, sizeof(a)),
		       y->b->port, y->b->site ? y->b->site : own, line_of(c, fkey), fkey);
	}
}

static void check_services(struct checker *c)
{
	const struct gw_config *cfg = c->cfg;
	struct backend_ref *refs;
	size_t i, j, total = 0, most = 0, most_svc = 0;
	char key[96], pr[32];

	if (over_limit(c, cfg->n_services, cfg->limits.services, "services", "services"))
		return;
	check_unique(c, cfg->services, cfg->n_services, sizeof(*cfg->services),
		     offsetof(struct gw_service_conf, name), "services", "name", "service");
	for (i = 0; i < cfg->n_services; i++) {
		total += cfg->services[i].n_backends;
		if (cfg->services[i].n_backends > most) {
			most = cfg->services[i].n_backends;
			most_svc = i;
		}
	}
	if (total > cfg->limits.backends) {
		report(c, false, "services",
		       "expected at most %u backends in all services "
		       "(limits.backends); found %zu",
		       cfg->limits.backends, total);
		return;
	}
	refs = malloc((most + 1) * sizeof(*refs));
	if (!refs) {
		c->oom = true;
		return;
	}
	for (i = 0; i < cfg->n_services; i++) {
		const struct gw_service_conf *s = &cfg->services[i];

		if (s->l7 != GW_L7_NONE) {
			for (j = 0; j < s->n_ports; j++) {
				if (s->ports[j].proto == GW_PROTO_TCP || !s->ports[j].lo)
					continue;
				snprintf(key, sizeof(key), "services[%zu].ports[%zu]", i, j);
				report(c, false, key,
				       "expected tcp ports for an L7 service (l7 = %s); "
				       "found \"%s\"",
				       gw_l7_name(s->l7),
				       gw_port_range_format(&s->ports[j], pr, sizeof(pr)));
			}
		}
		if (s->min_local_healthy && s->affinity != GW_AFFINITY_NONE) {
			snprintf(key, sizeof(key), "services[%zu].min_local_healthy", i);
			report(c, false, key,
			       "expected 0 with affinity = %s (only affinity none "
			       "spills over to other sites); found %u",
			       gw_affinity_name(s->affinity), s->min_local_healthy);
		}
		if (s->health.timeout_ms > s->health.interval_ms) {
			snprintf(key, sizeof(key), "services[%zu].health.timeout_ms", i);
			report(c, false, key, "expected at most health.interval_ms (%u); found %u",
			       s->health.interval_ms, s->health.timeout_ms);
		}
		check_backends(c, i, refs);
	}
	free(refs);
	if (most > cfg->limits.maglev_table_size) {
		snprintf(key, sizeof(key), "services[%zu].backends", most_svc);
		report(c, false, key,
		       "expected at most limits.maglev_table_size (%u) backends; "
		       "found %zu",
		       cfg->limits.maglev_table_size, most);
	} else if (most && cfg->limits.maglev_table_size / 100 < most) {
		report(c, true, "limits.maglev_table_size",
		       "%u is less than 100 times the %zu backends of services[%zu]; Maglev "
		       "spreads flows unevenly with so small a table",
		       cfg->limits.maglev_table_size, most, most_svc);
	}
	check_vips(c);
}

/* One network of one identity, to find networks claimed twice in a site. */
struct net_ref {
	const struct gw_cidr *net;
	const char *site;
	size_t id, i;
};

static int cmp_net_ref(const void *a, const void *b)
{
	const struct net_ref *x = a, *y = b;
	int r = ip_cmp(&x->net->addr, &y->net->addr);

	if (r)
		return r;
	if (x->net->prefix_len != y->net->prefix_len)
		return x->net->prefix_len < y->net->prefix_len ? -1 : 1;
	r = strcmp(x->site, y->site);
	if (r)
		return r;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Source classification is a longest-prefix match per site: one network
 * can name one identity only. */
static void check_identity_nets(struct checker *c)
{
	const struct gw_config *cfg = c->cfg;
	const char *own = cfg->site.name ? cfg->site.name : "";
	struct net_ref *v;
	size_t i, j, n = 0;
	char key[64], fkey[64], net[64];

	for (i = 0; i < cfg->n_identities; i++)
		n += cfg->identities[i].n_cidrs;
	v = malloc((n + 1) * sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	n = 0;
	for (i = 0; i < cfg->n_identities; i++) {
		const struct gw_identity_conf *id = &cfg->identities[i];

		for (j = 0; j < id->n_cidrs; j++)
			if (id->cidrs[j].addr.family)
				v[n++] = (struct net_ref){&id->cidrs[j], id->site ? id->site : own,
							  i, j};
	}
	qsort(v, n, sizeof(*v), cmp_net_ref);
	for (i = 1; i < n; i++) {
		const struct net_ref *x = &v[i - 1], *y = &v[i];

		if (ip_cmp(&x->net->addr, &y->net->addr) ||
		    x->net->prefix_len != y->net->prefix_len || strcmp(x->site, y->site))
			continue;
		snprintf(key, sizeof(key), "identities[%zu].cidrs[%zu]", y->id, y->i);
		snprintf(fkey, sizeof(fkey), "identities[%zu].cidrs[%zu]", x->id, x->i);
		report(c, false, key,
		       "expected a network no other entry of site %s has; found %s again (first "
		       "at line %u, %s)",
		       y->site, gw_cidr_format(y->net, net, sizeof(net)), line_of(c, fkey), fkey);
	}
	free(v);
}

static int cmp_identity_id(const void *a, const void *b, void *arg)
{
	const struct gw_identity_conf *v = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (v[x].id != v[y].id)
		return v[x].id < v[y].id ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void check_identities(struct checker *c)
{
	const struct gw_config *cfg = c->cfg;
	const struct gw_identity_conf *v = cfg->identities;
	size_t *idx, i, m = 0;
	char key[64], fkey[64];

	if (over_limit(c, cfg->n_identities, cfg->limits.identities, "identities", "identities"))
		return;
	check_unique(c, v, cfg->n_identities, sizeof(*v), offsetof(struct gw_identity_conf, name),
		     "identities", "name", "identity");
	for (i = 0; i < cfg->n_identities; i++) {
		snprintf(key, sizeof(key), "identities[%zu].site", i);
		check_site_ref(c, v[i].site, key);
	}
	check_identity_nets(c);
	idx = malloc((cfg->n_identities + 1) * sizeof(*idx));
	if (!idx) {
		c->oom = true;
		return;
	}
	for (i = 0; i < cfg->n_identities; i++)
		if (v[i].id)
			idx[m++] = i;
	qsort_r(idx, m, sizeof(*idx), cmp_identity_id, (void *)v);
	for (i = 1; i < m; i++) {
		if (v[idx[i]].id != v[idx[i - 1]].id)
			continue;
		snprintf(key, sizeof(key), "identities[%zu].id", idx[i]);
		snprintf(fkey, sizeof(fkey), "identities[%zu]", idx[i - 1]);
		report(c, false, key,
		       "expected an id no other identity has; found %u, already "
		       "%s's (%s, line %u)",
		       v[idx[i]].id, v[idx[i - 1]].name ? v[idx[i - 1]].name : "?", fkey,
		       line_of(c, fkey));
	}
	free(idx);
}

static bool ports_cover(const struct gw_service_conf *s, const struct gw_port_range *r)
{
	size_t i;

	for (i = 0; i < s->n_ports; i++)
		if (s->ports[i].proto == r->proto && s->ports[i].lo <= r->lo &&
		    r->hi <= s->ports[i].hi)
			return true;
	return false;
}

static void check_policies(struct checker *c)
{
	const struct gw_config *cfg = c->cfg;
	char key[64], pr[32];
	size_t i, j, k;

	check_unique(c, cfg->policies, cfg->n_policies, sizeof(*cfg->policies),
		     offsetof(struct gw_policy_conf, name), "policies", "name", "policy");
	for (i = 0; i < cfg->n_policies; i++) {
		const struct gw_policy_conf *p = &cfg->policies[i];
		const struct gw_service_conf *s = NULL;
		bool names_ok = true;

		if (!p->to)
			continue;
		for (j = 0; j < cfg->n_services && !s; j++) {
			if (!cfg->services[j].name)
				names_ok = false;
			else if (!strcmp(cfg->services[j].name, p->to))
				s = &cfg->services[j];
		}
		if (!s) {
			snprintf(key, sizeof(key), "policies[%zu].to", i);
			if (names_ok)
				report(c, false, key,
				       "expected the name of a service in services; "
				       "found \"%s\"",
				       p->to);
			continue;
		}
		for (k = 0; k < p->n_ports; k++) {
			if (!p->ports[k].lo || ports_cover(s, &p->ports[k]))
				continue;
			snprintf(key, sizeof(key), "policies[%zu].ports[%zu]", i, k);
			report(c, false, key, "expected ports of service %s; found \"%s\"", s->name,
			       gw_port_range_format(&p->ports[k], pr, sizeof(pr)));
		}
		if (p->n_http && s->l7 == GW_L7_NONE) {
			snprintf(key, sizeof(key), "policies[%zu].http", i);
			report(c, false, key,
			       "expected no http rules, as service %s has l7 = none "
			       "and its traffic is never parsed as HTTP; found %zu",
			       s->name, p->n_http);
		}
	}
}

static bool is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	for (d = 2; d <= n / d; d++)
		if (n % d == 0)
			return false;
	return true;
}

static void check_limits(struct checker *c)
{
	const struct gw_limits_conf *l = &c->cfg->limits;

	if (l->flow_cache_entries & (l->flow_cache_entries - 1))
		report(c, false, "limits.flow_cache_entries",
		       "expected 0 (no flow cache) or a power of two; found %u",
		       l->flow_cache_entries);
	if (!is_prime(l->maglev_table_size))
		report(c, false, "limits.maglev_table_size", "expected a prime number; found %u",
		       l->maglev_table_size);
	if (l->snat_port_min >= l->snat_port_max)
		report(c, false, "limits.snat_port_min",
		       "expected less than limits.snat_port_max (%u); found %u", l->snat_port_max,
		       l->snat_port_min);
}

/* The fast interval is both a probe's answer timeout and the pace of the
 * probes that confirm a suspected peer: at or above the interval it would
 * never be the faster one. */
static void check_probes(struct checker *c)
{
	const struct gw_probes_conf *p = &c->cfg->probes;

	if (p->fast_interval_ms >= p->interval_ms)
		report(c, false, "probes.fast_interval_ms",
		       "expected less than probes.interval_ms (%u); found %u", p->interval_ms,
		       p->fast_interval_ms);
}

static void check_etcd(struct checker *c)
{
	const struct gw_tls_files *t = &c->cfg->etcd.tls;

	if (t->cert && !t->key)
		report(c, false, "etcd.tls.key",
		       "expected a key file with etcd.tls.cert; found none");
	if (t->key && !t->cert)
		report(c, false, "etcd.tls.cert",
		       "expected a certificate file with etcd.tls.key; "
		       "found none");
}

int gw_config_check(const struct gw_config *cfg, struct gw_config_errors *errs)
{
	struct checker c = {.cfg = cfg, .errs = errs};

	check_limits(&c);
	check_probes(&c);
	check_etcd(&c);
	check_peers(&c);
	check_services(&c);
	check_identities(&c);
	check_policies(&c);
	if (c.oom)
		return -ENOMEM;
	return c.n_err ? -EINVAL : 0;
}
