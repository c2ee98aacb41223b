/* gatewayd: the control plane of one Isthmus gateway. Loads the site config,
 * drives the XDP data plane and serves the control API until stopped; the
 * data plane keeps forwarding while gatewayd is down or restarting. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <jansson.h>
#include <uv.h>

#include "gw/apply.h"
#include "gw/config.h"
#include "gw/daemon.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gatewayd -c FILE [--pin-dir DIR] [--socket PATH] [-v]\n"
		   "       gatewayd --check-config FILE\n"
		   "       gatewayd --detach -c FILE [--pin-dir DIR]\n"
		   "\n"
		   "  -c, --config FILE     site configuration (libconfig)\n"
		   "      --check-config F  validate F, print every error, exit 0 or 1\n"
		   "      --pin-dir DIR     BPF pins (default " GW_PIN_ROOT "/<gateway>)\n"
		   "      --socket PATH     control API socket (default " GW_RUN_DIR
		   "/<gateway>.sock)\n"
		   "      --detach          detach the data plane and remove its pins, then exit\n"
		   "  -v, --verbose         debug logging (libbpf too)\n"
		   "  -h, --help\n");
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && gw_log_level < GW_LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	gw_log(level == LIBBPF_WARN ? GW_LOG_WARN : GW_LOG_DEBUG, "libbpf: %s", line);
	return 0;
}

static void print_errors(const struct gw_config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	for (i = 0; i < errs->n_warn; i++)
		fprintf(stderr, "warning: %s\n", errs->warn[i]);
	if (errs->n_dropped)
		fprintf(stderr, "(%zu more messages not shown)\n", errs->n_dropped);
}

static int load_config(const char *path, struct gw_config **ret_cfg)
{
	struct gw_config_errors errs = {0};
	int r;

	r = gw_config_load(path, ret_cfg, &errs);
	print_errors(&errs);
	if (r && errs.n == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
	gw_config_errors_done(&errs);
	return r;
}

static void boot_id(char *buf, size_t n)
{
	unsigned char rnd[8] = {0};
	FILE *f = fopen("/dev/urandom", "rb");
	size_t i;

	if (f) {
		if (fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
			memset(rnd, 0, sizeof(rnd));
		fclose(f);
	}
	for (i = 0; i < sizeof(rnd) && 2 * i + 2 < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", rnd[i]);
}

static void on_stop(uv_signal_t *h, int signum)
{
	gw_log(GW_LOG_INFO, "signal %d: stopping; the data plane keeps running", signum);
	uv_stop(h->loop);
}

static void on_hup(uv_signal_t *h, int signum)
{
	struct gw_daemon *d = h->data;
	struct gw_config_errors errs = {0};

	if (gw_daemon_reload(d, &errs))
		print_errors(&errs);
	gw_config_errors_done(&errs);
}

static void close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static enum gw_dp_mode dp_mode(enum gw_xdp_mode m)
{
	switch (m) {
	case GW_XDP_MODE_GENERIC:
		return GW_DP_GENERIC;
	case GW_XDP_MODE_AUTO:
		return GW_DP_AUTO;
	default:
		return GW_DP_NATIVE;
	}
}

static const struct gw_api_limits api_limits = {
	.max_request = 8 << 20,
};

/* A route, neighbour, address or link changed: cached next hops may be
 * wrong now. */
static void on_net_change(void *ud)
{
	struct gw_daemon *d = ud;
	int mtu, was = gw_dp_cfg(d->dp)->tunnel_mtu;
	int r = gw_dp_epoch_bump(d->dp);

	if (r)
		gw_log(GW_LOG_ERR, "cannot move the flow cache epoch on: %s", strerror(-r));
	/* a link change may be the external interface's MTU, which the tunnel
	 * MTU follows unless the config sets it */
	if (d->cfg->gateway.external.mtu || !was)
		return;
	mtu = gw_apply_tunnel_mtu(d->cfg);
	if (mtu == was || mtu < 0)
		return;
	r = gw_apply_cfg(d->dp, d->cfg);
	if (r)
		gw_log(GW_LOG_ERR, "cannot write the tunnel MTU: %s", strerror(-r));
	else
		gw_log(GW_LOG_INFO, "tunnel MTU %d (was %d): %s's MTU changed", mtu, was,
		       d->cfg->gateway.external.interface);
}

/* No export claimed what the running data plane had of some site within
 * GW_LB_HOLD_MS of the start (the site left etcd meanwhile, or
 * cluster-syncd is away): it goes, as a withdrawn site's does. */
static void on_hold_end(uv_timer_t *t)
{
	struct gw_daemon *d = t->data;

	if (!gw_lb_holds(d->lb))
		return;
	gw_log(GW_LOG_INFO,
	       "no export in %d s claimed what the running data plane had of "
	       "other sites: removing it",
	       GW_LB_HOLD_MS / 1000);
	gw_lb_release_holds(d->lb, 0);
	gw_daemon_sync_dataplane(d);
}

