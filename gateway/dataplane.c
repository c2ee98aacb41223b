/* Loads the gateway's XDP programs with the libbpf skeleton, takes over a
 * running data plane from its pins, attaches with bpf_link and writes maps. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <dirent.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "gw/dataplane.h"
#include "gateway.skel.h"

#define BPF_FS		    "/sys/fs/bpf"
#define BPF_FS_MAGIC_NUMBER 0xcafe4a11
#define PIN_DIR_MAX	    (PATH_MAX - 64) /* room for a pin name below it */

struct gw_dp {
	struct gateway *skel;
	char pin_dir[PIN_DIR_MAX];
	int link_fd[2];
	struct gw_dp_attach_info info[2];
	int ncpus;
	struct gw_cfg cfg; /* the last value written to gw_cfg_map */
	__u32 epoch;	   /* the last value written to gw_epoch */
	bool epoch_read;   /* ... once read from the (maybe pinned) map */
};

static int ensure_bpffs(void)
{
	struct statfs st;

	if (statfs(BPF_FS, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC_NUMBER)
		return 0;
	if (mount("bpf", BPF_FS, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

/* -EPROTO when pins of another ABI version are present, 0 otherwise. */
static int check_pinned_abi(const char *pin_dir)
{
	char path[PATH_MAX];
	struct gw_cfg cfg;
	__u32 zero = 0;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/gw_cfg_map", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	if (bpf_map_lookup_elem(fd, &zero, &cfg) == 0 && cfg.abi_version &&
	    cfg.abi_version != GW_ABI_VERSION)
		r = -EPROTO;
	close(fd);
	return r;
}

static void link_path(const struct gw_dp *dp, bool external, char *buf, size_t n)
{
	snprintf(buf, n, "%s/link_%s", dp->pin_dir, external ? "ext" : "int");
}

static int attach_side(struct gw_dp *dp, bool external, const char *ifname,
		       struct bpf_program *prog, enum gw_dp_mode mode, const char **ret_why)
{
	struct gw_dp_attach_info *info = &dp->info[external];
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	LIBBPF_OPTS(bpf_xdp_query_opts, qo);
	struct bpf_link_info li;
	char path[PATH_MAX];
	__u32 len = sizeof(li);
	int ifindex, fd;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		*ret_why = "interface not found";
		return -ENODEV;
	}
	info->ifindex = ifindex;
	link_path(dp, external, path, sizeof(path));

	fd = bpf_obj_get(path);
	if (fd >= 0) {
		memset(&li, 0, sizeof(li));
		if (bpf_obj_get_info_by_fd(fd, &li, &len) == 0 && li.type == BPF_LINK_TYPE_XDP &&
		    li.xdp.ifindex == (__u32)ifindex &&
		    bpf_link_update(fd, bpf_program__fd(prog), NULL) == 0) {
			info->taken_over = true;
			goto attached;
		}
		/* a link for another interface, or one whose device is gone */
		bpf_link_detach(fd);
		close(fd);
		unlink(path);
	}

	lo.flags = mode == GW_DP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(bpf_program__fd(prog), ifindex, BPF_XDP, &lo);
	if (fd < 0 && mode == GW_DP_AUTO) {
		lo.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(bpf_program__fd(prog), ifindex, BPF_XDP, &lo);
	}
	if (fd < 0) {
		int err = -errno;

		*ret_why = err == -EBUSY || err == -EEXIST
				   ? "another XDP program is attached to the interface"
				   : "cannot attach the XDP program";
		return err;
	}
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		close(fd);
		*ret_why = "cannot pin the XDP link";
		return err;
	}
attached:
	dp->link_fd[external] = fd;
	if (bpf_xdp_query(ifindex, 0, &qo) == 0)
		info->generic = qo.attach_mode == XDP_ATTACHED_SKB;
	return 0;
}

struct gw_dp *gw_dp_open(const struct gw_dp_opts *opts, const char **ret_why)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct gw_dp *dp;
	int r;

	*ret_why = "";
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		*ret_why = "out of memory";
		return NULL;
	}
	dp->link_fd[0] = dp->link_fd[1] = -1;
	if (snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", opts->pin_dir) >=
	    (int)sizeof(dp->pin_dir)) {
		r = -ENAMETOOLONG;
		*ret_why = "pin directory name too long";
		goto fail;
	}
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		r = -EINVAL;
		*ret_why = "cannot count CPUs";
		goto fail;
	}
	r = ensure_bpffs();
	if (r) {
		*ret_why = "cannot mount bpffs on " BPF_FS;
		goto fail;
	}
	r = mkdir_p(dp->pin_dir);
	if (r) {
		*ret_why = "cannot create the pin directory";
		goto fail;
	}
	r = check_pinned_abi(dp->pin_dir);
	if (r) {
		*ret_why = "the pinned data plane has another ABI version; run gatewayd --detach "
			   "first";
		goto fail;
	}

	oo.pin_root_path = dp->pin_dir;
	dp->skel = gateway__open_opts(&oo);
	if (!dp->skel) {
		r = -errno;
		*ret_why = "cannot open the BPF object";
		goto fail;
	}
	bpf_map__set_max_entries(dp->skel->maps.gw_svcs, opts->max_services * 4);
	bpf_map__set_max_entries(dp->skel->maps.gw_maglev, opts->max_services * GW_MAGLEV_TABLES);
	bpf_map__set_max_entries(dp->skel->maps.gw_backends, opts->max_backends);
	bpf_map__set_max_entries(dp->skel->maps.gw_peers, opts->max_peers + 1);
	bpf_map__set_max_entries(dp->skel->maps.gw_peer_addr, opts->max_peers + 1);
	bpf_map__set_max_entries(dp->skel->maps.gw_identities, opts->max_identities);
	bpf_map__set_max_entries(dp->skel->maps.gw_ident4, opts->max_identities);
	bpf_map__set_max_entries(dp->skel->maps.gw_ident6, opts->max_identities);
	bpf_map__set_max_entries(dp->skel->maps.gw_ct, opts->max_conntrack);
	if (opts->flow_cache & (opts->flow_cache - 1)) {
		r = -EINVAL;
		*ret_why = "the flow cache size is not a power of two";
		goto fail;
	}
	/* slots per CPU, times every possible CPU: bounded as a whole */
	if (gw_dp_flowc_bytes(opts->flow_cache) * (uint64_t)dp->ncpus > GW_DP_FLOWC_MAX_BYTES) {
		r = -E2BIG;
		*ret_why = "limits.flow_cache_entries x CPUs x 128 bytes (64 for an IPv4 slot, "
			   "half as many IPv6 slots of 128) is over 1 GiB; lower it";
		goto fail;
	}
	if (opts->flow_cache) {
		uint32_t n6 = gw_dp_flowc6_slots(opts->flow_cache);

		bpf_map__set_max_entries(dp->skel->maps.gw_flowc,
					 opts->flow_cache * (uint32_t)dp->ncpus);
		dp->skel->rodata->gw_flowc_mask = opts->flow_cache - 1;
		if (n6) {
			bpf_map__set_max_entries(dp->skel->maps.gw_flowc6,
						 n6 * (uint32_t)dp->ncpus);
			dp->skel->rodata->gw_flowc6_mask = n6 - 1;
		}
	}

	r = gateway__load(dp->skel);
	if (r) {
		*ret_why = "cannot load the BPF programs or reuse the pinned maps (if limits "
			   "changed, run gatewayd --detach first)";
		goto fail;
	}
	/* a taken-over data plane's epoch moves on, so no cache entry of the
	 * old program's time can match (the new program's cache starts empty,
	 * but the pinned epoch is shared) */
	r = gw_dp_epoch_bump(dp);
	if (r) {
		*ret_why = "cannot write the epoch map";
		goto fail;
	}
	r = attach_side(dp, false, opts->int_ifname, dp->skel->progs.gw_xdp_int, opts->mode,
			ret_why);
	if (r)
		goto fail;
	r = attach_side(dp, true, opts->ext_ifname, dp->skel->progs.gw_xdp_ext, opts->mode,
			ret_why);
	if (r)
		goto fail;
	return dp;
