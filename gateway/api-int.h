/* What the control API's server (api.c) and its reply helpers (api-msg.c)
 * share. */
#ifndef GW_API_INT_H
#define GW_API_INT_H

#include <stddef.h>

#include "gw/api.h"

#define API_JSON    "application/json"
#define API_BACKLOG 128

struct stat;

/* Sets the answer, taking body (malloc'd, or NULL) over. */
void gw_api_resp_set(struct gw_api_response *resp, int status, const char *ctype, char *body,
		     size_t len);
/* Last resort when even building an error fails: status and a fixed body. */
void gw_api_resp_fixed(struct gw_api_response *resp, int status, const char *json);
/* Decodes len bytes of s into out (room for size bytes with the NUL);
 * 0, -EINVAL (bad escape, NUL) or -ENOSPC. */
int gw_api_pct_decode(const char *s, size_t len, int plus_is_space, char *out, size_t size);

/* Listening sockets (api-listen.c), non-blocking, fd or -errno. A unix
 * socket's parent directory is created, a stale socket file (nobody
 * answers) removed, and the socket made 0660 before it listens; ret_st
 * identifies the file, so that only this one is removed at exit. */
int gw_api_listen_unix(const char *path, struct stat *ret_st);
/* "host:port" or "[v6]:port", numeric host only. */
int gw_api_listen_tcp(const char *address);

#endif
