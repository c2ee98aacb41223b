/* Other sites in the balancer: their exports (services, backends, gateways)
 * applied, kept across a reload and withdrawn, their peers' liveness, and
 * the holds a restart keeps until their push. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw/lb.h"
#include "lb-int.h"

static void mark_site_services(struct gw_balancer *lb, uint16_t site_id)
{
	size_t i, j;

	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		for (j = 0; j < s->n_backends; j++) {
			if (s->backends[j].site_id == site_id) {
				s->dirty = true;
				break;
			}
		}
	}
}

bool gw_lb_peer_set_up(struct gw_balancer *lb, uint32_t peer_id, bool up)
{
	struct gw_lb_peer *p;
	bool site_was_up;

	if (!peer_id || peer_id > lb->n_peers)
		return false;
	p = &lb->peers[peer_id - 1];
	if (p->up == up)
		return false;
	site_was_up = gw_lb_site_up(lb, p->site_id);
	p->up = up;
	lb->peers_dirty = true;
	if (site_was_up != gw_lb_site_up(lb, p->site_id))
		mark_site_services(lb, p->site_id);
	return true;
}

static struct gw_lb_peer *peer_find(struct gw_balancer *lb, uint16_t site_id,
				    const struct gw_ip *addr)
{
	size_t i;

	for (i = 0; i < lb->n_peers; i++)
		if (gw_lb_peer_is(&lb->peers[i], site_id, addr))
			return &lb->peers[i];
	return NULL;
}

/* A slot for a new peer: a free one (neither configured, learned nor held)
 * is reused, so peer ids stay bounded by limits.peers; a slot held for
 * another address is taken last (the flows that named it are lost). */
static struct gw_lb_peer *peer_slot(struct gw_balancer *lb)
{
	size_t i;

	for (i = 0; i < lb->n_peers; i++)
		if (gw_lb_slot_free(&lb->peers[i]))
			return &lb->peers[i];
	if (lb->n_peers < lb->cfg->limits.peers)
		return &lb->peers[lb->n_peers++];
	for (i = 0; i < lb->n_peers; i++)
		if (lb->peers[i].held)
			return &lb->peers[i];
	return NULL;
}

/* Removes the backends of site that the update in progress did not list
 * (gw_lb_backend.listed), and clears the mark of the others. */
static void drop_unlisted(struct gw_balancer *lb, const char *site)
{
	size_t i, j;

	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		for (j = 0; j < s->n_backends;) {
			struct gw_lb_backend *b = &s->backends[j];

			if (!b->local && strcmp(b->site, site) == 0 && !b->listed) {
				gw_lb_backend_remove_at(lb, s, j);
				s->dirty = true;
				continue;
			}
			b->listed = false;
			j++;
		}
	}
}

/* The backend of site at addr:port in s; added (healthy, with a fresh id)
 * if s has none. One that stays keeps its id, and so its place in the
 * tables, and its drain: whether this gateway sends it new flows is the
 * operator's call. NULL when every backend id is taken. */
static struct gw_lb_backend *site_backend_get(struct gw_balancer *lb, struct gw_lb_service *s,
					      const char *site, uint16_t site_id,
					      const struct gw_ip *addr, uint16_t port)
{
	struct gw_lb_backend *b;
	size_t i;

	for (i = 0; i < s->n_backends; i++) {
		b = &s->backends[i];
		if (!b->local && b->port == port && memcmp(&b->addr, addr, sizeof(*addr)) == 0 &&
		    (b->held ? b->site_id == site_id : strcmp(b->site, site) == 0)) {
			/* a held one is this backend: its id is what the
			 * tables name, and it is its site's again */
			if (b->held) {
				b->held = false;
				snprintf(b->site, sizeof(b->site), "%s", site);
				gw_lb_backend_key(b);
			}
			b->site_id = site_id;
			return b;
		}
	}
	b = gw_lb_backend_add(lb, s);
	if (!b)
		return NULL;
	b->addr = *addr;
	b->port = port;
	snprintf(b->site, sizeof(b->site), "%s", site);
	b->site_id = site_id;
	gw_lb_backend_key(b);
	return b;
}

