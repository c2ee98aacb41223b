/* Writes the config and load-balancing state into the data plane maps. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <net/if.h>

#include "gw/apply.h"

static void addr_to_abi(const struct gw_ip *ip, __be32 *out)
{
	memset(out, 0, 16);
	memcpy(out, ip->addr, ip->family == AF_INET ? 4 : 16);
}

static uint8_t family_to_abi(uint8_t family)
{
	return family == AF_INET6 ? GW_AF_INET6 : GW_AF_INET;
}

uint32_t gw_apply_identity_id(const struct gw_config *cfg, size_t idx)
{
	const struct gw_identity_conf *ic = &cfg->identities[idx];
	uint32_t pos = 0;
	size_t i;

	if (ic->id)
		return ic->id;
	for (i = 0; i < idx; i++)
		if (cfg->identities[i].site_id == ic->site_id && !cfg->identities[i].id)
			pos++;
	return GW_SITE_IDENTITY(ic->site_id) | (pos + 1);
}

int gw_apply_tunnel_mtu(const struct gw_config *cfg)
{
	struct ifreq ifr;
	int fd, r;

	if (cfg->gateway.external.mtu)
		return cfg->gateway.external.mtu;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->gateway.external.interface);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = ioctl(fd, SIOCGIFMTU, &ifr) ? -errno : ifr.ifr_mtu > 65535 ? 65535 : ifr.ifr_mtu;
	close(fd);
	return r;
}

int gw_apply_cfg(struct gw_dp *dp, const struct gw_config *cfg)
{
	const struct gw_gateway_conf *g = &cfg->gateway;
	struct gw_cfg c;
	int mtu;

	memset(&c, 0, sizeof(c));
	c.abi_version = GW_ABI_VERSION;
	c.site_id = cfg->site.id;
	c.int_ifindex = gw_dp_attach_info(dp, false)->ifindex;
	c.ext_ifindex = gw_dp_attach_info(dp, true)->ifindex;
	memcpy(&c.int_addr4, g->internal.address.addr, 4);
	memcpy(&c.ext_addr4, g->external.address.addr, 4);
	if (g->internal.address6.family == AF_INET6) {
		memcpy(c.int_addr6, g->internal.address6.addr, 16);
		c.flags |= GW_CFG_F_HAVE_V6;
	}
	c.geneve_port = htons(GW_GENEVE_PORT);
	c.probe_port = htons(GW_PROBE_PORT);
	c.snat_port_min = cfg->limits.snat_port_min;
	c.snat_port_max = cfg->limits.snat_port_max;
	mtu = gw_apply_tunnel_mtu(cfg);
	if (mtu < 0)
		return mtu;
	c.tunnel_mtu = (__u16)mtu;
	c.default_identity = GW_SITE_IDENTITY(cfg->site.id);
	return gw_dp_set_cfg(dp, &c);
}

static int apply_peers(struct gw_dp *dp, struct gw_balancer *lb)
{
	struct gw_identity info;
	size_t i;
	int r;

	for (i = 0; i < lb->n_peers; i++) {
		const struct gw_lb_peer *lp = &lb->peers[i];
		bool live = lp->configured || lp->learned;
		struct gw_peer p;
		__be32 addr;

		memcpy(&addr, lp->addr.addr, 4);
		if (lp->held) /* the data plane's entry stays as it is */
			continue;
		if (!live) {
			r = gw_dp_peer_del(dp, i + 1, addr);
			if (r)
				return r;
			continue;
		}
		memset(&p, 0, sizeof(p));
		p.addr = addr;
		p.site_id = lp->site_id;
		p.flags = (lp->up ? GW_PEER_F_UP : 0) | (lp->encrypt ? GW_PEER_F_ENCRYPT : 0);
		r = gw_dp_peer_set(dp, i + 1, &p);
		if (r)
			return r;
		/* a peer's gateways may assert their own site's identity */
		info.site_id = lp->site_id;
		info.flags = 0;
		r = gw_dp_identity_set(dp, GW_SITE_IDENTITY(lp->site_id), &info);
		if (r)
			return r;
	}
	lb->peers_dirty = false;
	return 0;
}

