/* Service and backend ids across a reload and a restart: what stays keeps
 * the id the data plane's keys and tables name it by, what is new takes an
 * id they name nothing by, and what went is retired until they no longer
 * name it (include/gw/lb.h, gw_balancer_keep_ids, gw_balancer_take_ids). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gw/lb.h"

/* The id states a balancer is to have, while they are worked out. */
struct id_plan {
	uint32_t n_svc, n_be;
	uint8_t *svc;	/* GW_LB_ID_* by service id */
	uint8_t *be;	/* GW_LB_ID_* by backend id */
	uint32_t *by;	/* a retired backend id: the service id whose tables name it */
	bool take_last; /* when none is free, a retired id may be taken */
};

static int plan_init(struct id_plan *p, const struct gw_config *cfg, bool take_last)
{
	memset(p, 0, sizeof(*p));
	p->n_svc = cfg->limits.services;
	p->n_be = cfg->limits.backends;
	p->take_last = take_last;
	p->svc = calloc(p->n_svc ? p->n_svc : 1, 1);
	p->be = calloc(p->n_be ? p->n_be : 1, 1);
	p->by = calloc(p->n_be ? p->n_be : 1, sizeof(*p->by));
	return p->svc && p->be && p->by ? 0 : -ENOMEM;
}

static void plan_done(struct id_plan *p)
{
	free(p->svc);
	free(p->be);
	free(p->by);
}

/* Takes id in ids (of n) if nothing has it yet: true if taken. */
static bool plan_claim(uint8_t *ids, uint32_t n, uint32_t id)
{
	if (id >= n || ids[id] != GW_LB_ID_FREE)
		return false;
	ids[id] = GW_LB_ID_USED;
	return true;
}

static void plan_retire_service(struct id_plan *p, uint32_t id)
{
	if (id < p->n_svc && p->svc[id] == GW_LB_ID_FREE)
		p->svc[id] = GW_LB_ID_RETIRED;
}

static void plan_retire_backend(struct id_plan *p, uint32_t id, uint32_t by)
{
	if (id >= p->n_be || p->be[id] != GW_LB_ID_FREE)
		return;
	p->be[id] = GW_LB_ID_RETIRED;
	p->by[id] = by;
}

/* A free id of ids (of n), else (take_last) a retired one; GW_LB_NO_ID. */
static uint32_t plan_alloc(uint8_t *ids, uint32_t n, bool take_last)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (plan_claim(ids, n, i))
			return i;
	for (i = 0; take_last && i < n; i++) {
		if (ids[i] == GW_LB_ID_RETIRED) {
			ids[i] = GW_LB_ID_USED;
			return i;
		}
	}
	return GW_LB_NO_ID;
}

/* The services and backends of lb without an id take one; then the plan
 * is lb's id state. 0 or -ENOSPC (lb's ids are then partly assigned). */
static int plan_install(struct gw_balancer *lb, struct id_plan *p)
{
	size_t i, j;
	uint32_t id;

	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		if (s->id == GW_LB_NO_ID) {
			s->id = plan_alloc(p->svc, p->n_svc, p->take_last);
			if (s->id == GW_LB_NO_ID)
				return -ENOSPC;
		}
		for (j = 0; j < s->n_backends; j++) {
			struct gw_lb_backend *b = &s->backends[j];

			if (b->id != GW_LB_NO_ID)
				continue;
			b->id = plan_alloc(p->be, p->n_be, p->take_last);
			if (b->id == GW_LB_NO_ID)
				return -ENOSPC;
		}
	}
	free(lb->service_ids);
	free(lb->backend_ids);
	free(lb->retired_by);
	lb->service_ids = p->svc;
	lb->backend_ids = p->be;
	lb->retired_by = p->by;
	p->svc = p->be = NULL;
	p->by = NULL;
	lb->n_retired_services = lb->n_retired = 0;
	for (id = 0; id < p->n_svc; id++)
		lb->n_retired_services += lb->service_ids[id] == GW_LB_ID_RETIRED;
	for (id = 0; id < p->n_be; id++)
		lb->n_retired += lb->backend_ids[id] == GW_LB_ID_RETIRED;
	return 0;
}

static bool ip_equal(const struct gw_ip *a, const struct gw_ip *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4) == 0;
}

/* Are a and b the same backend of a service: site, address and port? */
static bool backend_same(const struct gw_lb_backend *a, const struct gw_lb_backend *b)
{
	return a->local == b->local && a->port == b->port && a->site_id == b->site_id &&
	       strcmp(a->site, b->site) == 0 && ip_equal(&a->addr, &b->addr);
}

static void ids_clear(struct gw_balancer *lb)
{
	size_t i, j;

	for (i = 0; i < lb->n_services; i++) {
		lb->services[i]->id = GW_LB_NO_ID;
		for (j = 0; j < lb->services[i]->n_backends; j++)
			lb->services[i]->backends[j].id = GW_LB_NO_ID;
	}
}

int gw_balancer_keep_ids(struct gw_balancer *lb, const struct gw_balancer *old)
{
	uint32_t n_svc, n_be, id;
	struct id_plan p;
	size_t i, j, k;
	int r;

	r = plan_init(&p, lb->cfg, false);
	if (r)
		goto out;
	ids_clear(lb);
	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];
		const struct gw_lb_service *os =
			gw_lb_service_find((struct gw_balancer *)old, s->name);

		if (!os || !plan_claim(p.svc, p.n_svc, os->id))
			continue;
		s->id = os->id;
		for (j = 0; j < s->n_backends; j++) {
			for (k = 0; k < os->n_backends; k++) {
				if (backend_same(&s->backends[j], &os->backends[k]) &&
				    plan_claim(p.be, p.n_be, os->backends[k].id)) {
					s->backends[j].id = os->backends[k].id;
					break;
				}
			}
		}
	}
	/* What old's keys and tables name that lb does not keep: a removed
	 * service's id until its keys are gone, a removed backend's until
	 * the tables that named it are written (or emptied) */
	for (i = 0; i < old->n_services; i++) {
		const struct gw_lb_service *os = old->services[i];

		plan_retire_service(&p, os->id);
		for (j = 0; j < os->n_backends; j++)
			plan_retire_backend(&p, os->backends[j].id, os->id);
	}
	n_svc = old->cfg->limits.services < p.n_svc ? old->cfg->limits.services : p.n_svc;
	n_be = old->cfg->limits.backends < p.n_be ? old->cfg->limits.backends : p.n_be;
	for (id = 0; id < n_svc; id++)
		if (old->service_ids[id] == GW_LB_ID_RETIRED)
			plan_retire_service(&p, id);
	for (id = 0; id < n_be; id++)
		if (old->backend_ids[id] == GW_LB_ID_RETIRED)
			plan_retire_backend(&p, id, old->retired_by[id]);
	r = plan_install(lb, &p);
out:
	plan_done(&p);
	return r;
}

/* Does s have the data plane's key k (a VIP marker: port 0, protocol 0)? */
static bool service_has_key(const struct gw_lb_service *s, const struct gw_lb_svc_key_id *k)
{
	size_t i;

	for (i = 0; i < s->n_vips; i++)
		if (ip_equal(&s->vips[i], &k->vip))
			break;
	if (i == s->n_vips)
		return false;
	if (!k->port && !k->proto)
		return true;
	for (i = 0; i < s->n_ports; i++)
		if (s->ports[i].proto == k->proto && s->ports[i].lo <= k->port &&
		    k->port <= s->ports[i].hi)
			return true;
	return false;
}

static bool entry_is(const struct gw_lb_backend_id *e, const struct gw_lb_backend *b)
{
	return e->remote == !b->local && e->port == b->port && e->site_id == b->site_id &&
	       ip_equal(&e->addr, &b->addr);
}

/* The data plane's entry for b, a backend of service svc_id: one that
 * service's tables name, else one no table names (a backend that was down
 * or drained). An entry another service's tables name stays theirs, and a
 * service the data plane did not know is new, and so are its backends. */
static const struct gw_lb_backend_id *entry_find(const struct gw_lb_dp_ids *dp,
						 const struct id_plan *p, uint32_t svc_id,
						 const struct gw_lb_backend *b)
{
	const struct gw_lb_backend_id *unnamed = NULL;
	size_t i;

	if (svc_id == GW_LB_NO_ID)
		return NULL;
	for (i = 0; i < dp->n_backends; i++) {
		const struct gw_lb_backend_id *e = &dp->backends[i];

		if (!entry_is(e, b) || e->id >= p->n_be || p->be[e->id] != GW_LB_ID_FREE)
			continue;
		if (e->named_by == svc_id)
			return e;
		if (!unnamed && e->named_by == GW_LB_NO_ID)
			unnamed = e;
	}
	return unnamed;
}

static bool has_table(const struct gw_lb_dp_ids *dp, uint32_t id)
{
	size_t i;

	for (i = 0; i < dp->n_tables; i++)
		if (dp->tables[i] == id)
			return true;
	return false;
}

static struct gw_lb_service *service_by_id(struct gw_balancer *lb, uint32_t id)
{
	size_t i;

	for (i = 0; i < lb->n_services; i++)
		if (lb->services[i]->id == id)
			return lb->services[i];
	return NULL;
}

/* Adds key k, of a held service, to s's VIPs and ports, as far as they
 * have room: the keys s produces are the keys kept (svc_keep in apply.c). */
static void held_key_add(struct gw_lb_service *s, const struct gw_lb_svc_key_id *k)
{
	size_t i;

	for (i = 0; i < s->n_vips && !ip_equal(&s->vips[i], &k->vip); i++)
		;
	if (i == s->n_vips && i < GW_CONFIG_MAX_VIPS)
		s->vips[s->n_vips++] = k->vip;
	if (!k->port && !k->proto)
		return;
	for (i = 0; i < s->n_ports; i++) {
		struct gw_port_range *r = &s->ports[i];

		if (r->proto != k->proto)
			continue;
		if (r->lo <= k->port && k->port <= r->hi)
			return;
		if (k->port + 1 == r->lo || k->port == r->hi + 1) {
			r->lo = k->port < r->lo ? k->port : r->lo;
			r->hi = k->port > r->hi ? k->port : r->hi;
			return;
		}
	}
	if (s->n_ports < GW_CONFIG_MAX_PORTS)
		s->ports[s->n_ports++] =
			(struct gw_port_range){.lo = k->port, .hi = k->port, .proto = k->proto};
}

/* What the running data plane has that lb does not know: the services its
 * keys lead to that no service took (with a table), and the remote
 * backends that the tables of lb's services and of those name and no
 * backend took. Held, with their ids (include/gw/lb.h). */
static int take_held(struct gw_balancer *lb, const struct gw_lb_dp_ids *dp, struct id_plan *p)
{
	const struct gw_lb_backend_id *e;
	struct gw_lb_service *s;
	size_t i, j;

	for (i = 0; i < dp->n_keys; i++) {
		const struct gw_lb_svc_key_id *k = &dp->keys[i];

		s = service_by_id(lb, k->id);
		if (!s && has_table(dp, k->id) && plan_claim(p->svc, p->n_svc, k->id)) {
			s = gw_lb_held_service_add(lb, k->id);
			if (!s)
				return -ENOMEM;
		}
		if (s && s->held)
			held_key_add(s, k);
	}
	for (i = 0; i < dp->n_backends; i++) {
		e = &dp->backends[i];
		if (!e->remote || e->named_by == GW_LB_NO_ID || e->id >= p->n_be ||
		    p->be[e->id] != GW_LB_ID_FREE)
			continue;
		s = service_by_id(lb, e->named_by);
		if (!s)
			continue;
		if (!gw_lb_held_backend_add(s, e->id, &e->addr, e->port, e->site_id))
			return -ENOMEM;
		p->be[e->id] = GW_LB_ID_USED;
	}
	/* a held service whose tables name no remote backend held nothing
	 * of another site: it goes, its id retired as any unknown key's */
	for (i = 0, j = 0; i < lb->n_services; i++) {
		s = lb->services[i];
		if (s->held && !s->n_backends) {
			p->svc[s->id] = GW_LB_ID_FREE;
			free(s->backends);
			free(s);
			continue;
		}
		lb->services[j++] = s;
	}
	lb->n_services = j;
	return 0;
}