static void remote_gateways_set(struct gw_balancer *lb, const char *site, uint16_t site_id,
				const struct gw_lb_remote_gateway *gws, size_t n_gws)
{
	bool was_up = gw_lb_site_up(lb, site_id);
	size_t i, j;

	for (i = 0; i < lb->n_peers; i++) {
		struct gw_lb_peer *p = &lb->peers[i];
		bool listed = false;

		if (p->site_id != site_id || !p->learned)
			continue;
		for (j = 0; j < n_gws && !listed; j++)
			listed = memcmp(&p->addr, &gws[j].addr, sizeof(p->addr)) == 0;
		if (!listed) {
			p->learned = false;
			lb->peers_dirty = true;
		}
	}
	for (j = 0; j < n_gws; j++) {
		struct gw_lb_peer *p = peer_find(lb, site_id, &gws[j].addr);

		if (p && p->learned)
			continue;
		if (!p || p->held) { /* held: the slot the data plane knows it by */
			p = p ? p : peer_slot(lb);
			if (!p) {
				lb->refused++;
				continue;
			}
			memset(p, 0, sizeof(*p));
			snprintf(p->site, sizeof(p->site), "%s", site);
			snprintf(p->gateway, sizeof(p->gateway), "%s", gws[j].name);
			p->site_id = site_id;
			p->addr = gws[j].addr;
			p->up = true; /* probes take it down if it does not answer */
		}
		p->learned = true;
		lb->peers_dirty = true;
	}
	if (was_up != gw_lb_site_up(lb, site_id))
		mark_site_services(lb, site_id);
}

/* The held service that rs (not known by name) is: one with a VIP of
 * rs, which takes rs's name, and its id with it. NULL: none. */
static struct gw_lb_service *held_service_of(struct gw_balancer *lb,
					     const struct gw_lb_remote_service *rs)
{
	size_t i, v, w;

	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		for (v = 0; s->held && v < s->n_vips; v++) {
			for (w = 0; w < rs->n_vips; w++) {
				if (memcmp(&s->vips[v], &rs->vips[w], sizeof(s->vips[v])))
					continue;
				s->held = false;
				snprintf(s->name, sizeof(s->name), "%s", rs->name);
				s->keys_dirty = true;
				return s;
			}
		}
	}
	return NULL;
}

void gw_lb_release_holds(struct gw_balancer *lb, uint16_t site_id)
{
	size_t i, j;

	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		for (j = 0; j < s->n_backends;) {
			if (s->backends[j].held &&
			    (!site_id || s->backends[j].site_id == site_id)) {
				gw_lb_backend_remove_at(lb, s, j);
				s->dirty = true;
				continue;
			}
			j++;
		}
	}
}

int gw_lb_remote_site_set(struct gw_balancer *lb, const char *site, uint16_t site_id,
			  const struct gw_lb_remote_gateway *gws, size_t n_gws,
			  const struct gw_lb_remote_service *svcs, size_t n_svcs)
{
	bool refused = false;
	size_t i, j;

	if (!site_id || site_id == lb->cfg->site.id || strcmp(site, lb->cfg->site.name) == 0)
		return -EINVAL;
	remote_gateways_set(lb, site, site_id, gws, n_gws);
	for (i = 0; i < n_svcs; i++) {
		const struct gw_lb_remote_service *rs = &svcs[i];
		struct gw_lb_service *s = gw_lb_service_find(lb, rs->name);

		if (!s)
			s = held_service_of(lb, rs);
		if (!s) {
			s = gw_lb_service_add(lb, rs->name);
			if (!s) {
				lb->refused++;
				refused = true;
				continue;
			}
			s->affinity = GW_AFFINITY_NONE;
			s->l7 = GW_L7_NONE;
		}
		if (!s->conf) {
			/* Learned-only services take VIPs and ports from the export. */
			if (s->n_vips != rs->n_vips || s->n_ports != rs->n_ports ||
			    memcmp(s->vips, rs->vips, rs->n_vips * sizeof(*rs->vips)) ||
			    memcmp(s->ports, rs->ports, rs->n_ports * sizeof(*rs->ports)))
				s->keys_dirty = true;
			s->n_vips = rs->n_vips;
			memcpy(s->vips, rs->vips, rs->n_vips * sizeof(*rs->vips));
			s->n_ports = rs->n_ports;
			memcpy(s->ports, rs->ports, rs->n_ports * sizeof(*rs->ports));
		}
		for (j = 0; j < rs->n_backends; j++) {
			const struct gw_lb_remote_backend *rb = &rs->backends[j];
			struct gw_lb_backend *b =
				site_backend_get(lb, s, site, site_id, &rb->addr, rb->port);

			if (!b) {
				lb->refused++;
				refused = true;
				continue;
			}
			b->weight = rb->weight;
			b->healthy = rb->healthy;
			b->learned = true;
			b->listed = true;
		}
		s->dirty = true;
	}
	/* The site's export replaces whatever was known of it, the config's
	 * static entries included: the export is the fresher view, and so are
	 * the holds of what a restart found of it. Removed last, so that no
	 * backend added above takes the id of one removed here (the tables
	 * may still name it). */
	gw_lb_release_holds(lb, site_id);
	drop_unlisted(lb, site);
	return refused ? -ENOSPC : 0;
}

