/* failover_client: requests http://ADDR:PORT/ one after the other, each on a
 * new TCP connection with a deadline for the whole exchange (connect, GET,
 * answer), and logs every attempt:
 *
 *   START_US END_US ok|fail WHAT
 *
 * START_US/END_US are CLOCK_REALTIME microseconds (comparable with bash's
 * $EPOCHREALTIME); WHAT is the answering site ("site-b") for ok, the reason
 * for fail (timeout, refused, reset, status, ...). Used by
 * tests/bench/failover.sh inside a client namespace; nothing but this
 * program sits between two attempts. Runs until SIGINT/SIGTERM or -d
 * seconds, then writes its log.
 *
 * usage: failover_client -a ADDR [-p PORT] [-T TIMEOUT_MS] [-g GAP_MS] [-d SECONDS] [-o FILE]
 *   -g: at least GAP_MS between two attempts' starts (default 0: back to back)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* Waits for ev on fd until the deadline (monotonic us): 1 ready, 0 timeout. */
static int wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	long long left;
	int r;

	for (;;) {
		left = deadline - mono_us();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return 1;
		if (r == 0)
			continue; /* rounding: re-check the deadline */
		if (errno != EINTR)
			return -1;
		if (stop)
			return 0;
	}
}

/* One attempt; returns 1 ok, 0 fail, with what filled. */
static int attempt(const struct sockaddr_in *sa, int timeout_ms, char *what, size_t n)
{
	static const char req[] =
		"GET / HTTP/1.0\r\nHost: bench\r\nUser-Agent: failover_client\r\n\r\n";
	long long deadline = mono_us() + (long long)timeout_ms * 1000;
	char buf[2048];
	size_t got = 0;
	int fd, r, err = 0;
	socklen_t el = sizeof(err);
	const char *s;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(what, n, "socket:%s", strerror(errno));
		return 0;
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (r && errno != EINPROGRESS) {
		snprintf(what, n, "connect:%s", strerror(errno));
		goto fail;
	}
	if (r) {
		r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			snprintf(what, n, "timeout-connect");
			goto fail;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			snprintf(what, n, "connect:%s", strerror(err));
			goto fail;
		}
	}
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		snprintf(what, n, "send:%s", strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t k;

		r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			snprintf(what, n, "timeout-answer");
			goto fail;
		}
		k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(what, n, "recv:%s", strerror(errno));
			goto fail;
		}
		got += k;
		if (k == 0 || got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.1 200", 12) && strncmp(buf, "HTTP/1.0 200", 12)) {
		snprintf(what, n, "status:%.12s", got ? buf : "(none)");
		goto fail;
	}
	s = strstr(buf, "site=");
	if (s) {
		size_t l = strcspn(s + 5, " \r\n");

		snprintf(what, n, "%.*s", (int)(l < 32 ? l : 32), s + 5);
	} else {
		snprintf(what, n, "ok");
	}
	close(fd);
	return 1;
fail:
	/* no TIME_WAIT left behind in the client: reset on close */
	{
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *out = NULL;
	int port = 80, timeout_ms = 100, gap_ms = 0, secs = 0, c;
	struct sockaddr_in sa;
	long long end = 0, prev = 0;
	char *log;
	size_t cap = 1 << 20, len = 0;
	FILE *f;

	while ((c = getopt(argc, argv, "a:p:T:g:d:o:")) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'T':
			timeout_ms = atoi(optarg);
			break;
		case 'g':
			gap_ms = atoi(optarg);
			break;
		case 'd':
			secs = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr, "usage: failover_client -a ADDR [-p PORT] [-T TIMEOUT_MS] "
					"[-g GAP_MS] [-d SECONDS] [-o FILE]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (!addr || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "failover_client: -a IPv4 address required\n");
		return 2;
	}
	log = malloc(cap);
	if (!log)
		return 1;
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
	while (!stop && (!end || mono_us() < end)) {
		char what[64];
		long long t0, t1;
		int ok;

		if (gap_ms > 0 && prev) {
			long long wait = prev + gap_ms * 1000ll - mono_us();

			if (wait > 0)
				usleep(wait);
		}
		prev = mono_us();
		t0 = now_us();
		ok = attempt(&sa, timeout_ms, what, sizeof(what));
		t1 = now_us();
		if (stop && !ok)
			break; /* cut short by the signal: not a real failure */
		if (len + 128 > cap) {
			char *nl = realloc(log, cap * 2);

			if (!nl)
				break;
			log = nl;
			cap *= 2;
		}
		len += snprintf(log + len, cap - len, "%lld %lld %s %s\n", t0, t1,
				ok ? "ok" : "fail", what);
	}
	f = out ? fopen(out, "w") : stdout;
	if (!f) {
		perror(out);
		return 1;
	}
	fwrite(log, 1, len, f);
	if (f != stdout)
		fclose(f);
	free(log);
	return 0;
}
