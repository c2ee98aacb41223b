/* Packet builder for the BPF tests: Ethernet, IPv4 (options, fragment field),
 * IPv6 (extension headers), TCP (flags, MSS option), UDP, ICMP/ICMPv6 (errors
 * with the packet they quote), SCTP, Geneve with options, and gateway
 * probes. Every length and checksum is computed from scratch with full
 * big-endian sums, never incrementally, so expected packets do not depend
 * on the pipeline's checksum code. */
#ifndef GW_TESTS_PKTBUILD_H
#define GW_TESTS_PKTBUILD_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_ether.h>

#include "gw/abi/maps.h"

#define PB_MAX 3072

struct pb_pkt {
	size_t len;
	uint8_t b[PB_MAX];
};

struct pb_spec;

/* One Geneve option. Its data is (len & 0x1f) words: identity, site and
 * flags first (the identity option's layout), zeros after. */
struct pb_gopt {
	uint16_t cls;
	uint8_t type;
	uint8_t len; /* the on-wire length field: data words (+ reserved bits) */
	uint32_t identity;
	uint16_t site;
	uint16_t flags;
};

#define PB_GOPT_IDENTITY(id, site_)                                                                \
	{                                                                                          \
		.cls = GW_GENEVE_OPT_CLASS, .type = GW_GENEVE_OPT_TYPE_IDENTITY,                   \
		.len = GW_GENEVE_OPT_LEN_WORDS, .identity = (id), .site = (site_)                  \
	}

#define PB_GENEVE_MAX_OPTS 6

struct pb_geneve {
	uint8_t ver;	/* 2 bits */
	uint8_t flags;	/* O = 0x80, C = 0x40 */
	uint16_t proto; /* 0: from the inner packet's family */
	uint32_t vni;
	uint8_t n_opts;
	struct pb_gopt opts[PB_GENEVE_MAX_OPTS];
	const struct pb_spec *inner; /* an IP packet: its Ethernet fields are ignored */
};

/* struct gw_probe, host order. */
struct pb_probe {
	uint32_t magic;
	uint16_t site;
	uint16_t flags;
	uint32_t seq;
	uint64_t sent_ns;
};

struct pb_ip {
	uint8_t family; /* 4 or 6; 0: no IP, raw bytes after Ethernet */
	const char *src, *dst;
	uint8_t ttl; /* 0: 64 */
	uint8_t tos; /* IPv4 TOS, IPv6 traffic class */
	uint16_t id;
	uint16_t frag;	  /* IPv4: flags|offset (0x4000 DF, 0x2000 MF); IPv6: the fragment
			   * header's offset<<3|M */
	uint8_t opts_len; /* IPv4 options, a multiple of 4 */
	const uint8_t *opts;
	uint8_t n_ext;	/* IPv6 extension headers, 8 bytes each, in this order */
	uint8_t ext[8]; /* IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT */
};

/* Ports are host order and wider than 16 bits so that a test can put a
 * placeholder there and resolve it before building (pb_build refuses
 * values above 0xffff). */
struct pb_l4 {
	uint8_t proto;
	uint32_t sport, dport; /* ICMP: the echo identifier in sport */
	uint8_t flags;	       /* TCP flags */
	uint32_t seq, ack;     /* TCP; ICMP: sequence; SCTP: verification tag */
	uint16_t mss;	       /* TCP MSS option (0: none) */
	uint8_t mss_nops;      /* NOPs before it: 1 puts the MSS value at an odd offset */
	uint8_t nocsum;	       /* UDP: checksum 0 */
	uint8_t icmp_type, icmp_code;
	uint16_t payload_len;		/* pattern bytes after the L4 header */
	const struct pb_probe *probe;	/* UDP payload: a gateway probe */
	const struct pb_geneve *geneve; /* UDP payload: Geneve and its inner packet */
	const struct pb_spec *quote;	/* ICMP error: the IP packet it quotes... */
	uint16_t quote_len;		/* ...cut to this many bytes (0: whole) */
};

struct pb_patch {
	uint16_t off;
	uint8_t val;
};

struct pb_spec {
	const uint8_t *dmac, *smac;
	uint16_t eth_type; /* 0: from ip.family */
	struct pb_ip ip;
	struct pb_l4 l4;
	const uint8_t *raw; /* ip.family == 0: the bytes after Ethernet */
	uint16_t raw_len;
	uint16_t trunc;	       /* cut the frame to this many bytes (0: keep) */
	uint8_t trunc_fix_len; /* ...and make the outer IP length field match */
	uint8_t n_patch;       /* bytes overwritten last (checksums are not redone) */
	struct pb_patch patch[4];
};

