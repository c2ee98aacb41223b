/* Listens to rtnetlink's route, neighbour and link groups and reports each
 * burst of changes. The messages themselves are not interpreted: any of
 * them may change where bpf_fib_lookup sends a packet, and telling which
 * would cost more than refilling the flow cache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "gw/nlwatch.h"

struct gw_nlwatch {
	uv_poll_t poll;
	int fd;
	void (*changed)(void *ud);
	void *ud;
	struct gw_nlwatch_stats st;
};

static int relevant(uint16_t type)
{
	switch (type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
	case RTM_NEWLINK:
	case RTM_DELLINK:
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return 1;
	default:
		return 0;
	}
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct gw_nlwatch *w = h->data;
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int changed = status < 0;
	ssize_t n;

	/* read until empty: one call of changed() however long the burst */
	for (;;) {
		struct nlmsghdr *nh;
		size_t left;

		n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* lost some: assume the worst */
				w->st.overruns++;
				changed = 1;
				continue;
			}
			break;
		}
		if (n == 0)
			break;
		left = (size_t)n;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (relevant(nh->nlmsg_type)) {
				w->st.messages++;
				changed = 1;
			}
		}
	}
	if (changed) {
		w->st.bursts++;
		w->changed(w->ud);
	}
}

struct gw_nlwatch *gw_nlwatch_new(uv_loop_t *loop, void (*changed)(void *ud), void *ud)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE |
			     RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	struct gw_nlwatch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return NULL;
	w->changed = changed;
	w->ud = ud;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->fd < 0)
		goto fail;
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	r = uv_poll_init(loop, &w->poll, w->fd);
	if (!r) {
		w->poll.data = w;
		r = uv_poll_start(&w->poll, UV_READABLE, on_readable);
		if (r) {
			/* initialised: the handle must be closed by the loop */
			gw_nlwatch_free(w);
			errno = -r;
			return NULL;
		}
		return w;
	}
	errno = -r;
fail:
	r = errno;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	errno = r;
	return NULL;
}

static void close_cb(uv_handle_t *h)
{
	struct gw_nlwatch *w = h->data;

	close(w->fd);
	free(w);
}

void gw_nlwatch_free(struct gw_nlwatch *w)
{
	if (!w)
		return;
	w->poll.data = w;
	uv_close((uv_handle_t *)&w->poll, close_cb);
}

void gw_nlwatch_stats(const struct gw_nlwatch *w, struct gw_nlwatch_stats *ret)
{
	*ret = w->st;
}
