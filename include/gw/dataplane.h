/* The XDP data plane as gatewayd sees it: load (or take over from pins),
 * attach, and write the maps that drive the shared pipeline. */
#ifndef GW_DATAPLANE_H
#define GW_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/abi/maps.h"

enum gw_dp_mode {
	GW_DP_NATIVE,
	GW_DP_GENERIC,
	GW_DP_AUTO, /* native, else generic */
};

struct gw_dp_opts {
	const char *pin_dir; /* /sys/fs/bpf/gw/<gateway> */
	const char *int_ifname;
	const char *ext_ifname;
	enum gw_dp_mode mode;
	uint32_t max_services;
	uint32_t max_backends;
	uint32_t max_peers;
	uint32_t max_identities;
	uint32_t max_conntrack;
	uint32_t flow_cache; /* IPv4 slots per CPU, a power of two; 0: off */
};

/* Most memory the flow cache may take, all CPUs together. */
#define GW_DP_FLOWC_MAX_BYTES (1ull << 30)

/* The IPv6 flow cache has half as many slots as the IPv4 one, each twice
 * as large: the same memory. Under two slots (no pair), it is off. */
static inline uint32_t gw_dp_flowc6_slots(uint32_t flow_cache)
{
	return flow_cache >= 4 ? flow_cache / 2 : 0;
}

/* Bytes the flow cache takes per CPU, both families. */
static inline uint64_t gw_dp_flowc_bytes(uint32_t flow_cache)
{
	return (uint64_t)flow_cache * sizeof(struct gw_flowc) +
	       (uint64_t)gw_dp_flowc6_slots(flow_cache) * sizeof(struct gw_flowc6);
}

struct gw_dp_attach_info {
	uint32_t ifindex;
	bool generic;	 /* attached in generic (skb) mode */
	bool taken_over; /* replaced the program of a running data plane */
};

struct gw_dp;

/* Opens the pinned maps under opts->pin_dir if they exist and are of this ABI
 * (a running data plane: its flows are kept), else creates them; loads the
 * programs and attaches them to both interfaces, atomically replacing the
 * programs of a running data plane. NULL with errno set on failure; *ret_why
 * then says what failed (static string). */
struct gw_dp *gw_dp_open(const struct gw_dp_opts *opts, const char **ret_why);

/* Leaves the data plane running (pinned) and frees the handle. NULL ok. */
void gw_dp_close(struct gw_dp *dp);

/* Detaches both programs and removes every pin under pin_dir; -ENOENT when
 * nothing is pinned there. */
int gw_dp_destroy(const char *pin_dir);

const struct gw_dp_attach_info *gw_dp_attach_info(const struct gw_dp *dp, bool external);

int gw_dp_set_cfg(struct gw_dp *dp, const struct gw_cfg *cfg);
/* What gw_dp_set_cfg last wrote (zeroes before the first call). */
const struct gw_cfg *gw_dp_cfg(const struct gw_dp *dp);
int gw_dp_svc_set(struct gw_dp *dp, const struct gw_svc_key *key, const struct gw_svc *svc);
/* Up to cap service keys and their values; returns the count or -errno. */
int gw_dp_svc_list(struct gw_dp *dp, struct gw_svc_key *keys, struct gw_svc *vals, size_t cap);
/* The prunes delete every key of their map for which keep(key, ud) is
 * false; key points to the map's key type (struct gw_svc_key, struct
 * gw_policy_key, __u32 identity, struct gw_lpm4_key / gw_lpm6_key). */
int gw_dp_svc_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud);
int gw_dp_policy_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud);
int gw_dp_identity_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud);
/* family: GW_AF_INET or GW_AF_INET6 */
int gw_dp_identity_cidr_prune(struct gw_dp *dp, uint8_t family,
			      bool (*keep)(const void *key, void *ud), void *ud);
int gw_dp_backend_set(struct gw_dp *dp, uint32_t id, const struct gw_backend *be);
int gw_dp_backend_get(struct gw_dp *dp, uint32_t id, struct gw_backend *be);
int gw_dp_peer_set(struct gw_dp *dp, uint32_t id, const struct gw_peer *peer);
int gw_dp_peer_del(struct gw_dp *dp, uint32_t id, uint32_t addr_be);
/* The entry of peer id as the data plane has it (zeroed when unused). */
int gw_dp_peer_get(struct gw_dp *dp, uint32_t id, struct gw_peer *peer);
int gw_dp_identity_set(struct gw_dp *dp, uint32_t id, const struct gw_identity *info);
int gw_dp_identity_cidr_set(struct gw_dp *dp, uint8_t family, const void *addr, uint8_t prefixlen,
			    uint32_t id);
int gw_dp_policy_set(struct gw_dp *dp, uint32_t identity, uint32_t svc_id, bool allow);

/* Installs a Maglev table for service slot (svc_id * GW_MAGLEV_TABLES + t)
 * in one atomic swap; m == 0 removes it (no backend: new flows dropped). */
int gw_dp_maglev_swap(struct gw_dp *dp, uint32_t slot, const uint32_t *table, uint32_t m);
/* The table in a Maglev slot: its first cap backend ids into table;
 * returns its size m (0: the slot is empty) or -errno. */
int gw_dp_maglev_get(struct gw_dp *dp, uint32_t slot, uint32_t *table, uint32_t cap);
/* Empties every Maglev slot (key: __u32 slot) for which keep(key, ud) is
 * false; an empty slot stays empty. */
int gw_dp_maglev_prune(struct gw_dp *dp, bool (*keep)(const void *key, void *ud), void *ud);

/* Moves the data plane's epoch on, so that no flow cache entry filled
 * before is used again. Every gw_dp_* write does it; call it when state
 * outside the maps changed: routes, neighbours, links. */
int gw_dp_epoch_bump(struct gw_dp *dp);
/* The current epoch, or -errno. */
long gw_dp_epoch(struct gw_dp *dp);

/* Sums the per-CPU counters into out[GW_R__COUNT]. */
int gw_dp_counters(struct gw_dp *dp, struct gw_counter *out);
/* Number of conntrack entries (walks the map: for status, not hot paths). */
long gw_dp_ct_count(struct gw_dp *dp);

#endif