static inline void pb_die(const char *what, const char *detail)
{
	fprintf(stderr, "pktbuild: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static inline void pb_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pb_put32(uint8_t *p, uint32_t v)
{
	pb_put16(p, v >> 16);
	pb_put16(p + 2, v);
}

static inline uint16_t pb_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void pb_addr(uint8_t family, const char *txt, uint8_t *out16)
{
	memset(out16, 0, 16);
	if (!txt || inet_pton(family == 6 ? AF_INET6 : AF_INET, txt, out16) != 1)
		pb_die("bad address", txt);
}

/* One's complement sum of big-endian 16-bit words. */
static inline uint32_t pb_sum(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static inline uint16_t pb_csum(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline uint16_t pb_port(uint32_t v)
{
	if (v > 0xffff)
		pb_die("unresolved port placeholder", NULL);
	return (uint16_t)v;
}

static inline void pb_room(size_t need, size_t cap)
{
	if (need > cap)
		pb_die("packet too large", NULL);
}

static size_t pb_l3(const struct pb_spec *s, uint8_t *out, size_t cap);

static inline size_t pb_udp_payload(const struct pb_l4 *l, uint8_t *p, size_t cap)
{
	const struct pb_geneve *g = l->geneve;
	size_t n, i;

	if (l->probe) {
		pb_room(sizeof(struct gw_probe), cap);
		memset(p, 0, sizeof(struct gw_probe));
		pb_put32(p, l->probe->magic);
		pb_put16(p + 4, l->probe->site);
		pb_put16(p + 6, l->probe->flags);
		pb_put32(p + 8, l->probe->seq);
		pb_put32(p + 16, (uint32_t)(l->probe->sent_ns >> 32));
		pb_put32(p + 20, (uint32_t)l->probe->sent_ns);
		return sizeof(struct gw_probe);
	}
	if (!g) {
		pb_room(l->payload_len, cap);
		for (i = 0; i < l->payload_len; i++)
			p[i] = (uint8_t)(i * 7 + 1);
		return l->payload_len;
	}
	n = 8;
	pb_room(n, cap);
	p[2] = p[3] = 0;
	if (g->proto)
		pb_put16(p + 2, g->proto);
	else if (g->inner)
		pb_put16(p + 2, g->inner->ip.family == 6 ? ETH_P_IPV6 : ETH_P_IP);
	p[1] = g->flags;
	p[4] = (uint8_t)(g->vni >> 16);
	p[5] = (uint8_t)(g->vni >> 8);
	p[6] = (uint8_t)g->vni;
	p[7] = 0;
	for (i = 0; i < g->n_opts; i++) {
		const struct pb_gopt *o = &g->opts[i];
		size_t dlen = (size_t)(o->len & 0x1f) * 4;
		uint8_t data[8];

		pb_room(n + 4 + dlen, cap);
		pb_put16(p + n, o->cls);
		p[n + 2] = o->type;
		p[n + 3] = o->len;
		pb_put32(data, o->identity);
		pb_put16(data + 4, o->site);
		pb_put16(data + 6, o->flags);
		memset(p + n + 4, 0, dlen);
		memcpy(p + n + 4, data, dlen < 8 ? dlen : 8);
		n += 4 + dlen;
	}
	if ((n - 8) / 4 > 0x3f)
		pb_die("Geneve options too long", NULL);
	p[0] = (uint8_t)((g->ver & 3) << 6 | (n - 8) / 4);
	if (g->inner)
		n += pb_l3(g->inner, p + n, cap - n);
	return n;
}

/* The L4 header and payload, checksum field zero; returns the length. */
static inline size_t pb_l4(const struct pb_l4 *l, uint8_t *p, size_t cap)
{
	size_t n, i, optlen = 0;

	switch (l->proto) {
	case IPPROTO_TCP:
		if (l->mss)
			optlen = (l->mss_nops + 4 + 3) & ~3u;
		n = 20 + optlen;
		pb_room(n + l->payload_len, cap);
		memset(p, 0, n);
		pb_put16(p, pb_port(l->sport));
		pb_put16(p + 2, pb_port(l->dport));
		pb_put32(p + 4, l->seq);
		pb_put32(p + 8, l->ack);
		p[12] = (uint8_t)(n / 4 << 4);
		p[13] = l->flags;
		pb_put16(p + 14, 64240);
		if (l->mss) {
			for (i = 0; i < l->mss_nops; i++)
				p[20 + i] = 1; /* NOP */
			p[20 + i] = 2;
			p[21 + i] = 4;
			pb_put16(p + 22 + i, l->mss); /* EOL (0) pads the rest */
		}
		break;
	case IPPROTO_UDP:
		n = 8;
		pb_room(n, cap);
		pb_put16(p, pb_port(l->sport));
		pb_put16(p + 2, pb_port(l->dport));
		p[6] = p[7] = 0;
		n += pb_udp_payload(l, p + 8, cap - 8);
		pb_put16(p + 4, (uint32_t)n);
		return n;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		n = 8;
		pb_room(n + l->payload_len, cap);
		p[0] = l->icmp_type;
		p[1] = l->icmp_code;
		p[2] = p[3] = 0;
		pb_put16(p + 4, pb_port(l->sport));
		pb_put16(p + 6, l->seq);
		if (l->quote) {
			size_t q = pb_l3(l->quote, p + n, cap - n);

			n += l->quote_len && l->quote_len < q ? l->quote_len : q;
			pb_room(n + l->payload_len, cap);
		}
		break;
	case IPPROTO_SCTP: /* common header only; the CRC32c is left zero */
		n = 12;
		pb_room(n + l->payload_len, cap);
		memset(p, 0, n);
		pb_put16(p, pb_port(l->sport));
		pb_put16(p + 2, pb_port(l->dport));
		pb_put32(p + 4, l->seq);
		break;
	default:
		n = 0;
		pb_room(l->payload_len, cap);
		break;
	}
	for (i = 0; i < l->payload_len; i++)
		p[n + i] = (uint8_t)(i * 7 + 1);
	return n + l->payload_len;
}

/* Fill the L4 checksum; pseudo is the pseudo-header sum (0 for ICMPv4). */
static inline void pb_l4_csum(const struct pb_l4 *l, uint8_t *p, size_t n, uint32_t pseudo)
{
	uint16_t c;

	switch (l->proto) {
	case IPPROTO_TCP:
		pb_put16(p + 16, pb_csum(pb_sum(pseudo, p, n)));
		break;
	case IPPROTO_UDP:
		if (l->nocsum)
			break;
		c = pb_csum(pb_sum(pseudo, p, n));
		pb_put16(p + 6, c ? c : 0xffff);
		break;
	case IPPROTO_ICMP:
		pb_put16(p + 2, pb_csum(pb_sum(0, p, n)));
		break;
	case IPPROTO_ICMPV6:
		pb_put16(p + 2, pb_csum(pb_sum(pseudo, p, n)));
		break;
	default:
		break;
	}
}

static inline size_t pb_ipv4(const struct pb_spec *s, uint8_t *out, size_t cap)
{
	const struct pb_ip *ip = &s->ip;
	size_t hl = 20 + ip->opts_len, l4len;
	uint8_t src[16], dst[16], ph[12];

	if (ip->opts_len % 4 || hl > 60)
		pb_die("IPv4 options must be a multiple of 4, at most 40 bytes", NULL);
	pb_room(hl, cap);
	pb_addr(4, ip->src, src);
	pb_addr(4, ip->dst, dst);
	l4len = pb_l4(&s->l4, out + hl, cap - hl);
	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = s->l4.proto;
	pb_put16(ph + 10, (uint32_t)l4len);
	pb_l4_csum(&s->l4, out + hl, l4len, pb_sum(0, ph, 12));

	out[0] = (uint8_t)(0x40 | hl / 4);
	out[1] = ip->tos;
	pb_put16(out + 2, (uint32_t)(hl + l4len));
	pb_put16(out + 4, ip->id);
	pb_put16(out + 6, ip->frag);
	out[8] = ip->ttl ? ip->ttl : 64;
	out[9] = s->l4.proto;
	out[10] = out[11] = 0;
	memcpy(out + 12, src, 4);
	memcpy(out + 16, dst, 4);
	if (ip->opts_len)
		memcpy(out + 20, ip->opts, ip->opts_len);
	pb_put16(out + 10, pb_csum(pb_sum(0, out, hl)));
	return hl + l4len;
}

static inline size_t pb_ipv6(const struct pb_spec *s, uint8_t *out, size_t cap)
{
	const struct pb_ip *ip = &s->ip;
	size_t hl = 40 + 8 * (size_t)ip->n_ext, l4len, i;
	uint8_t src[16], dst[16], ph[40];

	if (ip->n_ext > sizeof(ip->ext))
		pb_die("too many IPv6 extension headers", NULL);
	pb_room(hl, cap);
	pb_addr(6, ip->src, src);
	pb_addr(6, ip->dst, dst);
	l4len = pb_l4(&s->l4, out + hl, cap - hl);
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	pb_put32(ph + 32, (uint32_t)l4len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = s->l4.proto;
	pb_l4_csum(&s->l4, out + hl, l4len, pb_sum(0, ph, 40));

	out[0] = (uint8_t)(0x60 | ip->tos >> 4);
	out[1] = (uint8_t)(ip->tos << 4);
	out[2] = out[3] = 0;
	pb_put16(out + 4, (uint32_t)(hl - 40 + l4len));
	out[6] = ip->n_ext ? ip->ext[0] : s->l4.proto;
	out[7] = ip->ttl ? ip->ttl : 64;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
	for (i = 0; i < ip->n_ext; i++) {
		uint8_t *e = out + 40 + 8 * i;

		e[0] = i + 1 < ip->n_ext ? ip->ext[i + 1] : s->l4.proto;
		if (ip->ext[i] == IPPROTO_FRAGMENT) {
			e[1] = 0;
			pb_put16(e + 2, ip->frag);
			pb_put32(e + 4, 0x1234u + (uint32_t)ip->id);
		} else { /* Hop-by-hop / destination options: one PadN */
			e[1] = 0;
			e[2] = 1;
			e[3] = 4;
			memset(e + 4, 0, 4);
		}
	}
	return hl + l4len;
}

static size_t pb_l3(const struct pb_spec *s, uint8_t *out, size_t cap)
{
	if (s->ip.family == 4)
		return pb_ipv4(s, out, cap);
	if (s->ip.family == 6)
		return pb_ipv6(s, out, cap);
	pb_room(s->raw_len, cap);
	if (s->raw_len)
		memcpy(out, s->raw, s->raw_len);
	return s->raw_len;
}

/* The whole frame, then the deliberate damage: truncation and patches. */
static inline void pb_build(const struct pb_spec *s, struct pb_pkt *pkt)
{
	uint8_t *b = pkt->b;
	uint16_t type = s->eth_type;
	size_t i;

	memset(pkt, 0, sizeof(*pkt));
	if (!type)
		type = s->ip.family == 6 ? ETH_P_IPV6 : ETH_P_IP;
	if (!s->dmac || !s->smac)
		pb_die("Ethernet addresses missing", NULL);
	memcpy(b, s->dmac, 6);
	memcpy(b + 6, s->smac, 6);
	pb_put16(b + 12, type);
	pkt->len = 14 + pb_l3(s, b + 14, sizeof(pkt->b) - 14);

	if (s->trunc && s->trunc < pkt->len) {
		pkt->len = s->trunc;
		memset(b + pkt->len, 0, sizeof(pkt->b) - pkt->len);
		if (s->trunc_fix_len && s->ip.family == 4 && pkt->len >= 34) {
			pb_put16(b + 16, (uint32_t)(pkt->len - 14));
			b[24] = b[25] = 0;
			pb_put16(b + 24, pb_csum(pb_sum(0, b + 14, (size_t)(b[14] & 15) * 4)));
		} else if (s->trunc_fix_len && s->ip.family == 6 && pkt->len >= 54) {
			pb_put16(b + 18, (uint32_t)(pkt->len - 54));
		}
	}
	for (i = 0; i < s->n_patch; i++) {
		if (s->patch[i].off >= pkt->len)
			pb_die("patch past the end of the packet", NULL);
		b[s->patch[i].off] = s->patch[i].val;
	}
}

/* Both frames in hex, 16 bytes a line, differing bytes in brackets; lines
 * that agree are left out. */
static inline void pb_hexdiff(FILE *f, const uint8_t *want, size_t wlen, const uint8_t *got,
			      size_t glen)
{
	size_t max = wlen > glen ? wlen : glen, row, i;

	fprintf(f, "  length: want %zu, got %zu\n", wlen, glen);
	for (row = 0; row < max; row += 16) {
		int differs = 0;

		for (i = row; i < row + 16 && i < max; i++)
			if (i >= wlen || i >= glen || want[i] != got[i])
				differs = 1;
		if (!differs)
			continue;
		fprintf(f, "  %04zx want:", row);
		for (i = row; i < row + 16 && i < max; i++) {
			int d = i >= wlen || i >= glen || want[i] != got[i];

			if (i < wlen)
				fprintf(f, d ? "[%02x]" : " %02x ", want[i]);
			else
				fprintf(f, " -- ");
		}
		fprintf(f, "\n  %04zx  got:", row);
		for (i = row; i < row + 16 && i < max; i++) {
			int d = i >= wlen || i >= glen || want[i] != got[i];

			if (i < glen)
				fprintf(f, d ? "[%02x]" : " %02x ", got[i]);
			else
				fprintf(f, " -- ");
		}
		fprintf(f, "\n");
	}
}

#endif