static int run(struct gw_daemon *d, const char *sock_opt)
{
	const struct gw_config *cfg = d->cfg;
	struct gw_dp_opts o = {
		.pin_dir = d->pin_dir,
		.int_ifname = cfg->gateway.internal.interface,
		.ext_ifname = cfg->gateway.external.interface,
		.mode = dp_mode(cfg->gateway.xdp_mode),
		.max_services = cfg->limits.services,
		.max_backends = cfg->limits.backends,
		.max_peers = cfg->limits.peers,
		.max_identities = cfg->limits.identities,
		.max_conntrack = cfg->limits.conntrack_entries,
		.flow_cache = cfg->limits.flow_cache_entries,
	};
	struct gw_probe_opts po = {
		.interval_ms = cfg->probes.interval_ms,
		.fast_interval_ms = cfg->probes.fast_interval_ms,
		.down_after = cfg->probes.down_after,
		.src = cfg->gateway.external.address,
		.site_id = cfg->site.id,
	};
	uv_signal_t sigint, sigterm, sighup;
	const struct gw_api_route *routes;
	const char *why = "";
	char metrics_addr[80];
	size_t n_routes;
	int side, r;

	if (cfg->gateway.datapath != GW_DATAPATH_XDP) {
		gw_log(GW_LOG_ERR, "gateway.datapath \"dpdk\" needs gw-dpdk, which this build "
				   "does not have yet; use \"xdp\"");
		return -ENOTSUP;
	}
	d->dp = gw_dp_open(&o, &why);
	if (!d->dp) {
		r = -errno;
		gw_log(GW_LOG_ERR, "data plane: %s (%s)", why, strerror(-r));
		return r;
	}
	for (side = 0; side < 2; side++) {
		const struct gw_dp_attach_info *ai = gw_dp_attach_info(d->dp, side);
		const char *ifn =
			side ? cfg->gateway.external.interface : cfg->gateway.internal.interface;

		if (ai->generic && cfg->gateway.xdp_mode != GW_XDP_MODE_GENERIC)
			gw_log(GW_LOG_WARN, "%s: native XDP not possible, attached in generic mode",
			       ifn);
		gw_log(GW_LOG_INFO, "%s: XDP %s (%s)", ifn,
		       ai->taken_over ? "program replaced, running flows kept" : "attached",
		       ai->generic ? "generic" : "native");
	}
	if (cfg->limits.flow_cache_entries) {
		unsigned long long ncpu = (unsigned long long)libbpf_num_possible_cpus();

		gw_log(GW_LOG_INFO,
		       "flow cache: %u IPv4 and %u IPv6 slots per CPU x %llu CPUs, %llu MiB",
		       cfg->limits.flow_cache_entries,
		       gw_dp_flowc6_slots(cfg->limits.flow_cache_entries), ncpu,
		       (unsigned long long)(gw_dp_flowc_bytes(cfg->limits.flow_cache_entries) *
						    ncpu >>
					    20));
	}
	d->lb = gw_balancer_new(cfg);
	if (!d->lb)
		return -ENOMEM;
	/* a running data plane's flows name their gateways by peer id, its
	 * keys and tables services and backends by id, and its tables leave
	 * out the backends that were down */
	r = gw_apply_take_over(d->dp, d->lb);
	if (r) {
		gw_log(GW_LOG_ERR,
		       "reading the running data plane's peer, service and backend ids "
		       "failed: %s",
		       strerror(-r));
		return r;
	}
	r = gw_apply_all(d->dp, cfg, d->lb, &why);
	if (r) {
		gw_log(GW_LOG_ERR, "applying %s to the data plane failed: %s", why, strerror(-r));
		return r;
	}
	if (gw_lb_holds(d->lb)) {
		gw_log(GW_LOG_INFO,
		       "holding what the running data plane has of other sites' exports until "
		       "their next push (at most %d s)",
		       GW_LB_HOLD_MS / 1000);
		uv_timer_init(d->loop, &d->hold_timer);
		d->hold_timer.data = d;
		uv_timer_start(&d->hold_timer, on_hold_end, GW_LB_HOLD_MS, 0);
	}

	if (cfg->limits.flow_cache_entries) {
		d->nlwatch = gw_nlwatch_new(d->loop, on_net_change, d);
		if (!d->nlwatch) {
			r = -errno;
			gw_log(GW_LOG_ERR,
			       "cannot watch routes and neighbours, which the flow cache "
			       "needs (%s); set limits.flow_cache_entries = 0 to run "
			       "without it",
			       strerror(-r));
			return r;
		}
	}
	/* Without probes no failed gateway is noticed, and without health
	 * checks no failed backend: neither is optional. */
	d->prober = gw_prober_new(d->loop, d->lb, &po, gw_daemon_sync_dataplane, d);
	if (!d->prober) {
		r = -errno;
		gw_log(GW_LOG_ERR, "cannot probe peers from %s port %u: %s",
		       inet_ntoa(*(const struct in_addr *)cfg->gateway.external.address.addr),
		       GW_PROBE_PORT, strerror(-r));
		return r;
	}
	d->health = gw_health_new(d->loop, d->lb, gw_daemon_sync_dataplane, d);
	if (!d->health) {
		r = -errno;
		gw_log(GW_LOG_ERR, "cannot run health checks: %s", strerror(-r));
		return r;
	}

	routes = gw_daemon_routes(&n_routes);
	/* a whole site's export comes in one PUT: ~720 bytes per service */
	d->api = gw_api_new(d->loop, sock_opt ? sock_opt : d->sock_path, routes, n_routes,
			    &api_limits, d);
	if (!d->api) {
		r = -errno;
		gw_log(GW_LOG_ERR, "control socket %s: %s", sock_opt ? sock_opt : d->sock_path,
		       strerror(-r));
		return r;
	}
	if (cfg->observability.metrics_listen.addr.family) {
		gw_endpoint_format(&cfg->observability.metrics_listen, metrics_addr,
				   sizeof(metrics_addr));
		routes = gw_daemon_metrics_routes(&n_routes);
		d->metrics = gw_api_new(d->loop, metrics_addr, routes, n_routes, NULL, d);
		if (!d->metrics)
			gw_log(GW_LOG_WARN, "metrics on %s: %s (continuing without)", metrics_addr,
			       strerror(errno));
	}

	uv_signal_init(d->loop, &sigint);
	uv_signal_init(d->loop, &sigterm);
	uv_signal_init(d->loop, &sighup);
	sighup.data = d;
	uv_signal_start(&sigint, on_stop, SIGINT);
	uv_signal_start(&sigterm, on_stop, SIGTERM);
	uv_signal_start(&sighup, on_hup, SIGHUP);
	d->started_ms = uv_now(d->loop);
	gw_log(GW_LOG_INFO, "gateway %s of site %s (%u) ready: %zu services, %zu peers",
	       cfg->gateway.name, cfg->site.name, cfg->site.id, cfg->n_services, cfg->n_peers);
	uv_run(d->loop, UV_RUN_DEFAULT);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'C'},
		{"pin-dir", required_argument, NULL, 'p'},
		{"socket", required_argument, NULL, 's'},
		{"detach", no_argument, NULL, 'D'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *conf = NULL, *check = NULL, *pin_opt = NULL, *sock_opt = NULL;
	struct gw_daemon d;
	bool detach = false;
	uv_loop_t loop;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'C':
			check = optarg;
			break;
		case 'p':
			pin_opt = optarg;
			break;
		case 's':
			sock_opt = optarg;
			break;
		case 'D':
			detach = true;
			break;
		case 'v':
			gw_log_level = GW_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!conf && !check)) {
		usage(stderr);
		return 2;
	}
	if (check) {
		struct gw_config *cfg = NULL;

		r = load_config(check, &cfg);
		gw_config_free(cfg);
		if (r == 0)
			printf("%s: ok\n", check);
		return r ? 1 : 0;
	}

	memset(&d, 0, sizeof(d));
	d.conf_path = conf;
	d.remote = json_object();
	boot_id(d.boot, sizeof(d.boot));
	if (load_config(conf, &d.cfg))
		return 1;
	snprintf(d.pin_dir, sizeof(d.pin_dir), "%s", pin_opt ? pin_opt : "");
	if (!pin_opt)
		snprintf(d.pin_dir, sizeof(d.pin_dir), GW_PIN_ROOT "/%s", d.cfg->gateway.name);
	snprintf(d.sock_path, sizeof(d.sock_path), GW_RUN_DIR "/%s.sock", d.cfg->gateway.name);
	libbpf_set_print(libbpf_log);

	if (detach) {
		r = gw_dp_destroy(d.pin_dir);
		if (r == -ENOENT)
			gw_log(GW_LOG_INFO, "no data plane is pinned at %s: nothing to detach",
			       d.pin_dir);
		else if (r)
			gw_log(GW_LOG_ERR, "detach %s: %s", d.pin_dir, strerror(-r));
		else
			gw_log(GW_LOG_INFO, "data plane detached, %s removed", d.pin_dir);
		gw_config_free(d.cfg);
		return r && r != -ENOENT ? 1 : 0;
	}

	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&loop);
	d.loop = &loop;
	r = run(&d, sock_opt);
	gw_api_free(d.api);
	gw_api_free(d.metrics);
	gw_prober_free(d.prober);
	gw_health_free(d.health);
	gw_nlwatch_free(d.nlwatch);
	uv_walk(&loop, close_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	gw_dp_close(d.dp);
	gw_balancer_free(d.lb);
	gw_config_free(d.cfg);
	json_decref(d.remote);
	json_decref(d.sync_status);
	return r ? 1 : 0;
}
