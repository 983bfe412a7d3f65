#!/bin/bash
# Installs the Debian packages tundra needs to build, test and run its demo, if any is missing.
# Used by `make demo` and `make test` (and so by CI). Needs root for apt-get.
# `install-deps.sh fuzz` (from `make fuzz`) also installs Debian's clang and its libFuzzer.
set -euo pipefail
pkgs=(
  g++ cmake make pkg-config
  libssl-dev libsodium-dev libfmt-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev clang-format
  libbenchmark-dev libgcrypt20-dev  # the AEAD micro-benchmark (tundra/crypto/aead_bench.cc)
  liblz4-dev libzstd-dev  # opt-in compression (tundra/compress)
  iproute2 iputils-ping iperf3 nftables procps psmisc util-linux python3 tcpdump
  wireguard-tools wireguard-go
  groff-base man-db systemd dpkg-dev file  # man/help and unit tests, make deb (dpkg-shlibdeps)
)
if [ "${1:-}" = fuzz ]; then
  pkgs+=(clang-14 libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "tundra: installing missing packages: ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
  echo "tundra: need root to install packages (run as root or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# --no-install-recommends: wireguard-tools would otherwise pull in a kernel image.
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || {
  apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
