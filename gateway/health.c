/* Health checks of local backends on the daemon's libuv loop: one timer
 * per backend; each round opens a TCP connection (and for HTTP sends a GET
 * and reads the status line) under a timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/health.h"

#define HC_RX_MAX 512 /* enough for an HTTP status line */

struct hc_check;

struct gw_health {
	uv_loop_t *loop;
	struct gw_balancer *lb;
	void (*changed)(void *ud);
	void *ud;
	struct hc_check *checks;
	size_t n_checks;
	struct gw_health_stats st;
	size_t open_handles; /* for the asynchronous free */
	bool freeing;
};

struct hc_check {
	struct gw_health *h;
	struct gw_lb_service *svc; /* config services live as long as lb */
	uint32_t backend_id;
	const struct gw_health_conf *conf;
	struct sockaddr_storage sa;
	uv_timer_t interval;
	uv_timer_t timeout;
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	char req[300];
	char rx[HC_RX_MAX];
	size_t rx_len;
	bool busy;     /* a round is in flight (until its socket is closed) */
	bool settled;  /* this round's result is counted */
	bool tcp_open; /* tcp handle initialised and not yet closed */
};

static struct gw_lb_backend *hc_backend(struct hc_check *c)
{
	size_t i;

	for (i = 0; i < c->svc->n_backends; i++)
		if (c->svc->backends[i].id == c->backend_id)
			return &c->svc->backends[i];
	return NULL;
}

static void handle_closed(uv_handle_t *hd)
{
	struct gw_health *h = hd->data;

	if (--h->open_handles == 0 && h->freeing) {
		free(h->checks);
		free(h);
	}
}

static void tcp_closed(uv_handle_t *hd)
{
	struct hc_check *c = (struct hc_check *)((char *)hd - offsetof(struct hc_check, tcp));

	c->tcp_open = false;
	c->busy = false;
	hd->data = c->h;
	handle_closed(hd);
}

static void finish(struct hc_check *c, bool ok)
{
	struct gw_health *h = c->h;
	struct gw_lb_backend *b;

	if (!c->busy || c->settled)
		return;
	c->settled = true;
	uv_timer_stop(&c->timeout);
	if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, tcp_closed);
	else
		c->busy = false;
	if (h->freeing)
		return;
	h->st.checks++;
	if (!ok)
		h->st.failures++;
	b = hc_backend(c);
	if (!b)
		return;
	if (ok) {
		b->hc_fall = 0;
		if (!b->healthy && ++b->hc_rise >= c->conf->rise) {
			b->healthy = true;
			b->hc_rise = 0;
			goto flipped;
		}
	} else {
		b->hc_rise = 0;
		if (b->healthy && ++b->hc_fall >= c->conf->fall) {
			b->healthy = false;
			b->hc_fall = 0;
			goto flipped;
		}
	}
	return;
flipped:
	h->st.transitions++;
	c->svc->dirty = true;
	h->lb->version++;
	h->changed(h->ud);
}

static void on_timeout(uv_timer_t *t)
{
	finish(t->data, false);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct hc_check *c = s->data;
	unsigned status = 0;
	char *eol;

	if (n < 0) {
		finish(c, false);
		return;
	}
	c->rx_len += n;
	eol = memchr(c->rx, '\n', c->rx_len);
	if (!eol) {
		if (c->rx_len >= sizeof(c->rx) - 1)
			finish(c, false);
		return;
	}
	*eol = '\0';
	finish(c, sscanf(c->rx, "HTTP/1.%*u %u", &status) == 1 && status == c->conf->expect_status);
}

static void rx_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct hc_check *c = hd->data;

	buf->base = c->rx + c->rx_len;
	buf->len = sizeof(c->rx) - 1 - c->rx_len;
}

