/* failover_watch: polls a gateway's pinned data-plane maps and prints, with
 * wall-clock timestamps, every change that matters to a failover or a
 * propagation benchmark (tests/bench/failover.sh, propagation.sh):
 *
 *   T_US peer ID site S up|down           gw_peers[ID].flags & GW_PEER_F_UP
 *   T_US table SLOT inner ID m M s2=N s3=N ADDR:PORT/sS=N ...
 *                                        the Maglev table of a VIP was
 *                                        replaced: slots per site and per
 *                                        backend of the new table
 *   T_US ready                           first full read done
 *
 * T_US is CLOCK_REALTIME in microseconds, comparable with bash's
 * $EPOCHREALTIME and tcpdump -tt. It reads the maps directly (never through
 * gatewayd), so it shows when the data plane changed, not when the control
 * plane said so. Runs until SIGINT/SIGTERM or -t seconds.
 *
 * usage: failover_watch -d PIN_DIR -v VIP [-p PORT] [-s SITE_ID] [-i POLL_US] [-t SECONDS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <netinet/in.h>

#include "gw/abi/maps.h"

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	stop = 1;
}

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

static int open_pin(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "failover_watch: %s: %s\n", path, strerror(errno));
	return fd;
}

struct be_count {
	uint32_t id;
	uint32_t n;
};

/* Reads a whole inner table (fd) and prints its composition. */
static void print_table(unsigned long long t, uint32_t slot, uint32_t inner_id, int be_fd)
{
	uint32_t m = 0, k = 0, *vals = NULL, *keys = NULL, count, i, j;
	uint32_t per_site[64]; /* site ids 0..63 are enough for the lab */
	struct be_count bc[256];
	size_t nbc = 0;
	int fd;

	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0) {
		printf("%llu table %u inner %u unreadable %s\n", t, slot, inner_id,
		       strerror(errno));
		return;
	}
	if (bpf_map_lookup_elem(fd, &k, &m) || m == 0 || m > (1u << 24))
		goto out;
	keys = malloc(sizeof(*keys) * (m + 1));
	vals = malloc(sizeof(*vals) * (m + 1));
	if (!keys || !vals)
		goto out;
	{
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		uint32_t out_batch = 0;

		count = m + 1;
		if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, vals, &count, &bo) &&
		    errno != ENOENT)
			count = 0;
		if (count != m + 1) {
			/* fall back to one lookup per slot */
			for (i = 0; i <= m; i++) {
				keys[i] = i;
				if (bpf_map_lookup_elem(fd, &i, &vals[i]))
					vals[i] = 0;
			}
		}
	}
	memset(per_site, 0, sizeof(per_site));
	for (i = 1; i <= m; i++) {
		uint32_t id = vals[i];

		for (j = 0; j < nbc && bc[j].id != id; j++)
			;
		if (j == nbc) {
			if (nbc == sizeof(bc) / sizeof(bc[0]))
				continue;
			bc[nbc].id = id;
			bc[nbc++].n = 0;
		}
		bc[j].n++;
	}
	printf("%llu table %u inner %u m %u", t, slot, inner_id, m);
	{
		char line[8192];
		size_t off = 0;

		line[0] = '\0';
		for (j = 0; j < nbc; j++) {
			struct gw_backend b;
			char a[INET6_ADDRSTRLEN] = "?";

			memset(&b, 0, sizeof(b));
			if (bpf_map_lookup_elem(be_fd, &bc[j].id, &b) == 0)
				inet_ntop(b.family == GW_AF_INET6 ? AF_INET6 : AF_INET, b.addr, a,
					  sizeof(a));
			if (b.site_id < sizeof(per_site) / sizeof(per_site[0]))
				per_site[b.site_id] += bc[j].n;
			if (off < sizeof(line) - 128)
				off += snprintf(line + off, sizeof(line) - off, " %s:%u/s%u=%u", a,
						ntohs(b.port), b.site_id, bc[j].n);
		}
		for (i = 0; i < sizeof(per_site) / sizeof(per_site[0]); i++)
			if (per_site[i])
				printf(" s%u=%u", i, per_site[i]);
		printf("%s\n", line);
	}
out:
	free(keys);
	free(vals);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *vip = NULL;
	int port = 80, site = 0, poll_us = 500, secs = 0, c;
	int peers_fd, svcs_fd, mg_fd, be_fd;
	uint32_t peer_id = 0, last_inner = 0, last_slot = ~0u;
	int peer_up = -1;
	unsigned long long end = 0, last_scan = 0;
	struct gw_svc_key sk;

	while ((c = getopt(argc, argv, "d:v:p:s:i:t:")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'v':
			vip = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			site = atoi(optarg);
			break;
		case 'i':
			poll_us = atoi(optarg);
			break;
		case 't':
			secs = atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: failover_watch -d PIN_DIR -v VIP [-p PORT] [-s SITE_ID] "
				"[-i POLL_US] [-t SECONDS]\n");
			return 2;
		}
	}
	if (!dir || !vip) {
		fprintf(stderr, "failover_watch: -d and -v are required\n");
		return 2;
	}
	memset(&sk, 0, sizeof(sk));
	if (inet_pton(AF_INET, vip, &sk.vip[0]) != 1) {
		fprintf(stderr, "failover_watch: %s: not an IPv4 address\n", vip);
		return 2;
	}
	sk.port = htons(port);
	sk.proto = IPPROTO_TCP;
	sk.family = GW_AF_INET;
	peers_fd = open_pin(dir, "gw_peers");
	svcs_fd = open_pin(dir, "gw_svcs");
	mg_fd = open_pin(dir, "gw_maglev");
	be_fd = open_pin(dir, "gw_backends");
	if (peers_fd < 0 || svcs_fd < 0 || mg_fd < 0 || be_fd < 0)
		return 1;
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (secs > 0)
		end = now_us() + (unsigned long long)secs * 1000000ull;

	for (int first = 1; !stop; first = 0) {
		unsigned long long t = now_us();
		struct gw_svc sv;
		uint32_t slot, inner = 0;
		struct gw_peer p;

		if (end && t >= end)
			break;
		/* the peer of SITE: found by a scan, re-checked every 100 ms */
		if (site && (!peer_id || t - last_scan > 100000)) {
			uint32_t id;

			last_scan = t;
			for (id = 1; id < 1024; id++) {
				if (bpf_map_lookup_elem(peers_fd, &id, &p))
					break;
				if (p.site_id == site && p.addr) {
					peer_id = id;
					break;
				}
			}
		}
		if (peer_id && bpf_map_lookup_elem(peers_fd, &peer_id, &p) == 0) {
			int up = !!(p.flags & GW_PEER_F_UP);

			if (up != peer_up) {
				printf("%llu peer %u site %u %s\n", t, peer_id, p.site_id,
				       up ? "up" : "down");
				peer_up = up;
			}
		}
		if (bpf_map_lookup_elem(svcs_fd, &sk, &sv) == 0) {
			slot = GW_MAGLEV_SLOT(sv.id, GW_MAGLEV_CLIENT, 0);
			if (bpf_map_lookup_elem(mg_fd, &slot, &inner))
				inner = 0;
		} else {
			slot = ~0u;
		}
		if (inner != last_inner || slot != last_slot) {
			if (inner)
				print_table(t, slot, inner, be_fd);
			else
				printf("%llu table none\n", t);
			last_inner = inner;
			last_slot = slot;
		}
		if (first)
			printf("%llu ready\n", now_us());
		usleep(poll_us);
	}
	return 0;
}
