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
	int r;

	if (nread <= 0 || !addr)
		return;
	if ((size_t)nread < sizeof(*m) || addr->sa_family != AF_INET ||
	    m->magic != htonl(GW_PROBE_MAGIC) || !(ntohs(m->flags) & GW_PROBE_F_REPLY) ||
	    ntohs(m->site_id) != pr->o.site_id) {
		pr->st.bad++;
		return;
	}
	p = peer_by_addr(pr->lb, (const struct sockaddr_in *)addr, &id);
	r = p ? gw_probe_answered(p, ntohl(m->seq), be64(m->sent_ns), now_ns()) : -ENOENT;
	if (r < 0) {
		pr->st.bad++; /* too old, a duplicate, or not ours */
		return;
	}
	pr->st.answered++;
	pr->st.late += r;
	if (gw_lb_peer_set_up(pr->lb, id, true))
		pr->changed(pr->ud);
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	answer(h->data, buf->base, nread, addr);
}

/* Answers already queued are read before any peer is judged: a loop that
 * was busy for a while must not take its own lateness for a dead peer.
 * Bounded (a flood is not read forever), with room for every peer's
 * answers of a whole window. */
static void drain(struct gw_prober *pr)
{
	struct sockaddr_storage sa;
	char buf[256];
	uv_os_fd_t fd;
	size_t i, max = 64 + GW_LB_PROBE_WINDOW * pr->lb->n_peers;

	if (uv_fileno((uv_handle_t *)&pr->sock, &fd))
		return;
	for (i = 0; i < max; i++) {
		socklen_t len = sizeof(sa);
		ssize_t n =
			recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sa, &len);

		if (n < 0)
			return;
		answer(pr, buf, n, (struct sockaddr *)&sa);
	}
}

/* Sent at once, without a request to allocate: the send time in the probe
 * is the real one, which the deadline counts from. */
static void send_probe(struct gw_prober *pr, struct gw_lb_peer *p)
{
	struct gw_probe msg;
	struct sockaddr_in sa;
	uint64_t now = now_ns();
	uv_buf_t buf;

	memset(&msg, 0, sizeof(msg));
	msg.magic = htonl(GW_PROBE_MAGIC);
	msg.site_id = htons(pr->o.site_id);
	msg.seq = htonl(gw_probe_sent(p, now));
	msg.sent_ns = be64(now);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(pr->o.port);
	memcpy(&sa.sin_addr, p->addr.addr, 4);
	buf = uv_buf_init((char *)&msg, sizeof(msg));
	/* A probe that could not leave counts as unanswered, as one lost on
	 * the way would: no route to the peer is a reason to go elsewhere. */
	if (uv_udp_try_send(&pr->sock, &buf, 1, (const struct sockaddr *)&sa) < 0)
		pr->st.send_errors++;
	else
		pr->st.sent++;
}

/* The rules for one peer (see gw/probe.h). */

uint32_t gw_probe_sent(struct gw_lb_peer *p, uint64_t now)
{
	p->probe_seq++;
	p->probe_sent_ns = now;
	p->probe_window[p->probe_seq % GW_LB_PROBE_WINDOW] = now;
	p->probe_out = true;
	return p->probe_seq;
}

int gw_probe_answered(struct gw_lb_peer *p, uint32_t seq, uint64_t sent_ns, uint64_t now)
{
	uint64_t *slot = &p->probe_window[seq % GW_LB_PROBE_WINDOW];
	bool late;

	if (p->probe_seq - seq >= GW_LB_PROBE_WINDOW || !sent_ns || *slot != sent_ns)
		return -ENOENT;
	*slot = 0;
	/* An older probe than the last, or the last once judged: each was
	 * counted missed before this came. */
	late = seq != p->probe_seq || !p->probe_out;
	if (seq == p->probe_seq)
		p->probe_out = false;
	p->misses = 0;
	p->rtt_us = (now - sent_ns) / 1000;
	if (!p->rtt_us)
		p->rtt_us = 1;
	p->srtt_us = p->srtt_us ? p->srtt_us + ((int64_t)p->rtt_us - p->srtt_us) / 8 : p->rtt_us;
	p->last_seen_ms = now / 1000000;
	return late;
}

/* How long a probe to p may go unanswered: fast_interval, or three round
 * trips on a path slower than a third of it (the larger of the smoothed
 * and the last, so a sudden rise counts at once), so that a long-distance
 * peer is not taken down for its distance; before p ever answered, the
 * interval. */
