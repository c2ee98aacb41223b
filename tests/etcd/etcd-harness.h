/* Harness of the etcd integration tests: etcd processes on random loopback
 * ports, synchronous calls over the async client, a watch recorder, a proxy. */
#ifndef ETCD_HARNESS_H
#define ETCD_HARNESS_H

/* Every helper is static (one test program each includes this header);
 * each program uses some of them: __attribute__((unused)). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <uv.h>

#include "gw/etcd.h"

#define CALL_TIMEOUT_MS	  15000
#define HEALTH_TIMEOUT_MS 20000
#define MAX_EVENTS	  16384
#define MAX_PROCS	  8

/* --- processes and temporary files --------------------------------------------------------- */

struct etcd_proc {
	pid_t pid;
	char name[16];
	char dir[256];
	char url[64];
	int client_port, peer_port;
	char cluster[512]; /* --initial-cluster */
	bool tls;
};

static char tmp_root[64];
static struct etcd_proc *procs[MAX_PROCS];
static uv_loop_t loop;
static struct etcd_proc main_etcd;

static __attribute__((unused)) int rm_one(const char *path, const struct stat *st, int flag,
					  struct FTW *ftw)
{
	remove(path);
	return 0;
}

static __attribute__((unused)) void cleanup(void)
{
	for (int i = 0; i < MAX_PROCS; i++) {
		if (procs[i] && procs[i]->pid > 0) {
			kill(procs[i]->pid, SIGKILL);
			waitpid(procs[i]->pid, NULL, 0);
			procs[i]->pid = 0;
		}
	}
	if (tmp_root[0]) {
		nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		tmp_root[0] = '\0';
	}
}

