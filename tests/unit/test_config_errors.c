/* Unit tests of the site configuration loader with broken configs: a table
 * of them with their exact messages, and the parsers of single values. */
#include "config_test.h"

static bool has_message(char *const *v, size_t n, const char *needle)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strstr(v[i], needle))
			return true;
	return false;
}

struct bad_case {
	const char *desc;
	const char *text;
	size_t n_err; /* exactly this many errors */
	const char *expect[6];
};

static const struct bad_case bad_cases[] = {
	{"syntax error",
	 HEAD "services = ( { name = \"web\" }\nx = 1;\n",
	 1,
	 {"t.conf:5: syntax error"}},
	{"unknown key with a suggestion",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  afinity = \"local\"; } );\n",
	 1,
	 {"t.conf:5: unknown key \"afinity\" in services[0]; did you mean \"affinity\"?"}},
	{"unknown top-level key, nothing close",
	 HEAD WEB "frobnicate = 1;\n",
	 1,
	 {"t.conf:5: unknown key \"frobnicate\" at top level; known keys: site, gateway, etcd"}},
	{"string where an integer is expected",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; port = \"80\"; } ); } );\n",
	 1,
	 {"t.conf:5: services[0].backends[0].port: expected an integer in 1..65535; found a "
	  "string (\"80\")"}},
	{"string where an array is expected",
	 HEAD
	 "services = ( { name = \"web\";\n vips = \"10.100.0.10\"; ports = [ \"80/tcp\" ]; } );\n",
	 1,
	 {"t.conf:5: services[0].vips: expected an array [ ... ] of 1..16 values, each a unicast "
	  "IPv4 or IPv6 address; found a string (\"10.100.0.10\")"}},
	{"missing required keys",
	 "site = {\n  id = 1; };\n"
	 "gateway = { name = \"gw1\";\n  external = { interface = \"ext0\"; address = "
	 "\"10.255.0.1\"; "
	 "}; };\n" WEB,
	 2,
	 {"t.conf:1: site.name: required key is missing; expected a name",
	  "t.conf:3: gateway.internal: required key is missing; expected a group"}},
	{"missing required top-level groups",
	 "# nothing\n",
	 3,
	 {"t.conf: site: required key is missing", "t.conf: gateway: required key is missing",
	  "t.conf: services: required key is missing"}},
	{"bad enum value",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  affinity = \"near\"; } );\n",
	 1,
	 {"t.conf:5: services[0].affinity: expected one of none, local, remote; found \"near\""}},
	{"bad IP address",
	 HEAD "services = ( { name = \"web\"; ports = [ \"80/tcp\" ];\n"
	      "  vips = [ \"10.100.0.10\",\n \"10.100.0.300\" ]; } );\n",
	 1,
	 {"t.conf:6: services[0].vips[1]: expected a unicast IPv4 or IPv6 address; found "
	  "\"10.100.0.300\""}},
	{"the same key twice in a group",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  lb = \"maglev\";\n  lb = \"random\"; } );\n",
	 1,
	 {"t.conf:6: duplicate setting name"}},
	{"IPv6 internal address, multicast VIP",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; external = { interface = \"ext0\"; address = \"10.255.0.1\"; "
	 "};\n"
	 "  internal = { interface = \"int0\"; address = \"fd00:1::1\"; }; };\n"
	 "services = ( " SVC("web", "224.0.0.1", "80/tcp") " );\n",
	 2,
	 {"t.conf:3: gateway.internal.address: expected a unicast IPv4 address; found "
	  "\"fd00:1::1\"",
	  "t.conf:4: services[0].vips[0]: expected a unicast IPv4 or IPv6 address; found "
	  "\"224.0.0.1\" (not a unicast address)"}},
	{"IPv6 external address (the underlay is IPv4)",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "};\n external = { interface = \"ext0\"; address = \"fd00:ff::1\"; }; };\n" WEB,
	 1,
	 {"t.conf:3: gateway.external.address: expected a unicast IPv4 address; found "
	  "\"fd00:ff::1\""}},
	{"CIDR with host bits set",
	 HEAD WEB "identities = ( { name = \"c\"; labels = [ \"app=c\" ];\n"
		  "  cidrs = [ \"10.1.0.10/24\" ]; } );\n",
	 1,
	 {"t.conf:6: identities[0].cidrs[0]: expected a network such as \"10.1.0.0/24\" or "
	  "\"fd00:1::/64\"; found \"10.1.0.10/24\" (host bits are set; did you mean "
	  "10.1.0.0/24?)"}},
	{"IPv6 CIDR prefix too long",
	 HEAD WEB "identities = ( { name = \"c\"; labels = [ \"app=c\" ]; cidrs = [ \"fd00::/129\" "
		  "]; } );\n",
	 1,
	 {"t.conf:5: identities[0].cidrs[0]:", "(prefix length is at most 128)"}},
	{"port 0",
	 HEAD "services = ( " SVC("web", "10.100.0.10", "0/tcp") " );\n",
	 1,
	 {"t.conf:4: services[0].ports[0]: expected a port or port range with protocol",
	  "found \"0/tcp\" (port 0 is out of 1..65535)"}},
	{"port 70000",
	 HEAD "services = ( " SVC("web", "10.100.0.10", "70000/udp") " );\n",
	 1,
	 {"t.conf:4: services[0].ports[0]:",
	  "found \"70000/udp\" (port 70000 is out of 1..65535)"}},
	{"inverted port range and unknown protocol",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ];\n"
	      "  ports = [ \"90-80/tcp\", \"80/icmp\" ]; } );\n",
	 2,
	 {"t.conf:5: services[0].ports[0]:",
	  "found \"90-80/tcp\" (range start 90 is above its end 80)",
	  "t.conf:5: services[0].ports[1]:", "found \"80/icmp\""}},
	{"backend port out of range",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; port = 0; weight = 70000; } ); } );\n",
	 2,
	 {"t.conf:5: services[0].backends[0].port: expected an integer in 1..65535; found 0",
	  "t.conf:5: services[0].backends[0].weight: expected an integer in 0..65535; found "
	  "70000"}},
	{"duplicate service",
	 HEAD "services = ( " SVC("web", "10.100.0.10", "80/tcp") ",\n"
								  "  " SVC("web", "10.100.0.11",
									   "80/tcp") " );\n",
	 1,
	 {"t.conf:5: services[1].name: expected a unique service name; found \"web\" again "
	  "(duplicate service; first at line 4, services[0])"}},
	{"overlapping VIPs",
	 HEAD "services = ( " SVC("web", "10.100.0.10",
				  "80/tcp") ",\n"
					    "  " SVC("alt", "10.100.0.10",
						     "70-90/tcp") ",\n"
								  "  " SVC("dns", "10.100.0.10",
									   "80/udp") " );\n",
	 1,
	 {"t.conf:5: services[1].vips[0]: expected a VIP and port used by one service only; "
	  "found 10.100.0.10 70-90/tcp, which overlaps the VIP and port 80/tcp of web "
	  "(services[0], line 4)"}},
	{"backend with no service",
	 HEAD WEB "backends = ( { service = \"web\"; address = \"10.1.0.11\"; },\n"
		  "  { service = \"nope\"; address = \"10.1.0.12\"; } );\n",
	 1,
	 {"t.conf:6: backends[1].service: expected the name of a service defined in services; "
	  "found \"nope\" (a backend with no service)"}},
	{"backend site not a peer",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; },\n"
	      "    { address = \"10.3.0.11\"; site = \"site-c\"; } ); } );\n",
	 1,
	 {"t.conf:6: services[0].backends[1].site: expected this site or a site in peers "
	  "(site-a, site-b); found \"site-c\""}},
	{"duplicate backend",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; port = 80; },\n"
	      "    { address = \"10.1.0.11\"; port = 80; site = \"site-b\"; } ); } );\n"
	      "backends = ( { service = \"web\"; address = \"10.1.0.11\"; port = 80; site = "
	      "\"site-a\"; } );\n",
	 1,
	 {"t.conf:7: backends[0]: expected a backend address, port and site not already in "
	  "service web; found 10.1.0.11 port 80 of site-a again (first at line 5, "
	  "services[0].backends[0])"}},
	{"site id 0",
	 "site = { name = \"site-a\";\n id = 0; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n" WEB,
	 1,
	 {"t.conf:2: site.id: expected an integer in 1..65535; found 0"}},
	{"site id 70000 and peer site id 70000",
	 "site = { name = \"site-a\"; id = 70000; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 70000; gateway = \"gw1\"; address = "
	 "\"10.255.0.2\"; } );\n" WEB,
	 2,
	 {"t.conf:1: site.id: expected an integer in 1..65535; found 70000",
	  "t.conf:3: peers[0].site_id: expected an integer in 1..65535; found 70000"}},
	{"tunnel MTU below IPv6's minimum",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "};\n external = { interface = \"ext0\"; address = \"10.255.0.1\"; mtu = 1000; }; "
	 "};\n" WEB,
	 1,
	 {"t.conf:3: gateway.external.mtu: expected an integer in 1280..65535; found 1000"}},
	{"integer beyond 32 bits, which libconfig would truncate",
	 HEAD WEB
	 "identities = ( { name = \"c\"; labels = [ \"app=c\" ];\n id = 4294967297; } );\n",
	 1,
	 {"t.conf:6: identities[0].id: expected an integer in 1..4294967295; found 4294967297 "
	  "(too large for libconfig's 32-bit integers, which would truncate it; write "
	  "4294967297L if you meant it)"}},
	{"duplicate peer",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	 "},\n"
	 "  { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.22\"; } "
	 ");\n" WEB,
	 1,
	 {"t.conf:4: peers[1]: expected a unique site and gateway; found site-b/gw1 again "
	  "(duplicate peer; first at line 3, peers[0])"}},
	{"peer with this site's id, name or address; another site's id; a duplicate address",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	 "},\n"
	 "  { site = \"site-c\"; site_id = 1; gateway = \"gw1\"; address = \"10.255.0.3\"; },\n"
	 "  { site = \"site-a\"; site_id = 4; gateway = \"gw2\"; address = \"10.255.0.1\"; },\n"
	 "  { site = \"site-d\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.5\"; },\n"
	 "  { site = \"site-e\"; site_id = 5; gateway = \"gw1\"; address = \"10.255.0.2\"; } "
	 ");\n" WEB,
	 5,
	 {"t.conf:4: peers[1].site_id: expected an id other than this site's (site.id); found 1",
	  "t.conf:5: peers[2].site: expected a remote site; found \"site-a\", which is this site",
	  "t.conf:5: peers[2].address: expected a remote gateway's address; found 10.255.0.1",
	  "t.conf:6: peers[3].site_id: expected an id no other site has; found 2, already "
	  "site-b's (peers[0], line 3)",
	  "t.conf:7: peers[4].address: expected an address no other peer has; found 10.255.0.2, "
	  "already peers[0]'s (line 3)"}},
	{"more services than limits.services",
	 HEAD "services = ( " SVC("a", "10.100.0.1", "80/tcp") ",\n " SVC(
		 "b", "10.100.0.2", "80/tcp") " );\nlimits = { services = 1; };\n",
	 1,
	 {"t.conf:4: services: expected at most 1 services (limits.services); found 2"}},
	{"more backends than limits.backends",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; }, { address = \"10.1.0.12\"; } ); } );\n"
	      "limits = { backends = 1; };\n",
	 1,
	 {"t.conf:4: services: expected at most 1 backends in all services (limits.backends); "
	  "found 2"}},
	{"non-prime Maglev table size and inverted SNAT range",
	 HEAD WEB "limits = {\n  maglev_table_size = 16384;\n  snat_port_min = 65000;\n"
		  "  snat_port_max = 64000; };\n",
	 2,
	 {"t.conf:6: limits.maglev_table_size: expected a prime number; found 16384",
	  "t.conf:7: limits.snat_port_min: expected less than limits.snat_port_max (64000); found "
	  "65000"}},
	{"flow cache size not a power of two",
	 HEAD WEB "limits = { flow_cache_entries = 1000; };\n",
	 1,
	 {"t.conf:5: limits.flow_cache_entries: expected 0 (no flow cache) or a power of two; "
	  "found 1000"}},
	{"Maglev table smaller than a service's backends",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  backends = ( { address = \"10.1.0.11\"; }, { address = \"10.1.0.12\"; }, "
	      "{ address = \"10.1.0.13\"; },\n  { address = \"10.1.0.14\"; }, { address = "
	      "\"10.1.0.15\"; }, { address = \"10.1.0.16\"; }, { address = \"10.1.0.17\"; }, "
	      "{ address = \"10.1.0.18\"; } ); } );\nlimits = { maglev_table_size = 7; };\n",
	 1,
	 {"t.conf:5: services[0].backends: expected at most limits.maglev_table_size (7) "
	  "backends; found 8"}},
	{"several errors in one file",
	 "site = { name = \"Site_A\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; datapath = \"ebpf\"; "
	 "};\n"
	 "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	 "  lb = \"maglev\"; weight = 3; },\n"
	 "  { name = \"web\"; vips = [ \"10.100.0.11\" ]; ports = [ \"80/tcp\" ];\n"
	 "    health = { interval_ms = 100; timeout_ms = 200; }; } );\n"
	 "policies = ( { name = \"p\"; from = [ \"app=client\" ]; to = \"webb\"; } );\n"
	 "limits = { snat_port_min = 80; };\n",
	 7,
	 {"t.conf:1: site.name: expected a name of 1..63 characters a-z, 0-9 and '-', not "
	  "starting or ending with '-'; found \"Site_A\"",
	  "t.conf:2: gateway.datapath: expected one of xdp, dpdk; found \"ebpf\"",
	  "t.conf:4: unknown key \"weight\" in services[0]; known keys: name, vips, ports",
	  "t.conf:5: services[1].name: expected a unique service name; found \"web\" again",
	  "t.conf:6: services[1].health.timeout_ms: expected at most health.interval_ms (100); "
	  "found 200",
	  "t.conf:7: policies[0].to: expected the name of a service in services; found "
	  "\"webb\""}},
	{"probes out of range",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n" WEB
	 "probes = { interval_ms = 5; down_after = 0; };\n",
	 2,
	 {"t.conf:4: probes.interval_ms: expected an integer in 10..10000; found 5",
	  "t.conf:4: probes.down_after: expected an integer in 1..100; found 0"}},
	{"probes: fast interval out of range",
	 HEAD WEB "probes = { fast_interval_ms = 4; };\n",
	 1,
	 {"t.conf:5: probes.fast_interval_ms: expected an integer in 5..10000; found 4"}},
	{"probes: fast interval not below the interval",
	 HEAD WEB "probes = { interval_ms = 50;\n  fast_interval_ms = 50; };\n",
	 1,
	 {"t.conf:6: probes.fast_interval_ms: expected less than probes.interval_ms (50); found "
	  "50"}},
	{"probes: the default fast interval with a short interval",
	 HEAD WEB "probes = { interval_ms = 20; };\n",
	 1,
	 {"t.conf:5: probes.fast_interval_ms: expected less than probes.interval_ms (20); found "
	  "25"}},
	{"several errors, the last",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n" WEB
	 "limits = { snat_port_min = 80; };\n",
	 1,
	 {"t.conf:4: limits.snat_port_min: expected an integer in 1024..65535; found 80"}},
	{"policy ports outside the service and HTTP rules on an L4 service",
	 HEAD WEB
	 "policies = ( { name = \"p\"; from = [ \"app=client\" ]; to = \"web\";\n"
	 "  ports = [ \"443/tcp\" ];\n  http = ( { method = \"GET\"; path = \"/\"; } ); } );\n",
	 2,
	 {"t.conf:6: policies[0].ports[0]: expected ports of service web; found \"443/tcp\"",
	  "t.conf:7: policies[0].http: expected no http rules, as service web has l7 = none"}},
	{"bad HTTP rule and label",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ]; "
	      "l7 = \"http\"; } );\n"
	      "policies = ( { name = \"p\"; from = [ \"app client\" ]; to = \"web\";\n"
	      "  http = ( { method = \"get\"; path = \"index.html\"; } ); } );\n",
	 3,
	 {"t.conf:5: policies[0].from[0]: expected a label \"key=value\"",
	  "t.conf:6: policies[0].http[0].method: expected an HTTP method of 1..16 letters A-Z",
	  "t.conf:6: policies[0].http[0].path: expected an HTTP path starting with '/'"}},
	{"spillover with local affinity",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" ];\n"
	      "  affinity = \"local\"; min_local_healthy = 2; } );\n",
	 1,
	 {"t.conf:5: services[0].min_local_healthy: expected 0 with affinity = local (only "
	  "affinity none spills over to other sites); found 2"}},
	{"L7 service on a UDP port",
	 HEAD "services = ( { name = \"web\"; vips = [ \"10.100.0.10\" ]; l7 = \"grpc\";\n"
	      "  ports = [ \"80/tcp\", \"443/udp\" ]; } );\n",
	 1,
	 {"t.conf:5: services[0].ports[1]: expected tcp ports for an L7 service (l7 = grpc); "
	  "found \"443/udp\""}},
	{"encrypted peer without tls, and a tls group without a key",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = "
	 "\"10.255.0.2\";\n"
	 "  encrypt = true; } );\n" WEB
	 "etcd = { tls = { cert = \"/etc/isthmus/etcd.pem\"; }; };\n",
	 2,
	 {"t.conf:4: peers[0].encrypt: expected false without a tls group",
	  "t.conf:6: etcd.tls.key: expected a key file with etcd.tls.cert; found none"}},
	{"tls group with a missing key and a relative path",
	 HEAD WEB
	 "tls = { ca = \"ca.pem\";\n  cert = \"/etc/isthmus/gw.pem\"; rekey_interval = 10; };\n",
	 3,
	 {"t.conf:5: tls.ca: expected an absolute file name; found \"ca.pem\"",
	  "t.conf:5: tls.key: required key is missing; expected an absolute file name",
	  "t.conf:6: tls.rekey_interval: expected an integer in 60..604800; found 10"}},
	{"identities: duplicate name and id, unknown site",
	 HEAD WEB "identities = ( { name = \"c\"; id = 70000; labels = [ \"app=c\" ]; },\n"
		  "  { name = \"c\"; id = 70000; labels = [ \"app=d\" ]; site = \"site-q\"; } );\n",
	 3,
	 {"t.conf:6: identities[1].name: expected a unique identity name; found \"c\" again",
	  "t.conf:6: identities[1].site: expected this site or a site in peers (site-a, site-b); "
	  "found \"site-q\"",
	  "t.conf:6: identities[1].id: expected an id no other identity has; found 70000, "
	  "already c's (identities[0], line 5)"}},
	{"the same network in two identities of one site; an IPv6 peer of an IPv4 gateway",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0\"; address = \"10.1.0.1\"; "
	 "}; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "peers = ( { site = \"site-b\"; site_id = 2; gateway = \"gw1\"; address = \"10.255.0.2\"; "
	 "},\n"
	 "  { site = \"site-c\"; site_id = 3; gateway = \"gw1\"; address = \"fd00::3\"; } );\n" WEB
	 "identities = ( { name = \"c\"; labels = [ \"app=c\" ]; cidrs = [ \"10.1.0.0/24\" ]; },\n"
	 "  { name = \"d\"; labels = [ \"app=d\" ];\n    cidrs = [ \"10.1.0.0/25\", "
	 "\"10.1.0.0/24\" ]; },\n"
	 "  { name = \"e\"; labels = [ \"app=e\" ]; cidrs = [ \"10.1.0.0/24\" ]; site = "
	 "\"site-b\"; } );\n",
	 2,
	 {"t.conf:4: peers[1].address: expected an IPv4 address like gateway.external.address; "
	  "found fd00::3",
	  "t.conf:8: identities[1].cidrs[1]: expected a network no other entry of site site-a has; "
	  "found 10.1.0.0/24 again (first at line 6, identities[0].cidrs[0])"}},
	{"list element that is not a group; boolean where a string is expected",
	 HEAD "services = ( 1,\n  { name = true; vips = [ \"10.100.0.10\" ]; ports = [ \"80/tcp\" "
	      "]; } );\n",
	 2,
	 {"t.conf:4: services[0]: expected a group { ... }; found an integer (1)",
	  "t.conf:5: services[1].name: expected a name of 1..63 characters a-z, 0-9 and '-', not "
	  "starting or ending with '-'; found a boolean (true)"}},
	{"etcd endpoint, prefix and metrics address",
	 HEAD WEB
	 "etcd = { endpoints = [ \"10.255.0.101:2379\", \"http://[fd00::1]:2379\" ];\n"
	 "  prefix = \"isthmus/\"; };\n"
	 "observability = { metrics_listen = \"localhost:9400\"; capture_max_bytes = 1.5; };\n",
	 4,
	 {"t.conf:5: etcd.endpoints[0]: expected a URL http://HOST[:PORT] or https://HOST[:PORT]; "
	  "found \"10.255.0.101:2379\"",
	  "t.conf:6: etcd.prefix: expected a key prefix",
	  "t.conf:7: observability.metrics_listen: expected an address and port",
	  "t.conf:7: observability.capture_max_bytes: expected an integer in 4096..1099511627776; "
	  "found a float (1.5)"}},
	{"too long interface name and too many VIPs",
	 "site = { name = \"site-a\"; id = 1; };\n"
	 "gateway = { name = \"gw1\"; internal = { interface = \"int0-with-a-long-name\"; address "
	 "= "
	 "\"10.1.0.1\"; }; external = { interface = \"ext0\"; address = \"10.255.0.1\"; }; };\n"
	 "services = ( { name = \"web\"; ports = [ \"80/tcp\" ];\n vips = [ \"10.100.0.1\", "
	 "\"10.100.0.2\", \"10.100.0.3\", \"10.100.0.4\", \"10.100.0.5\", \"10.100.0.6\", "
	 "\"10.100.0.7\", \"10.100.0.8\", \"10.100.0.9\", \"10.100.0.10\", \"10.100.0.11\", "
	 "\"10.100.0.12\", \"10.100.0.13\", \"10.100.0.14\", \"10.100.0.15\", \"10.100.0.16\", "
	 "\"10.100.0.17\" ]; } );\n",
	 2,
	 {"t.conf:2: gateway.internal.interface: expected an interface name of 1..15 characters "
	  "without '/', ':' or spaces; found \"int0-with-a-long-name\" (21 characters)",
	  "t.conf:4: services[0].vips: expected 1..16 elements; found 17"}},
	{"include of something that is not a regular file",
	 HEAD WEB "@include \"/dev/zero\"\n",
	 1,
	 {"t.conf:5: @include \"/dev/zero\": expected a regular file of at most 16777216 bytes; "
	  "found something else"}},
	{"missing include file",
	 HEAD WEB "@include \"missing.conf\"\n",
	 1,
	 {"t.conf:5: cannot open include file"}},
};

static void run_bad_case(const struct bad_case *c)
{
	struct gw_config_errors e = {0};
	struct gw_config *cfg = NULL;
	const char *path = write_file("t.conf", c->text, strlen(c->text));
	bool ok = true;
	size_t i;
	int r;

	r = gw_config_load(path, &cfg, &e);
	if (r != -EINVAL || cfg || (c->n_err && e.n != c->n_err))
		ok = false;
	for (i = 0; i < 6 && c->expect[i]; i++) {
		if (!has_message(e.msg, e.n, c->expect[i])) {
			print_message("  missing: %s\n", c->expect[i]);
			ok = false;
		}
	}
	if (!ok || getenv("GW_TEST_VERBOSE")) {
		print_message("case \"%s\": r = %d, %zu errors (want %zu):\n", c->desc, r, e.n,
			      c->n_err);
		print_errors(&e);
	}
	gw_config_errors_done(&e);
	gw_config_free(cfg);
	if (!ok)
		fail_msg("case \"%s\" failed", c->desc);
}

static void test_bad_configs(void **state)
{
	size_t i;

	(void)state;
	assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 20);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_bad_case(&bad_cases[i]);
}

static void test_value_syntax(void **state)
{
	struct gw_port_range pr;
	struct gw_endpoint ep;
	struct gw_cidr c;
	struct gw_ip ip;
	char hint[128], buf[64];

	(void)state;
	assert_int_equal(gw_ip_parse("10.1.0.1", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_memory_equal(ip.addr, "\x0a\x01\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(gw_ip_parse("fd00:1::1", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(gw_ip_parse("10.1.0", &ip), -EINVAL);
	assert_int_equal(gw_ip_parse("010.1.0.1", &ip), -EINVAL);
	assert_int_equal(gw_cidr_parse("fd00:1::/64", &c, hint, sizeof(hint)), 0);
	assert_int_equal(c.prefix_len, 64);
	assert_int_equal(gw_cidr_parse("0.0.0.0/0", &c, hint, sizeof(hint)), 0);
	assert_int_equal(gw_cidr_parse("10.1.0.0/", &c, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_cidr_parse("10.1.0.0/-1", &c, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_cidr_parse("fd00:1::1/64", &c, hint, sizeof(hint)), -EINVAL);
	assert_string_equal(hint, "host bits are set; did you mean fd00:1::/64?");
	assert_int_equal(gw_port_range_parse("1-65535/sctp", &pr, hint, sizeof(hint)), 0);
	assert_int_equal(pr.proto, GW_PROTO_SCTP);
	assert_string_equal(gw_port_range_format(&pr, buf, sizeof(buf)), "1-65535/sctp");
	assert_int_equal(gw_port_range_parse("80/", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("-80", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("80-", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("+80", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_port_range_parse("99999999999999", &pr, hint, sizeof(hint)), -EINVAL);
	assert_int_equal(gw_endpoint_parse("[::1]:9400", &ep), 0);
	assert_string_equal(gw_endpoint_format(&ep, buf, sizeof(buf)), "[::1]:9400");
	assert_int_equal(gw_endpoint_parse("::1:9400", &ep), -EINVAL);
	assert_int_equal(gw_endpoint_parse("0.0.0.0:0", &ep), -EINVAL);
	assert_true(gw_config_syntax_ok(GW_SYNTAX_NAME, "site-a"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_NAME, "-a"));
	assert_false(gw_config_syntax_ok(
		GW_SYNTAX_NAME,
		"a234567890123456789012345678901234567890123456789012345678901234"));
	assert_true(gw_config_syntax_ok(GW_SYNTAX_URL, "https://etcd-1.lab:2379/"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_URL, "http://:2379"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_URL, "http://h:0"));
	assert_true(gw_config_syntax_ok(GW_SYNTAX_LABEL, "k8s.io/app="));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_LABEL, "=x"));
	assert_false(gw_config_syntax_ok(GW_SYNTAX_ETCD_PREFIX, "/a//b"));
	assert_string_equal(gw_affinity_name(GW_AFFINITY_REMOTE), "remote");
	assert_string_equal(gw_l7_name((enum gw_l7)99), "?");
	assert_string_equal(gw_proto_name(GW_PROTO_UDP), "udp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_value_syntax),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
