# shellcheck shell=bash
# `lab status`, sourced by tests/lab/lab: the run's sites, hosts, addresses,
# WAN, etcd, gateways and services, as JSON or as text.

# ---------------------------------------------------------------- status

# Services of conf/site-a.conf, best effort: a line "name vip port" for every
# `name = "x"` followed by a VIP in 10.100.0.0/16 or fd00:100::/64, with the
# first port = N / ports = [N] / ports = [ "N/tcp" ] after that name.
services_tsv() {
	local conf=$ROOT/conf/site-a.conf
	[[ -r $conf ]] || return 0
	awk '
	function flush() { if (name != "" && vip != "") print name "\t" vip "\t" (port == "" ? 0 : port) }
	{ sub(/(#|\/\/).*/, "") }
	match($0, /name[ \t]*[=:][ \t]*"[A-Za-z0-9_.-]+"/) {
		flush(); s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s); sub(/"$/, "", s)
		name = s; vip = ""; port = ""
	}
	name != "" && vip == "" && match($0, /"(10\.100\.[0-9]+\.[0-9]+|fd00:100::[0-9a-fA-F:]*)"/) {
		vip = substr($0, RSTART + 1, RLENGTH - 2)
	}
	name != "" && port == "" && match($0, /port(s)?[ \t]*[=:][ \t]*[\[(]?[ \t]*"?[0-9]+/) {
		s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); port = s
	}
	END { flush() }' "$conf"
}

proc_json() { # proc_json KEY NAME
	local pid run=false
	if pid=$(pid_of "$1") && [[ $pid =~ ^[0-9]+$ ]]; then
		running "$1" && run=true
		printf '{"name":"%s","pid":%s,"running":%s}' "$2" "$pid" "$run"
	else
		printf '{"name":"%s","pid":null,"running":false}' "$2"
	fi
}

links_json() { # links_json NS: `ip -j addr` of the namespace, or null
	local out
	if out=$(ip -n "$1" -j addr show 2>/dev/null) && [[ -n $out ]]; then
		printf '%s' "$out"
	else
		printf 'null'
	fi
}

status_json() {
	local sites k s n h ns i first=1 why sock pin
	sites=$(sites_of_run)
	{
		printf '{"prefix":"%s","state_dir":"%s","repo":"%s","site_count":%s,' "$P" "$RUN" "$ROOT" "$sites"
		printf '"sites":['
		for ((k = 1; k <= sites; k++)); do
			s=$(letter_of "$k")
			n=$(net_of "$k")
			((k > 1)) && printf ','
			printf '{"name":"site-%s","letter":"%s","id":%s,"net":"10.%s.0.0/24","net6":"fd00:%s::/64","hosts":[' \
				"$s" "$s" "$k" "$n" "$n"
			first=1
			for h in "${SITE_HOSTS[@]}"; do
				ns=$P-$s-$h
				((first)) || printf ','
				first=0
				printf '{"name":"%s","netns":"%s","links":%s' "$h" "$ns" "$(links_json "$ns")"
				case $h in
				backend*) printf ',"server":%s,"url":"http://10.%s.0.%s/"' \
					"$(proc_json "$s-$h" nginx)" "$n" "$(host_octet "$h")" ;;
				esac
				printf '}'
			done
			printf ']}'
		done
		printf '],"wan":{"netns":"%s","bridge":"br0","net":"10.255.0.0/24","links":%s},' \
			"$P-wan" "$(links_json "$P-wan")"
		printf '"etcd":{"endpoints":"%s","members":[' "$(etcd_endpoints)"
		for ((i = 1; i <= ETCD_COUNT; i++)); do
			((i > 1)) && printf ','
			printf '{"name":"etcd%s","netns":"%s","address":"%s","client_url":"http://%s:2379","peer_url":"http://%s:2380","process":%s}' \
				"$i" "$P-etcd$i" "$(etcd_ip "$i")" "$(etcd_ip "$i")" "$(etcd_ip "$i")" "$(proc_json "etcd$i" etcd)"
		done
		printf ']},"gateways":['
		for ((k = 1; k <= sites; k++)); do
			s=$(letter_of "$k")
			sock=$(gw_socket "$s")
			pin=$(gw_pindir "$s")
			((k > 1)) && printf ','
			printf '{"site":"site-%s","name":"%s","netns":"%s","socket":"%s","pin_dir":"%s","socket_present":%s,"gatewayd":%s,"cluster_syncd":%s' \
				"$s" "$GW_NAME" "$P-$s-gw" "$sock" "$pin" "$([[ -S $sock ]] && echo true || echo false)" \
				"$(proc_json "$s-gatewayd" gatewayd)" "$(proc_json "$s-syncd" cluster-syncd)"
			why=$(gw_missing gatewayd "$s")
			[[ -n $why ]] && printf ',"note":"%s"' "$why"
			printf '}'
		done
		printf '],"services":'
		services_tsv | jq -R -s -c 'split("\n") | map(select(length > 0) | split("\t")
			| {name: .[0], vip: .[1], port: (.[2] | tonumber)})'
		printf '}'
	} | jq '
		def links: if . == null then null else
			[.[] | select(.ifname != "lo") | {ifname, state: .operstate,
			 addrs: [.addr_info[]? | select(.scope == "global") | "\(.local)/\(.prefixlen)"]}] end;
		.sites |= map(.hosts |= map(.present = (.links != null) | .links |= links))
		| .wan.present = (.wan.links != null) | .wan.links |= links'
}

status_text() {
	status_json | jq -r '
	def pad($n): tostring | if length < $n then . + (" " * ($n - length)) else . end;
	def addrs: if . == null then "(namespace missing)" else
		[.[] | select(.addrs | length > 0) | "\(.ifname) \(.addrs | join(" "))"] | join("; ") end;
	def proc: if .pid == null then "\(.name) not started"
		elif .running then "\(.name) pid \(.pid) running" else "\(.name) pid \(.pid) NOT running" end;
	"lab \(.prefix): \(.site_count) site(s), state in \(.state_dir)",
	(.sites[] as $s |
		"\($s.name) (\($s.net), \($s.net6))",
		($s.hosts[] | "  \(.name | pad(9)) \(.netns | pad(22)) \(.links | addrs)"
			+ (if .server then "   [\(.server | proc)]" else "" end))),
	"wan \(.wan.netns) bridge \(.wan.bridge) \(.wan.net)",
	"etcd \(.etcd.endpoints)",
	(.etcd.members[] | "  \(.name | pad(9)) \(.netns | pad(22)) \(.address | pad(14)) \(.process | proc)"),
	"gateways",
	(.gateways[] | "  \(.site | pad(9)) \(.netns | pad(22)) "
		+ (if .note then "not started: \(.note)"
		   else "\(.gatewayd | proc), \(.cluster_syncd | proc), socket \(.socket)" end)),
	(if (.services | length) > 0 then "services (conf/site-a.conf)",
		(.services[] | "  \(.name | pad(12)) \(.vip):\(.port)") else empty end)'
}

cmd_status() {
	local fmt=$1
	[[ -d $RUN || -n $(prefix_netns "$P") ]] || die "no lab with prefix $P"
	case $fmt in
	json) status_json ;;
	text) status_text ;;
	*) die "bad output format '$fmt' (json)" ;;
	esac
}
