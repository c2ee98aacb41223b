/* Keys and values of every map shared by the BPF programs and gatewayd, the
 * Geneve option and the probe packet: the data plane's ABI (DESIGN.md §7). */
#ifndef GW_ABI_MAPS_H
#define GW_ABI_MAPS_H

#include <linux/types.h>

#include "gw/abi/reasons.h"

/* Bumped on any change of a struct below or of a map's type or key; a
 * gatewayd only takes over pins that carry its own version. */
#define GW_ABI_VERSION 1

/* Addresses are 4 x __be32: IPv4 in [0] and zeros after it, IPv6 whole. */
#define GW_AF_INET  4
#define GW_AF_INET6 6

/* --- gw_cfg: array[1], written by gatewayd, read per packet ------------- */
#define GW_CFG_F_HAVE_V6 (1u << 0) /* int_addr6 is set: IPv6 SNAT possible */

struct gw_cfg {
	__u32 abi_version;
	__u16 site_id;
	__u16 flags;
	__u32 int_ifindex;
	__u32 ext_ifindex;
	__be32 int_addr4; /* SNAT source towards local backends */
	__be32 ext_addr4; /* outer source of tunnel packets */
	__be32 int_addr6[4];
	__be16 geneve_port; /* UDP destination of tunnel packets (6081) */
	__be16 probe_port;  /* UDP port of inter-gateway probes */
	__u16 snat_port_min;
	__u16 snat_port_max;
	__u16 tunnel_mtu; /* largest outer packet the underlay carries */
	__u16 _pad0;
	__u32 default_identity; /* identity of sources that match no CIDR */
};
_Static_assert(sizeof(struct gw_cfg) == 56, "gw_cfg ABI");

/* --- services: hash gw_svc_key -> gw_svc -------------------------------- */
struct gw_svc_key {
	__be32 vip[4];
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_SCTP */
	__u8 family; /* GW_AF_INET / GW_AF_INET6 */
};
_Static_assert(sizeof(struct gw_svc_key) == 20, "gw_svc_key ABI");

#define GW_SVC_F_POLICY (1u << 0) /* enforce policy: only allowed identities */
#define GW_SVC_F_L7	(1u << 1) /* L7 mode: pass to the stack (gw-proxy) */
#define GW_SVC_F_VIP	(1u << 2) /* marker entry {vip, port 0, proto 0}: "this is a VIP" */

struct gw_svc {
	__u32 id; /* index of the service's Maglev tables */
	__u32 flags;
};
_Static_assert(sizeof(struct gw_svc) == 8, "gw_svc ABI");

/* --- Maglev: array-of-maps, index GW_MAGLEV_SLOT(svc id, table, v6) ------ *
 * Table GW_MAGLEV_CLIENT balances flows from this site's clients over every
 * backend the service's affinity allows (local and remote); table
 * GW_MAGLEV_PEER balances flows that arrive from another site over local
 * backends only. Each exists per address family, so a dual-stack service
 * sends IPv4 flows to IPv4 backends and IPv6 flows to IPv6 ones. Inner maps
 * are u32 arrays: [0] = table size m, [1..m] = backend ids; replaced whole. */
#define GW_MAGLEV_CLIENT		  0
#define GW_MAGLEV_PEER			  1
#define GW_MAGLEV_TABLES		  4
#define GW_MAGLEV_SLOT(svc_id, table, v6) ((svc_id)*GW_MAGLEV_TABLES + (table)*2 + (v6))

/* --- backends: array by backend id -------------------------------------- */
#define GW_BE_F_REMOTE (1u << 0) /* lives in another site: encapsulate */
/* failed its health check, so it is in no table; the data plane never reads
 * it: it is how a restarted gatewayd knows that (gw_apply_take_over) */
#define GW_BE_F_DOWN (1u << 1)