static __attribute__((unused)) void on_fatal_signal(int sig)
{
	/* async-signal-safe only: the children die with us (PR_SET_PDEATHSIG) */
	for (int i = 0; i < MAX_PROCS; i++)
		if (procs[i] && procs[i]->pid > 0)
			kill(procs[i]->pid, SIGKILL);
	if (tmp_root[0] && fork() == 0) {
		execlp("rm", "rm", "-rf", tmp_root, (char *)NULL);
		_exit(1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static __attribute__((unused)) int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static __attribute__((unused)) void proc_register(struct etcd_proc *p)
{
	for (int i = 0; i < MAX_PROCS; i++) {
		if (procs[i] == p)
			return;
		if (!procs[i]) {
			procs[i] = p;
			return;
		}
	}
	fail_msg("too many etcd processes");
}

static __attribute__((unused)) void proc_init(struct etcd_proc *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->dir, sizeof(p->dir), "%s/%s", tmp_root, name);
	p->client_port = free_port();
	p->peer_port = free_port();
	snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->client_port);
	snprintf(p->cluster, sizeof(p->cluster), "%s=http://127.0.0.1:%d", name, p->peer_port);
	proc_register(p);
}

static __attribute__((unused)) void proc_start(struct etcd_proc *p)
{
	char client[64], peer[64], log[300], cert[300], key[300], ca[300];
	const char *bin = getenv("ETCD_BIN") ? getenv("ETCD_BIN") : "etcd";
	pid_t pid;

	snprintf(client, sizeof(client), "%s://127.0.0.1:%d", p->tls ? "https" : "http",
		 p->client_port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", p->peer_port);
	snprintf(log, sizeof(log), "%s.log", p->dir);
	snprintf(cert, sizeof(cert), "%s/server.crt", tmp_root);
	snprintf(key, sizeof(key), "%s/server.key", tmp_root);
	snprintf(ca, sizeof(ca), "%s/ca.crt", tmp_root);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		char *argv[40];
		int n = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		argv[n++] = (char *)bin;
		argv[n++] = "--name";
		argv[n++] = p->name;
		argv[n++] = "--data-dir";
		argv[n++] = p->dir;
		argv[n++] = "--listen-client-urls";
		argv[n++] = client;
		argv[n++] = "--advertise-client-urls";
		argv[n++] = client;
		argv[n++] = "--listen-peer-urls";
		argv[n++] = peer;
		argv[n++] = "--initial-advertise-peer-urls";
		argv[n++] = peer;
		argv[n++] = "--initial-cluster";
		argv[n++] = p->cluster;
		argv[n++] = "--initial-cluster-token";
		argv[n++] = tmp_root + 5; /* unique per run */
		argv[n++] = "--experimental-watch-progress-notify-interval";
		argv[n++] = "1s";
		if (p->tls) {
			argv[n++] = "--cert-file";
			argv[n++] = cert;
			argv[n++] = "--key-file";
			argv[n++] = key;
			argv[n++] = "--client-cert-auth";
			argv[n++] = "--trusted-ca-file";
			argv[n++] = ca;
		}
		argv[n] = NULL;
		execvp(bin, argv);
		_exit(127);
	}
	p->pid = pid;
}

static __attribute__((unused)) void proc_kill(struct etcd_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}

/* --- calls -------------------------------------------------------------------------------- */

static __attribute__((unused)) void kv_copy(struct cs_etcd_kv *d, const struct cs_etcd_kv *s)
{
	*d = *s;
	d->key = malloc(s->key_len + 1);
	d->value = malloc(s->value_len + 1);
	assert_non_null(d->key);
	assert_non_null(d->value);
	memcpy(d->key, s->key, s->key_len + 1);
	memcpy(d->value, s->value, s->value_len + 1);
}

static __attribute__((unused)) void res_copy(struct cs_etcd_result *d,
					     const struct cs_etcd_result *s)
{
	*d = *s;
	d->message = s->message ? strdup(s->message) : NULL;
	d->kvs = s->n_kvs ? calloc(s->n_kvs, sizeof(*d->kvs)) : NULL;
	for (size_t i = 0; i < s->n_kvs; i++)
		kv_copy(&d->kvs[i], &s->kvs[i]);
	d->prev_kvs = s->n_prev_kvs ? calloc(s->n_prev_kvs, sizeof(*d->prev_kvs)) : NULL;
	for (size_t i = 0; i < s->n_prev_kvs; i++)
		kv_copy(&d->prev_kvs[i], &s->prev_kvs[i]);
	d->responses = s->n_responses ? calloc(s->n_responses, sizeof(*d->responses)) : NULL;
	for (size_t i = 0; i < s->n_responses; i++)
		res_copy(&d->responses[i], &s->responses[i]);
}

struct call {
	int done;
	int err;
	uint64_t t_start, t_end;
	struct cs_etcd_result res;
};

static __attribute__((unused)) void call_cb(void *ud, int err, const struct cs_etcd_result *res)
{
	struct call *c = ud;

	c->err = err;
	c->t_end = uv_hrtime();
	res_copy(&c->res, res);
	c->done = 1;
}

static __attribute__((unused)) void call_init(struct call *c)
{
	memset(c, 0, sizeof(*c));
	c->t_start = uv_hrtime();
}

/* Wait for a call started with return value @rc; returns its error. */
static __attribute__((unused)) int call_wait(struct call *c, int rc)
{
	assert_int_equal(rc, 0);
	assert_int_equal(cs_etcd_run_until(&loop, &c->done, CALL_TIMEOUT_MS), 0);
	return c->err;
}

static __attribute__((unused)) void call_done(struct call *c)
{
	cs_etcd_result_done(&c->res);
}

static __attribute__((unused)) int do_put(struct cs_etcd *e, const char *key, const char *value,
					  int64_t lease, int64_t *ret_rev)
{
	struct cs_etcd_put_req q = {
		.key = key, .value = value, .value_len = strlen(value), .lease = lease};
	struct call c;
	int err;

	call_init(&c);
	err = call_wait(&c, cs_etcd_put(e, &q, call_cb, &c));
	if (ret_rev)
		*ret_rev = c.res.revision;
	call_done(&c);
	return err;
}

/* The value of @key, or NULL; caller frees. */
static __attribute__((unused)) char *do_get(struct cs_etcd *e, const char *key, int64_t *ret_mod)
{
	struct cs_etcd_range_req q = {.key = key};
	struct call c;
	char *v = NULL;

	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), 0);
	if (c.res.n_kvs) {
		v = strdup(c.res.kvs[0].value);
		if (ret_mod)
			*ret_mod = c.res.kvs[0].mod_revision;
	}
	call_done(&c);
	return v;
}

static __attribute__((unused)) int64_t current_revision(struct cs_etcd *e)
{
	struct cs_etcd_range_req q = {.key = "/", .count_only = true};
	struct call c;
	int64_t rev;

	call_init(&c);
	assert_int_equal(call_wait(&c, cs_etcd_range(e, &q, call_cb, &c)), 0);
	rev = c.res.revision;
	call_done(&c);
	return rev;
}

