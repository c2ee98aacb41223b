/* Run-time load-balancing state: config services and backends, other
 * sites' exports, peers and liveness, and the selection of each Maglev
 * table's backends (affinity, graded spillover, drain, weights, health). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gw/abi/maps.h"
#include "gw/lb.h"

void gw_lb_backend_name(const struct gw_lb_backend *be, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(be->addr.family, be->addr.addr, a, sizeof(a));
	if (be->addr.family == AF_INET6)
		snprintf(buf, n, "[%s]:%u", a, be->port);
	else
		snprintf(buf, n, "%s:%u", a, be->port);
}

static int id_alloc(uint8_t *used, uint32_t n, uint32_t *ret)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (!used[i]) {
			used[i] = 1;
			*ret = i;
			return 0;
		}
	}
	return -ENOSPC;
}

static void backend_key(struct gw_lb_backend *b)
{
	char key[160];
	int n;

	n = snprintf(key, sizeof(key), "%s|", b->site);
	gw_lb_backend_name(b, key + n, sizeof(key) - n);
	b->key = gw_maglev_key(key, strlen(key));
}

/* Room for one more backend in s (zeroed, healthy, id GW_LB_NO_ID). */
static struct gw_lb_backend *backend_push(struct gw_lb_service *s)
{
	struct gw_lb_backend *b;

	if (s->n_backends == s->cap_backends) {
		size_t cap = s->cap_backends ? s->cap_backends * 2 : 8;
		void *p = realloc(s->backends, cap * sizeof(*s->backends));

		if (!p)
			return NULL;
		s->backends = p;
		s->cap_backends = cap;
	}
	b = &s->backends[s->n_backends++];
	memset(b, 0, sizeof(*b));
	b->id = GW_LB_NO_ID;
	b->healthy = true;
	return b;
}

static struct gw_lb_backend *backend_add(struct gw_balancer *lb, struct gw_lb_service *s)
{
	struct gw_lb_backend *b;
	uint32_t id;

	if (id_alloc(lb->backend_ids, lb->cfg->limits.backends, &id))
		return NULL;
	b = backend_push(s);
	if (!b) {
		lb->backend_ids[id] = GW_LB_ID_FREE;
		return NULL;
	}
	b->id = id;
	return b;
}

/* Backend id (of a table of service id by) to retire, if in use. */
static void backend_id_retire(struct gw_balancer *lb, uint32_t id, uint32_t by)
{
	if (id >= lb->cfg->limits.backends || lb->backend_ids[id] != GW_LB_ID_USED)
		return;
	lb->backend_ids[id] = GW_LB_ID_RETIRED;
	lb->retired_by[id] = by;
	lb->n_retired++;
}

/* Its id is retired, not freed: s's tables in the data plane name it until
 * they are written again (gw_lb_release_ids). */
static void backend_remove_at(struct gw_balancer *lb, struct gw_lb_service *s, size_t i)
{
	backend_id_retire(lb, s->backends[i].id, s->id);
	memmove(&s->backends[i], &s->backends[i + 1],
		(s->n_backends - i - 1) * sizeof(*s->backends));
	s->n_backends--;
}

/* A new service of lb, of data-plane id id (GW_LB_NO_ID: a free one). */
static struct gw_lb_service *service_add_id(struct gw_balancer *lb, const char *name, uint32_t id)
{
	struct gw_lb_service *s, **arr;

	arr = realloc(lb->services, (lb->n_services + 1) * sizeof(*arr));
	if (!arr)
		return NULL;
	lb->services = arr;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (id == GW_LB_NO_ID && id_alloc(lb->service_ids, lb->cfg->limits.services, &id)) {
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->id = id;
	s->dirty = s->keys_dirty = true;
	lb->services[lb->n_services++] = s;
	return s;
}

static struct gw_lb_service *service_add(struct gw_balancer *lb, const char *name)
{
	return service_add_id(lb, name, GW_LB_NO_ID);
}

struct gw_lb_service *gw_lb_held_service_add(struct gw_balancer *lb, uint32_t id)
{
	struct gw_lb_service *s;
	char name[32];

