/* Numeric identities for label sets, allocated through etcd so that every
 * site gets the same id for the same labels, even when several allocate the
 * same set at the same moment (compare-and-swap transactions). */
#ifndef GW_IDENTITY_H
#define GW_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gw/etcd.h"

/* Global ids live below the site-scoped ranges (site_id << 16). */
#define CS_IDENTITY_MIN		256
#define CS_IDENTITY_MAX		65535
#define CS_IDENTITY_MAX_LABELS	32
#define CS_IDENTITY_ATTEMPTS	64		 /* contended rounds before giving up */
#define CS_IDENTITY_GC_GRACE_MS (10 * 60 * 1000) /* unused this long: collected */
#define CS_IDENTITY_GC_EVERY_MS (60 * 1000)	 /* a collection pass a minute */

/* The canonical form of a label set: sorted, deduplicated, joined by ","
 * into buf. 0, or -EINVAL (bad label: not key=value, or too many) or
 * -ENOSPC. */
int cs_identity_canonical(const char *const *labels, size_t n, char *buf, size_t size);

/* The stable key of a canonical label set (hex of a 64-bit hash). */
void cs_identity_label_key(const char *canonical, char *buf, size_t size);

typedef void (*cs_identity_cb)(void *ud, int err, uint32_t id);

/* Finds or allocates the id of labels under prefix/identities/:
 *   labels/<hash>  {"version":1,"id":N,"labels":"a=b,c=d"}
 *   id/<N>         {"version":1,"labels":"a=b,c=d","site":SITE}
 *   next           {"version":1,"next":N}  (the next free id)
 * cb gets the id, or -ENOSPC (ids exhausted), -EAGAIN (still contended
 * after CS_IDENTITY_ATTEMPTS rounds), -EBADMSG (a record is malformed) or an
 * etcd error. Returns 0 (cb will run) or -errno (it will not). */
int cs_identity_allocate(struct cs_etcd *etcd, const char *prefix, const char *const *labels,
			 size_t n, const char *site, cs_identity_cb cb, void *ud);

/* Where a site records that it uses an id (under its lease):
 * PREFIX/identities/users/<id>/<site>. */

typedef void (*cs_identity_gc_cb)(void *ud, int err, unsigned deleted);

/* One pass of garbage collection: an id that no site uses, and whose label
 * set nobody has taken again, for grace_ms (counted in `seen`, id ->
 * [first unused ms, labels mod_revision], which the caller keeps between
 * passes) is deleted with its label set, in a transaction that only succeeds
 * if neither changed since read. grace_ms 0 collects every unused id now.
 * 0 (cb will run) or -errno. */
int cs_identity_gc(struct cs_etcd *etcd, const char *prefix, json_t *seen, uint64_t now_ms,
		   uint64_t grace_ms, cs_identity_gc_cb cb, void *ud);

#endif