static __attribute__((unused)) struct cs_etcd *client_new(const char *const *urls, size_t n,
							  const struct cs_etcd_opts *base)
{
	struct cs_etcd_opts o = {0};
	struct cs_etcd *e;

	if (base)
		o = *base;
	o.endpoints = urls;
	o.n_endpoints = n;
	if (!o.request_timeout_ms)
		o.request_timeout_ms = 3000;
	if (!o.reconnect_max_ms)
		o.reconnect_max_ms = 500;
	e = cs_etcd_new(&loop, &o);
	assert_non_null(e);
	return e;
}

static __attribute__((unused)) void client_free(struct cs_etcd *e)
{
	cs_etcd_free(e);
	uv_run(&loop, UV_RUN_NOWAIT); /* close callbacks */
}

/* Poll with short requests until @url answers (no fixed sleeps). */
static __attribute__((unused)) void wait_healthy(const char *url, const struct cs_etcd_opts *tls)
{
	struct cs_etcd_opts o = {.dial_timeout_ms = 200, .request_timeout_ms = 500};
	uint64_t deadline = uv_hrtime() + (uint64_t)HEALTH_TIMEOUT_MS * 1000000;
	const char *urls[1] = {url};
	struct cs_etcd *e;

	if (tls) {
		o.tls_ca = tls->tls_ca;
		o.tls_cert = tls->tls_cert;
		o.tls_key = tls->tls_key;
	}
	e = client_new(urls, 1, &o);
	for (;;) {
		struct cs_etcd_range_req q = {.key = "/health"};
		struct call c;
		int err;

		call_init(&c);
		err = call_wait(&c, cs_etcd_range(e, &q, call_cb, &c));
		call_done(&c);
		if (!err)
			break;
		if (uv_hrtime() > deadline)
			fail_msg("etcd at %s not healthy after %d ms (last error %d)", url,
				 HEALTH_TIMEOUT_MS, err);
		/* the next attempt waits out its own dial timeout: no busy loop */
		if (err != -ETIMEDOUT) {
			int done = 0;

			cs_etcd_run_until(&loop, &done, 50);
		}
	}
	client_free(e);
}

static __attribute__((unused)) void run_for(uint64_t ms)
{
	int done = 0;

	cs_etcd_run_until(&loop, &done, ms);
}

/* --- watch recorder ------------------------------------------------------------------------ */

struct rec_event {
	enum cs_etcd_event_type type;
	char key[64];
	char value[64];
	int64_t rev, create_rev;
	uint64_t t;
	int err;
};

struct recorder {
	struct rec_event *ev;
	size_t n;
	size_t created, progress, resync, error;
	int64_t resync_rev;
	int resync_err;
	int64_t last_progress;
	int64_t max_rev; /* of PUT/DELETE */
	bool stop_on_finish;
	struct cs_etcd_watch *w;
};

static __attribute__((unused)) void rec_cb(void *ud, const struct cs_etcd_event *ev)
{
	struct recorder *r = ud;
	struct rec_event *e;

	switch (ev->type) {
	case CS_ETCD_EV_CREATED:
		r->created++;
		return;
	case CS_ETCD_EV_PROGRESS:
		r->progress++;
		r->last_progress = ev->revision;
		return;
	case CS_ETCD_EV_RESYNC:
		r->resync++;
		r->resync_rev = ev->revision;
		r->resync_err = ev->err;
		if (r->stop_on_finish) {
			cs_etcd_watch_stop(r->w); /* from inside the callback */
			r->w = NULL;
		}
		return;
	case CS_ETCD_EV_ERROR:
		r->error++;
		return;
	default:
		break;
	}
	if (r->n >= MAX_EVENTS)
		return;
	e = &r->ev[r->n++];
	e->type = ev->type;
	snprintf(e->key, sizeof(e->key), "%s", ev->kv->key);
	snprintf(e->value, sizeof(e->value), "%s", ev->kv->value);
	e->rev = ev->kv->mod_revision;
	e->create_rev = ev->kv->create_revision;
	e->t = uv_hrtime();
	if (e->rev > r->max_rev)
		r->max_rev = e->rev;
	uv_stop(&loop); /* a waiting uv_run(UV_RUN_ONCE) returns instead of blocking */
}

static __attribute__((unused)) void rec_init(struct recorder *r)
{
	memset(r, 0, sizeof(*r));
	r->ev = calloc(MAX_EVENTS, sizeof(*r->ev));
	assert_non_null(r->ev);
}

