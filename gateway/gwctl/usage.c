/* gwctl's usage and help text, its usage errors, and command lookup by
 * unique prefix (an unknown or ambiguous word names the candidates). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw/gwctl.h"
#include "gwctl-int.h"

/* --- messages ------------------------------------------------------------ */

static int usage_line(char *buf, size_t size, const struct gwctl_cmd *parent,
		      const struct gwctl_cmd *cmd)
{
	return snprintf(buf, size, "%s%s%s%s%s", parent ? parent->name : "", parent ? " " : "",
			cmd->name, cmd->args ? " " : "", cmd->args ? cmd->args : "");
}

/* Width of the widest usage line of @cmd (or of its subcommands). */
static int usage_width(const struct gwctl_cmd *parent, const struct gwctl_cmd *cmd)
{
	const struct gwctl_cmd *s;
	char line[128];
	int w = 0, n;

	if (!cmd->sub)
		return usage_line(line, sizeof(line), parent, cmd);
	for (s = cmd->sub; s->name; s++) {
		n = usage_line(line, sizeof(line), cmd, s);
		if (n > w)
			w = n;
	}
	return w;
}

static void print_usage_line(FILE *f, const char *lead, const struct gwctl_cmd *parent,
			     const struct gwctl_cmd *cmd, int help_col)
{
	char line[128];

	usage_line(line, sizeof(line), parent, cmd);
	if (!help_col || !cmd->help)
		fprintf(f, "%s%s\n", lead, line);
	else
		fprintf(f, "%s%-*s  %s\n", lead, help_col, line, cmd->help);
}

/*
 * The usage of @cmd, or of each of its subcommands: the first line after
 * @lead, the next ones indented as far. @help_col 0 leaves out the help text.
 */
static void print_cmd_usage(FILE *f, const char *lead, const struct gwctl_cmd *parent,
			    const struct gwctl_cmd *cmd, int help_col)
{
	const struct gwctl_cmd *s;
	char indent[32];

	/* "Usage: gwctl " continues as "       gwctl ". */
	if (!strncmp(lead, "Usage: ", 7))
		snprintf(indent, sizeof(indent), "       %s", lead + 7);
	else
		snprintf(indent, sizeof(indent), "%s", lead);
	if (!cmd->sub) {
		print_usage_line(f, lead, parent, cmd, help_col);
		return;
	}
	for (s = cmd->sub; s->name; s++)
		print_usage_line(f, s == cmd->sub ? lead : indent, cmd, s, help_col);
}

static void print_usage(FILE *f)
{
	const struct gwctl_cmd *c;
	int w = 0;

	fprintf(f,
		"Usage: gwctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Options (anywhere on the line):\n"
		"  -g, --gateway NAME   talk to the gateway NAME (" GWCTL_RUN_DIR "/NAME.sock)\n"
		"  -s, --socket PATH    talk to gatewayd at this unix socket\n"
		"  -o, --output FORMAT  text (default) or json\n"
		"  -j, --json           same as -o json\n"
		"  -t, --timeout MS     give up after MS milliseconds (default %d)\n"
		"  -h, --help           this text; \"gwctl help COMMAND\" for one command\n"
		"\n"
		"Commands (a unique prefix is enough: \"gwctl serv l\"):\n",
		GWCTL_DEFAULT_TIMEOUT_MS);
	for (c = gwctl_commands; c->name; c++)
		if (usage_width(NULL, c) > w)
			w = usage_width(NULL, c);
	for (c = gwctl_commands; c->name; c++)
		print_cmd_usage(f, "  ", NULL, c, w);
	fprintf(f, "\n"
		   "The socket is --socket, else --gateway, else $" GWCTL_SOCKET_ENV
		   ", else the only *.sock in " GWCTL_RUN_DIR ".\n"
		   "Exit codes: 0 ok, 1 refused by gatewayd, 2 usage error, 3 gatewayd "
		   "unreachable.\n");
}

/* A bad command line: say what is wrong and how the command is used. */
int gwctl_usage_error(struct gwctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fputs("gwctl: ", ctl->err);
	va_start(ap, fmt);
	vfprintf(ctl->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctl->err);
	if (ctl->cmd)
		print_cmd_usage(ctl->err, "Usage: gwctl ", ctl->parent, ctl->cmd, 0);
	else
		fputs("Try 'gwctl --help'.\n", ctl->err);
	return GWCTL_EXIT_USAGE;
}

/* --- command lookup ------------------------------------------------------ */

int gwctl_cmd_find(const struct gwctl_cmd *cmds, const char *word, const struct gwctl_cmd **ret_cmd)
{
	const struct gwctl_cmd *c, *found = NULL;
	size_t len = strlen(word), n = 0;

	if (!len)
		return -ENOENT;
	for (c = cmds; c->name; c++) {
		if (!strcmp(c->name, word)) {
			*ret_cmd = c;
			return 0;
		}
		if (!strncmp(c->name, word, len)) {
			found = c;
			n++;
		}
	}
	if (!n)
		return -ENOENT;
	if (n > 1)
		return -ENOTUNIQ;
	*ret_cmd = found;
	return 0;
}

/* Look @word up in @cmds; on failure say why, with the candidates. */
int gwctl_cmd_lookup(struct gwctl *ctl, const struct gwctl_cmd *cmds, const char *what,
		     const char *word, const struct gwctl_cmd **ret_cmd)
{
	const struct gwctl_cmd *c;
	size_t len = strlen(word);
	const char *sep = "";
	int r = gwctl_cmd_find(cmds, word, ret_cmd);

	if (!r)
		return 0;
	fprintf(ctl->err, "gwctl: %s \"%s\" %s: ", what, word,
		r == -ENOTUNIQ ? "is ambiguous, it could be" : "is unknown, try one of");
	for (c = cmds; c->name; c++) {
		if (r == -ENOTUNIQ && strncmp(c->name, word, len))
			continue;
		fprintf(ctl->err, "%s%s", sep, c->name);
		sep = ", ";
	}
	fputc('\n', ctl->err);
	return r;
}

/* --- help ---------------------------------------------------------------- */

int gwctl_cmd_help(struct gwctl *ctl, int argc, char **argv)
{
	const struct gwctl_cmd *c, *s;

	if (!argc) {
		print_usage(ctl->out);
		return GWCTL_EXIT_OK;
	}
	if (gwctl_cmd_lookup(ctl, gwctl_commands, "command", argv[0], &c))
		return GWCTL_EXIT_USAGE;
	if (argc > 1 && c->sub) {
		if (gwctl_cmd_lookup(ctl, c->sub, "subcommand", argv[1], &s))
			return GWCTL_EXIT_USAGE;
		print_cmd_usage(ctl->out, "Usage: gwctl ", c, s, usage_width(c, s));
		return GWCTL_EXIT_OK;
	}
	print_cmd_usage(ctl->out, "Usage: gwctl ", NULL, c, usage_width(NULL, c));
	return GWCTL_EXIT_OK;
}
