/* Unit tests for gwctl: prefix matching, socket resolution, table rendering,
 * and whole runs of gwctl_main() against a real API server on a temp socket. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <uv.h>

#include "gw/api.h"
#include "api_server.h"
#include "gw/gwctl.h"

static char tmpdir[64];
static char sock_path[128];

/* --- a test gatewayd: canned answers ------------------------------------- */

static const char status_json[] =
	"{\"gateway\":\"gw1\",\"site\":{\"name\":\"site-a\",\"id\":1},\"abi_version\":1,"
	"\"datapath\":\"xdp\",\"interfaces\":["
	"{\"role\":\"internal\",\"name\":\"int0\",\"ifindex\":2,\"xdp_mode\":\"native\"},"
	"{\"role\":\"external\",\"name\":\"ext0\",\"ifindex\":3,\"xdp_mode\":\"generic\"}],"
	"\"uptime_s\":12,\"services\":4,\"backends\":24,\"peers\":2,\"tunnel_mtu\":1400,"
	"\"conntrack_entries\":10,"
	"\"flow_cache\":{\"entries_per_cpu\":65536,\"ipv6_entries_per_cpu\":32768,"
	"\"epoch\":57,\"net_changes\":3}}";

static const char services_json[] =
	"{\"services\":[{\"name\":\"web\",\"id\":1,\"vips\":[\"10.100.0.10\",\"fd00:100::10\"],"
	"\"ports\":[\"80/tcp\"],\"affinity\":\"none\",\"lb\":\"maglev\",\"min_local_healthy\":0,"
	"\"backends\":6,\"active\":6},"
	"{\"name\":\"dns\",\"id\":2,\"vips\":[\"10.100.0.53\"],\"ports\":[\"53/udp\",\"53/tcp\"],"
	"\"affinity\":\"site\",\"lb\":\"maglev\",\"min_local_healthy\":1,\"backends\":2,"
	"\"active\":1}]}";

struct server {
	struct api_server srv;
	pthread_mutex_t lock;
	char last_body[512]; /* body of the last POST, under lock */
	char last_query[128];
	int reload_answer; /* 0: invalid config, 1: ok with changes, 2: ok without "changes" */
};

static void reply_raw(struct gw_api_response *resp, int status, const char *json)
{
	json_error_t e;

	gw_api_reply_json(resp, status, json_loads(json, 0, &e));
}

static void remember(struct server *s, const struct gw_api_request *req)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->last_body, sizeof(s->last_body), "%s", req->body);
	snprintf(s->last_query, sizeof(s->last_query), "%s", req->query);
	pthread_mutex_unlock(&s->lock);
}

static void h_status(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	reply_raw(resp, 200, status_json);
}

static void h_services(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	reply_raw(resp, 200, services_json);
}

static void h_service(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	if (strcmp(req->tail, "web")) {
		gw_api_reply_error(resp, 404, "no service \"%s\"", req->tail);
		return;
	}
	reply_raw(resp, 200,
		  "{\"name\":\"web\",\"id\":1,\"vips\":[\"10.100.0.10\"],\"ports\":[\"80/tcp\"],"
		  "\"affinity\":\"none\",\"lb\":\"maglev\",\"min_local_healthy\":0,\"active\":1,"
		  "\"backends\":[{\"service\":\"web\",\"address\":\"10.1.0.11\",\"port\":80,"
		  "\"site\":\"site-a\",\"local\":true,\"weight\":100,\"state\":\"active\"},"
		  "{\"service\":\"web\",\"address\":\"fd00:2::11\",\"port\":80,\"site\":\"site-b\","
		  "\"local\":false,\"weight\":100,\"state\":\"draining\"}]}");
}

static void h_backends(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	char service[64];

	remember(ud, req);
	if (gw_api_query_get(req, "service", service, sizeof(service)) == 0 &&
	    strcmp(service, "web")) {
		gw_api_reply_json(resp, 200, json_pack("{s:[]}", "backends"));
		return;
	}
	reply_raw(resp, 200,
		  "{\"backends\":[{\"service\":\"web\",\"address\":\"10.1.0.11\",\"port\":80,"
		  "\"site\":\"site-a\",\"local\":true,\"weight\":100,\"state\":\"active\"}]}");
}

static void h_post_ok(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	json_t *body = gw_api_body_json(req, resp);

	if (!body)
		return;
	json_decref(body);
	remember(ud, req);
	reply_raw(resp, 200, "{\"ok\":true}");
}

