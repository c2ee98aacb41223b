/* The part of gatewayd's API that cluster-syncd uses: what this gateway
 * exports to other sites (GET /v1/export), and what other sites export
 * (PUT/DELETE /v1/remote/sites/SITE, GET /v1/remote). Docs: docs/api.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/apply.h"
#include "gw/daemon.h"

#define EXPORT_SCHEMA	    1
#define REMOTE_MAX_SERVICES 4096
#define REMOTE_MAX_BACKENDS 1024 /* per service */
#define REMOTE_MAX_GATEWAYS 16

static json_t *export_service(const struct gw_balancer *lb, const struct gw_lb_service *s)
{
	json_t *o = json_object(), *bes = json_array();
	size_t i;

	for (i = 0; i < s->n_backends; i++) {
		const struct gw_lb_backend *b = &s->backends[i];
		enum gw_lb_state st = gw_lb_backend_state(lb, b);

		if (!b->local)
			continue;
		/* a drained backend takes no new flows from other sites either */
		json_array_append_new(
			bes, json_pack("{s:o,s:i,s:i,s:b}", "address", gw_json_ip(&b->addr), "port",
				       b->port, "weight", st == GW_LB_DRAINING ? 0 : (int)b->weight,
				       "healthy", st != GW_LB_DOWN));
	}
	json_object_set_new(o, "name", json_string(s->name));
	gw_json_service_addrs(s, o);
	json_object_set_new(o, "backends", bes);
	return o;
}

void gw_h_export(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	const struct gw_config *cfg = d->cfg;
	json_t *svcs = json_array();
	size_t i;

	for (i = 0; i < d->lb->n_services; i++) {
		const struct gw_lb_service *s = d->lb->services[i];

		/* only what this site serves: its config's services */
		if (s->conf)
			json_array_append_new(svcs, export_service(d->lb, s));
	}
	gw_api_reply_json(resp, 200,
			  json_pack("{s:s,s:I,s:i,s:{s:s,s:i},s:{s:s,s:o},s:o}", "boot", d->boot,
				    "version", (json_int_t)d->lb->version, "schema", EXPORT_SCHEMA,
				    "site", "name", cfg->site.name, "id", cfg->site.id, "gateway",
				    "name", cfg->gateway.name, "address",
				    gw_json_ip(&cfg->gateway.external.address), "services", svcs));
}

