/* gatewayd's control API: status, services, backends (drain, weight),
 * peers, counters, config reload, and Prometheus /metrics (docs/api.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "gw/apply.h"
#include "gw/daemon.h"

static const char *const reason_names[] = {
#define GW_REASON_NAME(sym, name, help) name,
	GW_REASONS(GW_REASON_NAME)
#undef GW_REASON_NAME
};

static const char *const reason_help[] = {
#define GW_REASON_HELP(sym, name, help) help,
	GW_REASONS(GW_REASON_HELP)
#undef GW_REASON_HELP
};

json_t *gw_json_ip(const struct gw_ip *ip)
{
	char buf[64];

	return json_string(gw_ip_format(ip, buf, sizeof(buf)));
}

void gw_json_service_addrs(const struct gw_lb_service *s, json_t *o)
{
	json_t *vips = json_array(), *ports = json_array();
	char buf[64];
	size_t i;

	for (i = 0; i < s->n_vips; i++)
		json_array_append_new(vips, gw_json_ip(&s->vips[i]));
	for (i = 0; i < s->n_ports; i++)
		json_array_append_new(
			ports, json_string(gw_port_range_format(&s->ports[i], buf, sizeof(buf))));
	json_object_set_new(o, "vips", vips);
	json_object_set_new(o, "ports", ports);
}

static json_t *service_json(const struct gw_balancer *lb, const struct gw_lb_service *s)
{
	json_t *o = json_object();
	uint32_t active = 0;
	size_t i;

	for (i = 0; i < s->n_backends; i++)
		active += gw_lb_backend_state(lb, &s->backends[i]) == GW_LB_ACTIVE;
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "id", json_integer(s->id));
	gw_json_service_addrs(s, o);
	json_object_set_new(o, "affinity", json_string(gw_affinity_name(s->affinity)));
	json_object_set_new(o, "lb", json_string(gw_lb_name(s->conf ? s->conf->lb : GW_LB_MAGLEV)));
	json_object_set_new(o, "l7", json_string(gw_l7_name(s->l7)));
	json_object_set_new(o, "min_local_healthy", json_integer(s->min_local_healthy));
	json_object_set_new(o, "source",
			    json_string(s->conf	  ? "config"
					: s->held ? "held"
						  : "learned"));
	json_object_set_new(o, "backends", json_integer(s->n_backends));
	json_object_set_new(o, "active", json_integer(active));
	json_object_set_new(o, "in_table", json_integer(s->n_client));
	return o;
}

static json_t *backend_json(const struct gw_balancer *lb, const struct gw_lb_service *s,
			    const struct gw_lb_backend *b)
{
	json_t *o = json_object();

	json_object_set_new(o, "service", json_string(s->name));
	json_object_set_new(o, "address", gw_json_ip(&b->addr));
	json_object_set_new(o, "port", json_integer(b->port));
	json_object_set_new(o, "site", json_string(b->site));
	json_object_set_new(o, "local", json_boolean(b->local));
	json_object_set_new(o, "weight", json_integer(b->weight));
	json_object_set_new(o, "state", json_string(gw_lb_state_name(gw_lb_backend_state(lb, b))));
	json_object_set_new(o, "healthy", json_boolean(b->healthy));
	json_object_set_new(o, "source",
			    json_string(b->held	     ? "held"
					: b->learned ? "learned"
						     : "config"));
	json_object_set_new(o, "id", json_integer(b->id));
	return o;
}

static void h_status(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	const struct gw_config *cfg = d->cfg;
	json_t *o = json_object(), *site = json_object(), *ifs = json_array();
	size_t nb = 0, i;
	int side;

	json_object_set_new(site, "name", json_string(cfg->site.name));
	json_object_set_new(site, "id", json_integer(cfg->site.id));
	for (side = 0; side < 2; side++) {
		const struct gw_dp_attach_info *ai = gw_dp_attach_info(d->dp, side);
		json_t *x = json_object();

		json_object_set_new(x, "role", json_string(side ? "external" : "internal"));
		json_object_set_new(
			x, "name",
			json_string(
				side ? cfg->gateway.external.interface : cfg->gateway.internal.interface));
		json_object_set_new(x, "ifindex", json_integer(ai->ifindex));
		json_object_set_new(x, "xdp_mode", json_string(ai->generic ? "generic" : "native"));
		json_object_set_new(x, "taken_over", json_boolean(ai->taken_over));
		json_array_append_new(ifs, x);
	}
	for (i = 0; i < d->lb->n_services; i++)
		nb += d->lb->services[i]->n_backends;
	json_object_set_new(o, "gateway", json_string(cfg->gateway.name));
	json_object_set_new(o, "site", site);
	json_object_set_new(o, "abi_version", json_integer(GW_ABI_VERSION));
	json_object_set_new(o, "datapath", json_string(gw_datapath_name(cfg->gateway.datapath)));
	json_object_set_new(o, "interfaces", ifs);
	json_object_set_new(o, "tunnel_mtu", json_integer(gw_dp_cfg(d->dp)->tunnel_mtu));
	json_object_set_new(o, "uptime_s", json_integer((uv_now(d->loop) - d->started_ms) / 1000));
	json_object_set_new(o, "config", json_string(d->conf_path));
	json_object_set_new(o, "pin_dir", json_string(d->pin_dir));
	json_object_set_new(o, "services", json_integer(d->lb->n_services));
	json_object_set_new(o, "backends", json_integer(nb));
	json_object_set_new(o, "peers", json_integer(d->lb->n_peers));
	json_object_set_new(o, "conntrack_entries", json_integer(gw_dp_ct_count(d->dp)));
	json_object_set_new(o, "reloads", json_integer(d->reloads));
	{
		struct gw_nlwatch_stats ns = {0};

		if (d->nlwatch)
			gw_nlwatch_stats(d->nlwatch, &ns);
		json_object_set_new(
			o, "flow_cache",
			json_pack("{s:I,s:I,s:I,s:I}", "entries_per_cpu",
				  (json_int_t)cfg->limits.flow_cache_entries,
				  "ipv6_entries_per_cpu",
				  (json_int_t)gw_dp_flowc6_slots(cfg->limits.flow_cache_entries),
				  "epoch", (json_int_t)gw_dp_epoch(d->dp), "net_changes",
				  (json_int_t)ns.bursts));
	}
	if (d->prober) {
		struct gw_probe_stats ps;

		gw_prober_stats(d->prober, &ps);
		json_object_set_new(o, "probes",
				    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sent",
					      (json_int_t)ps.sent, "answered",
					      (json_int_t)ps.answered, "late", (json_int_t)ps.late,
					      "missed", (json_int_t)ps.missed, "downs",
					      (json_int_t)ps.downs, "bad", (json_int_t)ps.bad,
					      "send_errors", (json_int_t)ps.send_errors));
	}
	if (d->health) {
		struct gw_health_stats hs;

		gw_health_stats(d->health, &hs);
		json_object_set_new(o, "health_checks",
				    json_pack("{s:I,s:I,s:I,s:i}", "checks", (json_int_t)hs.checks,
					      "failures", (json_int_t)hs.failures, "transitions",
					      (json_int_t)hs.transitions, "running",
					      (int)hs.running));
	}
	gw_api_reply_json(resp, 200, o);
}

static void h_services(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < d->lb->n_services; i++)
		json_array_append_new(arr, service_json(d->lb, d->lb->services[i]));
	gw_api_reply_json(resp, 200, json_pack("{s:o}", "services", arr));
}

static void h_service_show(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	struct gw_lb_service *s = gw_lb_service_find(d->lb, req->tail);
	json_t *o, *arr;
	size_t i;

	if (!s) {
		gw_api_reply_error(resp, 404, "no service \"%s\"", req->tail);
		return;
	}
	o = service_json(d->lb, s);
	arr = json_array();
	for (i = 0; i < s->n_backends; i++)
		json_array_append_new(arr, backend_json(d->lb, s, &s->backends[i]));
	json_object_set_new(o, "backends", arr);
	gw_api_reply_json(resp, 200, o);
}

static void h_backends(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	json_t *arr = json_array();
	char want[128];
	bool filter;
	size_t i, j;

	filter = gw_api_query_get(req, "service", want, sizeof(want)) == 0;
	if (filter && !gw_lb_service_find(d->lb, want)) {
		json_decref(arr);
		gw_api_reply_error(resp, 404, "no service \"%s\"", want);
		return;
	}
	for (i = 0; i < d->lb->n_services; i++) {
		struct gw_lb_service *s = d->lb->services[i];

		if (filter && strcmp(s->name, want) != 0)
			continue;
		for (j = 0; j < s->n_backends; j++)
			json_array_append_new(arr, backend_json(d->lb, s, &s->backends[j]));
	}
	gw_api_reply_json(resp, 200, json_pack("{s:o}", "backends", arr));
}

/* Shared by drain, undrain and weight: find the backend named in the body.
 * Sites may use the same addresses (overlapping CIDRs), so "site" picks
 * one; without it, this site's backend is meant, and if only other sites
 * have the address, exactly one of them must. */