static __attribute__((unused)) void rec_start(struct recorder *r, struct cs_etcd *e,
					      const char *prefix, int64_t start_rev)
{
	struct cs_etcd_watch_req q = {.key = prefix, .prefix = true, .start_revision = start_rev};

	r->w = cs_etcd_watch_start(e, &q, rec_cb, r);
	assert_non_null(r->w);
}

static __attribute__((unused)) void rec_done(struct recorder *r)
{
	cs_etcd_watch_stop(r->w);
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

/* Run until the watch delivered an event of revision >= @rev. */
static __attribute__((unused)) void rec_wait_rev(struct recorder *r, int64_t rev,
						 uint64_t timeout_ms)
{
	uint64_t deadline = uv_hrtime() + timeout_ms * 1000000;

	while (r->max_rev < rev) {
		if (uv_hrtime() > deadline)
			fail_msg("watch reached revision %" PRId64 ", want %" PRId64, r->max_rev,
				 rev);
		uv_run(&loop, UV_RUN_ONCE);
	}
}

static __attribute__((unused)) void rec_wait_count(struct recorder *r, size_t *counter, size_t want,
						   uint64_t timeout_ms)
{
	uint64_t deadline = uv_hrtime() + timeout_ms * 1000000;

	while (*counter < want) {
		if (uv_hrtime() > deadline)
			fail_msg("watch counter at %zu, want %zu", *counter, want);
		run_for(20);
	}
}

/* Revisions strictly increase within a revision's events order, none twice. */
static __attribute__((unused)) void rec_assert_ordered(const struct recorder *r)
{
	for (size_t i = 1; i < r->n; i++) {
		assert_true(r->ev[i].rev >= r->ev[i - 1].rev);
		if (r->ev[i].rev == r->ev[i - 1].rev) /* one txn: distinct keys */
			assert_string_not_equal(r->ev[i].key, r->ev[i - 1].key);
	}
}

/* --- a TCP proxy on the loop: cut or freeze the client's connections ----------------------- */

struct proxy;

struct pipe_end {
	uv_tcp_t tcp;
	struct proxy_pair *pair;
};

struct proxy_pair {
	struct proxy *p;
	struct pipe_end a, b; /* client side, etcd side */
	uv_connect_t conn;
	int closed;
	bool up;
	struct proxy_pair *next;
};

struct proxy {
	uv_tcp_t listener;
	int port, target_port;
	bool cut;
	struct proxy_pair *pairs;
	char url[64];
};

static __attribute__((unused)) void pair_handle_closed(uv_handle_t *h)
{
	struct pipe_end *end = h->data;
	struct proxy_pair *pp = end->pair;

	if (++pp->closed == 2)
		free(pp);
}

static __attribute__((unused)) void pair_close(struct proxy_pair *pp)
{
	struct proxy_pair **l;

	for (l = &pp->p->pairs; *l; l = &(*l)->next) {
		if (*l == pp) {
			*l = pp->next;
			break;
		}
	}
	if (!uv_is_closing((uv_handle_t *)&pp->a.tcp))
		uv_close((uv_handle_t *)&pp->a.tcp, pair_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&pp->b.tcp))
		uv_close((uv_handle_t *)&pp->b.tcp, pair_handle_closed);
}

static __attribute__((unused)) void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	buf->base = malloc(size);
	buf->len = buf->base ? size : 0;
}

static __attribute__((unused)) void write_cb(uv_write_t *req, int status)
{
	free(req->data);
	free(req);
}

static __attribute__((unused)) void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct pipe_end *end = s->data;
	struct proxy_pair *pp = end->pair;
	struct pipe_end *other = end == &pp->a ? &pp->b : &pp->a;

	if (n < 0) {
		free(buf->base);
		pair_close(pp);
		return;
	}
	if (n > 0) {
		uv_write_t *req = malloc(sizeof(*req));
		uv_buf_t out = uv_buf_init(buf->base, (unsigned int)n);

		req->data = buf->base;
		if (uv_write(req, (uv_stream_t *)&other->tcp, &out, 1, write_cb)) {
			free(buf->base);
			free(req);
		}
		return;
	}
	free(buf->base);
}

static __attribute__((unused)) void connect_cb(uv_connect_t *req, int status)
{
	struct proxy_pair *pp = req->data;

	if (status < 0 || uv_is_closing((uv_handle_t *)&pp->a.tcp)) {
		if (!uv_is_closing((uv_handle_t *)&pp->a.tcp))
			pair_close(pp);
		return;
	}
	pp->up = true;
	uv_read_start((uv_stream_t *)&pp->a.tcp, alloc_cb, read_cb);
	uv_read_start((uv_stream_t *)&pp->b.tcp, alloc_cb, read_cb);
}

