/* The standard one-site topology of the native pipeline tests: this gateway
 * in site 1, its peers, services, backends, identities and routes, and the
 * GWT_* addresses and ids that name them; gwt_topology() writes it into a
 * context of pipeline_ctx.h. */
#ifndef GW_TESTS_PIPELINE_TOPO_H
#define GW_TESTS_PIPELINE_TOPO_H

#include <string.h>

#include "pipeline_ctx.h"

/* --- the standard topology ---------------------------------------------------- *
 * This gateway is in site 1; peer 1 is site 2's gateway. Addresses are
 * network order in word 0 (IPv4) or all four words (IPv6). */
#define GWT_IP4(a, b, c, d) gw_htonl(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define GWT_A4(a, b, c, d)  ((const __be32[4]){GWT_IP4(a, b, c, d), 0, 0, 0})
/* fdXX:YY::ZZ */
#define GWT_A6(x, y, z)                                                                            \
	((const __be32[4]){gw_htonl(0xfd000000u | ((x) << 16) | (y)), 0, 0, gw_htonl(z)})

#define GWT_SITE	   1
#define GWT_PEER_SITE	   2
#define GWT_PEER_ID	   1
#define GWT_PEER_DOWN_ID   2 /* site 3's gateway, known but down */
#define GWT_ID_SITE(s)	   GW_SITE_IDENTITY(s)
#define GWT_ID_CLIENTS	   (GWT_ID_SITE(GWT_SITE) | 1) /* 10.10.0.0/16 */
#define GWT_ID_PEER	   (GWT_ID_SITE(GWT_PEER_SITE))

#define GWT_INT4	   GWT_IP4(10, 1, 0, 1)	  /* SNAT address */
#define GWT_EXT4	   GWT_IP4(192, 0, 2, 1)  /* tunnel source */
#define GWT_PEER4	   GWT_IP4(192, 0, 2, 2)  /* peer 1 */
#define GWT_PEER_DOWN4	   GWT_IP4(192, 0, 2, 3)  /* peer 2 (down) */
#define GWT_VIP4	   GWT_IP4(10, 96, 0, 10) /* svc 1 tcp/80 local, svc 3 udp/53 local */
#define GWT_VIP6	   GWT_A6(96, 0, 0x10)	  /* svc 1 tcp/80 (dual stack), svc 3 udp/53 */
#define GWT_VIP4_REMOTE	   GWT_IP4(10, 96, 0, 11) /* svc 2 tcp/443: remote backend */
#define GWT_VIP4_POLICY	   GWT_IP4(10, 96, 0, 12) /* svc 4 tcp/80 with policy */
#define GWT_VIP4_L7	   GWT_IP4(10, 96, 0, 13) /* svc 5 tcp/80 L7 */
#define GWT_VIP4_DOWN	   GWT_IP4(10, 96, 0, 14) /* svc 7 tcp/80: backend behind peer 2 */
#define GWT_VIP4_EMPTY	   GWT_IP4(10, 96, 0, 15) /* svc 8 tcp/80: no backends */
#define GWT_VIP4_ANYPORT   GWT_IP4(10, 96, 0, 16) /* svc 9 tcp/8443: backend port 0 */
#define GWT_BE4		   GWT_IP4(10, 1, 1, 10)  /* backend 1, port 8080 */
#define GWT_BE4_REMOTE	   GWT_IP4(10, 2, 1, 10)  /* backend 2, site 2 */
#define GWT_CLIENT4	   GWT_IP4(10, 10, 0, 5)
#define GWT_REMOTE_CLIENT4 GWT_IP4(10, 20, 0, 5) /* a client in site 2 */
#define GWT_BE_PORT	   8080
#define GWT_SNAT_MIN	   40000
#define GWT_SNAT_MAX	   40999
#define GWT_TUNNEL_MTU	   1500

#define GWT_SVC_LOCAL	   1
#define GWT_SVC_REMOTE	   2
#define GWT_SVC_UDP	   3
#define GWT_SVC_POLICY	   4
#define GWT_SVC_L7	   5
#define GWT_SVC_DOWN	   7
#define GWT_SVC_EMPTY	   8
#define GWT_SVC_ANYPORT	   9

