/* Internals shared by the files of the sync engine (sync.c, sync-view.c,
 * sync-publish.c): its state, and the steps its tick drives. */
#ifndef CS_SYNC_INT_H
#define CS_SYNC_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "gw/etcd.h"
#include "gw/sync.h"

struct cs_sync {
	uv_loop_t *loop;
	const struct gw_config *cfg;
	struct cs_sync_opts o;
	char prefix[128];
	char gw_socket[256];
	struct cs_etcd *etcd;

	/* what we publish */
	int64_t lease;
	bool lease_pending;
	struct cs_etcd_keepalive *ka;
	json_t *published; /* key -> value text last written (or found) */
	json_t *export;	   /* gatewayd's last GET /v1/export */
	int64_t export_version;
	char export_boot[40];
	bool need_publish;
	unsigned in_flight; /* puts and deletes not answered yet */

	/* what we learn */
	json_t *view;	    /* site -> {site_id, gateways: {name: rec}, services: {name: rec}} */
	json_t *dirty;	    /* site -> changes not pushed yet (a count) */
	json_t *pushed;	    /* site -> body pushed into gatewayd */
	json_t *push_retry; /* site -> [not before ms, backoff ms, dirty count] after a refused push
			     */
	struct cs_etcd_watch *watch;
	int64_t revision;
	bool range_pending;
	bool have_view;
	char gw_boot[40]; /* gatewayd's boot id of the last push */

	json_t *identities; /* config identity name -> id allocated in etcd */
	bool identities_pending;
	json_t *gc_seen; /* unused ids seen by the collector (see cs_identity_gc) */
	bool gc_running;
	uint64_t gc_last_ms;
	uint64_t gw_quiet_until; /* uv_now: no call to gatewayd before this */
	uint64_t gw_backoff_ms;
	uint64_t gc_deleted;

	uv_timer_t tick;
	uv_timer_t flush;
	uv_timer_t retry;
	uint64_t last_status_ms;
	uint64_t last_contact_ms;
	char last_error[256];
	struct cs_sync_stats st;
	int closing;
};

/* --- sync.c */

void cs_sync__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keeps the message as the status's last error; logs it unless it is the
 * same as the last one. */
void cs_sync__set_error(struct cs_sync *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* etcd answered: the status's lag counts from now. */
static inline void cs_sync__contact(struct cs_sync *s)
{
	s->last_contact_ms = uv_now(s->loop);
}

/*
 * One request to gatewayd, @text (or @body as JSON) the body. 0 on a 2xx
 * (the answer's JSON in *@ret if asked), -status on any other, -EAGAIN in
 * the quiet period after a timeout, or the -errno of gwctl_http().
 */
int cs_sync__gw_call_text(struct cs_sync *s, const char *method, const char *target,
			  const char *text, json_t **ret);
int cs_sync__gw_call(struct cs_sync *s, const char *method, const char *target, json_t *body,
		     json_t **ret);

/* --- sync-view.c: what we learn from etcd and push into gatewayd */

/* (Re)reads the whole prefix, then watches from its revision. */
void cs_sync__start_view(struct cs_sync *s);
/* @site changed: push it on the next loop turn. */
void cs_sync__mark_dirty(struct cs_sync *s, const char *site);
/* Pushes (or withdraws) every dirty site; the flush timer's callback. */
void cs_sync__flush_sites(uv_timer_t *t);

/* --- sync-publish.c: what we publish to etcd */

void cs_sync__grant_lease(struct cs_sync *s);
/* Writes what differs between gatewayd's export and what etcd holds. */
void cs_sync__publish(struct cs_sync *s);
void cs_sync__allocate_identities(struct cs_sync *s);
void cs_sync__collect_identities(struct cs_sync *s);

#endif /* CS_SYNC_INT_H */
