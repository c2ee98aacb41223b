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
#include "gw/sync.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: cluster-syncd -c FILE [--gateway-socket PATH] [--poll-ms MS]\n"
		   "\n"
		   "  -c, --config FILE        the site configuration gatewayd uses\n"
		   "      --gateway-socket P   gatewayd's control socket (default\n"
		   "                           /run/isthmus/<gateway>.sock)\n"
		   "      --poll-ms MS         how often gatewayd's export is read (default 50)\n");
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct gw_config_errors errs = {0};
	struct cs_sync_opts o = {0};
	const char *conf = NULL, *sock = NULL;
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