/* s's entry from the config (not learned) for the remote backend want. */
static struct gw_lb_backend *static_entry(struct gw_lb_service *s, const struct gw_lb_backend *want)
{
	size_t i;

	for (i = 0; i < s->n_backends; i++) {
		struct gw_lb_backend *b = &s->backends[i];

		if (!b->local && !b->learned && !b->held && b->port == want->port &&
		    strcmp(b->site, want->site) == 0 &&
		    memcmp(&b->addr, &want->addr, sizeof(b->addr)) == 0)
			return b;
	}
	return NULL;
}

int gw_balancer_keep_learned(struct gw_balancer *lb, const struct gw_balancer *old)
{
	size_t i, j;

	for (i = 0; i < old->n_services; i++) {
		const struct gw_lb_service *os = old->services[i];
		struct gw_lb_service *s = gw_lb_service_find(lb, os->name);

		for (j = 0; j < os->n_backends; j++) {
			struct gw_lb_backend *b;
			uint32_t id;

			if (!os->backends[j].learned && !os->backends[j].held)
				continue;
			if (!s) {
				s = gw_lb_service_add(lb, os->name);
				if (!s)
					return -ENOSPC;
				s->held = os->held;
				s->affinity = GW_AFFINITY_NONE;
				s->l7 = GW_L7_NONE;
				s->n_vips = os->n_vips;
				memcpy(s->vips, os->vips, os->n_vips * sizeof(*os->vips));
				s->n_ports = os->n_ports;
				memcpy(s->ports, os->ports, os->n_ports * sizeof(*os->ports));
			}
			/* the config's static entry that the export named is that
			 * backend: one entry, in the export's state (a second
			 * would be balanced to while lb is applied, and the
			 * export, applied again, would keep the wrong one) */
			b = os->backends[j].held ? NULL : static_entry(s, &os->backends[j]);
			if (!b)
				b = gw_lb_backend_add(lb, s);
			if (!b)
				return -ENOSPC;
			id = b->id;
			*b = os->backends[j];
			b->id = id;
		}
	}
	return 0;
}

int gw_lb_remote_site_del(struct gw_balancer *lb, const char *site)
{
	uint16_t site_id = 0;
	size_t i, j;
	int r = 0;

	for (i = 0; i < lb->n_peers; i++) {
		if (strcmp(lb->peers[i].site, site) == 0 && lb->peers[i].learned) {
			site_id = lb->peers[i].site_id;
			lb->peers[i].learned = false;
			lb->peers_dirty = true;
		}
	}
	/* The config's static entries for the site came from the config, not
	 * from the export that replaced them: they come back. One the export
	 * had as well keeps its id and its drain. */
	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		for (j = 0; s->conf && j < s->conf->n_backends; j++) {
			const struct gw_backend_conf *bc = &s->conf->backends[j];
			struct gw_lb_backend *b;

			if (bc->local || strcmp(bc->site, site) != 0)
				continue;
			b = site_backend_get(lb, s, site, bc->site_id, &bc->address, bc->port);
			if (!b) {
				lb->refused++;
				r = -ENOSPC;
				continue;
			}
			b->weight = bc->weight;
			b->healthy = true; /* as at start: nobody reports its health now */
			b->learned = false;
			b->listed = true;
			s->dirty = true;
		}
	}
	drop_unlisted(lb, site);
	if (site_id)
		mark_site_services(lb, site_id);
	return r;
}
