/* gatewayd's one context struct (STYLE.md rule 7) and the pieces of the
 * daemon that live outside main.c: the control API handlers and reload. */
#ifndef GW_DAEMON_H
#define GW_DAEMON_H

#include <stdint.h>

#include <uv.h>

#include "gw/api.h"
#include "gw/config-t.h"
#include "gw/config.h"
#include "gw/dataplane.h"
#include "gw/health.h"
#include "gw/lb.h"
#include "gw/nlwatch.h"
#include "gw/probe.h"

#define GW_PIN_ROOT "/sys/fs/bpf/gw"
#define GW_RUN_DIR  "/run/isthmus"

struct gw_daemon {
	uv_loop_t *loop;
	const char *conf_path;
	char pin_dir[512];
	char sock_path[256];
	struct gw_config *cfg;
	struct gw_balancer *lb;
	struct gw_dp *dp;
	struct gw_api *api;
	struct gw_api *metrics;
	json_t *remote;	     /* site name -> its last export as cluster-syncd sent it */
	json_t *sync_status; /* as cluster-syncd last reported it */
	uint64_t sync_status_ms;
	char boot[40]; /* random per start: lets cluster-syncd see a restart */
	struct gw_prober *prober;
	struct gw_health *health;
	struct gw_nlwatch *nlwatch;
	/* ends what a start over a running data plane held of other sites'
	 * exports that no push claimed (GW_LB_HOLD_MS) */
	uv_timer_t hold_timer;
	uint64_t started_ms;
	uint64_t reloads;
	uint64_t reload_failures;
};

const struct gw_api_route *gw_daemon_routes(size_t *ret_n);

/* JSON pieces the handlers share: an address, and a service's "vips" and
 * "ports" set into o. */
json_t *gw_json_ip(const struct gw_ip *ip);
void gw_json_service_addrs(const struct gw_lb_service *s, json_t *o);

/* sync-api.c: the endpoints cluster-syncd uses. */
void gw_h_export(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
void gw_h_remote_put(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
void gw_h_remote_del(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
void gw_h_remote_get(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
void gw_h_sync_status_put(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
void gw_h_sync_status_get(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
void gw_h_sites(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
void gw_h_identities(void *ud, const struct gw_api_request *req, struct gw_api_response *resp);
/* Applies a remote site's export; err says what was wrong. 0 or -errno. */
int gw_daemon_remote_apply(struct gw_daemon *d, const char *site, json_t *body, char *err,
			   size_t n);
/* For a reload: sets every export stored in d->remote into lb (the new
 * balancer) without writing the data plane, so that the first write of
 * the reload already has what the exports replaced or removed out of the
 * config's static entries. An export the new config refuses (its site is
 * now ours) is logged and left out. */
void gw_daemon_remote_restore(struct gw_daemon *d, struct gw_balancer *lb);
/* Forgets what a remote site exported (its keys left etcd) and writes the
 * result, the config's static entries for it back in; err says what went
 * wrong. 0, -ENOENT (nothing learned of it) or -errno. */
int gw_daemon_remote_forget(struct gw_daemon *d, const char *site, char *err, size_t n);
const struct gw_api_route *gw_daemon_metrics_routes(size_t *ret_n);

/* Writes whatever changed in the balancer to the data plane (after probes,
 * health checks, API calls); logs a failure. */
void gw_daemon_sync_dataplane(void *d);

/* Loads conf_path again and applies it; the old config stays whole when the
 * new one is invalid or cannot be applied. Errors go to errs. 0 or -errno. */
int gw_daemon_reload(struct gw_daemon *d, struct gw_config_errors *errs);

/* Logging at the daemon's boundaries. */
enum { GW_LOG_ERR, GW_LOG_WARN, GW_LOG_INFO, GW_LOG_DEBUG };
extern int gw_log_level;
void gw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