static int apply_identities(struct gw_dp *dp, const struct gw_config *cfg)
{
	struct gw_identity info = {.site_id = cfg->site.id};
	size_t i, j;
	int r;

	r = gw_dp_identity_set(dp, GW_SITE_IDENTITY(cfg->site.id), &info);
	if (r)
		return r;
	for (i = 0; i < cfg->n_identities; i++) {
		const struct gw_identity_conf *ic = &cfg->identities[i];
		uint32_t id = gw_apply_identity_id(cfg, i);

		info.site_id = ic->site_id;
		r = gw_dp_identity_set(dp, id, &info);
		if (r)
			return r;
		if (!ic->local)
			continue;
		for (j = 0; j < ic->n_cidrs; j++) {
			const struct gw_cidr *c = &ic->cidrs[j];

			r = gw_dp_identity_cidr_set(dp, family_to_abi(c->addr.family), c->addr.addr,
						    c->prefix_len, id);
			if (r)
				return r;
		}
	}
	return 0;
}

static bool labels_match(const struct gw_identity_conf *ic, const struct gw_policy_conf *pc)
{
	size_t i, j;

	for (i = 0; i < pc->n_from; i++) {
		bool found = false;

		for (j = 0; j < ic->n_labels && !found; j++)
			found = strcmp(ic->labels[j], pc->from[i]) == 0;
		if (!found)
			return false;
	}
	return true;
}

static bool service_has_policy(const struct gw_config *cfg, size_t svc)
{
	size_t i;

	for (i = 0; i < cfg->n_policies; i++)
		if (cfg->policies[i].to_service == svc)
			return true;
	return false;
}

/* The data-plane id of the config's service idx, which policies name by
 * its place in the config; GW_LB_NO_ID if lb has none. */
static uint32_t config_service_id(const struct gw_balancer *lb, size_t idx)
{
	size_t i;

	for (i = 0; i < lb->n_services; i++)
		if (lb->services[i]->conf == &lb->cfg->services[idx])
			return lb->services[i]->id;
	return GW_LB_NO_ID;
}

