/* Site configuration cross-checks over a parsed config (gw_config_check):
 * references, uniqueness, limits, and what only makes sense together. */
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

#include "gw/config.h"

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
