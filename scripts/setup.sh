#!/usr/bin/env bash
# Installs the Debian 12 packages majordomo needs when they are missing.
# As root it installs them; otherwise it prints the apt command and stops.
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config libssl-dev
          libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-test1.81-dev zlib1g-dev)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# libboost1.81-dev conflicts with Debian's default 1.74 packages: name only the 1.81 ones.
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "majordomo needs: ${missing[*]}" >&2
    echo "run as root: apt-get update && $cmd" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd
