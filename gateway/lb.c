/* Run-time load-balancing state and the selection of each Maglev table's
 * backends: affinity, graded spillover, drain, weights, health, peers. */
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
	const struct gw_ip *ip = &be->conf->address;

	inet_ntop(ip->family, ip->addr, a, sizeof(a));
	if (ip->family == AF_INET6)
		snprintf(buf, n, "[%s]:%u", a, be->conf->port);
	else
		snprintf(buf, n, "%s:%u", a, be->conf->port);
}

static uint32_t peer_of_site(const struct gw_config *cfg, const char *site)
{
	size_t i;

	for (i = 0; i < cfg->n_peers; i++)
		if (strcmp(cfg->peers[i].site, site) == 0)
			return i + 1;
	return 0;
}

struct gw_balancer *gw_balancer_new(const struct gw_config *cfg)
{
	struct gw_balancer *lb;
	uint32_t next_id = 0;
	size_t i, j;

	lb = calloc(1, sizeof(*lb));
	if (!lb)
		return NULL;
	lb->cfg = cfg;
	lb->peer_up = calloc(cfg->n_peers + 1, sizeof(*lb->peer_up));
	lb->services = calloc(cfg->n_services ? cfg->n_services : 1, sizeof(*lb->services));
	if (!lb->peer_up || !lb->services)
		goto fail;
	for (i = 1; i <= cfg->n_peers; i++)
		lb->peer_up[i] = true; /* static peers: up until probes say otherwise */
	lb->n_services = cfg->n_services;
	for (i = 0; i < cfg->n_services; i++) {
		const struct gw_service_conf *sc = &cfg->services[i];
		struct gw_lb_service *s = &lb->services[i];

		s->conf = sc;
		s->id = i;
		s->n_backends = sc->n_backends;
		s->backends = calloc(sc->n_backends ? sc->n_backends : 1, sizeof(*s->backends));
		if (!s->backends)
			goto fail;
		for (j = 0; j < sc->n_backends; j++) {
			struct gw_lb_backend *b = &s->backends[j];
			char key[128];
			int n;

			b->conf = &sc->backends[j];
			b->id = next_id++;
			b->weight = b->conf->weight;
			b->healthy = true;
			b->peer = b->conf->local ? 0 : peer_of_site(cfg, b->conf->site);
			n = snprintf(key, sizeof(key), "%s|", b->conf->site);
			gw_lb_backend_name(b, key + n, sizeof(key) - n);
			b->key = gw_maglev_key(key, strlen(key));
		}
	}
	return lb;
fail:
	gw_balancer_free(lb);
	errno = ENOMEM;
	return NULL;
}

void gw_balancer_free(struct gw_balancer *lb)
{
	size_t i;

	if (!lb)
		return;
	for (i = 0; i < lb->n_services; i++)
		free(lb->services[i].backends);
	free(lb->services);
	free(lb->peer_up);
	free(lb);
}

struct gw_lb_service *gw_lb_service_find(struct gw_balancer *lb, const char *name)
{
	size_t i;

	for (i = 0; i < lb->n_services; i++)
		if (strcmp(lb->services[i].conf->name, name) == 0)
			return &lb->services[i];
	return NULL;
}

struct gw_lb_backend *gw_lb_backend_find(struct gw_lb_service *svc, const char *addr_port)
{
	char name[INET6_ADDRSTRLEN + 16];
	size_t i, n = strlen(addr_port);

	for (i = 0; i < svc->n_backends; i++) {
		gw_lb_backend_name(&svc->backends[i], name, sizeof(name));
		if (strcmp(name, addr_port) == 0)
			return &svc->backends[i];
		/* "ADDR" alone names the backend when the port is implied */
		if (strncmp(name, addr_port, n) == 0 && name[n] == ':' && svc->backends[i].conf->port == 0)
			return &svc->backends[i];
	}
	return NULL;
}

enum gw_lb_state gw_lb_backend_state(const struct gw_balancer *lb, const struct gw_lb_backend *be)
{
	if (!be->healthy)
		return GW_LB_DOWN;
	if (!be->conf->local && (!be->peer || !lb->peer_up[be->peer]))
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

static size_t add_backends(const struct gw_balancer *lb, const struct gw_lb_service *svc, bool local,
			   int family, struct gw_maglev_backend *out, size_t n)
{
	size_t i;

	for (i = 0; i < svc->n_backends; i++) {
		const struct gw_lb_backend *b = &svc->backends[i];

		if (b->conf->local != local || b->conf->address.family != family ||
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
	const struct gw_service_conf *sc = svc->conf;
	size_t n_local;

	n_local = add_backends(lb, svc, true, family, out, 0);
	/* Flows from other sites were balanced to this site already. */
	if (table == GW_MAGLEV_PEER)
		return n_local;
	switch (sc->affinity) {
	case GW_AFFINITY_LOCAL:
		return n_local;
	case GW_AFFINITY_REMOTE:
		return add_backends(lb, svc, false, family, out, 0);
	default:
		/* Graded spillover: other sites join only while too few local
		 * backends are healthy. */
		if (sc->min_local_healthy && n_local >= sc->min_local_healthy)
			return n_local;
		return add_backends(lb, svc, false, family, out, n_local);
	}
}
