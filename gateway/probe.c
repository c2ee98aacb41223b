/* Sends probes to peers over a UDP socket on the external address and
 * tracks each peer's liveness and round-trip time from the answers that the
 * peers' XDP programs send back. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw/abi/maps.h"
#include "gw/probe.h"

struct gw_prober {
	uv_udp_t sock;
	uv_timer_t timer;
	struct gw_balancer *lb;
	struct gw_probe_opts o;
	void (*changed)(void *ud);
	void *ud;
	struct gw_probe_stats st;
	int closing;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t be64(uint64_t v)
{
	return ((uint64_t)htonl(v & 0xffffffff) << 32) | htonl(v >> 32);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char rx[256]; /* one datagram at a time on the loop thread */

	buf->base = rx;
	buf->len = sizeof(rx);
}

static struct gw_lb_peer *peer_by_addr(struct gw_balancer *lb, const struct sockaddr_in *sa,
				       uint32_t *ret_id)
{
	size_t i;

	for (i = 0; i < lb->n_peers; i++) {
		struct gw_lb_peer *p = &lb->peers[i];

		if ((p->configured || p->learned) && p->addr.family == AF_INET &&
		    memcmp(p->addr.addr, &sa->sin_addr, 4) == 0) {
			*ret_id = i + 1;
			return p;
		}
	}
	return NULL;
}

/* One datagram on the probe socket: an answer, or something to count. */
static void answer(struct gw_prober *pr, const void *data, ssize_t nread,
		   const struct sockaddr *addr)
{
	const struct gw_probe *m = data;
	struct gw_lb_peer *p;
	uint32_t id;

	if (nread <= 0 || !addr)
		return;
	if ((size_t)nread < sizeof(*m) || addr->sa_family != AF_INET ||
	    m->magic != htonl(GW_PROBE_MAGIC) || !(ntohs(m->flags) & GW_PROBE_F_REPLY) ||
	    ntohs(m->site_id) != pr->o.site_id) {
		pr->st.bad++;
		return;
	}
	p = peer_by_addr(pr->lb, (const struct sockaddr_in *)addr, &id);
	if (!p || ntohl(m->seq) != p->probe_seq || be64(m->sent_ns) != p->probe_sent_ns) {
		pr->st.bad++; /* late, or not ours */
		return;
	}
	pr->st.answered++;
	p->rtt_us = (now_ns() - p->probe_sent_ns) / 1000;
	p->misses = 0;
	p->last_seen_ms = uv_now(pr->timer.loop);
	p->misses = 0;
	if (gw_lb_peer_set_up(pr->lb, id, true))
		pr->changed(pr->ud);
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	answer(h->data, buf->base, nread, addr);
}

/* Answers already queued are read before any peer is judged: a loop that
 * was busy for a while must not take its own lateness for a dead peer. */
static void drain(struct gw_prober *pr)
{
	struct sockaddr_storage sa;
	char buf[256];
	uv_os_fd_t fd;
	int i;

	if (uv_fileno((uv_handle_t *)&pr->sock, &fd))
		return;
	for (i = 0; i < 256; i++) {
		socklen_t len = sizeof(sa);
		ssize_t n =
			recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sa, &len);

		if (n < 0)
			return;
		answer(pr, buf, n, (struct sockaddr *)&sa);
	}
}

static void send_cb(uv_udp_send_t *req, int status)
{
	free(req);
}

static void send_probe(struct gw_prober *pr, struct gw_lb_peer *p, uint64_t now_ms)
{
	struct {
		uv_udp_send_t req;
		struct gw_probe msg;
	} * s;
	struct sockaddr_in sa;
	uv_buf_t buf;

	s = calloc(1, sizeof(*s));
	if (!s) {
		pr->st.send_errors++;
		return;
	}
	p->probe_seq++;
	p->probe_sent_ns = now_ns();
	p->probe_sent_ms = now_ms;
	p->misses++; /* until it is answered */
	s->msg.magic = htonl(GW_PROBE_MAGIC);
	s->msg.site_id = htons(pr->o.site_id);
	s->msg.seq = htonl(p->probe_seq);
	s->msg.sent_ns = be64(p->probe_sent_ns);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(pr->o.port);
	memcpy(&sa.sin_addr, p->addr.addr, 4);
	buf = uv_buf_init((char *)&s->msg, sizeof(s->msg));
	if (uv_udp_send(&s->req, &pr->sock, &buf, 1, (const struct sockaddr *)&sa, send_cb)) {
		free(s);
		pr->st.send_errors++;
		return;
	}
	pr->st.sent++;
}