struct gw_backend {
	__be32 addr[4];
	__be16 port; /* 0: the port the client connected to */
	__u8 family;
	__u8 _pad0;
	__u16 site_id;
	__u16 peer_id; /* remote backends: the gateway that fronts them */
	__u32 flags;
};
_Static_assert(sizeof(struct gw_backend) == 28, "gw_backend ABI");

/* --- peers: array by peer id (0 is never a peer) ------------------------- */
#define GW_PEER_F_UP	  (1u << 0)
#define GW_PEER_F_ENCRYPT (1u << 1)

struct gw_peer {
	__be32 addr; /* underlay IPv4 address */
	__u16 site_id;
	__u16 flags;
};
_Static_assert(sizeof(struct gw_peer) == 8, "gw_peer ABI");

/* peer_by_addr: hash __be32 underlay address -> __u32 peer id */

/* --- identities -------------------------------------------------------- */
struct gw_lpm4_key {
	__u32 prefixlen;
	__be32 addr;
};
_Static_assert(sizeof(struct gw_lpm4_key) == 8, "gw_lpm4_key ABI");

struct gw_lpm6_key {
	__u32 prefixlen;
	__be32 addr[4];
};
_Static_assert(sizeof(struct gw_lpm6_key) == 20, "gw_lpm6_key ABI");

/* Identities are site-scoped: a site's own range is site_id << 16 | n, and
 * n = 0 is the site's default identity (sources that match no CIDR). */
#define GW_SITE_IDENTITY(site_id) ((__u32)(site_id) << 16)

/* gw_identities: hash __u32 identity -> gw_identity (overrides the range) */
struct gw_identity {
	__u16 site_id; /* the only site whose gateways may assert it */
	__u16 flags;
};
_Static_assert(sizeof(struct gw_identity) == 4, "gw_identity ABI");

/* policy: hash gw_policy_key -> __u32 (1 = allow) */
struct gw_policy_key {
	__u32 identity;
	__u32 svc_id;
};
_Static_assert(sizeof(struct gw_policy_key) == 8, "gw_policy_key ABI");

/* --- conntrack: LRU hash ------------------------------------------------- *
 * One entry per direction. zone is the site a packet arrived from (0: this
 * site's internal side), so identical inner tuples from two sites with
 * overlapping CIDRs never meet. */
struct gw_ct_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 zone;
};
_Static_assert(sizeof(struct gw_ct_key) == 40, "gw_ct_key ABI");

#define GW_CT_F_NAT_SRC (1u << 0) /* rewrite source to nat_src:nat_sport */
#define GW_CT_F_NAT_DST (1u << 1) /* rewrite destination to nat_dst:nat_dport */
#define GW_CT_F_ENCAP	(1u << 2) /* send to peer out_peer in Geneve */
#define GW_CT_F_REPLY	(1u << 3) /* the reverse (reply) entry of a flow */
#define GW_CT_F_CLOSING (1u << 4) /* TCP FIN or RST seen: the entry ends soon */

/* How long an entry is owned after its last packet (then a new flow may take
 * its SNAT port, or its tuple starts a new flow): closed TCP, and idle. */
#define GW_CT_CLOSED_NS (10ull * 1000000000)
#define GW_CT_IDLE_NS	(300ull * 1000000000)
#define GW_CT_TOUCH_NS	(1000000000ull) /* last_seen is refreshed at most this often */

struct gw_ct {
	__be32 nat_src[4];
	__be32 nat_dst[4];
	__be16 nat_sport;
	__be16 nat_dport;
	__u16 flags;
	__u16 out_peer;
	__u32 backend_id;
	__u32 svc_id;
	__u32 identity;
	__u64 last_seen_ns;
	__u64 packets;
};
_Static_assert(sizeof(struct gw_ct) == 72, "gw_ct ABI");

