#!/usr/bin/env bash
# Installs the Debian 12 packages Volley needs to build and test, only when
# some are missing (so a second run costs nothing). Needs root or sudo.
set -euo pipefail

BUILD_PKGS=(g++ cmake ninja-build pkg-config zlib1g-dev libasio-dev libssl-dev libsqlite3-dev libcrypt-dev libc-ares-dev
            libtomlplusplus-dev libcli11-dev libgtest-dev nlohmann-json3-dev)
TEST_PKGS=(clang-14 libclang-rt-14-dev python3 python3-pytest python3-aiosmtpd python3-dnslib
           swaks curl openssl)

want=("${BUILD_PKGS[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