/* Ticks four times per interval: each peer gets a probe every interval, and
 * is down once its last answer is down_after intervals old, so a dead peer
 * is noticed within down_after intervals plus a quarter. */
static void tick(uv_timer_t *t)
{
	struct gw_prober *pr = t->data;
	uint64_t now = uv_now(t->loop), limit = (uint64_t)pr->o.down_after * pr->o.interval_ms;
	bool changed = false;
	size_t i;

	uv_update_time(t->loop);
	drain(pr);
	now = uv_now(t->loop);
	for (i = 0; i < pr->lb->n_peers; i++) {
		struct gw_lb_peer *p = &pr->lb->peers[i];
		uint64_t since;

		if (!p->configured && !p->learned)
			continue;
		if (!p->last_seen_ms)
			p->last_seen_ms = now; /* a new peer gets the same grace */
		since = now - p->last_seen_ms;
		/* both: enough time without an answer, and enough probes sent in
		 * it (a loop that could not send for a while proves nothing) */
		if (p->up && since > limit && p->misses >= pr->o.down_after)
			changed |= gw_lb_peer_set_up(pr->lb, i + 1, false);
		if (now - p->probe_sent_ms >= pr->o.interval_ms)
			send_probe(pr, p, now);
	}
	if (changed)
		pr->changed(pr->ud);
}

struct gw_prober *gw_prober_new(uv_loop_t *loop, struct gw_balancer *lb,
				const struct gw_probe_opts *opts, void (*changed)(void *ud),
				void *ud)
{
	struct gw_prober *pr;
	struct sockaddr_in sa;
	int r;

	if (opts->src.family != AF_INET) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		errno = ENOMEM;
		return NULL;
	}
	pr->lb = lb;
	pr->o = *opts;
	if (!pr->o.interval_ms)
		pr->o.interval_ms = 100;
	if (!pr->o.down_after)
		pr->o.down_after = 3;
	if (!pr->o.port)
		pr->o.port = GW_PROBE_PORT;
	pr->changed = changed;
	pr->ud = ud;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	memcpy(&sa.sin_addr, opts->src.addr, 4);
	uv_udp_init(loop, &pr->sock);
	pr->sock.data = pr;
	uv_timer_init(loop, &pr->timer);
	pr->timer.data = pr;
	r = uv_udp_bind(&pr->sock, (const struct sockaddr *)&sa, 0);
	if (!r)
		r = uv_udp_recv_start(&pr->sock, alloc_cb, recv_cb);
	if (!r)
		r = uv_timer_start(&pr->timer, tick, 0,
				   pr->o.interval_ms / 4 ? pr->o.interval_ms / 4 : 1);
	if (r) {
		gw_prober_free(pr);
		errno = -r;
		return NULL;
	}
	return pr;
}

void gw_prober_set_balancer(struct gw_prober *p, struct gw_balancer *lb)
{
	p->lb = lb;
}

static void close_cb(uv_handle_t *h)
{
	struct gw_prober *pr = h->data;

	if (--pr->closing == 0)
		free(pr);
}

void gw_prober_free(struct gw_prober *p)
{
	if (!p)
		return;
	p->closing = 2;
	uv_close((uv_handle_t *)&p->sock, close_cb);
	uv_close((uv_handle_t *)&p->timer, close_cb);
}

void gw_prober_stats(const struct gw_prober *p, struct gw_probe_stats *ret)
{
	*ret = p->st;
}