/* Parses one exported service; on error writes why into err. */
static int parse_service(json_t *js, struct gw_lb_remote_service *rs, char *err, size_t n)
{
	json_t *vips = json_object_get(js, "vips"), *ports = json_object_get(js, "ports");
	json_t *bes = json_object_get(js, "backends"), *v;
	const char *name = json_string_value(json_object_get(js, "name"));
	char hint[128];
	size_t i;

	if (!name || !*name || strlen(name) >= sizeof(rs->name)) {
		snprintf(err, n, "service without a valid \"name\"");
		return -EINVAL;
	}
	snprintf(rs->name, sizeof(rs->name), "%s", name);
	if (!json_is_array(vips) || json_array_size(vips) > GW_CONFIG_MAX_VIPS ||
	    !json_is_array(ports) || json_array_size(ports) > GW_CONFIG_MAX_PORTS ||
	    !json_is_array(bes) || json_array_size(bes) > REMOTE_MAX_BACKENDS) {
		snprintf(err, n,
			 "service %s: \"vips\", \"ports\", \"backends\" must be arrays "
			 "(at most %d, %d, %d)",
			 name, GW_CONFIG_MAX_VIPS, GW_CONFIG_MAX_PORTS, REMOTE_MAX_BACKENDS);
		return -EINVAL;
	}
	json_array_foreach(vips, i, v)
	{
		if (!json_is_string(v) || gw_ip_parse(json_string_value(v), &rs->vips[i])) {
			snprintf(err, n, "service %s: vips[%zu] is not an IP address", name, i);
			return -EINVAL;
		}
	}
	rs->n_vips = json_array_size(vips);
	json_array_foreach(ports, i, v)
	{
		if (!json_is_string(v) ||
		    gw_port_range_parse(json_string_value(v), &rs->ports[i], hint, sizeof(hint))) {
			snprintf(err, n, "service %s: ports[%zu] is not PORT[-PORT]/PROTO", name,
				 i);
			return -EINVAL;
		}
	}
	rs->n_ports = json_array_size(ports);
	rs->backends = calloc(json_array_size(bes) + 1, sizeof(*rs->backends));
	if (!rs->backends)
		return -ENOMEM;
	json_array_foreach(bes, i, v)
	{
		struct gw_lb_remote_backend *rb = &rs->backends[i];
		json_t *addr = json_object_get(v, "address"), *port = json_object_get(v, "port");
		json_t *w = json_object_get(v, "weight"), *h = json_object_get(v, "healthy");

		if (!json_is_string(addr) || gw_ip_parse(json_string_value(addr), &rb->addr) ||
		    !json_is_integer(port) || json_integer_value(port) < 0 ||
		    json_integer_value(port) > 65535 || !json_is_integer(w) ||
		    json_integer_value(w) < 0 || json_integer_value(w) > 65535 ||
		    !json_is_boolean(h)) {
			snprintf(err, n,
				 "service %s: backends[%zu] needs \"address\" (IP), \"port\" "
				 "(0..65535), \"weight\" (0..65535), \"healthy\" (bool)",
				 name, i);
			return -EINVAL;
		}
		rb->port = json_integer_value(port);
		rb->weight = json_integer_value(w);
		rb->healthy = json_is_true(h);
	}
	rs->n_backends = json_array_size(bes);
	return 0;
}

static void free_services(struct gw_lb_remote_service *svcs, size_t n)
{
	size_t i;

	for (i = 0; svcs && i < n; i++)
		free(svcs[i].backends);
	free(svcs);
}

/* Sets one site's export (body as sent by cluster-syncd) into lb, whose
 * config is cfg, without writing the data plane; err says what was wrong.
 * 0, -ENOSPC (a limit refused part of it: the rest is set, and logged) or
 * -errno. */
static int remote_set(const struct gw_config *cfg, struct gw_balancer *lb, const char *site,
		      json_t *body, char *err, size_t n)
{
	struct gw_lb_remote_gateway gws[REMOTE_MAX_GATEWAYS];
	struct gw_lb_remote_service *svcs = NULL;
	json_t *jg = json_object_get(body, "gateways"), *js = json_object_get(body, "services");
	json_t *sid = json_object_get(body, "site_id"), *v;
	size_t i, n_svcs;
	int r;

	if (!json_is_integer(sid) || json_integer_value(sid) < 1 ||
	    json_integer_value(sid) > 65535) {
		snprintf(err, n, "\"site_id\" must be an integer 1..65535");
		return -EINVAL;
	}
	if (!json_is_array(jg) || json_array_size(jg) > REMOTE_MAX_GATEWAYS || !json_is_array(js) ||
	    json_array_size(js) > REMOTE_MAX_SERVICES) {
		snprintf(err, n,
			 "\"gateways\" (at most %d) and \"services\" (at most %d) must be arrays",
			 REMOTE_MAX_GATEWAYS, REMOTE_MAX_SERVICES);
		return -EINVAL;
	}
	memset(gws, 0, sizeof(gws));
	json_array_foreach(jg, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *addr = json_string_value(json_object_get(v, "address"));

		if (!name || !addr || gw_ip_parse(addr, &gws[i].addr) ||
		    gws[i].addr.family != cfg->gateway.external.address.family) {
			snprintf(err, n,
				 "gateways[%zu] needs \"name\" and an \"address\" of the "
				 "underlay's family",
				 i);
			return -EINVAL;
		}
		snprintf(gws[i].name, sizeof(gws[i].name), "%s", name);
	}
	/* zeroed, so services not parsed yet free nothing */
	n_svcs = json_array_size(js);
	svcs = calloc(n_svcs + 1, sizeof(*svcs));
	if (!svcs)
		return -ENOMEM;
	json_array_foreach(js, i, v)
	{
		r = parse_service(v, &svcs[i], err, n);
		if (r)
			goto out;
	}
	r = gw_lb_remote_site_set(lb, site, json_integer_value(sid), gws, json_array_size(jg), svcs,
				  n_svcs);
	if (r == -EINVAL)
		snprintf(err, n, "site %s is this gateway's own site", site);
	if (r == -ENOSPC)
		gw_log(GW_LOG_WARN,
		       "site %s: part of its export exceeds our limits (refused: %llu)", site,
		       (unsigned long long)lb->refused);
out:
	free_services(svcs, n_svcs);
	return r;
}

