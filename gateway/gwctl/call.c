/* One call to gatewayd as gwctl makes it: resolve the socket, send, and turn
 * the answer into output and an exit code (errors say what to check). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/gwctl.h"
#include "gwctl-int.h"

static int unreachable(struct gwctl *ctl, const char *sock, int r)
{
	switch (r) {
	case -ETIMEDOUT:
		fprintf(ctl->err, "gwctl: gatewayd at %s did not answer within %d ms\n", sock,
			ctl->timeout_ms);
		break;
	case -EPROTO:
		fprintf(ctl->err,
			"gwctl: gatewayd at %s closed the connection without a valid answer\n",
			sock);
		break;
	case -EACCES:
	case -EPERM:
		fprintf(ctl->err,
			"gwctl: permission denied on %s: run as root or as a member of the "
			"socket's group\n",
			sock);
		return GWCTL_EXIT_UNREACHABLE;
	case -ECONNREFUSED:
		fprintf(ctl->err, "gwctl: nobody listens on %s (a stale socket)\n", sock);
		break;
	default:
		fprintf(ctl->err, "gwctl: cannot connect to gatewayd at %s: %s\n", sock,
			strerror(-r));
		break;
	}
	fprintf(ctl->err, "gwctl: is gatewayd running? Check with: systemctl status gatewayd\n");
	return GWCTL_EXIT_UNREACHABLE;
}

/* gatewayd said no: print its "error" (and "errors" lines) and return 1. */
static int refused(struct gwctl *ctl, const struct gwctl_answer *a, const json_t *j)
{
	const json_t *msg = json_object_get(j, "error"), *errs = json_object_get(j, "errors");
	size_t i;

	if (json_is_string(msg))
		fprintf(ctl->err, "gwctl: %s\n", json_string_value(msg));
	else
		fprintf(ctl->err, "gwctl: gatewayd answered HTTP %d%s%.200s\n", a->status,
			a->body_len ? ": " : "", a->body);
	for (i = 0; i < json_array_size(errs); i++)
		if (json_is_string(json_array_get(errs, i)))
			fprintf(ctl->err, "  %s\n", json_string_value(json_array_get(errs, i)));
	return GWCTL_EXIT_REFUSED;
}

int gwctl_call(struct gwctl *ctl, const char *method, const char *target, json_t *body,
	       const struct gwctl_view *views)
{
	struct gwctl_answer a = {0};
	char sock[SOCK_PATH_MAX], *b = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	int r, ret;

	r = gwctl_socket_resolve(ctl->opt_socket, ctl->opt_gateway, getenv(GWCTL_SOCKET_ENV),
				 ctl->run_dir, sock, sizeof(sock), ctl->err);
	if (r) {
		json_decref(body);
		return r == -ENOENT ? GWCTL_EXIT_UNREACHABLE : GWCTL_EXIT_USAGE;
	}
	if (body) {
		b = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!b) {
			fprintf(ctl->err, "gwctl: out of memory\n");
			return GWCTL_EXIT_REFUSED;
		}
	}
	r = gwctl_http(sock, ctl->timeout_ms, method, target, b, &a);
	free(b);
	if (r == -EMSGSIZE || r == -ENOMEM) {
		fprintf(ctl->err, "gwctl: %s\n",
			r == -ENOMEM ? "out of memory" : "the answer of gatewayd is too large");
		return GWCTL_EXIT_REFUSED;
	}
	if (r)
		return unreachable(ctl, sock, r);

	j = json_loadb(a.body, a.body_len, 0, &jerr);
	if (a.status < 200 || a.status > 299) {
		ret = refused(ctl, &a, j);
		goto out;
	}
	ret = GWCTL_EXIT_REFUSED;
	if (!j) {
		fprintf(ctl->err, "gwctl: the answer of gatewayd is not JSON: %s\n", jerr.text);
		goto out;
	}
	if (ctl->json) {
		json_dumpf(j, ctl->out, JSON_INDENT(2));
		fputc('\n', ctl->out);
	} else if (gwctl_print_views(ctl->out, ctl->err, views, j)) {
		goto out;
	}
	ret = GWCTL_EXIT_OK;
out:
	json_decref(j);
	gwctl_answer_done(&a);
	return ret;
}
