/* gwctl's one print path: commands describe their answer (fields, tables,
 * lists) and these functions render the daemon's JSON as aligned text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/gwctl.h"

#define CELL_MAX 1024 /* longer values are cut, ending in "..." (-o json has them whole) */
#define COL_GAP	 2

/* The value at a dotted @key ("site.name") of @obj, or NULL. */
static const json_t *json_lookup(const json_t *obj, const char *key)
{
	char part[128];
	const char *dot;
	size_t len;

	while (obj && json_is_object(obj)) {
		dot = strchr(key, '.');
		if (!dot)
			return json_object_get(obj, key);
		len = (size_t)(dot - key);
		if (len >= sizeof(part))
			return NULL;
		memcpy(part, key, len);
		part[len] = '\0';
		obj = json_object_get(obj, part);
		key = dot + 1;
	}
	return NULL;
}

struct cell {
	char s[CELL_MAX];
	size_t len;
};

static void cell_add(struct cell *c, const char *s, size_t n)
{
	size_t i;
	unsigned char ch;

	for (i = 0; i < n; i++) {
		if (c->len + 1 >= sizeof(c->s)) {
			memcpy(c->s + sizeof(c->s) - 4, "...", 4);
			c->len = sizeof(c->s) - 1;
			return;
		}
		ch = (unsigned char)s[i];
		/* The daemon's strings must not drive the terminal. */
		c->s[c->len++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	c->s[c->len] = '\0';
}

static void cell_addf(struct cell *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cell_addf(struct cell *c, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		cell_add(c, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void cell_value(struct cell *c, const json_t *v, int nested)
{
	size_t i;
	char *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		cell_add(c, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		cell_addf(c, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		cell_addf(c, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		cell_add(c, "yes", 3);
		break;
	case JSON_FALSE:
		cell_add(c, "no", 2);
		break;
	case JSON_ARRAY:
		if (!json_array_size(v) || nested) {
			cell_add(c, nested ? "[...]" : "-", nested ? 5 : 1);
			break;
		}
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				cell_add(c, ",", 1);
			cell_value(c, json_array_get(v, i), 1);
		}
		break;
	case JSON_OBJECT:
		s = json_dumps(v, JSON_COMPACT);
		if (s)
			cell_add(c, s, strlen(s));
		free(s);
		break;
	default:
		cell_add(c, "-", 1);
		break;
	}
}

static void cell_set(struct cell *c, const json_t *v)
{
	c->len = 0;
	c->s[0] = '\0';
	if (!v)
		cell_add(c, "-", 1);
	else
		cell_value(c, v, 0);
}

/* Columns on a terminal: count UTF-8 lead bytes, not continuation bytes. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void print_padded(FILE *out, const char *s, size_t width, int last)
{
	size_t w = text_width(s);

	fputs(s, out);
	if (last)
		return;
	for (; w < width + COL_GAP; w++)
		fputc(' ', out);
}

int gwctl_print_table(FILE *out, const struct gwctl_column *cols, const json_t *rows)
{
	size_t n_cols = 0, n_rows, i, j, *width;
	struct cell *cells;
	const json_t *row;

	if (!json_is_array(rows))
		return -EINVAL;
	while (cols[n_cols].key)
		n_cols++;
	n_rows = json_array_size(rows);
	width = calloc(n_cols, sizeof(*width));
	cells = calloc(n_rows * n_cols + 1, sizeof(*cells));
	if (!width || !cells) {
		free(width);
		free(cells);
		return -ENOMEM;
	}
	for (j = 0; j < n_cols; j++)
		width[j] = text_width(cols[j].header);
	for (i = 0; i < n_rows; i++) {
		row = json_array_get(rows, i);
		for (j = 0; j < n_cols; j++) {
			cell_set(&cells[i * n_cols + j], json_lookup(row, cols[j].key));
			if (text_width(cells[i * n_cols + j].s) > width[j])
				width[j] = text_width(cells[i * n_cols + j].s);
		}
	}
	for (j = 0; j < n_cols; j++)
		print_padded(out, cols[j].header, width[j], j + 1 == n_cols);
	fputc('\n', out);
	for (i = 0; i < n_rows; i++) {
		for (j = 0; j < n_cols; j++)
			print_padded(out, cells[i * n_cols + j].s, width[j], j + 1 == n_cols);
		fputc('\n', out);
	}
	free(width);
	free(cells);
	return 0;
}

void gwctl_print_fields(FILE *out, const struct gwctl_column *cols, const json_t *obj)
{
	struct cell c;
	size_t j, w = 0;

	for (j = 0; cols[j].key; j++)
		if (text_width(cols[j].header) > w)
			w = text_width(cols[j].header);
	for (j = 0; cols[j].key; j++) {
		cell_set(&c, json_lookup(obj, cols[j].key));
		fprintf(out, "%s:%*s%s\n", cols[j].header,
			(int)(w - text_width(cols[j].header) + 1), "", c.s);
	}
}

static void print_list(FILE *out, const json_t *arr)
{
	struct cell c;
	size_t i;

	for (i = 0; i < json_array_size(arr); i++) {
		cell_set(&c, json_array_get(arr, i));
		fprintf(out, "%s\n", c.s);
	}
}

int gwctl_print_views(FILE *out, FILE *err, const struct gwctl_view *views, const json_t *answer)
{
	const struct gwctl_view *v;
	const json_t *arr;
	json_t *empty = json_array();
	int printed = 0, r = 0;

	if (!empty)
		return -ENOMEM;
	for (v = views; v->kind != GWCTL_VIEW_END && !r; v++) {
		arr = NULL;
		if (v->kind == GWCTL_VIEW_TABLE || v->kind == GWCTL_VIEW_LIST) {
			arr = json_lookup(answer, v->key);
			if (!arr && v->optional)
				arr = empty;
			if (!json_is_array(arr)) {
				fprintf(err,
					"gwctl: unexpected answer from gatewayd: no \"%s\" array\n",
					v->key);
				r = -EPROTO;
				break;
			}
		}
		if (printed)
			fputc('\n', out);
		printed = 1;
		if (arr && !json_array_size(arr) && v->empty) {
			fprintf(out, "%s\n", v->empty);
			continue;
		}
		switch (v->kind) {
		case GWCTL_VIEW_FIELDS:
			gwctl_print_fields(out, v->cols, answer);
			break;
		case GWCTL_VIEW_TABLE:
			r = gwctl_print_table(out, v->cols, arr);
			break;
		case GWCTL_VIEW_LIST:
			print_list(out, arr);
			break;
		case GWCTL_VIEW_JSON:
			json_dumpf(answer, out, JSON_INDENT(2));
			fputc('\n', out);
			break;
		default:
			break;
		}
	}
	json_decref(empty);
	return r;
}
