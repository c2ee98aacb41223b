/* failover_client: requests http://ADDR:PORT/, each on a new TCP connection
 * with a deadline for the whole exchange (connect, GET, answer), and logs
 * every attempt:
 *
 *   START_US END_US ok|fail WHAT
 *
 * START_US/END_US are CLOCK_REALTIME microseconds (comparable with bash's
 * $EPOCHREALTIME); WHAT is the answering site ("site-b") for ok, the reason
 * for fail (timeout, refused, reset, status, ...). Lines are in the order
 * attempts ended. Used by tests/bench/failover.sh inside a client
 * namespace. Runs until SIGINT/SIGTERM or -d seconds, then writes its log;
 * attempts still running then are not logged (cut short, not failed).
 *
 * Two modes (-m):
 *   sequential  one attempt at a time, the next when it ended, at least
 *               GAP_MS after its start (default, -g 0: back to back). An
 *               attempt in flight when the path comes back waits out its
 *               deadline, so "first success" is late by up to TIMEOUT_MS.
 *   paced       an attempt starts every GAP_MS whatever is still in flight
 *               (at most -n at once; a start due while that many run is
 *               skipped and counted), so the first success after a
 *               recovery is seen within about GAP_MS of it.
 *
 * usage: failover_client -a ADDR [-p PORT] [-T TIMEOUT_MS] [-m sequential|paced]
 *                        [-g GAP_MS] [-n MAX_IN_FLIGHT] [-d SECONDS] [-o FILE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_IN_FLIGHT 64

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	stop = 1;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

enum { FREE, CONNECTING, READING };

struct attempt {
	int state;
	int fd;
	long long start_us; /* wall clock, for the log */
	long long deadline; /* monotonic */
	size_t got;
	char buf[2048];
};

struct client {
	struct sockaddr_in sa;
	int timeout_ms;
	struct attempt a[MAX_IN_FLIGHT];
	int max, running;
	unsigned long skipped;
	char *log;
	size_t len, cap;
};

static void log_line(struct client *c, long long start, bool ok, const char *what)
{
	if (c->len + 128 > c->cap) {
		char *nl = realloc(c->log, c->cap * 2);

		if (!nl)
			return;
		c->log = nl;
		c->cap *= 2;
	}
	c->len += snprintf(c->log + c->len, c->cap - c->len, "%lld %lld %s %s\n", start, now_us(),
			   ok ? "ok" : "fail", what);
}

