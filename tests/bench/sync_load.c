/* sync_load: writes a synthetic multi-site export into etcd for
 * tests/bench/sync_scale.sh, in the schema of cluster-sync/records.c:
 *
 *   PREFIX/gateways/SITE/gw1       {"version":1,"site","site_id","gateway","address"}
 *   PREFIX/services/SITE/SERVICE   {"version":1,"site","site_id","name","vips",
 *                                   "ports":["80/tcp"],"backends":[{"address",
 *                                   "port","weight","healthy"}]}
 *
 * Sites are site-x01, site-x02, ... (ids 11, 12, ...); services svc-SS-NNNN
 * with one VIP each in 10.100.0.0/16; backends 10.(10+S).x.y port 80;
 * gateway addresses 127.0.1.S (loopback: a real gatewayd that learns them
 * probes nothing outside its namespace). Writes go in txn batches through
 * etcd's v3 JSON gateway (POST /v3/kv/txn), one HTTP/1.1 request each on
 * its own connection, so no etcdctl process per key.
 *
 * usage: sync_load -e HOST:PORT [-s SITES] [-n SERVICES] [-b BACKENDS] [-B BATCH] [-p PREFIX]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p) {
			perror("realloc");
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void b64(struct buf *b, const char *s, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = (const unsigned char *)s;
	char o[4];
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		o[0] = t[u[i] >> 2];
		o[1] = t[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
		o[2] = t[((u[i + 1] & 15) << 2) | (u[i + 2] >> 6)];
		o[3] = t[u[i + 2] & 63];
		put(b, o, 4);
	}
	if (n - i == 1) {
		o[0] = t[u[i] >> 2];
		o[1] = t[(u[i] & 3) << 4];
		o[2] = o[3] = '=';
		put(b, o, 4);
	} else if (n - i == 2) {
		o[0] = t[u[i] >> 2];
		o[1] = t[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
		o[2] = t[(u[i + 1] & 15) << 2];
		o[3] = '=';
		put(b, o, 4);
	}
}

static struct sockaddr_in etcd;

/* POSTs body to path; 0 on a 200 answer. */
static int post(const char *path, const struct buf *body)
{
	char hdr[512], ans[4096];
	size_t got = 0;
	ssize_t k;
	int fd, n;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&etcd, sizeof(etcd))) {
		perror("connect to etcd");
		return -1;
	}
	n = snprintf(hdr, sizeof(hdr),
		     "POST %s HTTP/1.1\r\nHost: etcd\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     path, body->len);
	if (write(fd, hdr, n) != n) {
		perror("write");
		close(fd);
		return -1;
	}
	for (size_t off = 0; off < body->len; off += k) {
		k = write(fd, body->p + off, body->len - off);
		if (k <= 0) {
			perror("write");
			close(fd);
			return -1;
		}
	}
	while ((k = read(fd, ans + got, sizeof(ans) - 1 - got)) > 0) {
		got += k;
		if (got == sizeof(ans) - 1)
			break;
	}
	close(fd);
	ans[got] = '\0';
	if (strncmp(ans, "HTTP/1.1 200", 12) != 0) {
		fprintf(stderr, "sync_load: %s: %.300s\n", path, ans);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int sites = 10, services = 1000, backends = 10, batch = 500, c, s, n, j;
	const char *prefix = "/isthmus/v1", *ep = NULL;
	struct buf body = {0}, val = {0};
	char key[256], tmp[512], host[64];
	unsigned long long keys = 0, bytes = 0, txns = 0;
	struct timespec t0, t1;
	int in_batch = 0, port;

	while ((c = getopt(argc, argv, "e:s:n:b:B:p:")) != -1) {
		switch (c) {
		case 'e':
			ep = optarg;
			break;
		case 's':
			sites = atoi(optarg);
			break;
		case 'n':
			services = atoi(optarg);
			break;
		case 'b':
			backends = atoi(optarg);
			break;
		case 'B':
			batch = atoi(optarg);
			break;
		case 'p':
			prefix = optarg;
			break;
		default:
			fprintf(stderr, "usage: sync_load -e HOST:PORT [-s SITES] [-n SERVICES] "
					"[-b BACKENDS] [-B BATCH] [-p PREFIX]\n");
			return 2;
		}
	}
	if (!ep || sscanf(ep, "%63[^:]:%d", host, &port) != 2 || sites < 1 || sites > 99 ||
	    services < 1 || services * sites > 64000 || backends < 0 ||
	    backends * services > 64000 || batch < 1) {
		fprintf(stderr, "sync_load: bad arguments (-e HOST:PORT; sites <= 99, "
				"sites * services <= 64000, services * backends <= 64000)\n");
		return 2;
	}
	etcd.sin_family = AF_INET;
	etcd.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &etcd.sin_addr) != 1) {
		fprintf(stderr, "sync_load: %s: not an IPv4 address\n", host);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (s = 1; s <= sites; s++) {
		for (n = -1; n < services; n++) {
			val.len = 0;
			if (n < 0) {
				snprintf(key, sizeof(key), "%s/gateways/site-x%02d/gw1", prefix, s);
				snprintf(tmp, sizeof(tmp),
					 "{\"version\":1,\"site\":\"site-x%02d\",\"site_id\":%d,"
					 "\"gateway\":\"gw1\",\"address\":\"127.0.1.%d\"}",
					 s, 10 + s, s);
				puts_(&val, tmp);
			} else {
				int idx = (s - 1) * services + n;

				snprintf(key, sizeof(key), "%s/services/site-x%02d/svc-%02d-%04d",
					 prefix, s, s, n);
				snprintf(tmp, sizeof(tmp),
					 "{\"version\":1,\"site\":\"site-x%02d\",\"site_id\":%d,"
					 "\"name\":\"svc-%02d-%04d\",\"vips\":[\"10.100.%d.%d\"],"
					 "\"ports\":[\"80/tcp\"],\"backends\":[",
					 s, 10 + s, s, n, idx / 250, idx % 250 + 1);
				puts_(&val, tmp);
				for (j = 0; j < backends; j++) {
					int k = n * backends + j;

					snprintf(tmp, sizeof(tmp),
						 "%s{\"address\":\"10.%d.%d.%d\",\"port\":80,"
						 "\"weight\":100,\"healthy\":true}",
						 j ? "," : "", 10 + s, k / 250, k % 250 + 1);
					puts_(&val, tmp);
				}
				puts_(&val, "]}");
			}
			puts_(&body, in_batch ? ",{\"request_put\":{\"key\":\""
					      : "{\"success\":[{\"request_put\":{\"key\":\"");
			b64(&body, key, strlen(key));
			puts_(&body, "\",\"value\":\"");
			b64(&body, val.p, val.len);
			puts_(&body, "\"}}");
			keys++;
			bytes += val.len;
			if (++in_batch == batch) {
				puts_(&body, "]}");
				if (post("/v3/kv/txn", &body))
					return 1;
				txns++;
				body.len = 0;
				in_batch = 0;
			}
		}
	}
	if (in_batch) {
		puts_(&body, "]}");
		if (post("/v3/kv/txn", &body))
			return 1;
		txns++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("loaded %llu keys (%d sites x %d services x %d backends + %d gateways), %.1f MB of "
	       "values, in %llu txns, %.2f s\n",
	       keys, sites, services, backends, sites, bytes / 1e6, txns,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(body.p);
	free(val.p);
	return 0;
}
