/* A shell command for the test and benchmark harnesses that build their own
 * network namespaces: printf-formatted, run with system(), and named on
 * stderr when it fails. */
#ifndef GW_TESTS_RUN_SH_H
#define GW_TESTS_RUN_SH_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* 0, or -1 when the command failed; who prefixes the message. */
static inline int __attribute__((format(printf, 2, 3)))
run_sh(const char *who, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	if (r != 0)
		fprintf(stderr, "%s: `%s` failed (%d)\n", who, cmd, r);
	return r == 0 ? 0 : -1;
}

#endif
