/* The syntax of configuration values: names, interface names, trust
 * domains, URLs, paths, labels, HTTP methods and paths; parsing and
 * formatting of addresses, networks, port ranges and endpoints. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gw/config.h"

/* ---- value syntax ---------------------------------------------------- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A DNS label: it ends up in SPIFFE IDs and etcd keys. */
static bool valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > GW_CONFIG_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool valid_ifname(const char *s)
{
	size_t i;

	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; s[i]; i++)
		if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || s[i] == 0x7f)
			return false;
	return true;
}

/* SPIFFE trust domain: lowercase letters, digits, '.', '-', '_'. */
static bool valid_trust_domain(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static bool valid_port_text(const char *s, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* http(s)://HOST[:PORT] with HOST a name, an IPv4 address or [IPv6]. */
static bool valid_url(const char *s)
{
	const char *h, *end, *colon;
	size_t i;

	if (!strncmp(s, "http://", 7))
		h = s + 7;
	else if (!strncmp(s, "https://", 8))
		h = s + 8;
	else
		return false;
	end = h + strlen(h);
	if (end > h && end[-1] == '/')
		end--;
	if (*h == '[') {
		char a[64];
		unsigned char b[16];
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb || (size_t)(rb - h - 1) >= sizeof(a))
			return false;
		memcpy(a, h + 1, (size_t)(rb - h - 1));
		a[rb - h - 1] = '\0';
		if (inet_pton(AF_INET6, a, b) != 1)
			return false;
		colon = rb + 1;
		if (colon == end)
			return true;
		return *colon == ':' && valid_port_text(colon + 1, (size_t)(end - colon - 1));
	}
	colon = memchr(h, ':', (size_t)(end - h));
	if (!colon)
		colon = end;
	if (colon == h)
		return false;
	for (i = 0; h + i < colon; i++)
		if (!is_alnum(h[i]) && h[i] != '.' && h[i] != '-')
			return false;
	return colon == end || valid_port_text(colon + 1, (size_t)(end - colon - 1));
}

static bool valid_abs_path(const char *s)
{
	size_t i;

	if (s[0] != '/')
		return false;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool valid_etcd_prefix(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 2 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//"))
		return false;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("._/-", s[i]))
			return false;
	return true;
}

/* key=value as in Kubernetes: key [A-Za-z0-9._/-] from a letter or digit,
 * value [A-Za-z0-9._-], possibly empty. */
static bool valid_label(const char *s)
{
	const char *eq = strchr(s, '=');
	const char *p;

	if (!eq || eq == s || !is_alnum(s[0]))
		return false;
	for (p = s; p < eq; p++)
		if (!is_alnum(*p) && !strchr("._/-", *p))
			return false;
	for (p = eq + 1; *p; p++)
		if (!is_alnum(*p) && !strchr("._-", *p))
			return false;
	return true;
}

static bool valid_http_method(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

static bool valid_http_path(const char *s)
{
	size_t i;

	if (s[0] != '/')
		return false;
	for (i = 0; s[i]; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	return true;
}

bool gw_ip_is_unicast(const struct gw_ip *ip)
{
	static const uint8_t zero[16];
	const uint8_t *a = ip->addr;

	if (ip->family == AF_INET)
		return a[0] != 0 && a[0] != 127 && a[0] < 224;
	if (!memcmp(a, zero, 16) || a[0] == 0xff)
		return false;
	return memcmp(a, zero, 15) || a[15] != 1; /* ::1 */
}

int gw_ip_parse(const char *s, struct gw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->addr) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *gw_ip_format(const struct gw_ip *ip, char *buf, size_t len)
{
	if (!ip->family || !inet_ntop(ip->family, ip->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int gw_cidr_parse(const char *s, struct gw_cidr *c, char *hint, size_t hint_len)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	unsigned long len = 0;
	unsigned int i, max;
	const char *p;
	bool host = false;

	memset(c, 0, sizeof(*c));
	if (!slash || (size_t)(slash - s) >= sizeof(a) || !slash[1] || strlen(slash + 1) > 3)
		return -EINVAL;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (gw_ip_parse(a, &c->addr))
		return -EINVAL;
	for (p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		len = len * 10 + (unsigned long)(*p - '0');
	}
	max = c->addr.family == AF_INET ? 32 : 128;
	if (len > max) {
		snprintf(hint, hint_len, "prefix length is at most %u", max);
		return -EINVAL;
	}
	c->prefix_len = (uint8_t)len;
	for (i = 0; i < 16; i++) {
		unsigned int bits = i * 8 >= len ? 0 : (len - i * 8 >= 8 ? 8 : len - i * 8);
		uint8_t mask = (uint8_t)(0xff00 >> bits);

		if (c->addr.addr[i] & ~mask) {
			host = true;
			c->addr.addr[i] &= mask;
		}
	}
	if (host) {
		char n[INET6_ADDRSTRLEN];

		snprintf(hint, hint_len, "host bits are set; did you mean %s/%lu?",
			 gw_ip_format(&c->addr, n, sizeof(n)), len);
		return -EINVAL;
	}
	return 0;
}

static int port_parse(const char *s, size_t n, uint16_t *ret, char *hint, size_t hint_len)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		snprintf(hint, hint_len, "port %lu is out of 1..65535", v);
		return -ERANGE;
	}
	*ret = (uint16_t)v;
	return 0;
}

/* PORT[-PORT][/PROTO]; the protocol defaults to tcp. */
int gw_port_range_parse(const char *s, struct gw_port_range *r, char *hint, size_t hint_len)
{
	const char *slash = strchr(s, '/');
	const char *dash;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	memset(r, 0, sizeof(*r));
	r->proto = GW_PROTO_TCP;
	if (slash) {
		if (!strcmp(slash + 1, "tcp"))
			r->proto = GW_PROTO_TCP;
		else if (!strcmp(slash + 1, "udp"))
			r->proto = GW_PROTO_UDP;
		else if (!strcmp(slash + 1, "sctp"))
			r->proto = GW_PROTO_SCTP;
		else
			return -EINVAL;
	}
	dash = memchr(s, '-', n);
	if (!dash) {
		if (port_parse(s, n, &r->lo, hint, hint_len))
			return -EINVAL;
		r->hi = r->lo;
		return 0;
	}
	if (port_parse(s, (size_t)(dash - s), &r->lo, hint, hint_len) ||
	    port_parse(dash + 1, n - (size_t)(dash - s) - 1, &r->hi, hint, hint_len))
		return -EINVAL;
	if (r->lo > r->hi) {
		snprintf(hint, hint_len, "range start %u is above its end %u", r->lo, r->hi);
		return -EINVAL;
	}
	return 0;
}

/* ADDR:PORT or [ADDR6]:PORT; any address, including 0.0.0.0 and loopback. */
int gw_endpoint_parse(const char *s, struct gw_endpoint *e)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *colon, *as = s;
	size_t n;
	char hint[64];

	memset(e, 0, sizeof(*e));
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		as = s + 1;
		n = (size_t)(rb - as);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (n >= sizeof(a))
		return -EINVAL;
	memcpy(a, as, n);
	a[n] = '\0';
	if (gw_ip_parse(a, &e->addr) || (*s == '[') != (e->addr.family == AF_INET6))
		return -EINVAL;
	return port_parse(colon + 1, strlen(colon + 1), &e->port, hint, sizeof(hint)) ? -EINVAL : 0;
}

bool gw_config_syntax_ok(enum gw_syntax syntax, const char *s)
{
	switch (syntax) {
	case GW_SYNTAX_NAME:
		return valid_name(s);
	case GW_SYNTAX_IFNAME:
		return valid_ifname(s);
	case GW_SYNTAX_TRUST_DOMAIN:
		return valid_trust_domain(s);
	case GW_SYNTAX_URL:
		return valid_url(s);
	case GW_SYNTAX_ABS_PATH:
		return valid_abs_path(s);
	case GW_SYNTAX_ETCD_PREFIX:
		return valid_etcd_prefix(s);
	case GW_SYNTAX_LABEL:
		return valid_label(s);
	case GW_SYNTAX_HTTP_METHOD:
		return valid_http_method(s);
	case GW_SYNTAX_HTTP_PATH:
		return valid_http_path(s);
	}
	return false;
}

const char *gw_cidr_format(const struct gw_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", gw_ip_format(&c->addr, a, sizeof(a)), c->prefix_len);
	return buf;
}

const char *gw_port_range_format(const struct gw_port_range *r, char *buf, size_t len)
{
	const char *p = gw_proto_name(r->proto);

	if (r->lo == r->hi)
		snprintf(buf, len, "%u/%s", r->lo, p);
	else
		snprintf(buf, len, "%u-%u/%s", r->lo, r->hi, p);
	return buf;
}

const char *gw_endpoint_format(const struct gw_endpoint *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	gw_ip_format(&e->addr, a, sizeof(a));
	if (e->addr.family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, e->port);
	else
		snprintf(buf, len, "%s:%u", a, e->port);
	return buf;
}
