/* What the files of gwctl (gateway/gwctl/) share beyond include/gw/gwctl.h:
 * the run's context, usage errors, the help command and the call to gatewayd. */
#ifndef GW_GWCTL_INT_H
#define GW_GWCTL_INT_H

#include <stdio.h>
#include <sys/un.h>

#include "gw/gwctl.h"

#define SOCK_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

struct gwctl {
	FILE *out, *err;
	int json;
	int timeout_ms;
	const char *opt_socket;
	const char *opt_gateway;
	const char *run_dir;
	const struct gwctl_cmd *parent; /* for usage messages: NULL or the first word */
	const struct gwctl_cmd *cmd;
};

/* A bad command line: say what is wrong and how the command is used (usage.c).
 * Returns GWCTL_EXIT_USAGE. */
int gwctl_usage_error(struct gwctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Look @word up in @cmds; on failure say why, with the candidates (usage.c). */
int gwctl_cmd_lookup(struct gwctl *ctl, const struct gwctl_cmd *cmds, const char *what,
		     const char *word, const struct gwctl_cmd **ret_cmd);

/* "gwctl help [COMMAND [SUBCOMMAND]]" (usage.c). */
int gwctl_cmd_help(struct gwctl *ctl, int argc, char **argv);

/* Send one request (steals @body) and print the answer through @views
 * (call.c). Returns an enum gwctl_exit value. */
int gwctl_call(struct gwctl *ctl, const char *method, const char *target, json_t *body,
	       const struct gwctl_view *views);

#endif /* GW_GWCTL_INT_H */