fail:
	gw_dp_close(dp);
	errno = -r;
	return NULL;
}

void gw_dp_close(struct gw_dp *dp)
{
	if (!dp)
		return;
	if (dp->link_fd[0] >= 0)
		close(dp->link_fd[0]);
	if (dp->link_fd[1] >= 0)
		close(dp->link_fd[1]);
	gateway__destroy(dp->skel);
	free(dp);
}

int gw_dp_destroy(const char *pin_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int r = 0, fd, i;
	DIR *d;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/link_%s", pin_dir, i ? "ext" : "int");
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
	}
	d = opendir(pin_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (unlink(path) && r == 0)
			r = -errno;
	}
	closedir(d);
	if (rmdir(pin_dir) && r == 0)
		r = -errno;
	return r;
}

const struct gw_dp_attach_info *gw_dp_attach_info(const struct gw_dp *dp, bool external)
{
	return &dp->info[external];
}

/* Only gatewayd writes the epoch (one writer: no lost bump), so it reads
 * the pinned value once and then only writes; 0 is never an epoch, so that
 * a data plane nobody configured yet caches nothing. */
int gw_dp_epoch_bump(struct gw_dp *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.gw_epoch);
	__u32 zero = 0, e;

	if (!dp->epoch_read) {
		if (bpf_map_lookup_elem(fd, &zero, &dp->epoch))
			return -errno;
		dp->epoch_read = true;
	}
	e = dp->epoch + 1 ? dp->epoch + 1 : 1;
	if (bpf_map_update_elem(fd, &zero, &e, BPF_ANY))
		return -errno;
	dp->epoch = e;
	return 0;
}

