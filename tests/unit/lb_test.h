/* What the load-balancing unit tests (test_lb.c, test_lb_ids.c) share: a
 * config of four services over three sites, a balancer built from it, and
 * the sites a Maglev table gets. */
#ifndef GW_TEST_LB_H
#define GW_TEST_LB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "gw/abi/maps.h"
#include "gw/config.h"
#include "gw/lb.h"

static const char *conf_text =
	"site = { name = \"site-a\"; id = 1; trust_domain = \"t\"; };\n"
	"gateway = { name = \"gw1\";\n"
	"  internal = { interface = \"int0\"; address = \"10.1.0.1\"; };\n"
	"  external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	"peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	"},\n"
	"          { site = \"site-c\"; site_id = 3; gateway = \"gw1\"; address = \"10.255.0.3\"; "
	"} );\n"
	"services = (\n"
	"  { name = \"none\"; vips = [\"10.100.0.10\"]; ports = [\"80/tcp\"]; affinity = "
	"\"none\";\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; }, { address = \"10.1.0.12\"; port "
	"= 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; },\n"
	"                 { address = \"10.3.0.11\"; port = 80; site = \"site-c\"; },\n"
	"                 { address = \"fd00:1::11\"; port = 80; } ); },\n"
	"  { name = \"local\"; vips = [\"10.100.0.11\"]; ports = [\"80/tcp\"]; affinity = "
	"\"local\";\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; } ); },\n"
	"  { name = \"remote\"; vips = [\"10.100.0.12\"]; ports = [\"80/tcp\"]; affinity = "
	"\"remote\";\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; } ); },\n"
	"  { name = \"spill\"; vips = [\"10.100.0.13\"]; ports = [\"80/tcp\"]; affinity = "
	"\"none\";\n"
	"    min_local_healthy = 2;\n"
	"    backends = ( { address = \"10.1.0.11\"; port = 80; }, { address = \"10.1.0.12\"; port "
	"= 80; },\n"
	"                 { address = \"10.2.0.11\"; port = 80; site = \"site-b\"; } ); }\n"
	");\n";

struct fx {
	struct gw_config *cfg;
	struct gw_balancer *lb;
	struct gw_maglev_backend set[16];
};

static inline int setup(void **state)
{
	struct gw_config_errors errs = {0};
	static struct fx f;
	size_t i;

	memset(&f, 0, sizeof(f));
	if (gw_config_load_string(conf_text, "t.conf", &f.cfg, &errs)) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		gw_config_errors_done(&errs);
		return -1;
	}
	gw_config_errors_done(&errs);
	f.lb = gw_balancer_new(f.cfg);
	if (!f.lb)
		return -1;
	*state = &f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *f = *state;

	gw_balancer_free(f->lb);
	gw_config_free(f->cfg);
	return 0;
}

/* The sites of the chosen set, as a string like "aab" (sorted by site). */
static inline const char *chosen(struct fx *f, const char *svc_name, int table, int family)
{
	static char out[32];
	struct gw_lb_service *s = gw_lb_service_find(f->lb, svc_name);
	size_t n, i, j, k = 0;

	assert_non_null(s);
	n = gw_lb_select(f->lb, s, table, family, f->set);
	for (i = 0; i < n; i++)
		for (j = 0; j < s->n_backends; j++)
			if (s->backends[j].id == f->set[i].id)
				out[k++] = s->backends[j].site[5]; /* site-X */
	out[k] = '\0';
	for (i = 1; i < k; i++) /* sort, so order of discovery does not matter */
		for (j = i; j > 0 && out[j - 1] > out[j]; j--) {
			char t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return out;
}

#endif