static void h_reload(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	struct server *s = ud;
	int answer;

	pthread_mutex_lock(&s->lock);
	answer = s->reload_answer;
	pthread_mutex_unlock(&s->lock);
	if (answer == 1) {
		reply_raw(resp, 200,
			  "{\"ok\":true,\"changes\":[\"service web: backend 10.1.0.12:80 added\","
			  "\"service dns: removed\"]}");
		return;
	}
	if (answer == 2) {
		reply_raw(resp, 200, "{\"ok\":true}");
		return;
	}
	reply_raw(
		resp, 400,
		"{\"error\":\"config /etc/isthmus/gateway.conf is invalid; the old config stays\","
		"\"errors\":[\"gateway.conf:3: services.web.lb: must be maglev or random\","
		"\"gateway.conf:9: sites: duplicate id 2\"]}");
}

static void h_config(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	reply_raw(resp, 200, "{\"gateway\":{\"name\":\"gw1\"}}");
}

static void h_stats(void *ud, const struct gw_api_request *req, struct gw_api_response *resp)
{
	reply_raw(resp, 200, "{\"counters\":[]}");
}

static const struct gw_api_route routes[] = {
	{"GET", "/v1/status", 0, h_status},
	{"GET", "/v1/services", 0, h_services},
	{"GET", "/v1/services/", 1, h_service},
	{"GET", "/v1/backends", 0, h_backends},
	{"POST", "/v1/backends/drain", 0, h_post_ok},
	{"POST", "/v1/backends/weight", 0, h_post_ok},
	{"POST", "/v1/config/reload", 0, h_reload},
	{"GET", "/v1/config", 0, h_config},
	{"GET", "/v1/stats", 0, h_stats},
};

static struct server *server_start(void)
{
	struct server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	pthread_mutex_init(&s->lock, NULL);
	api_server_start(&s->srv, sock_path, routes, sizeof(routes) / sizeof(routes[0]), NULL, s);
	return s;
}

static void server_stop(struct server *s)
{
	api_server_stop(&s->srv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* --- running gwctl -------------------------------------------------------- */

struct run {
	int rc;
	char *out, *err;
	size_t out_len, err_len;
};

/* gwctl_main() with the NULL-terminated arguments after "gwctl". */
static void run_gwctl(struct run *r, ...)
{
	char *argv[32];
	int argc = 0;
	FILE *out, *err;
	va_list ap;

	argv[argc++] = "gwctl";
	va_start(ap, r);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	out = open_memstream(&r->out, &r->out_len);
	err = open_memstream(&r->err, &r->err_len);
	assert_non_null(out);
	assert_non_null(err);
	r->rc = gwctl_main(argc, argv, out, err);
	fclose(out);
	fclose(err);
}

static void run_done(struct run *r)
{
	free(r->out);
	free(r->err);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gw-test-gwctl.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/gw1.sock", tmpdir);
	unsetenv(GWCTL_SOCKET_ENV);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* --- command lookup ------------------------------------------------------- */

static const struct gwctl_cmd *sub_of(const char *name)
{
	const struct gwctl_cmd *c;

	assert_int_equal(gwctl_cmd_find(gwctl_commands, name, &c), 0);
	return c->sub;
}

static void test_prefix_matching(void **state)
{
	static const struct gwctl_cmd local[] = {
		{"list", NULL, NULL, NULL, NULL},
		{"listen", NULL, NULL, NULL, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	const struct gwctl_cmd *c = NULL;

	assert_int_equal(gwctl_cmd_find(gwctl_commands, "serv", &c), 0);
	assert_string_equal(c->name, "services");
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "b", &c), 0);
	assert_string_equal(c->name, "backends");
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "status", &c), 0);
	assert_string_equal(c->name, "status");
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "stats", &c), 0);
	assert_string_equal(c->name, "stats");

	c = NULL;
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "st", &c), -ENOTUNIQ);
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "stat", &c), -ENOTUNIQ);
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "s", &c), -ENOTUNIQ);
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "foo", &c), -ENOENT);
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "statusx", &c), -ENOENT);
	assert_int_equal(gwctl_cmd_find(gwctl_commands, "", &c), -ENOENT);
	assert_null(c); /* untouched on failure */

	assert_int_equal(gwctl_cmd_find(sub_of("services"), "l", &c), 0);
	assert_string_equal(c->name, "list");
	assert_int_equal(gwctl_cmd_find(sub_of("backends"), "d", &c), 0);
	assert_string_equal(c->name, "drain");
	assert_int_equal(gwctl_cmd_find(sub_of("backends"), "u", &c), 0);
	assert_string_equal(c->name, "undrain");
	assert_int_equal(gwctl_cmd_find(sub_of("config"), "re", &c), 0);
	assert_string_equal(c->name, "reload");

	/* An exact name wins over the longer names it is a prefix of. */
	assert_int_equal(gwctl_cmd_find(local, "list", &c), 0);
	assert_string_equal(c->name, "list");
	assert_int_equal(gwctl_cmd_find(local, "liste", &c), 0);
	assert_string_equal(c->name, "listen");
	assert_int_equal(gwctl_cmd_find(local, "lis", &c), -ENOTUNIQ);
}