long gw_dp_epoch(struct gw_dp *dp)
{
	__u32 zero = 0, e = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.gw_epoch), &zero, &e))
		return -errno;
	return e;
}

/* Every write may change what a cached flow would be sent to: the epoch
 * moves after it (after, so that a packet that saw the old value can only
 * have cached it under the old epoch). */
static int upd(struct gw_dp *dp, struct bpf_map *m, const void *k, const void *v)
{
	if (bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY))
		return -errno;
	return gw_dp_epoch_bump(dp);
}

static int del(struct gw_dp *dp, struct bpf_map *m, const void *k)
{
	if (bpf_map_delete_elem(bpf_map__fd(m), k) && errno != ENOENT)
		return -errno;
	return gw_dp_epoch_bump(dp);
}

int gw_dp_set_cfg(struct gw_dp *dp, const struct gw_cfg *cfg)
{
	__u32 zero = 0;
	int r = upd(dp, dp->skel->maps.gw_cfg_map, &zero, cfg);

	if (!r)
		dp->cfg = *cfg;
	return r;
}

const struct gw_cfg *gw_dp_cfg(const struct gw_dp *dp)
{
	return &dp->cfg;
}

int gw_dp_svc_set(struct gw_dp *dp, const struct gw_svc_key *key, const struct gw_svc *svc)
{
	return upd(dp, dp->skel->maps.gw_svcs, key, svc);
}