#define GWT_BE_LOCAL	   1
#define GWT_BE_REMOTE	   2
#define GWT_BE_V6	   3
#define GWT_BE_UDP	   4
#define GWT_BE_DOWN	   5
#define GWT_BE_ANYPORT	   6 /* 10.1.1.20, port 0 */

#define GWT_IF_INT	   2
#define GWT_IF_EXT	   3

static const __u8 gwt_mac_int[6] = {0x02, 0, 0, 0, 0x01, 0x01};	   /* our internal NIC */
static const __u8 gwt_mac_ext[6] = {0x02, 0, 0, 0, 0x01, 0x02};	   /* our external NIC */
static const __u8 gwt_mac_hostA[6] = {0x02, 0, 0, 0, 0x0a, 0x01};  /* next hop inside */
static const __u8 gwt_mac_router[6] = {0x02, 0, 0, 0, 0x0b, 0x01}; /* underlay router */

static inline void gwt_cfg_default(struct gw_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->abi_version = GW_ABI_VERSION;
	cfg->site_id = GWT_SITE;
	cfg->flags = GW_CFG_F_HAVE_V6;
	cfg->int_ifindex = GWT_IF_INT;
	cfg->ext_ifindex = GWT_IF_EXT;
	cfg->int_addr4 = GWT_INT4;
	cfg->ext_addr4 = GWT_EXT4;
	memcpy(cfg->int_addr6, GWT_A6(1, 0, 1), 16);
	cfg->geneve_port = gw_htons(GW_GENEVE_PORT);
	cfg->probe_port = gw_htons(GW_PROBE_PORT);
	cfg->snat_port_min = GWT_SNAT_MIN;
	cfg->snat_port_max = GWT_SNAT_MAX;
	cfg->tunnel_mtu = GWT_TUNNEL_MTU;
	cfg->default_identity = GWT_ID_SITE(GWT_SITE);
}

static inline void gwt_maglev_one(struct gw_ctx *c, __u32 svc, __u32 table, int v6, __u32 be)
{
	gwt_maglev_set(c, GW_MAGLEV_SLOT(svc, table, v6), &be, 1);
}

