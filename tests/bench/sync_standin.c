/* sync_standin: a stand-in for gatewayd's control socket, for
 * tests/bench/sync_scale.sh. It serves the endpoints cluster-syncd uses,
 * with the project's own API server (gateway/api.c), and does nothing with
 * what it gets except count and time it, so that cluster-syncd is measured
 * alone:
 *
 *   GET    /v1/export            a fixed export of SITE (no services)
 *   PUT    /v1/remote/sites/S    200; logs "T_US put S bytes N services N backends N"
 *   DELETE /v1/remote/sites/S    200; logs "T_US delete S"
 *   PUT    /v1/sync/status       200; keeps the body in STATUS_FILE
 *   GET    /v1/stats             this stand-in's request counters
 *
 * When -n distinct sites have been pushed it logs "T_US all N". T_US is
 * CLOCK_REALTIME in microseconds. The request size limit is -m bytes
 * (default 64 MiB, the API server's maximum; gatewayd uses the API server's default of 64 KiB).
 *
 * usage: sync_standin -s SOCKET -S SITE -I SITE_ID [-n SITES] [-m MAX_REQUEST] [-f STATUS_FILE]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "gw/api.h"

struct standin {
	const char *site;
	int site_id;
	int want_sites;
	const char *status_file;
	json_t *seen; /* site -> pushes */
	int all_logged;
	unsigned long long exports, puts, deletes, statuses, bytes;
};

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

static size_t count(const char *body, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	const char *p = body, *end = body + len;

	while (p < end && (p = memmem(p, end - p, needle, nl)) != NULL) {
		n++;
		p += nl;
	}
	return n;
}

static void h_export(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct standin *s = ud;

	s->exports++;
	gw_api_reply_json(resp, 200,
			  json_pack("{s:s,s:i,s:i,s:{s:s,s:i},s:{s:s,s:s},s:[]}", "boot", "standin",
				    "version", 1, "schema", 1, "site", "name", s->site, "id",
				    s->site_id, "gateway", "name", "gw1", "address", "127.0.0.1",
				    "services"));
}

static void h_remote_put(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct standin *s = ud;
	json_t *n = json_object_get(s->seen, req->tail);

	s->puts++;
	s->bytes += req->body_len;
	json_object_set_new(s->seen, req->tail, json_integer(json_integer_value(n) + 1));
	printf("%llu put %s bytes %zu services %zu backends %zu\n", now_us(), req->tail,
	       req->body_len, count(req->body, req->body_len, "\"vips\""),
	       count(req->body, req->body_len, "\"healthy\""));
	if (!s->all_logged && (int)json_object_size(s->seen) >= s->want_sites) {
		s->all_logged = 1;
		printf("%llu all %zu\n", now_us(), json_object_size(s->seen));
	}
	fflush(stdout);
	gw_api_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static void h_remote_del(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct standin *s = ud;

	s->deletes++;
	printf("%llu delete %s\n", now_us(), req->tail);
	fflush(stdout);
	gw_api_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static void h_status_put(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct standin *s = ud;

	s->statuses++;
	if (s->status_file) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", s->status_file);
		f = fopen(tmp, "w");
		if (f) {
			fwrite(req->body, 1, req->body_len, f);
			fputc('\n', f);
			fclose(f);
			rename(tmp, s->status_file);
		}
	}
	gw_api_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static void h_stats(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct standin *s = ud;

	gw_api_reply_json(resp, 200,
			  json_pack("{s:I,s:I,s:I,s:I,s:I,s:i}", "exports", (json_int_t)s->exports,
				    "puts", (json_int_t)s->puts, "deletes", (json_int_t)s->deletes,
				    "statuses", (json_int_t)s->statuses, "bytes",
				    (json_int_t)s->bytes, "sites", (int)json_object_size(s->seen)));
}

static void on_stop(uv_signal_t *h, int signum)
{
	uv_stop(h->loop);
}

static void close_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int main(int argc, char **argv)
{
	static const struct gw_api_route routes[] = {
		{"GET", "/v1/export", 0, h_export},
		{"PUT", "/v1/remote/sites/", 1, h_remote_put},
		{"DELETE", "/v1/remote/sites/", 1, h_remote_del},
		{"PUT", "/v1/sync/status", 0, h_status_put},
		{"GET", "/v1/stats", 0, h_stats},
	};
	struct standin s = {.site = "site-a", .site_id = 1, .want_sites = 1};
	struct gw_api_limits lim = {.max_request = 64u << 20}; /* the server's maximum */
	const char *sock = NULL;
	uv_signal_t sigint, sigterm;
	struct gw_api *api;
	uv_loop_t loop;
	int c;

	while ((c = getopt(argc, argv, "s:S:I:n:m:f:")) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'S':
			s.site = optarg;
			break;
		case 'I':
			s.site_id = atoi(optarg);
			break;
		case 'n':
			s.want_sites = atoi(optarg);
			break;
		case 'm':
			lim.max_request = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			s.status_file = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: sync_standin -s SOCKET -S SITE -I SITE_ID [-n SITES] "
				"[-m MAX_REQUEST] [-f STATUS_FILE]\n");
			return 2;
		}
	}
	if (!sock) {
		fprintf(stderr, "sync_standin: -s SOCKET is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	s.seen = json_object();
	uv_loop_init(&loop);
	api = gw_api_new(&loop, sock, routes, sizeof(routes) / sizeof(routes[0]), &lim, &s);
	if (!api) {
		fprintf(stderr, "sync_standin: %s: %s\n", sock, strerror(errno));
		return 1;
	}
	uv_signal_init(&loop, &sigint);
	uv_signal_init(&loop, &sigterm);
	uv_signal_start(&sigint, on_stop, SIGINT);
	uv_signal_start(&sigterm, on_stop, SIGTERM);
	printf("%llu ready\n", now_us());
	fflush(stdout);
	uv_run(&loop, UV_RUN_DEFAULT);
	gw_api_free(api);
	uv_walk(&loop, close_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	json_decref(s.seen);
	return 0;
}
