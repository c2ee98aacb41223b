/* The sync engine of cluster-syncd: its state, its calls to gatewayd, and
 * the tick that drives both directions on one libuv loop (sync-view.c,
 * sync-publish.c); its lifecycle and status. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/config.h"
#include "gw/etcd.h"
#include "gw/gwctl.h"
#include "gw/sync.h"
#include "sync-int.h"

#define GW_HTTP_TIMEOUT_MS 3000
#define STATUS_EVERY_MS	   1000

void cs_sync__log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cluster-syncd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cs_sync__set_error(struct cs_sync *s, const char *fmt, ...)
{
	char buf[sizeof(s->last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, s->last_error) != 0)
		cs_sync__log("%s", buf);
	memcpy(s->last_error, buf, sizeof(buf));
}

/* A gatewayd that hangs (its socket still accepts, nobody answers) must not
 * hold this loop, which also keeps the lease alive: without a lease, other
 * sites would withdraw this site while its data plane runs fine. After a
 * call times out, calls fail at once for a while (1 s, doubling to 8 s,
 * reset by any answer), so the loop is held at most one timeout per
 * backoff. A dead gatewayd refuses at once and needs no such care. */
#define GW_QUIET_MIN_MS 1000
#define GW_QUIET_MAX_MS 8000

int cs_sync__gw_call_text(struct cs_sync *s, const char *method, const char *target,
			  const char *text, json_t **ret)
{
	struct gwctl_answer a = {0};
	int r;

	if (uv_now(s->loop) < s->gw_quiet_until)
		return -EAGAIN;
	r = gwctl_http(s->gw_socket, GW_HTTP_TIMEOUT_MS, method, target, text, &a);
	uv_update_time(s->loop);
	if (r == -ETIMEDOUT) {
		s->gw_backoff_ms = s->gw_backoff_ms ? s->gw_backoff_ms * 2 : GW_QUIET_MIN_MS;
		if (s->gw_backoff_ms > GW_QUIET_MAX_MS)
			s->gw_backoff_ms = GW_QUIET_MAX_MS;
		s->gw_quiet_until = uv_now(s->loop) + s->gw_backoff_ms;
		s->st.gw_timeouts++;
		cs_sync__set_error(
			s, "gatewayd did not answer %s %s within %d ms: not asking for %llu ms",
			method, target, GW_HTTP_TIMEOUT_MS, (unsigned long long)s->gw_backoff_ms);
		return r;
	}
	if (r)
		return r;
	s->gw_backoff_ms = 0;
	if (ret)
		*ret = json_loadb(a.body, a.body_len, 0, NULL);
	r = a.status >= 200 && a.status < 300 ? 0 : -a.status;
	if (r)
		cs_sync__set_error(s, "gatewayd %s %s: %d %.200s", method, target, a.status,
				   a.body);
	gwctl_answer_done(&a);
	return r;
}

int cs_sync__gw_call(struct cs_sync *s, const char *method, const char *target, json_t *body,
		     json_t **ret)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int r = cs_sync__gw_call_text(s, method, target, text, ret);

	free(text);
	return r;
}

/* ------------------------------------------------------------------ the tick */

static void push_status(struct cs_sync *s)
{
	json_t *st = cs_sync_status(s);

	cs_sync__gw_call(s, "PUT", "/v1/sync/status", st, NULL);
	json_decref(st);
}

static void tick(uv_timer_t *t)
{
	struct cs_sync *s = t->data;
	json_t *ex = NULL;
	const char *boot;
	json_t *v;
	const char *site;
	int r;

	r = cs_sync__gw_call(s, "GET", "/v1/export", NULL, &ex);
	if (r == 0 && json_is_object(ex)) {
		boot = json_string_value(json_object_get(ex, "boot"));
		if (boot && strcmp(boot, s->gw_boot) != 0) {
			/* a new gatewayd: it knows nothing of other sites yet */
			snprintf(s->gw_boot, sizeof(s->gw_boot), "%s", boot);
			json_object_clear(s->pushed);
			json_object_foreach(s->view, site, v) cs_sync__mark_dirty(s, site);
			s->need_publish = true;
		}
		if (json_integer_value(json_object_get(ex, "version")) != s->export_version) {
			s->export_version = json_integer_value(json_object_get(ex, "version"));
			s->need_publish = true;
		}
		json_decref(s->export);
		s->export = ex;
		ex = NULL;
	}
	json_decref(ex);
	if (!s->lease)
		cs_sync__grant_lease(s);
	cs_sync__allocate_identities(s);
	cs_sync__collect_identities(s);
	if (s->export && s->lease && s->need_publish && s->in_flight == 0)
		cs_sync__publish(s);
	if (json_object_size(s->dirty))
		cs_sync__flush_sites(&s->flush);
	if (uv_now(s->loop) - s->last_status_ms >= STATUS_EVERY_MS) {
		s->last_status_ms = uv_now(s->loop);
		push_status(s);
	}
}

