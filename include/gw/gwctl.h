/* gwctl internals (gateway/gwctl/): command table, socket resolution, the
 * blocking HTTP client and the text/JSON printer, exposed for the unit tests. */
#ifndef GW_GWCTL_H
#define GW_GWCTL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Exit codes: scripts rely on them. */
enum gwctl_exit {
	GWCTL_EXIT_OK = 0,
	GWCTL_EXIT_REFUSED = 1,	    /* gatewayd answered 4xx/5xx (or nonsense) */
	GWCTL_EXIT_USAGE = 2,	    /* bad command line */
	GWCTL_EXIT_UNREACHABLE = 3, /* no socket, nobody listening, or no answer in time */
};

#define GWCTL_RUN_DIR		 "/run/isthmus"
#define GWCTL_SOCKET_ENV	 "GWCTL_SOCKET"
#define GWCTL_DEFAULT_TIMEOUT_MS 5000
#define GWCTL_MAX_TIMEOUT_MS	 600000
#define GWCTL_MAX_ANSWER	 (16 * 1024 * 1024) /* largest answer body accepted */
#define GWCTL_NAME_MAX		 64		    /* gateway name in --gateway */
#define GWCTL_WEIGHT_MAX	 65535		    /* backend weight, as gatewayd takes it */

/*
 * The whole of gwctl: parse @argv, talk to gatewayd, print to @out (results)
 * and @err (errors). Returns an enum gwctl_exit value.
 */
int gwctl_main(int argc, char **argv, FILE *out, FILE *err);

/* --- commands ------------------------------------------------------------ */

struct gwctl;

/*
 * One command word. A command with @sub has subcommands (a table ended by a
 * NULL @name); if it also has @run, that runs when no subcommand is given.
 * @run gets the arguments after the command words.
 */
struct gwctl_cmd {
	const char *name;
	const char *args; /* usage after the words, e.g. "SERVICE ADDR:PORT" */
	const char *help; /* one line */
	const struct gwctl_cmd *sub;
	int (*run)(struct gwctl *ctl, int argc, char **argv);
};

/* The top-level command table. */
extern const struct gwctl_cmd gwctl_commands[];

/*
 * Find @word in @cmds: an exact name, or the only name it is a prefix of.
 * Returns 0 with *ret_cmd, -ENOENT (no name starts with @word) or -ENOTUNIQ
 * (several do).
 */
int gwctl_cmd_find(const struct gwctl_cmd *cmds, const char *word,
		   const struct gwctl_cmd **ret_cmd);

/* --- socket resolution --------------------------------------------------- */

/*
 * The socket to talk to: @opt_socket, else @run_dir/@opt_gateway.sock, else
 * @env_socket (the GWCTL_SOCKET value), else the only "*.sock" in @run_dir.
 * NULL or "" means "not given". On failure prints why to @err and returns:
 *   -EINVAL        bad gateway name;
 *   -ENOENT        no socket in @run_dir;
 *   -ENOTUNIQ      several sockets in @run_dir (listed);
 *   -ENAMETOOLONG  the path does not fit @size or a unix socket address.
 */
int gwctl_socket_resolve(const char *opt_socket, const char *opt_gateway, const char *env_socket,
			 const char *run_dir, char *buf, size_t size, FILE *err);

/* --- HTTP client --------------------------------------------------------- */

/* An answer from gatewayd. */
struct gwctl_answer {
	int status;
	char *body; /* NUL-terminated, malloc'd; free with gwctl_answer_done() */
	size_t body_len;
};

/*
 * One blocking HTTP/1.1 request over the unix socket @sock_path, the whole
 * exchange within @timeout_ms. @body (JSON, may be NULL) is sent as
 * application/json. Returns 0 with *ret (any status), or:
 *   -ENOENT, -ECONNREFUSED, -EACCES, ...  cannot connect (errno of connect());
 *   -ETIMEDOUT  no whole answer in time;
 *   -EPROTO     the answer is not valid HTTP or the connection ended early;
 *   -EMSGSIZE   the answer body exceeds GWCTL_MAX_ANSWER;
 *   -ENOMEM.
 */
int gwctl_http(const char *sock_path, int timeout_ms, const char *method, const char *target,
	       const char *body, struct gwctl_answer *ret);

void gwctl_answer_done(struct gwctl_answer *a);

/* Percent-encode @s for a path segment or query value into @buf. 0 or -ENOSPC. */
int gwctl_url_escape(const char *s, char *buf, size_t size);

/* --- printing ------------------------------------------------------------ */

/* One column or field: a JSON key (dots descend into objects: "site.name") and its title. */
struct gwctl_column {
	const char *key;
	const char *header;
};

enum gwctl_view_kind {
	GWCTL_VIEW_END = 0,
	GWCTL_VIEW_FIELDS, /* the answer object as "title: value" lines */
	GWCTL_VIEW_TABLE,  /* the array at @key as a table with a header row */
	GWCTL_VIEW_LIST,   /* the array at @key, one element per line */
	GWCTL_VIEW_JSON,   /* the answer as indented JSON */
};

/*
 * How a command shows its answer as text; a command's views end with
 * GWCTL_VIEW_END. @cols end with a NULL key. @empty, if set, is printed
 * instead of an empty LIST or TABLE (instead of a lone header row). With
 * @optional an absent array counts as empty; otherwise it is an error.
 */
struct gwctl_view {
	enum gwctl_view_kind kind;
	const char *key;
	const struct gwctl_column *cols;
	const char *empty;
	int optional;
};

/*
 * Render @rows (a JSON array of objects) as aligned columns: a header row,
 * then one line per element; two spaces between columns, no trailing blanks.
 * Values: strings as they are (control characters as '?'), numbers, yes/no
 * for booleans, arrays joined with ',', "-" for null or absent.
 * Returns 0 or -EINVAL if @rows is not an array, -ENOMEM.
 */
int gwctl_print_table(FILE *out, const struct gwctl_column *cols, const json_t *rows);

/* "title: value" lines for @obj, titles aligned. */
void gwctl_print_fields(FILE *out, const struct gwctl_column *cols, const json_t *obj);

/*
 * Print @answer through @views, a blank line between views. Returns 0, or
 * -EPROTO if the answer lacks an array a view needs (named on @err).
 */
int gwctl_print_views(FILE *out, FILE *err, const struct gwctl_view *views, const json_t *answer);

#endif /* GW_GWCTL_H */