static void on_write(uv_write_t *w, int status)
{
	struct hc_check *c = w->data;

	if (status)
		finish(c, false);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct hc_check *c = req->data;
	uv_buf_t buf;

	if (status) {
		finish(c, false);
		return;
	}
	if (c->conf->type != GW_HEALTH_HTTP) {
		finish(c, true);
		return;
	}
	c->rx_len = 0;
	c->tcp.data = c;
	buf = uv_buf_init(c->req, strlen(c->req));
	c->write.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_write) ||
	    uv_read_start((uv_stream_t *)&c->tcp, rx_alloc, on_read))
		finish(c, false);
}

static void round_start(uv_timer_t *t)
{
	struct hc_check *c = t->data;

	if (c->busy || c->h->freeing)
		return; /* the previous round still runs: its timeout ends it */
	c->busy = true;
	c->settled = false;
	uv_tcp_init(c->h->loop, &c->tcp);
	c->tcp_open = true;
	c->h->open_handles++;
	c->tcp.data = c;
	c->connect.data = c;
	uv_timer_start(&c->timeout, on_timeout, c->conf->timeout_ms, 0);
	if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&c->sa, on_connect))
		finish(c, false);
}

static int check_init(struct gw_health *h, struct hc_check *c, struct gw_lb_service *svc,
		      const struct gw_lb_backend *b)
{
	const struct gw_health_conf *hc = &svc->conf->health;
	uint16_t port = hc->port ? hc->port : b->port;
	char host[INET6_ADDRSTRLEN] = "";

	if (!port && svc->n_ports)
		port = svc->ports[0].lo;
	c->h = h;
	c->svc = svc;
	c->backend_id = b->id;
	c->conf = hc;
	memset(&c->sa, 0, sizeof(c->sa));
	if (b->addr.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, b->addr.addr, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, b->addr.addr, 16);
	}
	inet_ntop(b->addr.family, b->addr.addr, host, sizeof(host));
	snprintf(c->req, sizeof(c->req),
		 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: isthmus-health\r\nConnection: "
		 "close\r\n\r\n",
		 hc->path ? hc->path : "/", host);
	uv_timer_init(h->loop, &c->interval);
	uv_timer_init(h->loop, &c->timeout);
	c->interval.data = c->timeout.data = c;
	h->open_handles += 2;
	return uv_timer_start(&c->interval, round_start, 0, hc->interval_ms);
}

struct gw_health *gw_health_new(uv_loop_t *loop, struct gw_balancer *lb, void (*changed)(void *ud),
				void *ud)
{
	struct gw_health *h;
	size_t i, j, n = 0;

	h = calloc(1, sizeof(*h));
	if (!h)
		goto nomem;
	h->loop = loop;
	h->lb = lb;
	h->changed = changed;
	h->ud = ud;
	for (i = 0; i < lb->n_services; i++)
		n += lb->services[i]->n_backends;
	h->checks = calloc(n ? n : 1, sizeof(*h->checks));
	if (!h->checks)
		goto nomem;
	for (i = 0; i < lb->n_services; i++) {
		struct gw_lb_service *s = lb->services[i];

		if (!s->conf || s->conf->health.type == GW_HEALTH_NONE)
			continue;
		for (j = 0; j < s->n_backends; j++) {
			if (!s->backends[j].local)
				continue;
			check_init(h, &h->checks[h->n_checks++], s, &s->backends[j]);
		}
	}
	h->st.running = h->n_checks;
	return h;
nomem:
	if (h)
		free(h->checks);
	free(h);
	errno = ENOMEM;
	return NULL;
}

void gw_health_free(struct gw_health *h)
{
	size_t i;

	if (!h)
		return;
	h->freeing = true;
	if (h->open_handles == 0) {
		free(h->checks);
		free(h);
		return;
	}
	for (i = 0; i < h->n_checks; i++) {
		struct hc_check *c = &h->checks[i];

		c->interval.data = c->timeout.data = h;
		uv_close((uv_handle_t *)&c->interval, handle_closed);
		uv_close((uv_handle_t *)&c->timeout, handle_closed);
		if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
			uv_close((uv_handle_t *)&c->tcp, tcp_closed);
	}
}

void gw_health_stats(const struct gw_health *h, struct gw_health_stats *ret)
{
	*ret = h->st;
}