/* ------------------------------------------------------------------ lifecycle */

static void sync_release(struct cs_sync *s)
{
	json_decref(s->published);
	json_decref(s->export);
	json_decref(s->view);
	json_decref(s->dirty);
	json_decref(s->pushed);
	json_decref(s->identities);
	json_decref(s->gc_seen);
	json_decref(s->push_retry);
	free(s);
}

struct cs_sync *cs_sync_new(uv_loop_t *loop, const struct cs_sync_opts *opts)
{
	const struct gw_config *cfg = opts->cfg;
	struct cs_etcd_opts eo = {0};
	struct cs_sync *s;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->loop = loop;
	s->cfg = cfg;
	s->o = *opts;
	if (!s->o.poll_ms)
		s->o.poll_ms = 50;
	if (!s->o.retry_ms)
		s->o.retry_ms = 500;
	snprintf(s->prefix, sizeof(s->prefix), "%s",
		 cfg->etcd.prefix ? cfg->etcd.prefix : CS_DEFAULT_PREFIX);
	snprintf(s->gw_socket, sizeof(s->gw_socket), "%s", opts->gw_socket);
	s->published = json_object();
	s->view = json_object();
	s->dirty = json_object();
	s->pushed = json_object();
	s->identities = json_object();
	s->gc_seen = json_object();
	s->push_retry = json_object();
	eo.endpoints = cfg->etcd.endpoints;
	eo.n_endpoints = cfg->etcd.n_endpoints;
	eo.dial_timeout_ms = cfg->etcd.dial_timeout_ms;
	eo.request_timeout_ms = cfg->etcd.request_timeout_ms;
	eo.tls_ca = cfg->etcd.tls.ca;
	eo.tls_cert = cfg->etcd.tls.cert;
	eo.tls_key = cfg->etcd.tls.key;
	s->etcd = cs_etcd_new(loop, &eo);
	if (!s->etcd) {
		int e = errno;

		sync_release(s);
		errno = e;
		return NULL;
	}
	uv_timer_init(loop, &s->tick);
	uv_timer_init(loop, &s->flush);
	uv_timer_init(loop, &s->retry);
	s->tick.data = s->flush.data = s->retry.data = s;
	snprintf(s->last_error, sizeof(s->last_error), "none");
	cs_sync__start_view(s);
	cs_sync__grant_lease(s);
	uv_timer_start(&s->tick, tick, 0, s->o.poll_ms);
	return s;
}

static void closed(uv_handle_t *h)
{
	struct cs_sync *s = h->data;

	if (--s->closing == 0)
		sync_release(s);
}

void cs_sync_free(struct cs_sync *s)
{
	if (!s)
		return;
	cs_etcd_watch_stop(s->watch);
	cs_etcd_lease_keepalive_stop(s->ka);
	cs_etcd_free(s->etcd);
	s->closing = 3;
	uv_close((uv_handle_t *)&s->tick, closed);
	uv_close((uv_handle_t *)&s->flush, closed);
	uv_close((uv_handle_t *)&s->retry, closed);
}

json_t *cs_sync_status(const struct cs_sync *s)
{
	json_t *o = json_object(), *c = json_object(), *ref = json_object();
	int i;

#define CS_SYNC_STAT_JSON(name, help) json_object_set_new(c, #name, json_integer(s->st.name));
	CS_SYNC_STATS(CS_SYNC_STAT_JSON)
#undef CS_SYNC_STAT_JSON
	for (i = 0; i < CS_REFUSE__COUNT; i++)
		json_object_set_new(ref, cs_refusal_name(i), json_integer(s->st.refused[i]));
	json_object_set_new(o, "endpoint", json_string(cs_etcd_endpoint(s->etcd)));
	json_object_set_new(o, "revision", json_integer(s->revision));
	json_object_set_new(o, "watching", json_boolean(s->watch != NULL));
	json_object_set_new(o, "lease", json_integer(s->lease));
	json_object_set_new(o, "lag_ms",
			    s->last_contact_ms ? json_integer(uv_now(s->loop) - s->last_contact_ms)
					       : json_null());
	json_object_set_new(o, "last_error", json_string(s->last_error));
	json_object_set_new(o, "sites", json_integer(json_object_size(s->view)));
	json_object_set_new(o, "identities", json_deep_copy(s->identities));
	json_object_set_new(o, "identities_collected", json_integer(s->gc_deleted));
	json_object_set_new(o, "counters", c);
	json_object_set_new(o, "refused", ref);
	return o;
}