static struct gw_lb_backend *backend_from_body(struct gw_daemon *d, json_t *body,
					       struct gw_lb_service **ret_svc,
					       struct gw_api_response *resp)
{
	const char *svc_name = json_string_value(json_object_get(body, "service"));
	const char *be_name = json_string_value(json_object_get(body, "backend"));
	json_t *site_j = json_object_get(body, "site");
	const char *site = json_string_value(site_j);
	char name[INET6_ADDRSTRLEN + 16];
	struct gw_lb_service *s;
	struct gw_lb_backend *b;
	bool found;
	size_t i;

	if (!svc_name || !be_name || (site_j && !site)) {
		gw_api_reply_error(resp, 400,
				   "body needs \"service\" and \"backend\" strings (and \"site\", "
				   "if given, a string)");
		return NULL;
	}
	s = gw_lb_service_find(d->lb, svc_name);
	if (!s) {
		gw_api_reply_error(resp, 404, "no service \"%s\"", svc_name);
		return NULL;
	}
	b = gw_lb_backend_find(s, be_name, site ? site : d->cfg->site.name);
	found = b != NULL; /* in the named site, or this one */
	for (i = 0; !site && !found && i < s->n_backends; i++) {
		gw_lb_backend_name(&s->backends[i], name, sizeof(name));
		if (strcmp(name, be_name) != 0)
			continue;
		if (b) {
			gw_api_reply_error(
				resp, 409,
				"service \"%s\" has backend \"%s\" in more than one other "
				"site: name one with \"site\"",
				svc_name, be_name);
			return NULL;
		}
		b = &s->backends[i];
	}
	if (!b) {
		gw_api_reply_error(resp, 404,
				   "service \"%s\" has no backend \"%s\"%s%s (use ADDR:PORT)",
				   svc_name, be_name, site ? " in site " : "", site ? site : "");
		return NULL;
	}
	*ret_svc = s;
	return b;
}