	/* a name no config or export service has: export names are
	 * [a-z0-9-] (cluster-sync/records.c) */
	snprintf(name, sizeof(name), "(held %u)", id);
	s = service_add_id(lb, name, id);
	if (!s)
		return NULL;
	s->held = true;
	s->affinity = GW_AFFINITY_NONE;
	s->l7 = GW_L7_NONE;
	return s;
}

struct gw_lb_backend *gw_lb_held_backend_add(struct gw_lb_service *svc, uint32_t id,
					     const struct gw_ip *addr, uint16_t port,
					     uint16_t site_id)
{
	struct gw_lb_backend *b = backend_push(svc);

	if (!b)
		return NULL;
	b->id = id;
	b->addr = *addr;
	b->port = port;
	b->site_id = site_id;
	b->held = true;
	return b;
}

bool gw_lb_service_holds(const struct gw_lb_service *svc, int family)
{
	size_t i;

	for (i = 0; i < svc->n_backends; i++)
		if (svc->backends[i].held && svc->backends[i].addr.family == family)
			return true;
	return false;
}

bool gw_lb_holds(const struct gw_balancer *lb)
{
	size_t i, j;

	for (i = 0; i < lb->n_services; i++)
		for (j = 0; j < lb->services[i]->n_backends; j++)
			if (lb->services[i]->backends[j].held)
				return true;
	return false;
}

void gw_lb_service_free(struct gw_balancer *lb, struct gw_lb_service *svc)
{
	size_t i;

	if (!svc)
		return;
	for (i = 0; i < svc->n_backends; i++)
		backend_id_retire(lb, svc->backends[i].id, svc->id);
	if (svc->id < lb->cfg->limits.services && lb->service_ids[svc->id] == GW_LB_ID_USED) {
		lb->service_ids[svc->id] = GW_LB_ID_RETIRED;
		lb->n_retired_services++;
	}
	free(svc->backends);
	free(svc);
}

static int add_config_service(struct gw_balancer *lb, const struct gw_service_conf *sc)
{
	const struct gw_config *cfg = lb->cfg;
	struct gw_lb_service *s = service_add(lb, sc->name);
	size_t j;

	if (!s)
		return -ENOMEM;
	s->conf = sc;
	s->n_vips = sc->n_vips < GW_CONFIG_MAX_VIPS ? sc->n_vips : GW_CONFIG_MAX_VIPS;
	memcpy(s->vips, sc->vips, s->n_vips * sizeof(*s->vips));
	s->n_ports = sc->n_ports < GW_CONFIG_MAX_PORTS ? sc->n_ports : GW_CONFIG_MAX_PORTS;
	memcpy(s->ports, sc->ports, s->n_ports * sizeof(*s->ports));
	s->affinity = sc->affinity;
	s->l7 = sc->l7;
	s->min_local_healthy = sc->min_local_healthy;
	for (j = 0; j < sc->n_backends; j++) {
		const struct gw_backend_conf *bc = &sc->backends[j];
		struct gw_lb_backend *b = backend_add(lb, s);

		if (!b)
			return -ENOSPC;
		b->addr = bc->address;
		b->port = bc->port;
		b->weight = bc->weight;
		snprintf(b->site, sizeof(b->site), "%s", bc->site);
		b->site_id = bc->local ? cfg->site.id : bc->site_id;
		b->local = bc->local;
		backend_key(b);
	}
	return 0;
}

struct gw_balancer *gw_balancer_new(const struct gw_config *cfg)
{
	struct gw_balancer *lb;
	size_t i;
	int r = -ENOMEM;

