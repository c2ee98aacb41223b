/* Internals shared by the files of the etcd client (etcd.c, etcd-kv.c,
 * etcd-stream.c, etcd-parse.c): the client, transfers over curl multi. */
#ifndef CS_ETCD_INT_H
#define CS_ETCD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "gw/etcd.h"

struct cs_etcd__link {
	struct cs_etcd__link *prev, *next;
};

static inline void cs_etcd__list_init(struct cs_etcd__link *head)
{
	head->prev = head->next = head;
}

static inline bool cs_etcd__list_empty(const struct cs_etcd__link *head)
{
	return head->next == head;
}

static inline void cs_etcd__list_add(struct cs_etcd__link *head, struct cs_etcd__link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static inline void cs_etcd__list_del(struct cs_etcd__link *l)
{
	if (!l->next)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

#define cs_etcd__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct cs_etcd__xfer;

/* Called once per transfer that ended (curl result @rc), outside curl's
 * callbacks; the transfer is already out of the multi handle. */
typedef void (*cs_etcd__done_fn)(struct cs_etcd__xfer *x, CURLcode rc);
/* Streams: new bytes are in x->buf (after x->used), outside curl's callbacks. */
typedef void (*cs_etcd__data_fn)(struct cs_etcd__xfer *x);

/*
 * One HTTP POST on one easy handle, repeated over endpoints. The response
 * is collected in @buf; for streams, @data is called after each batch of
 * bytes and consumes whole lines (advancing @used).
 */
struct cs_etcd__xfer {
	struct cs_etcd *e;
	CURL *easy;
	const char *path; /* "/v3/kv/range" */
	char *body;
	size_t body_len;
	char *buf;
	size_t len, cap, used;
	size_t max;	  /* limit of buf: max_response, or max_line + slack for streams */
	size_t line_scan; /* streams: no '\n' in buf[used..line_scan) */
	size_t endpoint;
	long timeout_ms; /* CURLOPT_TIMEOUT_MS; 0 for streams */
	bool active;	 /* in the multi handle */
	bool stream;
	bool pending; /* streams: data not yet handed to @data */
	bool too_large;
	bool oom;
	cs_etcd__done_fn done;
	cs_etcd__data_fn data;
	struct cs_etcd__link link; /* e->active */
	char errbuf[CURL_ERROR_SIZE];
};

struct cs_etcd {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct cs_etcd_opts opts;
	struct cs_etcd_limits limits;
	char *endpoints[CS_ETCD_MAX_ENDPOINTS];
	size_t n_endpoints;
	size_t preferred;
	struct curl_slist *headers;	  /* unary requests */
	struct curl_slist *watch_headers; /* + require a leader */
	char *tls_ca, *tls_cert, *tls_key;
	struct cs_etcd_stats stats;
	struct cs_etcd__link active;   /* transfers in the multi handle */
	struct cs_etcd__link requests; /* unary requests */
	struct cs_etcd__link streams;  /* watches and keepalives */
	unsigned int n_requests, n_streams;
	unsigned int open_handles; /* uv handles not closed yet */
	int depth;		   /* nesting of entries from the loop */
	bool closing, torn_down;
};

/* etcd-parse.c */
void cs_etcd__limits_fill(struct cs_etcd_limits *dst, const struct cs_etcd_limits *src);

/* etcd.c */
int cs_etcd__xfer_init(struct cs_etcd *e, struct cs_etcd__xfer *x, const char *path, bool stream,
		       cs_etcd__done_fn done, cs_etcd__data_fn data);
void cs_etcd__xfer_done(struct cs_etcd__xfer *x);
/* Takes @body (json_dumps() output) and sends it to e->preferred. */
int cs_etcd__xfer_send(struct cs_etcd__xfer *x, char *body);
/* Sends the same body again to e->preferred. */
int cs_etcd__xfer_resend(struct cs_etcd__xfer *x);
void cs_etcd__xfer_abort(struct cs_etcd__xfer *x);
/* -errno for a transfer that ended with @rc; counts it. *@ret_sent: the
 * request may have reached etcd. */
int cs_etcd__xfer_errno(struct cs_etcd__xfer *x, CURLcode rc, bool *ret_sent);
long cs_etcd__xfer_status(struct cs_etcd__xfer *x);
/* After a failure on x->endpoint, move e->preferred past it. */
void cs_etcd__failover(struct cs_etcd *e, size_t failed);
void cs_etcd__enter(struct cs_etcd *e);
void cs_etcd__leave(struct cs_etcd *e);
void cs_etcd__handle_closed(struct cs_etcd *e);
uint32_t cs_etcd__backoff(const struct cs_etcd *e, uint32_t prev_ms);

/* Key-range JSON fields: "key" and "range_end" (base64) into @obj. */
int cs_etcd__json_range(json_t *obj, const char *key, const char *range_end, bool prefix,
			bool from_key);
json_t *cs_etcd__json_b64(const void *p, size_t len);
json_t *cs_etcd__json_i64(int64_t v);

/* etcd-kv.c */
void cs_etcd__requests_cancel_all(struct cs_etcd *e);

/* etcd-stream.c */
void cs_etcd__streams_stop_all(struct cs_etcd *e);

#endif /* CS_ETCD_INT_H */