static void backend_change(struct gw_daemon *d, const struct gw_api_request *req,
			   struct gw_api_response *resp, int what)
{
	struct gw_lb_service *s = NULL;
	struct gw_lb_backend *b;
	uint32_t old_weight;
	bool old_drained;
	json_t *body;
	int r;

	body = gw_api_body_json(req, resp);
	if (!body)
		return;
	b = backend_from_body(d, body, &s, resp);
	if (!b)
		goto out;
	old_weight = b->weight;
	old_drained = b->drained;
	if (what == 2) {
		json_t *w = json_object_get(body, "weight");

		if (!json_is_integer(w) || json_integer_value(w) < 0 ||
		    json_integer_value(w) > 65535) {
			gw_api_reply_error(resp, 400, "\"weight\" must be an integer 0..65535");
			goto out;
		}
		b->weight = json_integer_value(w);
	} else {
		b->drained = what == 0;
	}
	r = gw_apply_service_tables(d->dp, d->lb, s);
	if (r) {
		b->weight = old_weight;
		b->drained = old_drained;
		/* one of the service's tables may have been swapped already:
		 * the next sync rebuilds them from the state restored here */
		s->dirty = true;
		gw_api_reply_error(resp, 500, "cannot update the Maglev tables: %s", strerror(-r));
		goto out;
	}
	d->lb->version++;
	gw_log(GW_LOG_INFO, "service %s backend %s: %s", s->name,
	       json_string_value(json_object_get(body, "backend")),
	       what == 0   ? "drained"
	       : what == 1 ? "undrained"
			   : "weight changed");
	gw_api_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
out:
	json_decref(body);
}

