#!/usr/bin/env bash
# Tests the lab's own gateway handling with stand-in daemons (the real
# gatewayd and cluster-syncd need not exist): start, socket wait, pins in the
# root mount namespace, restart, failure reporting, cleanup after a failed or
# interrupted `lab up`, and argument checks.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
require_root

# A stand-in repo: build/gatewayd serves its --socket with nginx (a dependency
# of the lab anyway) and makes its --pin-dir; it fails on a config that says FAIL.
FAKE=$(mktemp -d /tmp/isthmus-lab-fake.XXXXXX)
lab_at_exit() { rm -rf "$FAKE"; }
lab_traps
mkdir -p "$FAKE/build" "$FAKE/conf" "$FAKE/tmp"
cat >"$FAKE/build/gatewayd" <<'EOF'
#!/usr/bin/env bash
# Stand-in gatewayd for tests/lab/test_harness.sh.
set -euo pipefail
while (($#)); do
	case $1 in
	-c) conf=$2; shift 2 ;;
	--pin-dir) pin=$2; shift 2 ;;
	--socket) sock=$2; shift 2 ;;
	*) echo "unknown argument $1"; exit 2 ;;
	esac
done
echo "stand-in gatewayd: conf $conf pin $pin socket $sock netns $(readlink /proc/self/ns/net)"
if grep -q FAIL "$conf"; then
	echo "config error: $conf: FAIL"
	exit 1
fi
mkdir -p "$pin/maps" # fails unless bpffs of the root mount namespace is visible
d=$(cd "$(dirname "$0")/.." && pwd)/tmp/$(basename "$sock")
mkdir -p "$d"
cat >"$d/nginx.conf" <<EOC
master_process off;
daemon off;
pid $d/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    server {
        listen unix:$sock;
        location / { return 200 "stand-in gatewayd $sock\n"; }
    }
}
EOC
exec -a "gatewayd --socket $sock" nginx -p "$d" -c "$d/nginx.conf" -e stderr
EOF
cat >"$FAKE/build/cluster-syncd" <<'EOF'
#!/usr/bin/env bash
# Stand-in cluster-syncd for tests/lab/test_harness.sh.
echo "stand-in cluster-syncd $*"
exec -a "cluster-syncd $*" sleep infinity
EOF
chmod +x "$FAKE/build/gatewayd" "$FAKE/build/cluster-syncd"
cat >"$FAKE/conf/site-a.conf" <<'EOF'
# stand-in site config
site = { name = "site-a"; id = 1; };
services = (
  { name = "web"; vips = [ "10.100.0.10", "fd00:100::10" ]; ports = [ 80 ];
    backends = ( { address = "10.1.0.11"; port = 80; } ); },
  { name = "api"; # name = "not-this-one"
    vip = "10.100.0.20";
    port = 8080; }
);
EOF
cp "$FAKE/conf/site-a.conf" "$FAKE/conf/site-b.conf"
export LAB_REPO=$FAKE

status_json() { "$LAB" status --prefix "$1" -o json; }
jq_status() { status_json "$1" | jq -e "$2" >/dev/null; }
pin_inode() { stat -c %i "/sys/fs/bpf/gw/$1-a-gw1"; }

# ---------------------------------------------------------------- gateways up

P=$(new_prefix)
lab_up "$P" --sites 3

check "bpffs is mounted on /sys/fs/bpf" mountpoint -q /sys/fs/bpf
check "site-a and site-b: gatewayd and cluster-syncd running, socket present" \
	jq_status "$P" '[.gateways[] | select(.site != "site-c") | .gatewayd.running and .cluster_syncd.running and .socket_present] == [true, true]'
check "site-c (no conf/site-c.conf): gateway not started, with the reason" \
	jq_status "$P" '.gateways[2] | .gatewayd.pid == null and .note == "conf/site-c.conf missing"'
check "gatewayd ran in its gateway namespace with the documented arguments" \
	grep -q "conf conf/site-a.conf pin /sys/fs/bpf/gw/$P-a-gw1 socket /run/isthmus/$P-a-gw1.sock netns net:\[$(stat -L -c %i "/run/netns/$P-a-gw")\]" \
	"/run/isthmus-lab/$P/logs/a-gatewayd.log"