/* --- socket resolution ---------------------------------------------------- */

static void make_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

static int resolve(const char *sock, const char *gw, const char *env, const char *dir, char *buf,
		   char **msg)
{
	size_t len;
	FILE *err = open_memstream(msg, &len);
	int r;

	assert_non_null(err);
	r = gwctl_socket_resolve(sock, gw, env, dir, buf, 108, err);
	fclose(err);
	return r;
}

static void test_socket_resolution(void **state)
{
	char run[128], p[192], buf[108], *msg;
	FILE *f;

	snprintf(run, sizeof(run), "%s/run", tmpdir);

	/* --socket first, then --gateway, then the environment. */
	assert_int_equal(resolve("/x/a.sock", "gw9", "/y/b.sock", run, buf, &msg), 0);
	assert_string_equal(buf, "/x/a.sock");
	free(msg);
	assert_int_equal(resolve(NULL, "gw9", "/y/b.sock", run, buf, &msg), 0);
	snprintf(p, sizeof(p), "%s/gw9.sock", run);
	assert_string_equal(buf, p);
	free(msg);
	assert_int_equal(resolve("", "", "/y/b.sock", run, buf, &msg), 0);
	assert_string_equal(buf, "/y/b.sock");
	free(msg);

	/* A gateway name is not a path. */
	assert_int_equal(resolve(NULL, "../etc/x", NULL, run, buf, &msg), -EINVAL);
	assert_non_null(strstr(msg, "bad gateway name \"../etc/x\""));
	free(msg);

	/* Then the only socket in the run directory. */
	assert_int_equal(resolve(NULL, NULL, NULL, run, buf, &msg), -ENOENT);
	assert_non_null(strstr(msg, "no gatewayd socket in"));
	assert_non_null(strstr(msg, "is gatewayd running?"));
	free(msg);
	assert_int_equal(mkdir(run, 0755), 0);
	snprintf(p, sizeof(p), "%s/notes.sock", run); /* a file, not a socket */
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(resolve(NULL, NULL, NULL, run, buf, &msg), -ENOENT);
	free(msg);
	snprintf(p, sizeof(p), "%s/gw2.sock", run);
	make_socket(p);
	assert_int_equal(resolve(NULL, NULL, NULL, run, buf, &msg), 0);
	assert_string_equal(buf, p);
	free(msg);
	snprintf(p, sizeof(p), "%s/gw1.sock", run);
	make_socket(p);
	assert_int_equal(resolve(NULL, NULL, NULL, run, buf, &msg), -ENOTUNIQ);
	assert_string_equal(msg, "gwctl: several gateways run here, choose one with --gateway "
				 "NAME: gw1 gw2\n");
	free(msg);
	/* The environment still wins over the directory. */
	assert_int_equal(resolve(NULL, NULL, p, run, buf, &msg), 0);
	assert_string_equal(buf, p);
	free(msg);

	/* A path that cannot be a unix socket address. */
	memset(p, 'a', sizeof(p) - 1);
	p[0] = '/';
	p[sizeof(p) - 1] = '\0';
	assert_int_equal(resolve(p, NULL, NULL, run, buf, &msg), -ENAMETOOLONG);
	free(msg);
}

/* --- printing ------------------------------------------------------------- */

static char *render_table(const struct gwctl_column *cols, const char *json)
{
	json_error_t e;
	json_t *rows = json_loads(json, 0, &e);
	char *text;
	size_t len;
	FILE *f;

	assert_non_null(rows);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(gwctl_print_table(f, cols, rows), 0);
	fclose(f);
	json_decref(rows);
	return text;
}