static void h_drain(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	backend_change(ud, req, resp, 0);
}

static void h_undrain(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	backend_change(ud, req, resp, 1);
}

static void h_weight(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	backend_change(ud, req, resp, 2);
}

static void h_peers(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < d->lb->n_peers; i++) {
		const struct gw_lb_peer *p = &d->lb->peers[i];
		json_t *o;

		if (!p->configured && !p->learned)
			continue;
		o = json_object();
		json_object_set_new(o, "site", json_string(p->site));
		json_object_set_new(o, "site_id", json_integer(p->site_id));
		json_object_set_new(o, "gateway", json_string(p->gateway));
		json_object_set_new(o, "address", gw_json_ip(&p->addr));
		json_object_set_new(o, "state", json_string(p->up ? "up" : "down"));
		json_object_set_new(o, "rtt_us",
				    p->up && p->last_seen_ms ? json_integer(p->rtt_us)
							     : json_null());
		json_object_set_new(o, "misses", json_integer(p->misses));
		json_object_set_new(o, "source",
				    json_string(p->learned
							? (p->configured ? "config+etcd" : "etcd")
							: "config"));
		json_object_set_new(o, "encrypt", json_boolean(p->encrypt));
		json_array_append_new(arr, o);
	}
	gw_api_reply_json(resp, 200, json_pack("{s:o}", "peers", arr));
}

static void h_stats(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	struct gw_counter cnt[GW_R__COUNT];
	json_t *arr = json_array();
	int i, r;

	r = gw_dp_counters(d->dp, cnt);
	if (r) {
		json_decref(arr);
		gw_api_reply_error(resp, 500, "cannot read counters: %s", strerror(-r));
		return;
	}
	for (i = 0; i < GW_R__COUNT; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(reason_names[i]));
		json_object_set_new(o, "kind",
				    json_string(gw_reason_is_drop(i) ? "drop" : "verdict"));
		json_object_set_new(o, "packets", json_integer(cnt[i].packets));
		json_object_set_new(o, "bytes", json_integer(cnt[i].bytes));
		json_object_set_new(o, "help", json_string(reason_help[i]));
		json_array_append_new(arr, o);
	}
	gw_api_reply_json(resp, 200, json_pack("{s:o}", "counters", arr));
}

static void h_reload(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	struct gw_config_errors errs = {0};
	json_t *list;
	size_t i;
	int r;

	r = gw_daemon_reload(d, &errs);
	if (r == 0) {
		gw_api_reply_json(resp, 200,
				  json_pack("{s:b,s:s}", "ok", 1, "config", d->conf_path));
		goto out;
	}
	list = json_array();
	for (i = 0; i < errs.n; i++)
		json_array_append_new(list, json_string(errs.msg[i]));
	gw_api_reply_json(resp, 400,
			  json_pack("{s:s,s:o}", "error",
				    "the new config was refused; the old one stays in force",
				    "errors", list));
out:
	gw_config_errors_done(&errs);
}

static void h_config(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	json_t *o = gw_config_dump_json(d->cfg);

	if (!o) {
		gw_api_reply_error(resp, 500, "cannot render the config");
		return;
	}
	gw_api_reply_json(resp, 200, o);
}