int gw_daemon_remote_apply(struct gw_daemon *d, const char *site, json_t *body, char *err, size_t n)
{
	const char *what = "";
	int r;

	r = remote_set(d->cfg, d->lb, site, body, err, n);
	if (r && r != -ENOSPC)
		return r;
	r = gw_apply_dirty(d->dp, d->lb, &what);
	if (r) {
		snprintf(err, n, "writing %s to the data plane failed: %s", what, strerror(-r));
		return r;
	}
	json_object_set(d->remote, site, body);
	return 0;
}

void gw_daemon_remote_restore(struct gw_daemon *d, struct gw_balancer *lb)
{
	const char *site;
	json_t *body;
	char err[256];

	json_object_foreach(d->remote, site, body)
	{
		err[0] = '\0';
		if (remote_set(lb->cfg, lb, site, body, err, sizeof(err)) == -EINVAL)
			gw_log(GW_LOG_WARN, "site %s after reload: %s", site, err);
	}
}

static bool site_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > GW_CONFIG_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

void gw_h_remote_put(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	char err[256] = "";
	json_t *body;
	int r;

	if (!site_name_ok(req->tail)) {
		gw_api_reply_error(resp, 400, "bad site name \"%s\"", req->tail);
		return;
	}
	body = gw_api_body_json(req, resp);
	if (!body)
		return;
	r = gw_daemon_remote_apply(d, req->tail, body, err, sizeof(err));
	if (r)
		gw_api_reply_error(resp, r == -EINVAL ? 400 : 500, "site %s: %s", req->tail, err);
	else
		gw_api_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
	json_decref(body);
}

int gw_daemon_remote_forget(struct gw_daemon *d, const char *site, char *err, size_t n)
{
	const char *what = "";
	int r;

	if (!json_object_get(d->remote, site)) {
		snprintf(err, n, "nothing learned of site \"%s\"", site);
		return -ENOENT;
	}
	if (gw_lb_remote_site_del(d->lb, site) == -ENOSPC)
		gw_log(GW_LOG_WARN,
		       "site %s: part of the config's static entries for it exceeds our limits "
		       "(refused: %llu)",
		       site, (unsigned long long)d->lb->refused);
	r = gw_apply_dirty(d->dp, d->lb, &what);
	if (r) {
		snprintf(err, n, "writing %s failed: %s", what, strerror(-r));
		return r;
	}
	json_object_del(d->remote, site);
	gw_log(GW_LOG_INFO, "site %s withdrawn by cluster-syncd", site);
	return 0;
}