	lb = calloc(1, sizeof(*lb));
	if (!lb)
		goto fail;
	lb->cfg = cfg;
	lb->backend_ids = calloc(cfg->limits.backends, 1);
	lb->retired_by = calloc(cfg->limits.backends, sizeof(*lb->retired_by));
	lb->service_ids = calloc(cfg->limits.services, 1);
	lb->peers = calloc(cfg->limits.peers, sizeof(*lb->peers));
	if (!lb->backend_ids || !lb->retired_by || !lb->service_ids || !lb->peers)
		goto fail;
	for (i = 0; i < cfg->n_peers && i < cfg->limits.peers; i++) {
		const struct gw_peer_conf *pc = &cfg->peers[i];
		struct gw_lb_peer *p = &lb->peers[lb->n_peers++];

		snprintf(p->site, sizeof(p->site), "%s", pc->site);
		snprintf(p->gateway, sizeof(p->gateway), "%s", pc->gateway);
		p->site_id = pc->site_id;
		p->addr = pc->address;
		p->encrypt = pc->encrypt;
		p->configured = true;
		p->up = true; /* until probes say otherwise */
	}
	for (i = 0; i < cfg->n_services; i++) {
		r = add_config_service(lb, &cfg->services[i]);
		if (r)
			goto fail;
	}
	lb->peers_dirty = true;
	lb->version = 1;
	return lb;
fail:
	gw_balancer_free(lb);
	errno = -r;
	return NULL;
}

/* Is p the gateway of site site_id at addr? */
static bool peer_is(const struct gw_lb_peer *p, uint16_t site_id, const struct gw_ip *addr)
{
	return p->site_id == site_id && memcmp(&p->addr, addr, sizeof(*addr)) == 0;
}

static bool slot_free(const struct gw_lb_peer *p)
{
	return !p->configured && !p->learned && !p->held;
}

/* lb's peer slots become peers[0..n-1] (of limits.peers). */
static void peers_install(struct gw_balancer *lb, struct gw_lb_peer *peers, size_t n)
{
	free(lb->peers);
	lb->peers = peers;
	lb->n_peers = n;
	lb->peers_dirty = true;
}

int gw_balancer_take_peer_ids(struct gw_balancer *lb, const struct gw_lb_peer_id *ids, size_t n)
{
	size_t cap = lb->cfg->limits.peers, i, j, top = 0;
	struct gw_lb_peer *peers = calloc(cap, sizeof(*peers));
	bool *placed = calloc(lb->n_peers ? lb->n_peers : 1, sizeof(*placed));
	int r = 0;

	if (!peers || !placed) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct gw_lb_peer *p;

		if (!ids[i].id || ids[i].id > cap || !slot_free(&peers[ids[i].id - 1]))
			continue;
		p = &peers[ids[i].id - 1];
		for (j = 0; j < lb->n_peers; j++)
			if (!placed[j] && peer_is(&lb->peers[j], ids[i].site_id, &ids[i].addr))
				break;
		if (j < lb->n_peers) {
			*p = lb->peers[j];
			placed[j] = true;
		} else {
			p->addr = ids[i].addr;
			p->site_id = ids[i].site_id;
			p->held = true;
			p->up = true; /* once it is a peer again, until probes say otherwise */
		}
		top = ids[i].id > top ? ids[i].id : top;
	}
	/* the configured peers the data plane did not know: free slots */
	for (j = 0, i = 0; j < lb->n_peers; j++) {
		if (placed[j])
			continue;
		while (i < cap && !slot_free(&peers[i]))
			i++;
		if (i == cap) { /* cannot happen: as many slots as before */
			r = -ENOSPC;
			goto out;
		}
		peers[i] = lb->peers[j];
		top = i + 1 > top ? i + 1 : top;
	}
	peers_install(lb, peers, top);
	peers = NULL;
out:
	free(peers);
	free(placed);
	return r;
}

static const struct gw_lb_peer *peer_listed(const struct gw_lb_peer *peers, size_t n,
					    const struct gw_lb_peer *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (peers[i].configured && peer_is(&peers[i], p->site_id, &p->addr))
			return &peers[i];
	return NULL;
}

int gw_balancer_keep_peers(struct gw_balancer *lb, const struct gw_balancer *old)
{
	size_t cap = lb->cfg->limits.peers, n, i, j;
	struct gw_lb_peer *peers;
	bool *placed;
	int r = 0;

	n = old->n_peers < cap ? old->n_peers : cap;
	peers = calloc(cap, sizeof(*peers));
	placed = calloc(lb->n_peers ? lb->n_peers : 1, sizeof(*placed));
	if (!peers || !placed) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct gw_lb_peer *op = &old->peers[i];
		const struct gw_lb_peer *np = peer_listed(lb->peers, lb->n_peers, op);

		/* its id, liveness and probe state stay; the config says the rest */
		peers[i] = *op;
		if (np) {
			snprintf(peers[i].site, sizeof(peers[i].site), "%s", np->site);
			snprintf(peers[i].gateway, sizeof(peers[i].gateway), "%s", np->gateway);
			peers[i].encrypt = np->encrypt;
			placed[np - lb->peers] = true;
		}
		/* not listed any more: a free slot, whose address apply_peers
		 * removes from the data plane; a held slot stays held until
		 * its peer is listed or learned */
		peers[i].configured = np != NULL;
		peers[i].held = op->held && !np;
	}
	for (j = 0; j < lb->n_peers; j++) {
		if (placed[j])
			continue;
		/* a new peer takes a slot that was free before this reload: a
		 * slot freed now still holds the address the data plane must
		 * forget */
		for (i = 0; i < n && !(slot_free(&peers[i]) &&
				       (i >= old->n_peers || slot_free(&old->peers[i])));
		     i++)
			;
		if (i == cap) {
			r = -ENOSPC;
			goto out;
		}
		if (i == n)
			n++;
		peers[i] = lb->peers[j];
	}
	peers_install(lb, peers, n);
	peers = NULL;
out:
	free(peers);
	free(placed);
	return r;
}

