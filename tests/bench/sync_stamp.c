/* sync_stamp: copies stdin to stdout, each line prefixed with the wall-clock
 * time (CLOCK_REALTIME, microseconds) at which the read that completed it
 * returned. A precise `ts` for the benchmarks' watch observers
 * (tests/bench/propagation.sh): bash's `read` goes byte by byte and lags
 * by about a millisecond on long lines. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	static char buf[1 << 16], line[1 << 20];
	size_t len = 0;
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) > 0) {
		struct timespec ts;
		unsigned long long t;
		ssize_t i;

		clock_gettime(CLOCK_REALTIME, &ts);
		t = (unsigned long long)ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			printf("%llu %s\n", t, line);
			len = 0;
		}
		fflush(stdout);
	}
	if (len) {
		line[len] = '\0';
		printf("%llu %s\n", 0ull, line);
	}
	return 0;
}
