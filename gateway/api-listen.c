/* The control API's listening sockets: a unix socket (parent directory,
 * stale file, mode) or a TCP address. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gw/api.h"
#include "api-int.h"

/* Create the socket's directory (one level) if it is missing. */
static int unix_parent_prepare(const char *path)
{
	char dir[GW_API_UNIX_PATH_MAX + 1];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0)
		return chmod(dir, 0755) < 0 ? -errno : 0; /* exact mode, whatever the umask */
	return errno == EEXIST ? 0 : -errno;
}

/* A socket file nobody answers on is a crashed daemon's: remove it. */
static int unix_stale_remove(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	err = errno;
	close(fd);
	/* EAGAIN: the backlog is full, so somebody listens. */
	if (r == 0 || err == EAGAIN || err == EINPROGRESS)
		return -EADDRINUSE;
	if (err != ECONNREFUSED)
		return -err;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int gw_api_listen_unix(const char *path, struct stat *ret_st)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = -1, r;

	if (!path[0])
		return -EINVAL;
	if (strlen(path) > GW_API_UNIX_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path));
	r = unix_parent_prepare(path);
	if (r)
		return r;
	r = unix_stale_remove(path, &sun);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		goto err_close;
	}
	/* Mode before listen(): nobody can connect in between. */
	if (chmod(path, 0660) < 0 || stat(path, ret_st) < 0 || listen(fd, API_BACKLOG) < 0) {
		r = -errno;
		goto err_unlink;
	}
	return fd;

err_unlink:
	unlink(path);
err_close:
	close(fd);
	return r;
}

int gw_api_listen_tcp(const char *address)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *hs = address;
	size_t hlen;
	char *end;
	unsigned long port;
	int fd, one = 1, r;
	socklen_t slen;

	colon = strrchr(address, ':');
	if (!colon || !colon[1])
		return -EINVAL;
	hlen = (size_t)(colon - address);
	if (hlen >= 2 && address[0] == '[' && address[hlen - 1] == ']') {
		hs++;
		hlen -= 2;
	}
	if (!hlen || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		slen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		slen = sizeof(*sin6);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, API_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