static void test_table_rendering(void **state)
{
	static const struct gwctl_column cols[] = {
		{"name", "NAME"},      {"vips", "VIPS"},     {"port", "PORT"}, {"local", "LOCAL"},
		{"site.name", "SITE"}, {"weight", "WEIGHT"}, {NULL, NULL},
	};
	static const struct gwctl_column fields[] = {
		{"gateway", "gateway"},
		{"site.id", "site id"},
		{"uptime_s", "uptime (s)"},
		{NULL, NULL},
	};
	char *text;
	size_t len;
	json_t *obj;
	json_error_t e;
	FILE *f;

	text = render_table(cols,
			    "[{\"name\":\"web\",\"vips\":[\"10.100.0.10\",\"fd00:100::10\"],"
			    "\"port\":80,\"local\":true,\"site\":{\"name\":\"site-a\"},"
			    "\"weight\":100},"
			    "{\"name\":\"db\\tx\",\"vips\":[],\"port\":5432,\"local\":false,"
			    "\"weight\":null},"
			    "{\"name\":\"caf\\u00e9\",\"vips\":[\"10.0.0.1\"],\"port\":1.5}]");
	assert_string_equal(text, "NAME  VIPS                      PORT  LOCAL  SITE    WEIGHT\n"
				  "web   10.100.0.10,fd00:100::10  80    yes    site-a  100\n"
				  "db?x  -                         5432  no     -       -\n"
				  "café  10.0.0.1                  1.5   -      -       -\n");
	free(text);

	/* No rows: the header alone. */
	text = render_table(cols, "[]");
	assert_string_equal(text, "NAME  VIPS  PORT  LOCAL  SITE  WEIGHT\n");
	free(text);

	/* Not an array. */
	f = open_memstream(&text, &len);
	obj = json_loads("{}", 0, &e);
	assert_int_equal(gwctl_print_table(f, cols, obj), -EINVAL);
	fclose(f);
	free(text);

	/* Fields: titles aligned. */
	json_decref(obj);
	obj = json_loads("{\"gateway\":\"gw1\",\"site\":{\"id\":1}}", 0, &e);
	f = open_memstream(&text, &len);
	gwctl_print_fields(f, fields, obj);
	fclose(f);
	assert_string_equal(text, "gateway:    gw1\n"
				  "site id:    1\n"
				  "uptime (s): -\n");
	free(text);
	json_decref(obj);
}

/* --- whole runs ------------------------------------------------------------ */