uint64_t gw_probe_deadline(const struct gw_probe_opts *o, const struct gw_lb_peer *p)
{
	uint64_t fast = o->fast_interval_ms * 1000000ull, rtt;

	if (!p->srtt_us)
		return o->interval_ms * 1000000ull;
	rtt = (p->rtt_us > p->srtt_us ? p->rtt_us : p->srtt_us) * 1000ull;
	return 3 * rtt > fast ? 3 * rtt : fast;
}

uint64_t gw_probe_next(const struct gw_probe_opts *o, const struct gw_lb_peer *p)
{
	if (!p->probe_sent_ns)
		return 0;
	/* Waiting for the answer; or a peer suspected but not yet down, which
	 * is confirmed at the fast pace, at once after the missed deadline. */
	if (p->probe_out || (p->up && p->misses && p->misses < o->down_after))
		return p->probe_sent_ns + gw_probe_deadline(o, p);
	return p->probe_sent_ns + o->interval_ms * 1000000ull;
}

unsigned int gw_probe_judge(const struct gw_probe_opts *o, struct gw_lb_peer *p, uint64_t now)
{
	unsigned int r = 0;

	if (p->probe_out && now - p->probe_sent_ns >= gw_probe_deadline(o, p)) {
		p->probe_out = false;
		p->misses++;
		r |= GW_PROBE_MISSED;
		if (p->up && p->misses >= o->down_after)
			r |= GW_PROBE_DOWN;
	}
	if (!p->probe_out && now >= gw_probe_next(o, p))
		r |= GW_PROBE_SEND;
	return r;
}

/* Runs when the next peer is due (a deadline or a send), not on a fixed
 * tick: each step of a confirmation is on time, and an idle prober wakes
 * once per interval and peer phase. The clock is read before the queued
 * answers are: a loop that was held up sees them before it judges, and a
 * probe's deadline counts from when it left, so the loop's own lateness is
 * never taken for a dead peer. */
static void tick(uv_timer_t *t)
{
	struct gw_prober *pr = t->data;
	uint64_t now = now_ns(), next = now + pr->o.interval_ms * 1000000ull, wait;
	bool changed = false;
	size_t i;

	drain(pr);
	for (i = 0; i < pr->lb->n_peers; i++) {
		struct gw_lb_peer *p = &pr->lb->peers[i];
		unsigned int r;
		uint64_t due;

		if (!p->configured && !p->learned)
			continue;
		r = gw_probe_judge(&pr->o, p, now);
		if (r & GW_PROBE_MISSED)
			pr->st.missed++;
		if ((r & GW_PROBE_DOWN) && gw_lb_peer_set_up(pr->lb, i + 1, false)) {
			pr->st.downs++;
			changed = true;
		}
		if (r & GW_PROBE_SEND)
			send_probe(pr, p);
		due = gw_probe_next(&pr->o, p);
		if (due < next)
			next = due;
	}
	/* rounded up: a timer that fires early only costs another turn */
	now = now_ns();
	wait = next > now ? (next - now + 999999) / 1000000 : 1;
	uv_update_time(t->loop);
	uv_timer_start(t, tick, wait, 0);
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
	if (!pr->o.fast_interval_ms)
		pr->o.fast_interval_ms = 25;
	if (!pr->o.down_after)
		pr->o.down_after = 3;
	if (!pr->o.port)
		pr->o.port = GW_PROBE_PORT;
	if (pr->o.fast_interval_ms >= pr->o.interval_ms) {
		free(pr);
		errno = EINVAL;
		return NULL;
	}
	pr->changed = changed;
	pr->ud = ud;
	/* from the probe port: the peers' XDP answers no probe from another
	 * (include/gw/pipeline/pipeline.h, gw_probe_reply), and its answers
	 * come back to it, past our own XDP */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(pr->o.port);
	memcpy(&sa.sin_addr, opts->src.addr, 4);
	uv_udp_init(loop, &pr->sock);
	pr->sock.data = pr;
	uv_timer_init(loop, &pr->timer);
	pr->timer.data = pr;
	r = uv_udp_bind(&pr->sock, (const struct sockaddr *)&sa, 0);
	if (!r)
		r = uv_udp_recv_start(&pr->sock, alloc_cb, recv_cb);
	if (!r)
		r = uv_timer_start(&pr->timer, tick, 0, 0);
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
