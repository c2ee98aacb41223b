#!/usr/bin/env bash
# Installs every build, test and demo dependency with apt (Debian 12), quietly
# and idempotently: when everything is present it returns at once.
set -euo pipefail

pkgs=(
	make gcc clang llvm libc6-dev gcc-multilib pkg-config
	libbpf-dev bpftool libxdp-dev xdp-tools libelf-dev zlib1g-dev
	libconfig-dev libjansson-dev libuv1-dev libcurl4-openssl-dev libssl-dev
	libnl-3-dev libnl-route-3-dev libhttp-parser-dev libnghttp2-dev
	libcmocka-dev libclang-rt-14-dev libfuzzer-14-dev clang-format
	iproute2 ethtool nftables iputils-ping procps psmisc util-linux
	etcd-server etcd-client nginx-light curl jq socat iperf3 wrk tshark tcpdump openssl
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root (sudo make deps) to install them" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: installing ${missing[*]}"
# tshark asks whether non-root users may capture: answer no, without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts the packaged etcd and nginx services where an init system
# runs; the lab starts its own instances, so stop the system ones if present.
for s in etcd nginx; do
	if command -v systemctl >/dev/null && systemctl is-active --quiet "$s" 2>/dev/null; then
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	fi
done