void gw_balancer_free(struct gw_balancer *lb)
{
	size_t i;

	if (!lb)
		return;
	for (i = 0; i < lb->n_services; i++)
		gw_lb_service_free(lb, lb->services[i]);
	free(lb->services);
	free(lb->peers);
	free(lb->backend_ids);
	free(lb->retired_by);
	free(lb->service_ids);
	free(lb);
}

struct gw_lb_service *gw_lb_service_find(struct gw_balancer *lb, const char *name)
{
	size_t i;

	for (i = 0; i < lb->n_services; i++)
		if (strcmp(lb->services[i]->name, name) == 0)
			return lb->services[i];
	return NULL;
}

struct gw_lb_backend *gw_lb_backend_find(struct gw_lb_service *svc, const char *addr_port,
					 const char *site)
{
	char name[INET6_ADDRSTRLEN + 16];
	size_t i;

	for (i = 0; i < svc->n_backends; i++) {
		if (site && strcmp(site, svc->backends[i].site) != 0)
			continue;
		gw_lb_backend_name(&svc->backends[i], name, sizeof(name));
		if (strcmp(name, addr_port) == 0)
			return &svc->backends[i];
	}
	return NULL;
}

bool gw_lb_site_up(const struct gw_balancer *lb, uint16_t site_id)
{
	return gw_lb_site_peer(lb, site_id) != 0;
}

uint32_t gw_lb_site_peer(const struct gw_balancer *lb, uint16_t site_id)
{
	size_t i;

	for (i = 0; i < lb->n_peers; i++)
		if (lb->peers[i].site_id == site_id && lb->peers[i].up &&
		    (lb->peers[i].configured || lb->peers[i].learned))
			return i + 1;
	return 0;
}

enum gw_lb_state gw_lb_backend_state(const struct gw_balancer *lb, const struct gw_lb_backend *be)
{
	if (!be->healthy)
		return GW_LB_DOWN;
	if (!be->local && !gw_lb_site_up(lb, be->site_id))
		return GW_LB_DOWN;
	if (be->drained || be->weight == 0)
		return GW_LB_DRAINING;
	return GW_LB_ACTIVE;
}

const char *gw_lb_state_name(enum gw_lb_state s)
{
	switch (s) {
	case GW_LB_ACTIVE:
		return "active";
	case GW_LB_DRAINING:
		return "draining";
	default:
		return "down";
	}
}

static size_t add_backends(const struct gw_balancer *lb, const struct gw_lb_service *svc,
			   bool local, int family, struct gw_maglev_backend *out, size_t n)
{
	size_t i;

	for (i = 0; i < svc->n_backends; i++) {
		const struct gw_lb_backend *b = &svc->backends[i];

		if (b->local != local || b->held || b->addr.family != family ||
		    gw_lb_backend_state(lb, b) != GW_LB_ACTIVE)
			continue;
		out[n].id = b->id;
		out[n].weight = b->weight;
		out[n].key = b->key;
		n++;
	}
	return n;
}

size_t gw_lb_select(const struct gw_balancer *lb, const struct gw_lb_service *svc, int table,
		    int family, struct gw_maglev_backend *out)
{
	size_t n_local;

	n_local = add_backends(lb, svc, true, family, out, 0);
	/* Flows from other sites were balanced to this site already. */
	if (table == GW_MAGLEV_PEER)
		return n_local;
	switch (svc->affinity) {
	case GW_AFFINITY_LOCAL:
		return n_local;
	case GW_AFFINITY_REMOTE:
		return add_backends(lb, svc, false, family, out, 0);
	default:
		/* Graded spillover: other sites join only while too few local
		 * backends are active. */
		if (svc->min_local_healthy && n_local >= svc->min_local_healthy)
			return n_local;
		return add_backends(lb, svc, false, family, out, n_local);
	}
}

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
		if (peer_is(&lb->peers[i], site_id, addr))
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
		if (slot_free(&lb->peers[i]))
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
				backend_remove_at(lb, s, j);
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
				backend_key(b);
			}
			b->site_id = site_id;
			return b;
		}
	}
	b = backend_add(lb, s);
	if (!b)
		return NULL;
	b->addr = *addr;
	b->port = port;
	snprintf(b->site, sizeof(b->site), "%s", site);
	b->site_id = site_id;
	backend_key(b);
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
				backend_remove_at(lb, s, j);
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
			s = service_add(lb, rs->name);
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
				s = service_add(lb, os->name);
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
				b = backend_add(lb, s);
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

size_t gw_lb_gc_services(struct gw_balancer *lb, struct gw_lb_service **removed)
{
	size_t i, n = 0, kept = 0;

	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		if (!s->conf && s->n_backends == 0)
			removed[n++] = s;
		else
			lb->services[kept++] = s;
	}
	lb->n_services = kept;
	return n;
}