static void finish(struct client *c, struct attempt *a, bool ok, const char *what)
{
	log_line(c, a->start_us, ok, what);
	if (!ok) {
		/* no TIME_WAIT left behind in the client: reset on close */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(a->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(a->fd);
	a->state = FREE;
	c->running--;
}

static void fail_errno(struct client *c, struct attempt *a, const char *step, int err)
{
	char what[64];

	snprintf(what, sizeof(what), "%s:%s", step, strerror(err));
	finish(c, a, false, what);
}

/* The whole answer is in: a 200, and which site sent it. */
static void judge(struct client *c, struct attempt *a)
{
	char what[64];
	const char *s;

	a->buf[a->got] = '\0';
	if (strncmp(a->buf, "HTTP/1.1 200", 12) && strncmp(a->buf, "HTTP/1.0 200", 12)) {
		snprintf(what, sizeof(what), "status:%.12s", a->got ? a->buf : "(none)");
		finish(c, a, false, what);
		return;
	}
	s = strstr(a->buf, "site=");
	if (s) {
		size_t l = strcspn(s + 5, " \r\n");

		snprintf(what, sizeof(what), "%.*s", (int)(l < 32 ? l : 32), s + 5);
	} else {
		snprintf(what, sizeof(what), "ok");
	}
	finish(c, a, true, what);
}

static void send_request(struct client *c, struct attempt *a)
{
	static const char req[] =
		"GET / HTTP/1.0\r\nHost: bench\r\nUser-Agent: failover_client\r\n\r\n";

	if (send(a->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		fail_errno(c, a, "send", errno);
		return;
	}
	a->state = READING;
}

static void start(struct client *c)
{
	struct attempt *a = NULL;
	int i;

	for (i = 0; i < c->max && !a; i++)
		if (c->a[i].state == FREE)
			a = &c->a[i];
	if (!a) {
		c->skipped++;
		return;
	}
	a->start_us = now_us();
	a->deadline = mono_us() + (long long)c->timeout_ms * 1000;
	a->got = 0;
	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		char what[64];

		snprintf(what, sizeof(what), "socket:%s", strerror(errno));
		log_line(c, a->start_us, false, what);
		return;
	}
	a->state = CONNECTING;
	c->running++;
	if (!connect(a->fd, (const struct sockaddr *)&c->sa, sizeof(c->sa)))
		send_request(c, a);
	else if (errno != EINPROGRESS)
		fail_errno(c, a, "connect", errno);
}

/* fd of a is ready for what its state waits for. */
static void progress(struct client *c, struct attempt *a)
{
	int err = 0;
	socklen_t el = sizeof(err);
	ssize_t k;

	if (a->state == CONNECTING) {
		getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err)
			fail_errno(c, a, "connect", err);
		else
			send_request(c, a);
		return;
	}
	k = recv(a->fd, a->buf + a->got, sizeof(a->buf) - 1 - a->got, 0);
	if (k < 0) {
		if (errno != EAGAIN && errno != EINTR)
			fail_errno(c, a, "recv", errno);
		return;
	}
	a->got += k;
	if (k == 0 || a->got == sizeof(a->buf) - 1)
		judge(c, a);
}

static void expire(struct client *c, long long now)
{
	int i;

	for (i = 0; i < c->max; i++) {
		struct attempt *a = &c->a[i];

		if (a->state != FREE && now >= a->deadline)
			finish(c, a, false,
			       a->state == CONNECTING ? "timeout-connect" : "timeout-answer");
	}
}

/* One event loop for both modes: sequential is paced with one attempt in
 * flight, whose next start waits for the last to end. */
static void run(struct client *c, bool paced, long long gap_us, long long end)
{
	struct pollfd pfd[MAX_IN_FLIGHT];
	int idx[MAX_IN_FLIGHT];
	long long next = mono_us();

	while (!stop) {
		long long now = mono_us(), wake;
		struct timespec ts;
		int i, n = 0, r;

		if (end && now >= end)
			break;
		if (now >= next && (paced || !c->running)) {
			start(c);
			next = paced ? next + gap_us : now + gap_us;
			if (next < now)
				next = now + gap_us; /* fell behind: no burst */
		}
		wake = paced || !c->running ? next : now + 1000000;
		for (i = 0; i < c->max; i++) {
			struct attempt *a = &c->a[i];

			if (a->state == FREE)
				continue;
			if (a->deadline < wake)
				wake = a->deadline;
			pfd[n].fd = a->fd;
			pfd[n].events = a->state == CONNECTING ? POLLOUT : POLLIN;
			idx[n++] = i;
		}
		if (end && end < wake)
			wake = end;
		now = mono_us();
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = wake / 1000000;
		ts.tv_nsec = (wake % 1000000) * 1000;
		r = ppoll(pfd, n, &ts, NULL);
		if (r < 0 && errno != EINTR)
			break;
		for (i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents)
				progress(c, &c->a[idx[i]]);
		expire(c, mono_us());
	}
}

int main(int argc, char **argv)
{
	static struct client c;
	const char *addr = NULL, *out = NULL, *mode = "sequential";
	int port = 80, gap_ms = 0, secs = 0, ch;
	long long end = 0;
	bool paced;
	FILE *f;

	c.timeout_ms = 100;
	c.max = 0;
	while ((ch = getopt(argc, argv, "a:p:T:m:g:n:d:o:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'T':
			c.timeout_ms = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'g':
			gap_ms = atoi(optarg);
			break;
		case 'n':
			c.max = atoi(optarg);
			break;
		case 'd':
			secs = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	paced = !strcmp(mode, "paced");
	if (!paced && strcmp(mode, "sequential"))
		goto usage;
	if (paced && gap_ms <= 0) {
		fprintf(stderr, "failover_client: -m paced needs -g GAP_MS > 0\n");
		return 2;
	}
	/* paced: enough for every attempt of one deadline, and one more */
	if (!c.max)
		c.max = paced ? c.timeout_ms / gap_ms + 2 : 1;
	if (!paced)
		c.max = 1;
	if (c.max < 1 || c.max > MAX_IN_FLIGHT || c.timeout_ms < 1) {
		fprintf(stderr, "failover_client: -n must be 1..%d, -T positive\n", MAX_IN_FLIGHT);
		return 2;
	}
	memset(&c.sa, 0, sizeof(c.sa));
	c.sa.sin_family = AF_INET;
	c.sa.sin_port = htons(port);
	if (!addr || inet_pton(AF_INET, addr, &c.sa.sin_addr) != 1) {
		fprintf(stderr, "failover_client: -a IPv4 address required\n");
		return 2;
	}
	c.cap = 1 << 20;
	c.log = malloc(c.cap);
	if (!c.log)
		return 1;
	fprintf(stderr,
		"failover_client: mode %s, %s %d ms, %d ms deadline, at most %d in flight\n", mode,
		paced ? "a start every" : "at least, between starts:", gap_ms, c.timeout_ms, c.max);
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	signal(SIGPIPE, SIG_IGN);
	if (secs > 0)
		end = mono_us() + (long long)secs * 1000000ll;
	/* Say that we run (the caller waits for this file) before the first attempt. */
	if (out) {
		f = fopen(out, "w");
		if (!f) {
			perror(out);
			return 1;
		}
		fclose(f);
	}
	run(&c, paced, gap_ms * 1000ll, end);
	if (c.skipped)
		fprintf(stderr, "failover_client: %lu starts skipped (%d in flight)\n", c.skipped,
			c.max);
	f = out ? fopen(out, "w") : stdout;
	if (!f) {
		perror(out);
		return 1;
	}
	fwrite(c.log, 1, c.len, f);
	if (f != stdout)
		fclose(f);
	free(c.log);
	return 0;
usage:
	fprintf(stderr, "usage: failover_client -a ADDR [-p PORT] [-T TIMEOUT_MS] "
			"[-m sequential|paced] [-g GAP_MS] [-n MAX_IN_FLIGHT] [-d SECONDS] "
			"[-o FILE]\n");
	return 2;
}
