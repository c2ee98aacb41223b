/* Run-time load-balancing state: config services and backends, peers, and
 * the selection of each Maglev table's backends (affinity, graded spillover,
 * drain, weights, health). Other sites' exports are lb-remote.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gw/abi/maps.h"
#include "gw/lb.h"
#include "lb-int.h"

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

void gw_lb_backend_key(struct gw_lb_backend *b)
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

struct gw_lb_backend *gw_lb_backend_add(struct gw_balancer *lb, struct gw_lb_service *s)
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
void gw_lb_backend_remove_at(struct gw_balancer *lb, struct gw_lb_service *s, size_t i)
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

struct gw_lb_service *gw_lb_service_add(struct gw_balancer *lb, const char *name)
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
	struct gw_lb_service *s = gw_lb_service_add(lb, sc->name);
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
		struct gw_lb_backend *b = gw_lb_backend_add(lb, s);

		if (!b)
			return -ENOSPC;
		b->addr = bc->address;
		b->port = bc->port;
		b->weight = bc->weight;
		snprintf(b->site, sizeof(b->site), "%s", bc->site);
		b->site_id = bc->local ? cfg->site.id : bc->site_id;
		b->local = bc->local;
		gw_lb_backend_key(b);
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
	lb->freed = calloc(cfg->limits.backends, sizeof(*lb->freed));
	lb->service_ids = calloc(cfg->limits.services, 1);
	lb->peers = calloc(cfg->limits.peers, sizeof(*lb->peers));
	if (!lb->backend_ids || !lb->retired_by || !lb->freed || !lb->service_ids || !lb->peers)
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

		if (!ids[i].id || ids[i].id > cap || !gw_lb_slot_free(&peers[ids[i].id - 1]))
			continue;
		p = &peers[ids[i].id - 1];
		for (j = 0; j < lb->n_peers; j++)
			if (!placed[j] &&
			    gw_lb_peer_is(&lb->peers[j], ids[i].site_id, &ids[i].addr))
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
		while (i < cap && !gw_lb_slot_free(&peers[i]))
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
		if (peers[i].configured && gw_lb_peer_is(&peers[i], p->site_id, &p->addr))
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
		for (i = 0; i < n && !(gw_lb_slot_free(&peers[i]) &&
				       (i >= old->n_peers || gw_lb_slot_free(&old->peers[i])));
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
	free(lb->freed);
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
