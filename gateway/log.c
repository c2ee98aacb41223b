/* gatewayd's logger: one line per event on stderr, with a level prefix;
 * journald or the lab's log file adds the time. */
#include <stdarg.h>
#include <stdio.h>

#include "gw/daemon.h"

int gw_log_level = GW_LOG_INFO;

void gw_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	va_list ap;

	if (level > gw_log_level)
		return;
	fprintf(stderr, "gatewayd: %s: ", names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
