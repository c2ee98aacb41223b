/* gwctl_main(): global options anywhere on the line, then the command words,
 * looked up by unique prefix in the command table (commands.c), and the run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/gwctl.h"
#include "gwctl-int.h"

/* "--name VALUE", "--name=VALUE", "-n VALUE" or "-nVALUE"; 1 if it matched. */
static int opt_value(const char *arg, const char *sopt, const char *lopt, int argc, char **argv,
		     int *i, const char **ret_value)
{
	size_t llen = strlen(lopt), slen = strlen(sopt);

	if (!strcmp(arg, lopt) || !strcmp(arg, sopt)) {
		*ret_value = *i + 1 < argc ? argv[++*i] : NULL;
		return 1;
	}
	if (!strncmp(arg, lopt, llen) && arg[llen] == '=') {
		*ret_value = arg + llen + 1;
		return 1;
	}
	if (!strncmp(arg, sopt, slen) && arg[slen]) {
		*ret_value = arg + slen;
		return 1;
	}
	return 0;
}

/*
 * Take the global options out of @argv wherever they are (up to "--") and
 * leave the rest, in order, in @rest. Returns 0 or an exit code.
 */
static int parse_globals(struct gwctl *ctl, int argc, char **argv, char **rest, int *ret_n,
			 int *ret_help)
{
	const char *v, *a;
	char *end;
	long t;
	int i, n = 0, done = 0;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (done || a[0] != '-' || !a[1]) {
			rest[n++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			done = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*ret_help = 1;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			ctl->json = 1;
		} else if (opt_value(a, "-s", "--socket", argc, argv, &i, &v)) {
			if (!v || !*v)
				return gwctl_usage_error(ctl, "%s needs a socket path", a);
			ctl->opt_socket = v;
		} else if (opt_value(a, "-g", "--gateway", argc, argv, &i, &v)) {
			if (!v || !*v)
				return gwctl_usage_error(ctl, "%s needs a gateway name", a);
			ctl->opt_gateway = v;
		} else if (opt_value(a, "-o", "--output", argc, argv, &i, &v)) {
			if (v && !strcmp(v, "json"))
				ctl->json = 1;
			else if (v && !strcmp(v, "text"))
				ctl->json = 0;
			else
				return gwctl_usage_error(ctl, "output format must be text or json");
		} else if (opt_value(a, "-t", "--timeout", argc, argv, &i, &v)) {
			errno = 0;
			t = v ? strtol(v, &end, 10) : 0;
			if (!v || errno || *end || t < 1 || t > GWCTL_MAX_TIMEOUT_MS)
				return gwctl_usage_error(ctl,
							 "timeout must be 1 to %d milliseconds",
							 GWCTL_MAX_TIMEOUT_MS);
			ctl->timeout_ms = (int)t;
		} else {
			rest[n++] = argv[i]; /* the command's own option, or a mistake */
		}
	}
	*ret_n = n;
	return 0;
}

int gwctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct gwctl ctl = {
		.out = out,
		.err = err,
		.timeout_ms = GWCTL_DEFAULT_TIMEOUT_MS,
		.run_dir = GWCTL_RUN_DIR,
	};
	const struct gwctl_cmd *c, *s;
	int n = 0, help = 0, ret, first = 1;
	char **rest;

	rest = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*rest));
	if (!rest) {
		fprintf(err, "gwctl: out of memory\n");
		return GWCTL_EXIT_USAGE;
	}
	ret = parse_globals(&ctl, argc, argv, rest, &n, &help);
	if (ret)
		goto out;
	if (help) {
		ret = gwctl_cmd_help(&ctl, n, rest);
		goto out;
	}
	if (!n) {
		ret = gwctl_usage_error(&ctl, "no command given");
		goto out;
	}
	if (rest[0][0] == '-') {
		ret = gwctl_usage_error(&ctl, "unknown option \"%s\"", rest[0]);
		goto out;
	}
	ret = GWCTL_EXIT_USAGE;
	if (gwctl_cmd_lookup(&ctl, gwctl_commands, "command", rest[0], &c))
		goto out;
	/* A command with subcommands: the next word picks one, unless it is an
	 * option or absent and the command has a default. */
	if (c->sub && (n > 1 && rest[1][0] != '-')) {
		if (gwctl_cmd_lookup(&ctl, c->sub, "subcommand", rest[1], &s)) {
			fprintf(err, "Try 'gwctl help %s'.\n", c->name);
			goto out;
		}
		ctl.parent = c;
		ctl.cmd = s;
		first = 2;
	} else if (c->sub && !c->run) {
		ctl.cmd = c;
		ret = gwctl_usage_error(&ctl, "%s needs a subcommand", c->name);
		goto out;
	} else {
		ctl.cmd = c;
		if (c->sub) { /* the default subcommand, for usage messages */
			ctl.parent = c;
			ctl.cmd = c->sub;
		}
	}
	ret = ctl.cmd->run(&ctl, n - first, rest + first);
out:
	free(rest);
	fflush(out);
	return ret;
}