int gw_balancer_take_ids(struct gw_balancer *lb, const struct gw_lb_dp_ids *dp)
{
	const struct gw_lb_backend_id *e;
	struct id_plan p;
	size_t i, j;
	int r;

	r = plan_init(&p, lb->cfg, true);
	if (r)
		goto out;
	ids_clear(lb);
	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		for (j = 0; j < dp->n_keys && s->id == GW_LB_NO_ID; j++)
			if (service_has_key(s, &dp->keys[j]) &&
			    plan_claim(p.svc, p.n_svc, dp->keys[j].id))
				s->id = dp->keys[j].id;
		for (j = 0; j < s->n_backends; j++) {
			e = entry_find(dp, &p, s->id, &s->backends[j]);
			if (e && plan_claim(p.be, p.n_be, e->id))
				s->backends[j].id = e->id;
		}
	}
	r = take_held(lb, dp, &p);
	if (r)
		goto out;
	for (i = 0; i < dp->n_keys; i++)
		plan_retire_service(&p, dp->keys[i].id);
	for (i = 0; i < dp->n_tables; i++)
		plan_retire_service(&p, dp->tables[i]);
	for (i = 0; i < dp->n_backends; i++)
		if (dp->backends[i].named_by != GW_LB_NO_ID)
			plan_retire_backend(&p, dp->backends[i].id, dp->backends[i].named_by);
	r = plan_install(lb, &p);
out:
	plan_done(&p);
	return r;
}

const uint32_t *gw_lb_take_freed(struct gw_balancer *lb, size_t *ret_n)
{
	*ret_n = lb->n_freed;
	lb->n_freed = 0;
	return lb->freed;
}

void gw_lb_release_ids(struct gw_balancer *lb)
{
	uint32_t n = lb->cfg->limits.backends, ns = lb->cfg->limits.services, id, by;
	uint8_t *pending;
	size_t i;

	if (!lb->n_retired && !lb->n_retired_services)
		return;
	/* the services whose tables still wait to be written */
	pending = calloc(ns, 1);
	if (!pending)
		return; /* the ids stay retired until the next batch */
	for (i = 0; i < lb->n_services; i++)
		if (lb->services[i]->dirty || gw_lb_service_holds(lb->services[i], AF_INET) ||
		    gw_lb_service_holds(lb->services[i], AF_INET6))
			pending[lb->services[i]->id] = 1;
	for (id = 0; id < n; id++) {
		by = lb->retired_by[id];
		if (lb->backend_ids[id] != GW_LB_ID_RETIRED || (by < ns && pending[by]))
			continue;
		lb->backend_ids[id] = GW_LB_ID_FREE;
		lb->n_retired--;
		if (lb->n_freed < n)
			lb->freed[lb->n_freed++] = id;
	}
	/* their keys and tables are gone (the caller's word) */
	for (id = 0; id < ns; id++) {
		if (lb->service_ids[id] != GW_LB_ID_RETIRED)
			continue;
		lb->service_ids[id] = GW_LB_ID_FREE;
		lb->n_retired_services--;
	}
	free(pending);
}