static __attribute__((unused)) void accept_cb(uv_stream_t *server, int status)
{
	struct proxy *p = server->data;
	struct proxy_pair *pp = calloc(1, sizeof(*pp));
	struct sockaddr_in to;

	assert_non_null(pp);
	pp->p = p;
	pp->a.pair = pp->b.pair = pp;
	uv_tcp_init(&loop, &pp->a.tcp);
	uv_tcp_init(&loop, &pp->b.tcp);
	pp->a.tcp.data = &pp->a;
	pp->b.tcp.data = &pp->b;
	pp->next = p->pairs;
	p->pairs = pp;
	if (uv_accept(server, (uv_stream_t *)&pp->a.tcp) || p->cut) {
		pair_close(pp);
		return;
	}
	uv_ip4_addr("127.0.0.1", p->target_port, &to);
	pp->conn.data = pp;
	if (uv_tcp_connect(&pp->conn, &pp->b.tcp, (struct sockaddr *)&to, connect_cb))
		pair_close(pp);
}

static __attribute__((unused)) void proxy_start(struct proxy *p, int target_port)
{
	struct sockaddr_in a;
	int len = sizeof(a);

	memset(p, 0, sizeof(*p));
	p->target_port = target_port;
	uv_tcp_init(&loop, &p->listener);
	p->listener.data = p;
	uv_ip4_addr("127.0.0.1", 0, &a);
	assert_int_equal(uv_tcp_bind(&p->listener, (struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&p->listener, 64, accept_cb), 0);
	uv_tcp_getsockname(&p->listener, (struct sockaddr *)&a, &len);
	p->port = ntohs(a.sin_port);
	snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
}

/* Drop every connection; with @refuse, new ones too until proxy_cut(p, false). */
static __attribute__((unused)) void proxy_cut(struct proxy *p, bool refuse)
{
	p->cut = refuse;
	while (p->pairs)
		pair_close(p->pairs);
}

/* Stop forwarding on the open connections (they stay open, silent). */
static __attribute__((unused)) void proxy_freeze(struct proxy *p)
{
	for (struct proxy_pair *pp = p->pairs; pp; pp = pp->next) {
		if (pp->up) {
			uv_read_stop((uv_stream_t *)&pp->a.tcp);
			uv_read_stop((uv_stream_t *)&pp->b.tcp);
		}
	}
}

static __attribute__((unused)) void proxy_stop(struct proxy *p)
{
	proxy_cut(p, true);
	uv_close((uv_handle_t *)&p->listener, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* --- main ------------------------------------------------------------------------------------ */

static const char *main_url[1];

static __attribute__((unused)) int group_setup(void **state)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/etcd-live-XXXXXX");
	if (!mkdtemp(tmp_root)) {
		tmp_root[0] = '\0';
		return -1;
	}
	proc_init(&main_etcd, "main");
	proc_start(&main_etcd);
	main_url[0] = main_etcd.url;
	wait_healthy(main_etcd.url, NULL);
	return 0;
}

static __attribute__((unused)) int group_teardown(void **state)
{
	cleanup();
	return 0;
}

/* Runs @tests against one etcd started for them (more where a test needs
 * them); argv[1] filters tests by name. Skips when etcd is not installed. */
static __attribute__((unused)) int live_main(int argc, char **argv, const char *name,
					     const struct CMUnitTest *tests, size_t n)
{
	const char *bin = getenv("ETCD_BIN") ? getenv("ETCD_BIN") : "etcd";
	char probe[256];
	int rc;

	snprintf(probe, sizeof(probe), "command -v %s >/dev/null 2>&1", bin);
	if (system(probe) != 0) {
		printf("SKIP: %s not found (Debian package etcd-server)\n", bin);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGSEGV, on_fatal_signal);
	signal(SIGABRT, on_fatal_signal);
	signal(SIGBUS, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	atexit(cleanup);
	uv_loop_init(&loop);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	rc = _cmocka_run_group_tests(name, tests, n, group_setup, group_teardown);
	uv_run(&loop, UV_RUN_NOWAIT);
	if (uv_loop_close(&loop) != 0) {
		printf("loop not empty at exit: a handle leaked\n");
		rc = rc ? rc : 1;
	}
	return rc;
}

#endif /* ETCD_HARNESS_H */