/* --- flow cache: per-CPU arrays, two-way set-associative, not pinned -----
 * What the conntrack path decided for a flow's last packet, with the next
 * hop the FIB gave it, so that the flow's next packets skip conntrack, the
 * flow hash and bpf_fib_lookup (include/gw/pipeline/flowc.h). An entry
 * holds while gw_epoch[0] is the epoch it was filled under, for at most
 * GW_CT_TOUCH_NS. A slot is the family-independent head followed by four
 * addresses of the family's width: source, destination, NAT source, NAT
 * destination. */
struct gw_flowc_head {
	__be16 sport;
	__be16 dport;
	__u16 zone;
	__u8 proto;
	__u8 _pad;
	__u32 epoch; /* 0: empty */
	__u32 stamp; /* gw_ctx_now() >> GW_FLOWC_STAMP_SHIFT when filled */
	__u32 hash;  /* the flow hash (Geneve source port) */
	__u16 ct_flags;
	__u16 out_peer;
	__be16 nat_sport;
	__be16 nat_dport;
	__u32 identity;
	__u16 ifindex; /* egress; a larger ifindex is not cached */
	__u16 max_len; /* largest IP length the FIB passed for this next hop */
	__u8 dmac[6];
	__u8 smac[6];
};
_Static_assert(sizeof(struct gw_flowc_head) == 48, "gw_flowc_head ABI");

/* IPv4: one cache line. */
struct gw_flowc {
	struct gw_flowc_head h;
	__be32 addr[4];
};
_Static_assert(sizeof(struct gw_flowc) == 64, "gw_flowc: one cache line");

/* IPv6: two cache lines. */
struct gw_flowc6 {
	struct gw_flowc_head h;
	__be32 addr[16];
	__u8 _pad[16];
};
_Static_assert(sizeof(struct gw_flowc6) == 128, "gw_flowc6: two cache lines");

#define GW_FLOWC_STAMP_SHIFT 20 /* stamps in units of ~1.05 ms */

/* --- counters: per-CPU array by enum gw_reason --------------------------- */
struct gw_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct gw_counter) == 16, "gw_counter ABI");

/* --- wire formats -------------------------------------------------------- */
#define GW_GENEVE_PORT 6081
#define GW_PROBE_PORT  6082

/* Geneve option carrying the source identity. Class 0xFFF1 lies in the
 * experimental range of the IANA Geneve option class registry. */
#define GW_GENEVE_OPT_CLASS	    0xFFF1
#define GW_GENEVE_OPT_TYPE_IDENTITY 0x49
#define GW_GENEVE_OPT_LEN_WORDS	    2 /* 8 bytes of data */

struct gw_geneve_hdr {
	__u8 opt_len_ver; /* version (2 bits) | option length in 4-byte words (6 bits) */
	__u8 flags;	  /* O | C | reserved */
	__be16 proto;	  /* 0x0800 / 0x86DD: no inner Ethernet */
	__u8 vni[3];	  /* sending site id */
	__u8 _rsvd;
};
_Static_assert(sizeof(struct gw_geneve_hdr) == 8, "gw_geneve_hdr ABI");

struct gw_geneve_opt_identity {
	__be16 opt_class;
	__u8 type;
	__u8 len; /* reserved (3 bits) | length in 4-byte words (5 bits) */
	__be32 identity;
	__be16 site_id;
	__be16 flags;
};
_Static_assert(sizeof(struct gw_geneve_opt_identity) == 12, "gw_geneve_opt_identity ABI");

#define GW_TUNNEL_OVERHEAD (20 + 8 + 8 + 12) /* outer IPv4 + UDP + Geneve + option */

#define GW_PROBE_MAGIC	   0x49535450 /* "ISTP" */
#define GW_PROBE_F_REPLY   1

struct gw_probe {
	__be32 magic;
	__be16 site_id; /* of the sender of the request */
	__be16 flags;
	__be32 seq;
	__be32 _pad0;
	__be64 sent_ns; /* opaque to the responder, echoed back */
};
_Static_assert(sizeof(struct gw_probe) == 24, "gw_probe ABI");

#endif