/* Deletes every key of m for which keep(key, ud) is false. */
static int map_prune(struct gw_dp *dp, struct bpf_map *m, bool (*keep)(const void *key, void *ud),
		     void *ud)
{
	int fd = bpf_map__fd(m);
	uint64_t k[8], next[8], *prev = NULL; /* aligned for any key struct */
	size_t ks = bpf_map__key_size(m);
	int r = 0, bump;

	if (ks > sizeof(k))
		return -EINVAL;
	/* Collect-then-delete would need memory; deleting the previous key
	 * after advancing keeps the walk valid. */
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (prev && !keep(prev, ud) && bpf_map_delete_elem(fd, prev) && errno != ENOENT)
			r = -errno;
		memcpy(k, next, ks);
		prev = k;
	}
	if (prev && !keep(prev, ud) && bpf_map_delete_elem(fd, prev) && errno != ENOENT)
		r = -errno;
	/* what was deleted before a failure must not stay in the flow cache */
	bump = gw_dp_epoch_bump(dp);
	return r ? r : bump;
}

int gw_dp_svc_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud)
{
	return map_prune(dp, dp->skel->maps.gw_svcs, keep, ud);
}

int gw_dp_maglev_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud)
{
	return map_prune(dp, dp->skel->maps.gw_maglev, keep, ud);
}

int gw_dp_policy_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud)
{
	return map_prune(dp, dp->skel->maps.gw_policy, keep, ud);
}

int gw_dp_identity_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud)
{
	return map_prune(dp, dp->skel->maps.gw_identities, keep, ud);
}

int gw_dp_identity_cidr_prune(struct gw_dp *dp, uint8_t family,
			      bool (*keep)(const void *key, void *ud), void *ud)
{
	return map_prune(dp,
			 family == GW_AF_INET ? dp->skel->maps.gw_ident4 : dp->skel->maps.gw_ident6,
			 keep, ud);
}

int gw_dp_backend_set(struct gw_dp *dp, uint32_t id, const struct gw_backend *be)
{
	return upd(dp, dp->skel->maps.gw_backends, &id, be);
}

int gw_dp_peer_set(struct gw_dp *dp, uint32_t id, const struct gw_peer *peer)
{
	__be32 addr = peer->addr;
	int r;

	r = upd(dp, dp->skel->maps.gw_peers, &id, peer);
	if (r)
		return r;
	return upd(dp, dp->skel->maps.gw_peer_addr, &addr, &id);
}

int gw_dp_peer_del(struct gw_dp *dp, uint32_t id, uint32_t addr_be)
{
	struct gw_peer none;
	int r;

	memset(&none, 0, sizeof(none));
	/* its tunnel packets must no longer be accepted */
	r = del(dp, dp->skel->maps.gw_peer_addr, &addr_be);
	if (r)
		return r;
	return upd(dp, dp->skel->maps.gw_peers, &id, &none);
}

int gw_dp_backend_get(struct gw_dp *dp, uint32_t id, struct gw_backend *be)
{
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.gw_backends), &id, be) ? -errno : 0;
}

int gw_dp_peer_get(struct gw_dp *dp, uint32_t id, struct gw_peer *peer)
{
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.gw_peers), &id, peer) ? -errno : 0;
}

int gw_dp_identity_set(struct gw_dp *dp, uint32_t id, const struct gw_identity *info)
{
	return upd(dp, dp->skel->maps.gw_identities, &id, info);
}

int gw_dp_identity_cidr_set(struct gw_dp *dp, uint8_t family, const void *addr, uint8_t prefixlen,
			    uint32_t id)
{
	if (family == GW_AF_INET) {
		struct gw_lpm4_key k = {.prefixlen = prefixlen};

		memcpy(&k.addr, addr, 4);
		return upd(dp, dp->skel->maps.gw_ident4, &k, &id);
	} else {
		struct gw_lpm6_key k = {.prefixlen = prefixlen};

		memcpy(k.addr, addr, 16);
		return upd(dp, dp->skel->maps.gw_ident6, &k, &id);
	}
}

int gw_dp_policy_set(struct gw_dp *dp, uint32_t identity, uint32_t svc_id, bool allow)
{
	struct gw_policy_key k = {.identity = identity, .svc_id = svc_id};
	__u32 one = 1;

	if (allow)
		return upd(dp, dp->skel->maps.gw_policy, &k, &one);
	return del(dp, dp->skel->maps.gw_policy, &k);
}