check "cluster-syncd got the gateway's socket" \
	grep -q -- "-c conf/site-b.conf --gateway-socket /run/isthmus/$P-b-gw1.sock" "/run/isthmus-lab/$P/logs/b-syncd.log"
check "pins are made in the root mount namespace's bpffs" test -d "/sys/fs/bpf/gw/$P-a-gw1/maps"
# shellcheck disable=SC2016 # expanded in the gateway's namespace
check "lab exec SITE gw sets GWCTL_SOCKET, and the socket answers from there" \
	expect_output "stand-in gatewayd /run/isthmus/$P-b-gw1.sock" \
	"$LAB" exec --prefix "$P" b gw -- sh -c 'curl -sS --unix-socket "$GWCTL_SOCKET" http://gw/status'
check "status lists the services of conf/site-a.conf" \
	jq_status "$P" '.services == [{"name": "web", "vip": "10.100.0.10", "port": 80}, {"name": "api", "vip": "10.100.0.20", "port": 8080}]'

ino=$(pin_inode "$P")
old=$(status_json "$P" | jq '.gateways[0].gatewayd.pid')
check "kill site-a gw: gatewayd gone" "$LAB" kill --prefix "$P" a gw
check "... status shows it not running" jq_status "$P" '.gateways[0].gatewayd.running | not'
check "... cluster-syncd of site-a untouched" jq_status "$P" '.gateways[0].cluster_syncd.running'
check "start site-a gw: a new gatewayd serves the socket again" \
	bash -c "'$LAB' start --prefix $P a gw && '$LAB' status --prefix $P -o json |
		jq -e '.gateways[0] | .gatewayd.running and .socket_present and .gatewayd.pid != $old' >/dev/null"
check "... its pin dir survived the restart" expect_output "$ino" pin_inode "$P"
check "kill and start site-b syncd" \
	bash -c "'$LAB' kill --prefix $P b syncd && '$LAB' start --prefix $P b syncd &&
		'$LAB' status --prefix $P -o json | jq -e '.gateways[1].cluster_syncd.running' >/dev/null"
check "start of a running gatewayd is a no-op" "$LAB" start --prefix "$P" b gw
check "start of site-c's gateway explains why it cannot" \
	bash -c "! out=\$('$LAB' start --prefix $P c gw 2>&1) && grep -q 'conf/site-c.conf missing' <<<\"\$out\""

check "lab down $P" "$LAB" down --prefix "$P"
lab_unregister "$P"
check "$P: pins, sockets and everything else gone" lab_leftovers "$P"

# ---------------------------------------------------------------- failures

# A gatewayd that exits: lab up fails, shows its log, and leaves nothing.
echo "# FAIL" >>"$FAKE/conf/site-b.conf"
P=$(new_prefix)
lab_register "$P"
out=$("$LAB" up --prefix "$P" --sites 2 2>&1) && rc=0 || rc=$?
check "lab up fails when gatewayd exits at start" test "$rc" -ne 0
check "... and shows gatewayd's log tail" grep -q "config error: conf/site-b.conf: FAIL" <<<"$out"
check "... and removes everything it built" lab_leftovers "$P"
sed -i '/FAIL/d' "$FAKE/conf/site-b.conf"

# Interrupted at different moments: lab up either completed (its last line
# printed, status 0) or left nothing.
for at in 0.1 0.3 0.6 0.8 0.9 1.0 1.1 1.2; do
	P=$(new_prefix)
	lab_register "$P"
	rc=0
	out=$(timeout -s TERM "$at" "$LAB" up --prefix "$P" 2>&1) || rc=$?
	if [[ $out == *"lab $P up in "* ]]; then
		check "lab up that completed before the interrupt at ${at}s left a lab that is up" \
			bash -c "(($rc == 0 || $rc == 124)) && '$LAB' status --prefix $P >/dev/null"
		"$LAB" down --prefix "$P" >/dev/null
	else
		check "lab up interrupted after ${at}s leaves nothing" lab_leftovers "$P"
	fi
	lab_unregister "$P"
done

check "lab up rejects --sites 10" not "$LAB" up --sites 10
check "lab up rejects a prefix with a dash" not "$LAB" up --prefix isx-1
check "lab status of an unknown prefix fails" not "$LAB" status --prefix isxnone0
check "lab down of an unknown prefix succeeds (idempotent)" "$LAB" down --prefix isxnone0

finish
