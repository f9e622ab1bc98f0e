#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that building, testing and running Convergence need,
# and only those that are missing. Quick when everything is there.
# Usage: scripts/deps.sh [build|test|run|bench|all]   (default: all)
set -euo pipefail

build=(gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
       libxinerama-dev libxi-dev libxxf86vm-dev)
# certutil (libnss3-tools) puts the local CA in browsers' databases; pkexec asks for the
# administrator password to put it in the system store (ca-certificates).
# GNOME's proxy settings (gsettings, dconf and the schemas), for "Protect this computer".
gsettings=(libglib2.0-bin dconf-service dconf-gsettings-backend gsettings-desktop-schemas)
run=(dbus dbus-x11 gnome-keyring libgl1-mesa-dri libnss3-tools pkexec ca-certificates "${gsettings[@]}")
# e2fsprogs: chattr, which makes a trust store unwritable for root in the truststore tests.
# postgresql: the notary's store tests and fleet tests start a real server of their own
# (internal/testsupport/testpg); the package's own cluster service is not used.
# libkf5config-bin: KDE's kwriteconfig5, which the KDE proxy test runs on a temp kioslaverc.
test=(xvfb xauth x11-utils curl iproute2 openssl e2fsprogs postgresql libkf5config-bin)
# Optional: tests that need these skip, with a message, when they are absent
# (Ubuntu ships Chromium only as a snap).
optional=(chromium)
bench=(mitmproxy wrk)

case "${1:-all}" in
  build) want=("${build[@]}") ;;
  run)   want=("${build[@]}" "${run[@]}") ;;
  test)  want=("${build[@]}" "${run[@]}" "${test[@]}") ;;
  bench) want=("${build[@]}" "${run[@]}" "${test[@]}" "${bench[@]}") ;;
  all)   want=("${build[@]}" "${run[@]}" "${test[@]}" "${bench[@]}") ;;
  *) echo "deps: unknown set '$1' (want build, run, test, bench or all)" >&2; exit 2 ;;
esac

if ! command -v go >/dev/null 2>&1; then
  echo "deps: error: Go is not on PATH" >&2
  echo "hint: install Go 1.26 or newer (https://go.dev/dl/) and add its bin directory to PATH" >&2
  exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in "${want[@]}"; do installed "$p" || missing+=("$p"); done
opt_missing=()
if [ "${1:-all}" != build ] && [ "${1:-all}" != run ]; then
  for p in "${optional[@]}"; do installed "$p" || opt_missing+=("$p"); done
fi
[ ${#missing[@]} -eq 0 ] && [ ${#opt_missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: error: these packages are missing and this is not a Debian/Ubuntu system: ${missing[*]}" >&2
  echo "hint: install their equivalents with your distribution's package manager" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "deps: error: missing packages and not root: ${missing[*]}" >&2
    echo "hint: run 'apt-get install ${missing[*]}' as root, then try again" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing missing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for p in "${opt_missing[@]}"; do
  echo "deps: installing optional package $p"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$p" >/dev/null \
    || echo "deps: warning: could not install $p; the tests that need it will skip"
done
