/* cluster-syncd: shares this gateway's site, liveness and services through
 * etcd and feeds every other site's into gatewayd (DESIGN.md §3, §8). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "gw/config.h"
#include "gw/etcd.h"
#include "gw/identity.h"
#include "gw/sync.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: cluster-syncd -c FILE [--gateway-socket PATH] [--poll-ms MS]\n"
		   "\n"
		   "  -c, --config FILE        the site configuration gatewayd uses\n"
		   "      --gateway-socket P   gatewayd's control socket (default\n"
		   "                           /run/isthmus/<gateway>.sock)\n"
		   "      --poll-ms MS         how often gatewayd's export is read (default 50)\n"
		   "      --allocate LABELS    allocate (or look up) the identity of a label set,\n"
		   "                           e.g. app=web,tier=front; repeatable, all at once;\n"
		   "                           prints \"LABELS ID\" per set and exits\n"
		   "      --gc-identities S    collect identities unused for S seconds in this\n"
		   "                           pass (0: every unused one) and exit\n");
}

#define MAX_ALLOC 256

struct alloc_job {
	char text[512];
	const char *labels[CS_IDENTITY_MAX_LABELS];
	size_t n;
	int err;
	uint32_t id;
	int *pending;
};

static void alloc_done(void *ud, int err, uint32_t id)
{
	struct alloc_job *j = ud;

	j->err = err;
	j->id = id;
	(*j->pending)--;
}

struct gc_job {
	int done, err;
	unsigned deleted;
};

static void gc_done(void *ud, int err, unsigned deleted)
{
	struct gc_job *j = ud;

	j->err = err;
	j->deleted = deleted;
	j->done = 1;
}

static struct cs_etcd *oneshot_client(const struct gw_config *cfg, uv_loop_t *loop)
{
	struct cs_etcd_opts eo = {0};

	eo.endpoints = cfg->etcd.endpoints;
	eo.n_endpoints = cfg->etcd.n_endpoints;
	eo.dial_timeout_ms = cfg->etcd.dial_timeout_ms;
	eo.request_timeout_ms = cfg->etcd.request_timeout_ms;
	return cs_etcd_new(loop, &eo);
}

/* One-shot: a collection pass. A single pass only knows "unused now", so a
 * grace of S seconds means two passes S seconds apart; 0 collects at once. */
static int collect(const struct gw_config *cfg, int grace_s)
{
	const char *prefix = cfg->etcd.prefix ? cfg->etcd.prefix : CS_DEFAULT_PREFIX;
	json_t *seen = json_object();
	struct gc_job j = {0};
	struct cs_etcd *etcd;
	uv_loop_t loop;
	int r, pass;

	uv_loop_init(&loop);
	etcd = oneshot_client(cfg, &loop);
	if (!etcd) {
		fprintf(stderr, "cluster-syncd: etcd client: %s\n", strerror(errno));
		return 1;
	}
	for (pass = 0; pass < (grace_s ? 2 : 1); pass++) {
		if (pass)
			sleep((unsigned)grace_s);
		memset(&j, 0, sizeof(j));
		r = cs_identity_gc(etcd, prefix, seen,
				   uv_now(&loop) + (uint64_t)pass * grace_s * 1000,
				   (uint64_t)grace_s * 1000, gc_done, &j);
		if (r) {
			j.err = r;
			break;
		}
		while (!j.done && uv_run(&loop, UV_RUN_ONCE))
			;
		if (j.err)
			break;
	}
	if (j.err)
		fprintf(stderr, "cluster-syncd: collection failed: %s\n", strerror(-j.err));
	else
		printf("collected %u unused identities\n", j.deleted);
	json_decref(seen);
	cs_etcd_free(etcd);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return j.err ? 1 : 0;
}

/* One-shot: allocate every label set at once (they contend like several
 * sites would) and print the ids. */