static void test_run_status(void **state)
{
	struct server *s = server_start();
	struct run r;

	run_gwctl(&r, "--socket", sock_path, "status", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "gateway:                 gw1\n"
				   "site:                    site-a\n"
				   "site id:                 1\n"
				   "abi version:             1\n"
				   "datapath:                xdp\n"
				   "uptime (s):              12\n"
				   "services:                4\n"
				   "backends:                24\n"
				   "peers:                   2\n"
				   "tunnel MTU:              1400\n"
				   "conntrack entries:       10\n"
				   "flow cache v4 (per CPU): 65536\n"
				   "flow cache v6 (per CPU): 32768\n"
				   "flow cache epoch:        57\n"
				   "\n"
				   "ROLE      NAME  IFINDEX  XDP MODE\n"
				   "internal  int0  2        native\n"
				   "external  ext0  3        generic\n");
	run_done(&r);

	/* Found through $GWCTL_SOCKET, and "st" is too short. */
	setenv(GWCTL_SOCKET_ENV, sock_path, 1);
	run_gwctl(&r, "statu", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	run_done(&r);
	run_gwctl(&r, "st", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_string_equal(r.err,
			    "gwctl: command \"st\" is ambiguous, it could be: status, stats\n");
	run_done(&r);
	unsetenv(GWCTL_SOCKET_ENV);
	server_stop(s);
}

static void test_run_services(void **state)
{
	struct server *s = server_start();
	json_t *got, *want;
	json_error_t e;
	struct run r;

	/* Global options after the command words, prefixes for the words. */
	run_gwctl(&r, "serv", "l", "-o", "json", "--socket", sock_path, NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	got = json_loads(r.out, 0, &e);
	want = json_loads(services_json, 0, &e);
	assert_non_null(got);
	assert_true(json_equal(got, want));
	assert_non_null(strstr(r.out, "{\n  \"services\": [\n")); /* pretty */
	json_decref(got);
	json_decref(want);
	run_done(&r);

	run_gwctl(&r, "-s", sock_path, "services", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out,
			    "NAME  ID  VIPS                      PORTS          LB      AFFINITY  "
			    "BACKENDS  ACTIVE\n"
			    "web   1   10.100.0.10,fd00:100::10  80/tcp         maglev  none      "
			    "6         6\n"
			    "dns   2   10.100.0.53               53/udp,53/tcp  maglev  site      "
			    "2         1\n");
	run_done(&r);

	run_gwctl(&r, "-s", sock_path, "services", "show", "web", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "name:              web\n"
				   "id:                1\n"
				   "vips:              10.100.0.10\n"
				   "ports:             80/tcp\n"
				   "lb:                maglev\n"
				   "affinity:          none\n"
				   "min local healthy: 0\n"
				   "active backends:   1\n"
				   "\n"
				   "ADDRESS     PORT  SITE    LOCAL  WEIGHT  STATE\n"
				   "10.1.0.11   80    site-a  yes    100     active\n"
				   "fd00:2::11  80    site-b  no     100     draining\n");
	run_done(&r);
	server_stop(s);
}

static void test_run_not_found(void **state)
{
	struct server *s = server_start();
	struct run r;

	run_gwctl(&r, "-s", sock_path, "services", "show", "nosuch", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_REFUSED);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "gwctl: no service \"nosuch\"\n");
	run_done(&r);

	/* A name that needs escaping arrives intact. */
	run_gwctl(&r, "-s", sock_path, "services", "show", "a b/c", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_REFUSED);
	assert_string_equal(r.err, "gwctl: no service \"a b/c\"\n");
	run_done(&r);

	/* Errors with details: each on its own line. */
	run_gwctl(&r, "-s", sock_path, "config", "reload", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_REFUSED);
	assert_string_equal(r.err,
			    "gwctl: config /etc/isthmus/gateway.conf is invalid; the old config "
			    "stays\n"
			    "  gateway.conf:3: services.web.lb: must be maglev or random\n"
			    "  gateway.conf:9: sites: duplicate id 2\n");
	run_done(&r);

	/* A good reload lists what changed; without "changes" it still worked. */
	pthread_mutex_lock(&s->lock);
	s->reload_answer = 1;
	pthread_mutex_unlock(&s->lock);
	run_gwctl(&r, "-s", sock_path, "config", "reload", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "service web: backend 10.1.0.12:80 added\n"
				   "service dns: removed\n");
	run_done(&r);
	pthread_mutex_lock(&s->lock);
	s->reload_answer = 2;
	pthread_mutex_unlock(&s->lock);
	run_gwctl(&r, "-s", sock_path, "conf", "rel", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "config reloaded: no changes\n");
	run_done(&r);

	/* An endpoint this daemon does not have. */
	run_gwctl(&r, "-s", sock_path, "peers", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_REFUSED);
	assert_string_equal(r.err, "gwctl: no API path \"/v1/peers\"\n");
	run_done(&r);
	server_stop(s);
}

static void test_run_unreachable(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char path[160];
	struct run r;
	int fd;

	/* No socket at all. */
	snprintf(path, sizeof(path), "%s/absent.sock", tmpdir);
	run_gwctl(&r, "--socket", path, "status", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_UNREACHABLE);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, path));
	assert_non_null(strstr(r.err, "is gatewayd running?"));
	run_done(&r);

	/* A stale socket file. */
	make_socket(sock_path);
	run_gwctl(&r, "--socket", sock_path, "status", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_UNREACHABLE);
	assert_non_null(strstr(r.err, "nobody listens on"));
	run_done(&r);
	unlink(sock_path);

	/* A daemon that accepts but never answers. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	run_gwctl(&r, "--socket", sock_path, "--timeout", "200", "status", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_UNREACHABLE);
	assert_non_null(strstr(r.err, "did not answer within 200 ms"));
	run_done(&r);
	close(fd);
}

static void test_run_usage(void **state)
{
	struct run r;

	run_gwctl(&r, NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_string_equal(r.err, "gwctl: no command given\nTry 'gwctl --help'.\n");
	run_done(&r);

	run_gwctl(&r, "services", "show", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_string_equal(r.err, "gwctl: missing argument\nUsage: gwctl services show NAME\n");
	run_done(&r);

	run_gwctl(&r, "backends", "weight", "web", "10.1.0.11:80", "heavy", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_non_null(strstr(r.err, "bad weight \"heavy\""));
	run_done(&r);

	run_gwctl(&r, "backends", "drain", "web", "fd00::1:80", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_non_null(strstr(r.err, "[fd00:1::11]:80"));
	run_done(&r);

	run_gwctl(&r, "-o", "yaml", "status", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	run_done(&r);

	run_gwctl(&r, "--gateway", "a/b", "status", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_non_null(strstr(r.err, "bad gateway name"));
	run_done(&r);

	run_gwctl(&r, "frobnicate", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_non_null(strstr(r.err, "command \"frobnicate\" is unknown, try one of: status, "));
	run_done(&r);

	run_gwctl(&r, "--help", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_non_null(strstr(r.out, "Usage: gwctl [OPTIONS] COMMAND [ARGS]"));
	assert_non_null(strstr(r.out, "backends weight SERVICE ADDR:PORT WEIGHT"));
	run_done(&r);

	run_gwctl(&r, "help", "back", "d", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "Usage: gwctl backends drain SERVICE ADDR:PORT [--site SITE]  "
				   "no new flows to a backend\n");
	run_done(&r);
}

static void test_run_backends(void **state)
{
	struct server *s = server_start();
	struct run r;

	run_gwctl(&r, "-s", sock_path, "backends", "drain", "web", "[fd00:1::11]:80", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "");
	pthread_mutex_lock(&s->lock);
	assert_string_equal(s->last_body, "{\"service\":\"web\",\"backend\":\"[fd00:1::11]:80\"}");
	pthread_mutex_unlock(&s->lock);
	run_done(&r);

	/* sites may share addresses: --site names one, before or after */
	run_gwctl(&r, "-s", sock_path, "backends", "drain", "web", "10.1.0.11:80", "--site",
		  "site-c", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	pthread_mutex_lock(&s->lock);
	assert_string_equal(s->last_body, "{\"service\":\"web\",\"backend\":\"10.1.0.11:80\","
					  "\"site\":\"site-c\"}");
	pthread_mutex_unlock(&s->lock);
	run_done(&r);
	run_gwctl(&r, "-s", sock_path, "backends", "weight", "--site=site-b", "web", "10.1.0.11:80",
		  "7", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	pthread_mutex_lock(&s->lock);
	assert_string_equal(s->last_body, "{\"service\":\"web\",\"backend\":\"10.1.0.11:80\","
					  "\"weight\":7,\"site\":\"site-b\"}");
	pthread_mutex_unlock(&s->lock);
	run_done(&r);
	run_gwctl(&r, "-s", sock_path, "backends", "drain", "web", "10.1.0.11:80", "--site", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_USAGE);
	assert_non_null(strstr(r.err, "--site needs a site name"));
	run_done(&r);

	run_gwctl(&r, "-s", sock_path, "-j", "b", "w", "web", "10.1.0.11:80", "50", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "{\n  \"ok\": true\n}\n");
	pthread_mutex_lock(&s->lock);
	assert_string_equal(s->last_body,
			    "{\"service\":\"web\",\"backend\":\"10.1.0.11:80\",\"weight\":50}");
	pthread_mutex_unlock(&s->lock);
	run_done(&r);

	run_gwctl(&r, "-s", sock_path, "backends", "--service", "web", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "SERVICE  ADDRESS    PORT  SITE    LOCAL  WEIGHT  STATE\n"
				   "web      10.1.0.11  80    site-a  yes    100     active\n");
	pthread_mutex_lock(&s->lock);
	assert_string_equal(s->last_query, "service=web");
	pthread_mutex_unlock(&s->lock);
	run_done(&r);

	run_gwctl(&r, "-s", sock_path, "backends", "list", "--service=a b&c", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "no backends\n");
	pthread_mutex_lock(&s->lock);
	assert_string_equal(s->last_query, "service=a%20b%26c");
	pthread_mutex_unlock(&s->lock);
	run_done(&r);

	run_gwctl(&r, "-s", sock_path, "stats", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "no counters\n");
	run_done(&r);

	run_gwctl(&r, "-s", sock_path, "config", "show", NULL);
	assert_int_equal(r.rc, GWCTL_EXIT_OK);
	assert_string_equal(r.out, "{\n  \"gateway\": {\n    \"name\": \"gw1\"\n  }\n}\n");
	run_done(&r);
	server_stop(s);
}

static void test_url_escape(void **state)
{
	char buf[16];

	assert_int_equal(gwctl_url_escape("web-1_a.b~", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "web-1_a.b~");
	assert_int_equal(gwctl_url_escape("a b/?", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a%20b%2F%3F");
	assert_int_equal(gwctl_url_escape("0123456789abcdef", buf, sizeof(buf)), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_matching),
		cmocka_unit_test_setup_teardown(test_socket_resolution, setup, teardown),
		cmocka_unit_test(test_table_rendering),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test_setup_teardown(test_run_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_services, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_backends, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
