/* Verdicts and drop reasons of the data plane: one X-macro list that generates
 * the enum, the names gwctl prints and the metric labels. */
#ifndef GW_ABI_REASONS_H
#define GW_ABI_REASONS_H

#include <linux/types.h>

/* X(symbol, "name", "what it means") — order is ABI: append only. */
/* clang-format off */
#define GW_REASONS(X)                                                                   \
	X(PASS, "pass", "not ours: handed to the kernel stack")                          \
	X(FWD_LOCAL, "fwd_local", "new or tracked flow forwarded to a local backend")     \
	X(FWD_REMOTE, "fwd_remote", "flow encapsulated to a remote gateway")              \
	X(REPLY_LOCAL, "reply_local", "reply delivered back to a local client")           \
	X(REPLY_REMOTE, "reply_remote", "reply encapsulated back to the client's gateway") \
	X(PROBE_REPLY, "probe_reply", "inter-gateway probe answered")                     \
	X(DROP_TRUNCATED, "drop_truncated", "a header runs past the end of the packet")   \
	X(DROP_BAD_IHL, "drop_bad_ihl", "IPv4 header length below 20 bytes")              \
	X(DROP_BAD_IP, "drop_bad_ip", "bad IP version or total length")                   \
	X(DROP_FRAGMENT, "drop_fragment", "fragment of a service flow (no L4 header)")    \
	X(DROP_IPV6_EXT, "drop_ipv6_ext", "too many or malformed IPv6 extension headers") \
	X(DROP_UNKNOWN_PEER, "drop_unknown_peer", "Geneve from an address that is no peer") \
	X(DROP_BAD_GENEVE, "drop_bad_geneve", "malformed Geneve header or options")       \
	X(DROP_NO_IDENTITY, "drop_no_identity", "Geneve without the identity option")    \
	X(DROP_IDENTITY_SITE, "drop_identity_site", "identity does not belong to the sending site") \
	X(DROP_POLICY, "drop_policy", "denied by policy")                                 \
	X(DROP_NO_BACKEND, "drop_no_backend", "service has no usable backend")            \
	X(DROP_NO_PEER, "drop_no_peer", "backend's site has no reachable gateway")         \
	X(DROP_CT_FULL, "drop_ct_full", "conntrack insert failed")                        \
	X(DROP_SNAT_EXHAUSTED, "drop_snat_exhausted", "no free SNAT port")                 \
	X(DROP_FIB, "drop_fib", "no route for the rewritten packet")                      \
	X(DROP_NO_HEADROOM, "drop_no_headroom", "could not grow or shrink the packet")   \
	X(DROP_TOO_BIG, "drop_too_big", "too big for the tunnel or the next link, no ICMP sent") \
	X(DROP_UNSUPPORTED, "drop_unsupported", "protocol not balanced for this service") \
	X(DROP_NO_SERVICE, "drop_no_service", "tunnelled packet for no service and no flow") \
	X(DROP_PROBE, "drop_probe", "malformed probe, or one not from the probe port")   \
	X(ICMP_TOO_BIG, "icmp_too_big", "answered with ICMP frag-needed / packet-too-big")
/* clang-format on */

enum gw_reason {
#define GW_REASON_ENUM(sym, name, help) GW_R_##sym,
	GW_REASONS(GW_REASON_ENUM)
#undef GW_REASON_ENUM
		GW_R__COUNT
};

/* The drop reasons are DROP_TRUNCATED..DROP_PROBE; ICMP_TOO_BIG, appended
 * after them (the list is append-only), is a verdict again: the packet is
 * answered. Ask gw_reason_is_drop(), not the order. */
#define GW_R_FIRST_DROP GW_R_DROP_TRUNCATED
#define GW_R_LAST_DROP	GW_R_DROP_PROBE

static inline int gw_reason_is_drop(__u32 r)
{
	return r >= GW_R_FIRST_DROP && r <= GW_R_LAST_DROP;
}

#endif
