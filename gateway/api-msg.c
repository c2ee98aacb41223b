/* The control API's answers and request helpers: JSON, error and text
 * replies, the request body as JSON, percent-decoding and query lookup. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/api.h"
#include "api-int.h"

/* --- replies ------------------------------------------------------------ */

void gw_api_resp_set(struct gw_api_response *resp, int status, const char *ctype, char *body,
		     size_t len)
{
	free(resp->body);
	resp->status = status;
	snprintf(resp->content_type, sizeof(resp->content_type), "%s", ctype);
	resp->body = body;
	resp->body_len = body ? len : 0;
}

/* Last resort when even building an error fails: status and a fixed body. */
void gw_api_resp_fixed(struct gw_api_response *resp, int status, const char *json)
{
	char *s = strdup(json);

	gw_api_resp_set(resp, status, API_JSON, s, s ? strlen(s) : 0);
}

void gw_api_reply_json(struct gw_api_response *resp, int status, json_t *body)
{
	char *s, *t;
	size_t len;

	if (!body) {
		gw_api_resp_fixed(resp, 500, "{\"error\":\"out of memory\"}\n");
		return;
	}
	s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (!s) {
		gw_api_resp_fixed(resp, 500, "{\"error\":\"cannot encode the answer as JSON\"}\n");
		return;
	}
	len = strlen(s);
	t = realloc(s, len + 2);
	if (!t) {
		free(s);
		gw_api_resp_fixed(resp, 500, "{\"error\":\"out of memory\"}\n");
		return;
	}
	t[len] = '\n'; /* for people reading it with curl */
	t[len + 1] = '\0';
	gw_api_resp_set(resp, status, API_JSON, t, len + 1);
}

void gw_api_reply_error(struct gw_api_response *resp, int status, const char *fmt, ...)
{
	char msg[1024];
	json_t *s;
	size_t i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = json_string(msg);
	if (!s) {
		/* Not UTF-8 (a client's bytes echoed back): keep the ASCII. */
		for (i = 0; msg[i]; i++)
			if ((unsigned char)msg[i] >= 0x80)
				msg[i] = '?';
		s = json_string(msg);
	}
	gw_api_reply_json(resp, status, s ? json_pack("{s:o}", "error", s) : NULL);
}

void gw_api_reply_text(struct gw_api_response *resp, int status, const char *content_type,
		       const char *text, size_t len)
{
	char *s = malloc(len + 1);

	if (!s) {
		gw_api_resp_fixed(resp, 500, "{\"error\":\"out of memory\"}\n");
		return;
	}
	memcpy(s, text, len);
	s[len] = '\0';
	/* A header value must not carry CR/LF (response splitting). */
	if (!content_type || strpbrk(content_type, "\r\n") ||
	    strlen(content_type) >= sizeof(resp->content_type))
		content_type = "application/octet-stream";
	gw_api_resp_set(resp, status, content_type, s, len);
}

json_t *gw_api_body_json(const struct gw_api_request *req, struct gw_api_response *resp)
{
	json_error_t jerr;
	json_t *j;

	if (!req->body_len) {
		gw_api_reply_error(resp, 400, "a JSON object is expected in the request body");
		return NULL;
	}
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		gw_api_reply_error(resp, 400,
				   "invalid JSON in the request body: %s (line %d, column %d)",
				   jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		gw_api_reply_error(resp, 400, "the request body must be a JSON object");
		return NULL;
	}
	return j;
}

/* --- percent-decoding ---------------------------------------------------- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode @len bytes of @s into @out (room for @size bytes with the NUL). */
int gw_api_pct_decode(const char *s, size_t len, int plus_is_space, char *out, size_t size)
{
	size_t i, o = 0;
	int hi, lo;
	char ch;

	for (i = 0; i < len; i++) {
		ch = s[i];
		if (ch == '%') {
			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			ch = (char)(hi << 4 | lo);
			i += 2;
		} else if (ch == '+' && plus_is_space) {
			ch = ' ';
		} else if (ch == '\0') {
			return -EINVAL;
		}
		if (o + 1 >= size)
			return -ENOSPC;
		out[o++] = ch;
	}
	if (o >= size)
		return -ENOSPC;
	out[o] = '\0';
	return 0;
}

int gw_api_query_get(const struct gw_api_request *req, const char *key, char *buf, size_t size)
{
	const char *p = req->query, *end, *eq;
	char name[256];
	size_t klen;
	int r;

	if (!p || !key || !buf || !size)
		return -EINVAL;
	while (*p) {
		end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		klen = (size_t)((eq ? eq : end) - p);
		r = gw_api_pct_decode(p, klen, 1, name, sizeof(name));
		if (r == 0 && !strcmp(name, key)) {
			if (!eq)
				return gw_api_pct_decode("", 0, 1, buf, size);
			return gw_api_pct_decode(eq + 1, (size_t)(end - eq - 1), 1, buf, size);
		}
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}