int gw_dp_svc_list(struct gw_dp *dp, struct gw_svc_key *keys, struct gw_svc *vals, size_t cap)
{
	int fd = bpf_map__fd(dp->skel->maps.gw_svcs);
	struct gw_svc_key k, *prev = NULL;
	size_t n = 0;

	while (n < cap && bpf_map_get_next_key(fd, prev, &keys[n]) == 0) {
		k = keys[n];
		prev = &k;
		/* a key deleted since the walk found it is no key */
		if (bpf_map_lookup_elem(fd, &keys[n], &vals[n]) == 0)
			n++;
	}
	return (int)n;
}

int gw_dp_maglev_get(struct gw_dp *dp, uint32_t slot, uint32_t *table, uint32_t cap)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint32_t id, m = 0, count, out_batch, *keys = NULL, *vals = NULL;
	int fd, r;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.gw_maglev), &slot, &id))
		return errno == ENOENT ? 0 : -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* swapped out and gone meanwhile */
	id = 0;
	if (bpf_map_lookup_elem(fd, &id, &m)) {
		r = -errno;
		goto out;
	}
	count = m + 1;
	keys = malloc(sizeof(*keys) * count);
	vals = malloc(sizeof(*vals) * count);
	if (!keys || !vals) {
		r = -ENOMEM;
		goto out;
	}
	/* one call for the whole table: it has limits.maglev_table_size ids */
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, vals, &count, &bo) &&
	    errno != ENOENT) {
		r = -errno;
		goto out;
	}
	if (count != m + 1) {
		r = -EIO;
		goto out;
	}
	memcpy(table, vals + 1, sizeof(*table) * (m < cap ? m : cap));
	r = (int)m;
out:
	free(keys);
	free(vals);
	close(fd);
	return r;
}

int gw_dp_maglev_swap(struct gw_dp *dp, uint32_t slot, const uint32_t *table, uint32_t m)
{
	LIBBPF_OPTS(bpf_map_create_opts, co, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int outer = bpf_map__fd(dp->skel->maps.gw_maglev);
	uint32_t *keys = NULL, *vals = NULL, i, count;
	int fd = -1, r;

	if (m == 0)
		return del(dp, dp->skel->maps.gw_maglev, &slot);
	keys = malloc(sizeof(*keys) * (m + 1));
	vals = malloc(sizeof(*vals) * (m + 1));
	if (!keys || !vals) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i <= m; i++)
		keys[i] = i;
	vals[0] = m;
	memcpy(vals + 1, table, sizeof(*vals) * m);

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gw_maglev_tbl", 4, 4, m + 1, &co);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	count = m + 1;
	if (bpf_map_update_batch(fd, keys, vals, &count, &bo)) {
		r = -errno;
		goto out;
	}
	/* One update of the outer map switches every CPU to the new table. */
	r = bpf_map_update_elem(outer, &slot, &fd, BPF_ANY) ? -errno : gw_dp_epoch_bump(dp);
out:
	if (fd >= 0)
		close(fd);
	free(keys);
	free(vals);
	return r;
}

int gw_dp_counters(struct gw_dp *dp, struct gw_counter *out)
{
	int fd = bpf_map__fd(dp->skel->maps.gw_counters);
	struct gw_counter *percpu;
	__u32 k;
	int c;

	percpu = calloc(dp->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (k = 0; k < GW_R__COUNT; k++) {
		out[k].packets = out[k].bytes = 0;
		if (bpf_map_lookup_elem(fd, &k, percpu))
			continue;
		for (c = 0; c < dp->ncpus; c++) {
			out[k].packets += percpu[c].packets;
			out[k].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
	return 0;
}

long gw_dp_ct_count(struct gw_dp *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.gw_ct);
	struct gw_ct_key k, next, *prev = NULL;
	long n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0 && n < (1L << 24)) {
		n++;
		k = next;
		prev = &k;
	}
	return n;
}