/* Services, backends, a peer, identities and routes of site 1. */
static inline void gwt_topology(struct gw_ctx *c)
{
	gwt_cfg_default(&c->cfg);
	c->have_cfg = 1;
	c->now = 1000000000ull;

	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 10), 80, IPPROTO_TCP, GWT_SVC_LOCAL, 0);
	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 11), 443, IPPROTO_TCP, GWT_SVC_REMOTE, 0);
	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 10), 53, IPPROTO_UDP, GWT_SVC_UDP, 0);
	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 12), 80, IPPROTO_TCP, GWT_SVC_POLICY,
		    GW_SVC_F_POLICY);
	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 13), 80, IPPROTO_TCP, GWT_SVC_L7, GW_SVC_F_L7);
	gwt_svc_add(c, GW_AF_INET6, GWT_VIP6, 80, IPPROTO_TCP, GWT_SVC_LOCAL, 0);
	gwt_svc_add(c, GW_AF_INET6, GWT_VIP6, 53, IPPROTO_UDP, GWT_SVC_UDP, 0); /* no v6 backend */
	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 16), 8443, IPPROTO_TCP, GWT_SVC_ANYPORT, 0);
	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 14), 80, IPPROTO_TCP, GWT_SVC_DOWN, 0);
	gwt_svc_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 15), 80, IPPROTO_TCP, GWT_SVC_EMPTY, 0);
	gwt_vip_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 10));
	gwt_vip_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 11));
	gwt_vip_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 12));
	gwt_vip_add(c, GW_AF_INET, GWT_A4(10, 96, 0, 13));
	gwt_vip_add(c, GW_AF_INET6, GWT_VIP6);

	gwt_backend_set(c, GWT_BE_LOCAL, GW_AF_INET, GWT_A4(10, 1, 1, 10), GWT_BE_PORT, GWT_SITE, 0,
			0);
	gwt_backend_set(c, GWT_BE_REMOTE, GW_AF_INET, GWT_A4(10, 2, 1, 10), GWT_BE_PORT,
			GWT_PEER_SITE, GWT_PEER_ID, GW_BE_F_REMOTE);
	gwt_backend_set(c, GWT_BE_V6, GW_AF_INET6, GWT_A6(1, 1, 0x10), GWT_BE_PORT, GWT_SITE, 0, 0);
	gwt_backend_set(c, GWT_BE_UDP, GW_AF_INET, GWT_A4(10, 1, 1, 53), 5353, GWT_SITE, 0, 0);
	gwt_backend_set(c, GWT_BE_DOWN, GW_AF_INET, GWT_A4(10, 3, 1, 10), GWT_BE_PORT, 3,
			GWT_PEER_DOWN_ID, GW_BE_F_REMOTE);
	gwt_backend_set(c, GWT_BE_ANYPORT, GW_AF_INET, GWT_A4(10, 1, 1, 20), 0, GWT_SITE, 0, 0);

	gwt_maglev_one(c, GWT_SVC_LOCAL, GW_MAGLEV_CLIENT, 0, GWT_BE_LOCAL);
	gwt_maglev_one(c, GWT_SVC_LOCAL, GW_MAGLEV_PEER, 0, GWT_BE_LOCAL);
	gwt_maglev_one(c, GWT_SVC_LOCAL, GW_MAGLEV_CLIENT, 1, GWT_BE_V6);
	gwt_maglev_one(c, GWT_SVC_LOCAL, GW_MAGLEV_PEER, 1, GWT_BE_V6);
	gwt_maglev_one(c, GWT_SVC_REMOTE, GW_MAGLEV_CLIENT, 0, GWT_BE_REMOTE);
	/* misconfigured on purpose: the pipeline must refuse to relay */
	gwt_maglev_one(c, GWT_SVC_REMOTE, GW_MAGLEV_PEER, 0, GWT_BE_REMOTE);
	gwt_maglev_one(c, GWT_SVC_UDP, GW_MAGLEV_CLIENT, 0, GWT_BE_UDP);
	gwt_maglev_one(c, GWT_SVC_UDP, GW_MAGLEV_PEER, 0, GWT_BE_UDP);
	gwt_maglev_one(c, GWT_SVC_POLICY, GW_MAGLEV_CLIENT, 0, GWT_BE_LOCAL);
	gwt_maglev_one(c, GWT_SVC_POLICY, GW_MAGLEV_PEER, 0, GWT_BE_LOCAL);
	gwt_maglev_one(c, GWT_SVC_DOWN, GW_MAGLEV_CLIENT, 0, GWT_BE_DOWN);
	gwt_maglev_one(c, GWT_SVC_ANYPORT, GW_MAGLEV_CLIENT, 0, GWT_BE_ANYPORT);

	gwt_peer_set(c, GWT_PEER_ID, GWT_PEER4, GWT_PEER_SITE, GW_PEER_F_UP);
	gwt_peer_set(c, GWT_PEER_DOWN_ID, GWT_PEER_DOWN4, 3, 0);

	gwt_src_ident_add(c, GW_AF_INET, GWT_A4(10, 10, 0, 0), 16, GWT_ID_CLIENTS);
	gwt_ident_add(c, GWT_ID_SITE(GWT_SITE), GWT_SITE);
	gwt_ident_add(c, GWT_ID_CLIENTS, GWT_SITE);
	gwt_ident_add(c, GWT_ID_PEER, GWT_PEER_SITE);
	gwt_ident_add(c, GWT_ID_SITE(3), 3);
	gwt_policy_add(c, GWT_ID_CLIENTS, GWT_SVC_POLICY);

	gwt_route_add(c, GW_AF_INET, GWT_A4(10, 0, 0, 0), 8, GWT_ROUTE_OK, GWT_IF_INT, gwt_mac_int,
		      gwt_mac_hostA);
	gwt_route_add(c, GW_AF_INET, GWT_A4(192, 0, 2, 0), 24, GWT_ROUTE_OK, GWT_IF_EXT,
		      gwt_mac_ext, gwt_mac_router);
	gwt_route_add(c, GW_AF_INET6, GWT_A6(0, 0, 0), 8, GWT_ROUTE_OK, GWT_IF_INT, gwt_mac_int,
		      gwt_mac_hostA);
}

#endif