static void h_metrics(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct gw_daemon *d = ud;
	struct gw_counter cnt[GW_R__COUNT];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	size_t i, j;
	int r;

	r = gw_dp_counters(d->dp, cnt);
	f = open_memstream(&buf, &len);
	if (r || !f) {
		if (f)
			fclose(f);
		free(buf);
		gw_api_reply_error(resp, 500, "cannot read counters");
		return;
	}
	fprintf(f, "# HELP isthmus_packets_total Packets by data-plane verdict or drop reason.\n"
		   "# TYPE isthmus_packets_total counter\n");
	for (i = 0; i < GW_R__COUNT; i++)
		fprintf(f, "isthmus_packets_total{gateway=\"%s\",reason=\"%s\"} %llu\n",
			d->cfg->gateway.name, reason_names[i], (unsigned long long)cnt[i].packets);
	fprintf(f, "# HELP isthmus_bytes_total Bytes by data-plane verdict or drop reason.\n"
		   "# TYPE isthmus_bytes_total counter\n");
	for (i = 0; i < GW_R__COUNT; i++)
		fprintf(f, "isthmus_bytes_total{gateway=\"%s\",reason=\"%s\"} %llu\n",
			d->cfg->gateway.name, reason_names[i], (unsigned long long)cnt[i].bytes);
	fprintf(f, "# HELP isthmus_backend_active Whether a backend takes new flows.\n"
		   "# TYPE isthmus_backend_active gauge\n");
	for (i = 0; i < d->lb->n_services; i++) {
		const struct gw_lb_service *s = d->lb->services[i];

		for (j = 0; j < s->n_backends; j++) {
			char name[96];

			gw_lb_backend_name(&s->backends[j], name, sizeof(name));
			fprintf(f,
				"isthmus_backend_active{service=\"%s\",backend=\"%s\",site=\"%s\"} "
				"%d\n",
				s->name, name, s->backends[j].site,
				gw_lb_backend_state(d->lb, &s->backends[j]) == GW_LB_ACTIVE);
		}
	}
	fclose(f);
	gw_api_reply_text(resp, 200, "text/plain; version=0.0.4", buf, len);
	free(buf);
}

static const struct gw_api_route routes[] = {
	{"GET", "/v1/status", 0, h_status},
	{"GET", "/v1/services", 0, h_services},
	{"GET", "/v1/services/", 1, h_service_show},
	{"GET", "/v1/backends", 0, h_backends},
	{"POST", "/v1/backends/drain", 0, h_drain},
	{"POST", "/v1/backends/undrain", 0, h_undrain},
	{"POST", "/v1/backends/weight", 0, h_weight},
	{"GET", "/v1/peers", 0, h_peers},
	{"GET", "/v1/stats", 0, h_stats},
	{"POST", "/v1/config/reload", 0, h_reload},
	{"GET", "/v1/config", 0, h_config},
	{"GET", "/metrics", 0, h_metrics},
	{"GET", "/v1/export", 0, gw_h_export},
	{"GET", "/v1/remote", 0, gw_h_remote_get},
	{"PUT", "/v1/remote/sites/", 1, gw_h_remote_put},
	{"DELETE", "/v1/remote/sites/", 1, gw_h_remote_del},
	{"PUT", "/v1/sync/status", 0, gw_h_sync_status_put},
	{"GET", "/v1/sync/status", 0, gw_h_sync_status_get},
	{"GET", "/v1/sites", 0, gw_h_sites},
	{"GET", "/v1/identities", 0, gw_h_identities},
};

static const struct gw_api_route metrics_routes[] = {
	{"GET", "/metrics", 0, h_metrics},
};

