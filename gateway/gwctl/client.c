/* gwctl's HTTP/1.1 client: one blocking request over gatewayd's unix
 * socket, the whole exchange bounded by a timeout; answers parsed with http-parser. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "gw/gwctl.h"

struct reader {
	struct gwctl_answer *a;
	size_t cap;
	int complete;
	int too_large;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events until @deadline: 0, or -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_unix(const char *path, long long deadline)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	int fd, r;

	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		/* A full backlog answers EAGAIN: the daemon is busy, try again. */
		if (errno != EAGAIN && errno != EINTR)
			break;
		if (now_ms() >= deadline) {
			errno = ETIMEDOUT;
			break;
		}
		usleep(10000);
	}
	r = -errno;
	close(fd);
	return r;
}

static int send_all(int fd, const char *p, size_t len, long long deadline)
{
	ssize_t n;
	int r;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r)
			return r;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct reader *rd = p->data;
	struct gwctl_answer *a = rd->a;
	size_t want = a->body_len + n + 1;
	char *nb;

	if (want > GWCTL_MAX_ANSWER) {
		rd->too_large = 1;
		return -1;
	}
	if (want > rd->cap) {
		if (want < 2 * rd->cap)
			want = 2 * rd->cap;
		nb = realloc(a->body, want);
		if (!nb)
			return -1;
		a->body = nb;
		rd->cap = want;
	}
	memcpy(a->body + a->body_len, at, n);
	a->body_len += n;
	a->body[a->body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct reader *rd = p->data;

	/* An interim 1xx answer is followed by the real one. */
	if (p->status_code / 100 == 1) {
		rd->a->body_len = 0;
		return 0;
	}
	rd->a->status = p->status_code;
	rd->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings reader_settings = {
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static int read_answer(int fd, struct reader *rd, long long deadline)
{
	http_parser parser;
	char buf[16384];
	ssize_t n;
	enum http_errno e;
	int r;

	http_parser_init(&parser, HTTP_RESPONSE);
	parser.data = rd;
	while (!rd->complete) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				r = wait_fd(fd, POLLIN, deadline);
				if (r)
					return r;
				continue;
			}
			return errno == ECONNRESET ? -EPROTO : -errno;
		}
		/* n == 0 tells the parser about EOF: ends a body without a length. */
		http_parser_execute(&parser, &reader_settings, buf, (size_t)n);
		e = HTTP_PARSER_ERRNO(&parser);
		if (rd->too_large)
			return -EMSGSIZE;
		if (e != HPE_OK && e != HPE_PAUSED)
			return -EPROTO;
		if (n == 0 && !rd->complete)
			return -EPROTO;
	}
	return 0;
}

int gwctl_http(const char *sock_path, int timeout_ms, const char *method, const char *target,
	       const char *body, struct gwctl_answer *ret)
{
	struct gwctl_answer a = {0};
	struct reader rd = {.a = &a};
	long long deadline = now_ms() + timeout_ms;
	char *req = NULL;
	int fd, n, r;

	fd = connect_unix(sock_path, deadline);
	if (fd < 0)
		return fd;
	if (body)
		n = asprintf(&req,
			     "%s %s HTTP/1.1\r\nHost: gatewayd\r\nUser-Agent: gwctl\r\n"
			     "Accept: application/json\r\nConnection: close\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			     method, target, strlen(body), body);
	else
		n = asprintf(&req,
			     "%s %s HTTP/1.1\r\nHost: gatewayd\r\nUser-Agent: gwctl\r\n"
			     "Accept: application/json\r\nConnection: close\r\n\r\n",
			     method, target);
	if (n < 0) {
		req = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = send_all(fd, req, (size_t)n, deadline);
	/* A daemon that refused early may have closed: its answer is still readable. */
	if (r && r != -EPIPE && r != -ECONNRESET)
		goto out;
	r = read_answer(fd, &rd, deadline);
	if (r)
		goto out;
	if (!a.body) {
		a.body = strdup("");
		if (!a.body) {
			r = -ENOMEM;
			goto out;
		}
	}
	*ret = a;
	a.body = NULL;
out:
	free(a.body);
	free(req);
	close(fd);
	return r;
}

void gwctl_answer_done(struct gwctl_answer *a)
{
	if (!a)
		return;
	free(a->body);
	a->body = NULL;
	a->body_len = 0;
}

int gwctl_url_escape(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned char ch;

	for (; *s; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			if (o + 1 >= size)
				return -ENOSPC;
			buf[o++] = (char)ch;
		} else {
			if (o + 3 >= size)
				return -ENOSPC;
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	if (o >= size)
		return -ENOSPC;
	buf[o] = '\0';
	return 0;
}