static int allocate(const struct gw_config *cfg, char **sets, size_t n_sets)
{
	static struct alloc_job jobs[MAX_ALLOC];
	const char *prefix = cfg->etcd.prefix ? cfg->etcd.prefix : CS_DEFAULT_PREFIX;
	struct cs_etcd *etcd;
	int pending = 0, rc = 0;
	uv_loop_t loop;
	size_t i;

	uv_loop_init(&loop);
	etcd = oneshot_client(cfg, &loop);
	if (!etcd) {
		fprintf(stderr, "cluster-syncd: etcd client: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < n_sets; i++) {
		struct alloc_job *j = &jobs[i];
		char *save = NULL, *tok;
		int r;

		snprintf(j->text, sizeof(j->text), "%s", sets[i]);
		for (tok = strtok_r(j->text, ",", &save); tok && j->n < CS_IDENTITY_MAX_LABELS;
		     tok = strtok_r(NULL, ",", &save))
			j->labels[j->n++] = tok;
		j->pending = &pending;
		r = cs_identity_allocate(etcd, prefix, j->labels, j->n, cfg->site.name, alloc_done,
					 j);
		if (r) {
			j->err = r;
			continue;
		}
		pending++;
	}
	while (pending > 0 && uv_run(&loop, UV_RUN_ONCE))
		;
	for (i = 0; i < n_sets; i++) {
		if (jobs[i].err) {
			fprintf(stderr, "%s: %s\n", sets[i], strerror(-jobs[i].err));
			rc = 1;
		} else {
			printf("%s %u\n", sets[i], jobs[i].id);
		}
	}
	cs_etcd_free(etcd);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return rc;
}

static void on_stop(uv_signal_t *h, int signum)
{
	fprintf(stderr, "cluster-syncd: signal %d: stopping (the lease expires by itself)\n",
		signum);
	uv_stop(h->loop);
}

static void close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"gateway-socket", required_argument, NULL, 's'},
		{"poll-ms", required_argument, NULL, 'p'},
		{"allocate", required_argument, NULL, 'a'},
		{"gc-identities", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct gw_config_errors errs = {0};
	struct cs_sync_opts o = {0};
	const char *conf = NULL, *sock = NULL;
	char *sets[MAX_ALLOC];
	int gc_grace_s = -1;
	size_t n_sets = 0;
	struct gw_config *cfg = NULL;
	uv_signal_t sigint, sigterm;
	char sock_buf[256];
	struct cs_sync *s;
	uv_loop_t loop;
	size_t i;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'p':
			o.poll_ms = (uint32_t)atoi(optarg);
			break;
		case 'g':
			gc_grace_s = atoi(optarg);
			if (gc_grace_s < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'a':
			if (n_sets == MAX_ALLOC) {
				fprintf(stderr, "cluster-syncd: at most %d --allocate\n",
					MAX_ALLOC);
				return 2;
			}
			sets[n_sets++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!conf || optind != argc) {
		usage(stderr);
		return 2;
	}
	r = gw_config_load(conf, &cfg, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	gw_config_errors_done(&errs);
	if (r) {
		if (!errs.n)
			fprintf(stderr, "%s: %s\n", conf, strerror(-r));
		return 1;
	}
	if (!cfg->etcd.n_endpoints) {
		fprintf(stderr, "%s: no etcd.endpoints: nothing to sync with\n", conf);
		gw_config_free(cfg);
		return 1;
	}
	if (n_sets || gc_grace_s >= 0) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		r = n_sets ? allocate(cfg, sets, n_sets) : collect(cfg, gc_grace_s);
		gw_config_free(cfg);
		curl_global_cleanup();
		return r;
	}
	if (!sock) {
		snprintf(sock_buf, sizeof(sock_buf), "/run/isthmus/%s.sock", cfg->gateway.name);
		sock = sock_buf;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	uv_loop_init(&loop);
	o.cfg = cfg;
	o.gw_socket = sock;
	s = cs_sync_new(&loop, &o);
	if (!s) {
		fprintf(stderr, "cluster-syncd: cannot start: %s\n", strerror(errno));
		r = 1;
		goto out;
	}
	uv_signal_init(&loop, &sigint);
	uv_signal_init(&loop, &sigterm);
	uv_signal_start(&sigint, on_stop, SIGINT);
	uv_signal_start(&sigterm, on_stop, SIGTERM);
	fprintf(stderr, "cluster-syncd: site %s gateway %s: syncing with %zu etcd endpoints\n",
		cfg->site.name, cfg->gateway.name, cfg->etcd.n_endpoints);
	uv_run(&loop, UV_RUN_DEFAULT);
	cs_sync_free(s);
	r = 0;
out:
	uv_walk(&loop, close_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	gw_config_free(cfg);
	curl_global_cleanup();
	return r;
}