const struct gw_api_route *gw_daemon_routes(size_t *ret_n)
{
	*ret_n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

const struct gw_api_route *gw_daemon_metrics_routes(size_t *ret_n)
{
	*ret_n = 1;
	return metrics_routes;
}

/* Keeps operator changes (drain, weight) and what was learned from other
 * sites across a reload. */
static void carry_over(const struct gw_balancer *old, struct gw_balancer *new)
{
	char name[96];
	size_t i, j;

	for (i = 0; i < new->n_services; i++) {
		struct gw_lb_service *ns = new->services[i];
		struct gw_lb_service *os = gw_lb_service_find((struct gw_balancer *)old, ns->name);

		if (!os)
			continue;
		for (j = 0; j < ns->n_backends; j++) {
			struct gw_lb_backend *nb = &ns->backends[j], *ob;

			gw_lb_backend_name(nb, name, sizeof(name));
			ob = gw_lb_backend_find(os, name, nb->site);
			if (ob && !ob->learned) {
				nb->drained = ob->drained;
				nb->healthy = ob->healthy;
			}
		}
	}
}

void gw_daemon_sync_dataplane(void *ud)
{
	struct gw_daemon *d = ud;
	const char *what = "";
	int r;

	r = gw_apply_dirty(d->dp, d->lb, &what);
	if (r)
		gw_log(GW_LOG_ERR, "writing %s to the data plane failed: %s", what, strerror(-r));
}

int gw_daemon_reload(struct gw_daemon *d, struct gw_config_errors *errs)
{
	const struct gw_config *old = d->cfg;
	struct gw_balancer *lb = NULL;
	struct gw_config *cfg = NULL;
	const char *what = "";
	int r;

	r = gw_config_load(d->conf_path, &cfg, errs);
	if (r)
		goto fail;
	if (strcmp(cfg->gateway.internal.interface, old->gateway.internal.interface) ||
	    strcmp(cfg->gateway.external.interface, old->gateway.external.interface) ||
	    memcmp(&cfg->limits, &old->limits, sizeof(cfg->limits))) {
		gw_config_errors_add(
			errs, false,
			"%s: interfaces or limits changed: restart gatewayd to apply them",
			d->conf_path);
		r = -EINVAL;
		goto fail;
	}
	lb = gw_balancer_new(cfg);
	if (!lb) {
		r = -errno;
		goto fail;
	}
	carry_over(d->lb, lb);
	r = gw_balancer_keep_peers(lb, d->lb);
	if (r) {
		gw_config_errors_add(errs, false, "%s: peers: %s (limits.peers)", d->conf_path,
				     strerror(-r));
		goto fail;
	}
	r = gw_balancer_keep_learned(lb, d->lb);
	if (r) {
		gw_config_errors_add(errs, false,
				     "%s: what other sites export: %s (limits.services, "
				     "limits.backends)",
				     d->conf_path, strerror(-r));
		goto fail;
	}
	/* What other sites exported survives a reload of our own config: the
	 * exports are set into lb before its first write, so that a static
	 * entry an export replaced or removed is in no table of the batch
	 * (new flows would go to it until the export was applied again) */
	gw_daemon_remote_restore(d, lb);
	/* the data plane's keys and tables name services and backends by id
	 * while lb is applied, service after service */
	r = gw_balancer_keep_ids(lb, d->lb);
	if (r) {
		gw_config_errors_add(errs, false,
				     "%s: service and backend ids: %s (the ids of what it removes "
				     "are held until it is applied: reload in two steps, "
				     "removals first, or raise limits.services, limits.backends)",
				     d->conf_path, strerror(-r));
		goto fail;
	}
	r = gw_apply_all(d->dp, cfg, lb, &what);
	if (r) {
		gw_config_errors_add(errs, false, "%s: applying %s failed: %s", d->conf_path, what,
				     strerror(-r));
		/* put the old state back whole */
		gw_apply_all(d->dp, d->cfg, d->lb, &what);
		goto fail;
	}
	gw_balancer_free(d->lb);
	gw_config_free(d->cfg);
	d->lb = lb;
	d->cfg = cfg;
	d->reloads++;
	if (d->prober)
		gw_prober_set_balancer(d->prober, d->lb);
	gw_health_free(d->health);
	d->health = gw_health_new(d->loop, d->lb, gw_daemon_sync_dataplane, d);
	if (!d->health)
		gw_log(GW_LOG_ERR, "health checks not restarted: %s", strerror(errno));
	gw_log(GW_LOG_INFO, "config %s reloaded", d->conf_path);
	return 0;
fail:
	gw_balancer_free(lb);
	gw_config_free(cfg);
	d->reload_failures++;
	gw_log(GW_LOG_WARN, "config %s refused; the old config stays in force", d->conf_path);
	return r;
}