void gw_h_remote_del(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	char err[256] = "";
	int r = gw_daemon_remote_forget(ud, req->tail, err, sizeof(err));

	if (r)
		gw_api_reply_error(resp, r == -ENOENT ? 404 : 500, "%s", err);
	else
		gw_api_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

void gw_h_remote_get(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;

	gw_api_reply_json(resp, 200, json_pack("{s:O}", "sites", d->remote));
}

void gw_h_sync_status_put(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	json_t *body = gw_api_body_json(req, resp);

	if (!body)
		return;
	json_decref(d->sync_status);
	d->sync_status = body;
	d->sync_status_ms = uv_now(d->loop);
	gw_api_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

void gw_h_sync_status_get(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	json_t *o;

	if (!d->sync_status) {
		gw_api_reply_error(resp, 404, "cluster-syncd has not reported (is it running?)");
		return;
	}
	o = json_deep_copy(d->sync_status);
	json_object_set_new(o, "reported_ms_ago",
			    json_integer(uv_now(d->loop) - d->sync_status_ms));
	gw_api_reply_json(resp, 200, o);
}

/* Every site this gateway knows: its own, the configured peers' and the
 * ones learned through etcd, with their gateways and liveness. */
void gw_h_sites(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	json_t *sites = json_object(), *arr = json_array(), *v;
	const char *name;
	size_t i, j;

	json_object_set_new(sites, d->cfg->site.name,
			    json_pack("{s:s,s:i,s:b,s:s,s:i,s:i}", "name", d->cfg->site.name, "id",
				      d->cfg->site.id, "local", 1, "state", "up", "gateways", 1,
				      "gateways_up", 1));
	for (i = 0; i < d->lb->n_peers; i++) {
		const struct gw_lb_peer *p = &d->lb->peers[i];
		json_t *e;

		if (!p->configured && !p->learned)
			continue;
		e = json_object_get(sites, p->site);
		if (!e) {
			e = json_pack("{s:s,s:i,s:b,s:s,s:i,s:i}", "name", p->site, "id",
				      p->site_id, "local", 0, "state", "down", "gateways", 0,
				      "gateways_up", 0);
			json_object_set_new(sites, p->site, e);
		}
		json_object_set_new(
			e, "gateways",
			json_integer(json_integer_value(json_object_get(e, "gateways")) + 1));
		if (p->up) {
			json_object_set_new(
				e, "gateways_up",
				json_integer(json_integer_value(json_object_get(e, "gateways_up")) +
					     1));
			json_object_set_new(e, "state", json_string("up"));
		}
	}
	json_object_foreach(sites, name, v)
	{
		size_t n = 0;

		for (i = 0; i < d->lb->n_services; i++)
			for (j = 0; j < d->lb->services[i]->n_backends; j++)
				n += strcmp(d->lb->services[i]->backends[j].site, name) == 0;
		json_object_set_new(v, "backends", json_integer(n));
		json_object_set_new(v, "learned",
				    json_boolean(json_object_get(d->remote, name) != NULL));
		json_array_append(arr, v);
	}
	json_decref(sites);
	gw_api_reply_json(resp, 200, json_pack("{s:o}", "sites", arr));
}

/* The config's identities: the data-plane id (site-scoped range) and the id
 * cluster-syncd allocated for the label set in etcd. */
void gw_h_identities(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	const struct gw_config *cfg = d->cfg;
	json_t *arr = json_array();
	json_t *global = json_object_get(d->sync_status, "identities");
	size_t i, j;

	for (i = 0; i < cfg->n_identities; i++) {
		const struct gw_identity_conf *ic = &cfg->identities[i];
		json_t *labels = json_array(), *cidrs = json_array();
		char buf[64];

		for (j = 0; j < ic->n_labels; j++)
			json_array_append_new(labels, json_string(ic->labels[j]));
		for (j = 0; j < ic->n_cidrs; j++)
			json_array_append_new(cidrs, json_string(gw_cidr_format(&ic->cidrs[j], buf,
										sizeof(buf))));
		json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:O?,s:o,s:o}", "name", ic->name,
						     "site", ic->site, "id",
						     (json_int_t)gw_apply_identity_id(cfg, i),
						     "etcd_id", json_object_get(global, ic->name),
						     "labels", labels, "cidrs", cidrs));
	}
	gw_api_reply_json(resp, 200, json_pack("{s:o}", "identities", arr));
}
