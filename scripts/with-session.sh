#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring, so that
# the keyring and notification code is tested against the real services, not mocks.
# Usage: scripts/with-session.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${CONVERGENCE_IN_SESSION:-}" ]; then
  export CONVERGENCE_IN_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
# A throw-away keyring under a private runtime and data dir; HOME stays (it holds the Go caches).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_RUNTIME_DIR="$scratch/run" XDG_DATA_HOME="$scratch/data"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME"
# GNOME's settings in memory: nothing run here changes the user's desktop (this bus's
# dconf would write to the real ~/.config/dconf). Tests of the desktop's proxy settings
# start a bus of their own with dconf and their own config dir (internal/testsupport/
# sessionbus), and set GSETTINGS_BACKEND=dconf for it.
export GSETTINGS_BACKEND=memory
if command -v gnome-keyring-daemon >/dev/null 2>&1; then
  eval "$(printf 'convergence-test' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)" || true
  export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK 2>/dev/null || true
fi
"$@"