static int apply_policies(struct gw_dp *dp, const struct gw_balancer *lb)
{
	const struct gw_config *cfg = lb->cfg;
	uint32_t svc_id;
	size_t i, j;
	int r;

	for (i = 0; i < cfg->n_policies; i++) {
		const struct gw_policy_conf *pc = &cfg->policies[i];

		svc_id = config_service_id(lb, pc->to_service);
		for (j = 0; j < cfg->n_identities && svc_id != GW_LB_NO_ID; j++) {
			if (!labels_match(&cfg->identities[j], pc))
				continue;
			r = gw_dp_policy_set(dp, gw_apply_identity_id(cfg, j), svc_id, true);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Keeps a gw_policy key if some policy of the config still produces it. */
static bool policy_keep(const void *key, void *ud)
{
	const struct gw_policy_key *k = key;
	const struct gw_balancer *lb = ud;
	const struct gw_config *cfg = lb->cfg;
	size_t i, j;

	for (i = 0; i < cfg->n_policies; i++) {
		if (config_service_id(lb, cfg->policies[i].to_service) != k->svc_id)
			continue;
		for (j = 0; j < cfg->n_identities; j++)
			if (gw_apply_identity_id(cfg, j) == k->identity &&
			    labels_match(&cfg->identities[j], &cfg->policies[i]))
				return true;
	}
	return false;
}

struct identity_keep {
	const struct gw_config *cfg;
	const struct gw_balancer *lb;
};

/* Keeps an identity this site, a config identity or a peer's site has. */
static bool identity_keep(const void *key, void *ud)
{
	const struct identity_keep *ik = ud;
	uint32_t id = *(const uint32_t *)key;
	size_t i;

	if (id == GW_SITE_IDENTITY(ik->cfg->site.id))
		return true;
	for (i = 0; i < ik->cfg->n_identities; i++)
		if (gw_apply_identity_id(ik->cfg, i) == id)
			return true;
	for (i = 0; i < ik->lb->n_peers; i++)
		if ((ik->lb->peers[i].configured || ik->lb->peers[i].learned) &&
		    GW_SITE_IDENTITY(ik->lb->peers[i].site_id) == id)
			return true;
	return false;
}

struct cidr_keep {
	const struct gw_config *cfg;
	int family; /* AF_INET: gw_ident4's keys, AF_INET6: gw_ident6's */
};

/* Keeps an LPM key (struct gw_lpm4_key or gw_lpm6_key: prefix length, then
 * the address) if a local identity of the config still has that CIDR. */
static bool cidr_keep(const void *key, void *ud)
{
	const struct cidr_keep *ck = ud;
	uint32_t prefixlen;
	size_t i, j;

	memcpy(&prefixlen, key, sizeof(prefixlen));
	for (i = 0; i < ck->cfg->n_identities; i++) {
		const struct gw_identity_conf *ic = &ck->cfg->identities[i];

		for (j = 0; ic->local && j < ic->n_cidrs; j++) {
			const struct gw_cidr *c = &ic->cidrs[j];

			if (c->addr.family == ck->family && c->prefix_len == prefixlen &&
			    memcmp((const char *)key + sizeof(prefixlen), c->addr.addr,
				   ck->family == AF_INET ? 4 : 16) == 0)
				return true;
		}
	}
	return false;
}

/* Calls fn for every data-plane service key of service i (each VIP, each
 * port of each range) and the VIP marker keys. */
static int for_each_svc_key(const struct gw_lb_service *sc,
			    int (*fn)(const struct gw_svc_key *k, bool marker, void *ud), void *ud)
{
	struct gw_svc_key k;
	size_t v, p;
	uint32_t port;
	int r;

	for (v = 0; v < sc->n_vips; v++) {
		memset(&k, 0, sizeof(k));
		addr_to_abi(&sc->vips[v], k.vip);
		k.family = family_to_abi(sc->vips[v].family);
		r = fn(&k, true, ud);
		if (r)
			return r;
		for (p = 0; p < sc->n_ports; p++) {
			const struct gw_port_range *pr = &sc->ports[p];

			for (port = pr->lo; port <= pr->hi; port++) {
				k.port = htons(port);
				k.proto = pr->proto;
				r = fn(&k, false, ud);
				if (r)
					return r;
			}
		}
	}
	return 0;
}

struct svc_put {
	struct gw_dp *dp;
	struct gw_svc svc;
};

static int svc_put(const struct gw_svc_key *k, bool marker, void *ud)
{
	struct svc_put *sp = ud;
	struct gw_svc v = sp->svc;

	if (marker)
		v.flags = GW_SVC_F_VIP;
	return gw_dp_svc_set(sp->dp, k, &v);
}

struct svc_match {
	const struct gw_svc_key *want;
	bool found;
};

static int svc_match(const struct gw_svc_key *k, bool marker, void *ud)
{
	struct svc_match *m = ud;

	if (memcmp(k, m->want, sizeof(*k)) == 0) {
		m->found = true;
		return 1; /* stop the walk */
	}
	return 0;
}

/* Keeps a data-plane service key if some service still produces it. */
static bool svc_keep(const void *key, void *ud)
{
	const struct gw_balancer *lb = ud;
	struct svc_match m = {.want = key};
	size_t i;

	for (i = 0; i < lb->n_services && !m.found; i++)
		for_each_svc_key(lb->services[i], svc_match, &m);
	return m.found;
}

/* Keeps a Maglev slot whose service id is in use: the others' tables are
 * what a reload or a restart left of services the config no longer has. */
static bool maglev_keep(const void *key, void *ud)
{
	const struct gw_balancer *lb = ud;
	uint32_t id = *(const uint32_t *)key / GW_MAGLEV_TABLES;

	return id < lb->cfg->limits.services && lb->service_ids[id] == GW_LB_ID_USED;
}

static int apply_backends(struct gw_dp *dp, const struct gw_balancer *lb,
			  const struct gw_lb_service *svc)
{
	size_t i;
	int r;

	for (i = 0; i < svc->n_backends; i++) {
		const struct gw_lb_backend *b = &svc->backends[i];
		struct gw_backend be;

		if (b->held) /* the data plane's entry stays as it is */
			continue;
		memset(&be, 0, sizeof(be));
		addr_to_abi(&b->addr, be.addr);
		be.family = family_to_abi(b->addr.family);
		be.port = htons(b->port);
		be.site_id = b->site_id;
		be.peer_id = b->local ? 0 : gw_lb_site_peer(lb, b->site_id);
		be.flags = (b->local ? 0 : GW_BE_F_REMOTE) | (b->healthy ? 0 : GW_BE_F_DOWN);
		r = gw_dp_backend_set(dp, b->id, &be);
		if (r)
			return r;
	}
	return 0;
}

/* FNV-1a over the chosen backends (order included: gw_lb_select is
 * deterministic for a given state). */
static uint64_t set_signature(const struct gw_maglev_backend *set, size_t n)
{
	const unsigned char *p = (const void *)set;
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	size_t i;

	for (i = 0; i < n * sizeof(*set); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int apply_tables(struct gw_dp *dp, struct gw_balancer *lb, struct gw_lb_service *svc,
			uint32_t m)
{
	struct gw_maglev_backend *set = NULL;
	uint32_t *table_buf = NULL;
	uint64_t sig;
	size_t n;
	int t, r = 0;

	set = calloc(svc->n_backends ? svc->n_backends : 1, sizeof(*set));
	table_buf = calloc(m, sizeof(*table_buf));
	if (!set || !table_buf) {
		r = -ENOMEM;
		goto out;
	}
	svc->n_client = svc->n_peer = 0;
	for (t = 0; t < GW_MAGLEV_TABLES; t++) {
		int table = t / 2, v6 = t % 2;
		uint32_t slot = GW_MAGLEV_SLOT(svc->id, table, v6);

		/* a held backend's table stays as the data plane has it:
		 * the held one's weight and place in it are not known here */
		if (table == GW_MAGLEV_CLIENT && gw_lb_service_holds(svc, v6 ? AF_INET6 : AF_INET))
			continue;
		n = gw_lb_select(lb, svc, table, v6 ? AF_INET6 : AF_INET, set);
		if (table == GW_MAGLEV_CLIENT)
			svc->n_client += n;
		else
			svc->n_peer += n;
		/* The same set gives the same table: most updates (a peer's
		 * export repeated, another service's change) change nothing. */
		sig = set_signature(set, n);
		if (svc->table_valid[t] && svc->table_sig[t] == sig)
			continue;
		svc->table_valid[t] = false;
		r = gw_maglev_build(set, n, m, table_buf);
		if (r == -ENOENT)
			r = gw_dp_maglev_swap(dp, slot, NULL, 0);
		else if (r == 0)
			r = gw_dp_maglev_swap(dp, slot, table_buf, m);
		if (r)
			goto out;
		svc->table_sig[t] = sig;
		svc->table_valid[t] = true;
	}
out:
	free(set);
	free(table_buf);
	return r;
}

int gw_apply_service_tables(struct gw_dp *dp, struct gw_balancer *lb, struct gw_lb_service *svc)
{
	uint32_t m = lb->cfg->limits.maglev_table_size;
	int r0 = apply_backends(dp, lb, svc);

	if (r0)
		return r0;
	return apply_tables(dp, lb, svc, m);
}

static int apply_service(struct gw_dp *dp, struct gw_balancer *lb, struct gw_lb_service *svc,
			 const char **ret_what)
{
	const struct gw_config *cfg = lb->cfg;
	struct svc_put sp = {.dp = dp};
	size_t i;
	int r;

	/* Backends and tables before service entries: a VIP never exists
	 * without them. */
	*ret_what = "backends and Maglev tables";
	r = gw_apply_service_tables(dp, lb, svc);
	if (r)
		return r;
	if (!svc->keys_dirty || svc->held) /* a held service's keys stay as they are */
		return 0;
	*ret_what = "services (is limits.services large enough?)";
	sp.svc.id = svc->id;
	sp.svc.flags = svc->l7 != GW_L7_NONE ? GW_SVC_F_L7 : 0;
	for (i = 0; svc->conf && i < cfg->n_services; i++)
		if (&cfg->services[i] == svc->conf && service_has_policy(cfg, i))
			sp.svc.flags |= GW_SVC_F_POLICY;
	r = for_each_svc_key(svc, svc_put, &sp);
	if (r)
		return r;
	svc->keys_dirty = false;
	return 0;
}

/* Empties the Maglev slots of every retired service id: a removed
 * service's, or (after a reload or a restart) one the data plane used for
 * a service that is gone. */
static int remove_retired_tables(struct gw_dp *dp, const struct gw_balancer *lb)
{
	uint32_t id;
	int t, r;

	for (id = 0; id < lb->cfg->limits.services; id++) {
		if (lb->service_ids[id] != GW_LB_ID_RETIRED)
			continue;
		for (t = 0; t < GW_MAGLEV_TABLES; t++) {
			r = gw_dp_maglev_swap(dp, id * GW_MAGLEV_TABLES + t, NULL, 0);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Local backends the running data plane has down (GW_BE_F_DOWN) start
 * down: until their health checks rise again they get no new flows, as
 * before the restart. Only where health checks run, which can bring them
 * back; an entry that is another backend's (one the old gatewayd had
 * there, not found again) is not taken for this one's. */
static void take_health(struct gw_dp *dp, struct gw_balancer *lb)
{
	struct gw_backend be, want;
	size_t i, j;

	for (i = 0; i < lb->n_services; i++) {
		const struct gw_lb_service *s = lb->services[i];

		if (!s->conf || s->conf->health.type == GW_HEALTH_NONE)
			continue;
		for (j = 0; j < s->n_backends; j++) {
			struct gw_lb_backend *b = &s->backends[j];

			if (!b->local || gw_dp_backend_get(dp, b->id, &be))
				continue;
			memset(&want, 0, sizeof(want));
			addr_to_abi(&b->addr, want.addr);
			if (memcmp(be.addr, want.addr, sizeof(be.addr)) == 0 &&
			    be.port == htons(b->port) && (be.flags & GW_BE_F_DOWN))
				b->healthy = false;
		}
	}
}

/* The peer ids in the running data plane's gw_peers, for
 * gw_balancer_take_peer_ids. */
static int take_peer_ids(struct gw_dp *dp, struct gw_balancer *lb)
{
	size_t cap = lb->cfg->limits.peers, n = 0;
	struct gw_lb_peer_id *ids = calloc(cap ? cap : 1, sizeof(*ids));
	struct gw_peer p;
	uint32_t id;
	int r = 0;

	if (!ids)
		return -ENOMEM;
	for (id = 1; id <= cap && !r; id++) {
		r = gw_dp_peer_get(dp, id, &p);
		if (r || !p.addr)
			continue;
		ids[n].addr.family = AF_INET;
		memcpy(ids[n].addr.addr, &p.addr, 4);
		ids[n].site_id = p.site_id;
		ids[n].id = id;
		n++;
	}
	if (!r && n)
		r = gw_balancer_take_peer_ids(lb, ids, n);
	free(ids);
	return r;
}

/* The running data plane's service keys (gw_svcs), with their ids. */
static int take_svc_keys(struct gw_dp *dp, const struct gw_balancer *lb,
			 struct gw_lb_svc_key_id **ret_keys, size_t *ret_n)
{
	size_t cap = (size_t)lb->cfg->limits.services * 4, n, i;
	struct gw_svc_key *keys = calloc(cap ? cap : 1, sizeof(*keys));
	struct gw_svc *vals = calloc(cap ? cap : 1, sizeof(*vals));
	struct gw_lb_svc_key_id *out = calloc(cap ? cap : 1, sizeof(*out));
	int r;

	if (!keys || !vals || !out) {
		r = -ENOMEM;
		goto out;
	}
	r = gw_dp_svc_list(dp, keys, vals, cap);
	if (r < 0)
		goto out;
	n = (size_t)r;
	for (i = 0; i < n; i++) {
		out[i].vip.family = keys[i].family == GW_AF_INET6 ? AF_INET6 : AF_INET;
		memcpy(out[i].vip.addr, keys[i].vip, out[i].vip.family == AF_INET6 ? 16 : 4);
		out[i].port = ntohs(keys[i].port);
		out[i].proto = keys[i].proto;
		out[i].id = vals[i].id;
	}
	*ret_keys = out;
	*ret_n = n;
	out = NULL;
	r = 0;
out:
	free(keys);
	free(vals);
	free(out);
	return r;
}

/* The running data plane's Maglev tables: which service ids have one
 * (tables), and for each backend id the service id of a table that names
 * it (named_by, limits.backends of them). */
static int take_tables(struct gw_dp *dp, const struct gw_balancer *lb, uint32_t *tables,
		       size_t *ret_n, uint32_t *named_by)
{
	uint32_t m = lb->cfg->limits.maglev_table_size, n_be = lb->cfg->limits.backends;
	uint32_t slot, i, *table = calloc(m ? m : 1, sizeof(*table));
	size_t n = 0;
	int r = 0;

	if (!table)
		return -ENOMEM;
	for (i = 0; i < n_be; i++)
		named_by[i] = GW_LB_NO_ID;
	for (slot = 0; slot < lb->cfg->limits.services * GW_MAGLEV_TABLES; slot++) {
		r = gw_dp_maglev_get(dp, slot, table, m);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		if (!n || tables[n - 1] != slot / GW_MAGLEV_TABLES)
			tables[n++] = slot / GW_MAGLEV_TABLES;
		for (i = 0; i < (uint32_t)r && i < m; i++)
			if (table[i] < n_be && named_by[table[i]] == GW_LB_NO_ID)
				named_by[table[i]] = slot / GW_MAGLEV_TABLES;
		r = 0;
	}
	*ret_n = n;
	free(table);
	return r;
}

/* The service and backend ids in the running data plane's gw_svcs,
 * gw_maglev and gw_backends, for gw_balancer_take_ids. */
static int take_ids(struct gw_dp *dp, struct gw_balancer *lb)
{
	uint32_t n_be = lb->cfg->limits.backends, id;
	struct gw_lb_dp_ids ids = {0};
	struct gw_lb_svc_key_id *keys = NULL;
	struct gw_lb_backend_id *bes = calloc(n_be ? n_be : 1, sizeof(*bes));
	uint32_t *named_by = calloc(n_be ? n_be : 1, sizeof(*named_by));
	uint32_t *tables =
		calloc(lb->cfg->limits.services ? lb->cfg->limits.services : 1, sizeof(*tables));
	struct gw_backend be;
	int r;

	if (!bes || !named_by || !tables) {
		r = -ENOMEM;
		goto out;
	}
	r = take_svc_keys(dp, lb, &keys, &ids.n_keys);
	if (!r)
		r = take_tables(dp, lb, tables, &ids.n_tables, named_by);
	for (id = 0; id < n_be && !r; id++) {
		r = gw_dp_backend_get(dp, id, &be);
		if (r || !be.family)
			continue;
		bes[ids.n_backends] = (struct gw_lb_backend_id){
			.addr.family = be.family == GW_AF_INET6 ? AF_INET6 : AF_INET,
			.port = ntohs(be.port),
			.site_id = be.site_id,
			.remote = be.flags & GW_BE_F_REMOTE,
			.id = id,
			.named_by = named_by[id],
		};
		memcpy(bes[ids.n_backends].addr.addr, be.addr, be.family == GW_AF_INET6 ? 16 : 4);
		ids.n_backends++;
	}
	if (r)
		goto out;
	ids.keys = keys;
	ids.tables = tables;
	ids.backends = bes;
	r = gw_balancer_take_ids(lb, &ids);
out:
	free(keys);
	free(bes);
	free(named_by);
	free(tables);
	return r;
}

int gw_apply_take_over(struct gw_dp *dp, struct gw_balancer *lb)
{
	int r = take_peer_ids(dp, lb);

	if (!r)
		r = take_ids(dp, lb);
	if (!r)
		take_health(dp, lb);
	return r;
}

int gw_apply_dirty(struct gw_dp *dp, struct gw_balancer *lb, const char **ret_what)
{
	struct gw_lb_service **removed = NULL;
	const char *what = NULL;
	bool prune = false;
	size_t i, n;
	int r = 0, first = 0;

	if (lb->peers_dirty) {
		*ret_what = "peers";
		r = apply_peers(dp, lb);
		if (r)
			return r;
		/* a site's traffic may now go to another of its gateways */
		for (i = 0; i < lb->n_services; i++)
			lb->services[i]->dirty = true;
	}
	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *svc = lb->services[i];

		if (!svc->dirty && !svc->keys_dirty)
			continue;
		prune |= svc->keys_dirty;
		/* one service that cannot be applied (say, more backends in
		 * an export than its table has slots) stays dirty, and the
		 * others still get their changes: peers down, drains */
		r = apply_service(dp, lb, svc, &what);
		if (r) {
			if (!first) {
				first = r;
				*ret_what = what;
			}
			continue;
		}
		svc->dirty = false;
	}
	r = 0;
	what = "removing services";
	removed = calloc(lb->n_services ? lb->n_services : 1, sizeof(*removed));
	if (!removed) {
		if (!first)
			*ret_what = what;
		return first ? first : -ENOMEM;
	}
	/* their ids are retired: their keys and tables go below */
	n = gw_lb_gc_services(lb, removed);
	for (i = 0; i < n; i++)
		gw_lb_service_free(lb, removed[i]);
	free(removed);
	if (lb->n_retired_services) {
		r = remove_retired_tables(dp, lb);
		prune = true;
	}
	if (!r && prune) {
		what = "removing stale services";
		r = gw_dp_svc_prune(dp, svc_keep, lb);
	}
	/* The tables are written (those that could be), and no key or table
	 * leads to a retired service id: the ids of services and backends
	 * removed before may be given out again where nothing names them
	 * now. Not while a removed service's tables or keys failed to go. */
	if (!r) {
		const uint32_t *freed;
		struct gw_backend none;

		gw_lb_release_ids(lb);
		/* a freed id's entry is named by no table: clear it, or a
		 * restart would read the backend that had it (its address,
		 * its down flag) for whatever takes the id next */
		memset(&none, 0, sizeof(none));
		freed = gw_lb_take_freed(lb, &n);
		for (i = 0; i < n && !r; i++)
			r = gw_dp_backend_set(dp, freed[i], &none);
		if (r)
			what = "clearing the entries of removed backends";
	}
	if (r && !first) {
		first = r;
		*ret_what = what;
	}
	return first;
}

int gw_apply_all(struct gw_dp *dp, const struct gw_config *cfg, struct gw_balancer *lb,
		 const char **ret_what)
{
	size_t i;
	int r;

	*ret_what = "site parameters";
	r = gw_apply_cfg(dp, cfg);
	if (r)
		return r;
	*ret_what = "identities";
	r = apply_identities(dp, cfg);
	if (r)
		return r;
	*ret_what = "policies";
	r = apply_policies(dp, lb);
	if (r)
		return r;
	lb->peers_dirty = true;
	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *svc = lb->services[i];

		svc->dirty = svc->keys_dirty = true;
		memset(svc->table_valid, 0, sizeof(svc->table_valid));
	}
	r = gw_apply_dirty(dp, lb, ret_what);
	if (r)
		return r;
	*ret_what = "removing stale services";
	r = gw_dp_svc_prune(dp, svc_keep, lb);
	if (!r)
		r = gw_dp_maglev_prune(dp, maglev_keep, lb);
	if (r)
		return r;
	/* What a config of before allowed (a reload, or a restart over a
	 * running data plane) must not outlive it. */
	*ret_what = "removing stale policies and identities";
	r = gw_dp_policy_prune(dp, policy_keep, lb);
	if (!r)
		r = gw_dp_identity_cidr_prune(dp, GW_AF_INET, cidr_keep,
					      &(struct cidr_keep){.cfg = cfg, .family = AF_INET});
	if (!r)
		r = gw_dp_identity_cidr_prune(dp, GW_AF_INET6, cidr_keep,
					      &(struct cidr_keep){.cfg = cfg, .family = AF_INET6});
	if (!r)
		r = gw_dp_identity_prune(dp, identity_keep,
					 &(struct identity_keep){.cfg = cfg, .lb = lb});
	return r;
}
