#!/usr/bin/env bash
# Measures the desktop app's resident memory when idle: starts an already built binary
# under its own Xvfb display, in a private D-Bus session (scripts/with-session.sh), with a
# fresh data dir and a free loopback port, waits until its proxy serves the PAC file,
# samples VmRSS from /proc for about 5 s, then stops it with SIGTERM. Builds nothing.
# Prints one benchstat line per sample (VmRSS, and its anonymous and file-backed parts)
# and a summary line `rss-idle-MB: N` (the largest VmRSS).
# Usage: scripts/rss.sh PATH/TO/convergence
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ] || [ ! -x "$1" ]; then
  echo "usage: scripts/rss.sh PATH/TO/convergence   (an already built app binary)" >&2
  exit 2
fi
bin=$(realpath "$1")
if [ -z "${CONVERGENCE_IN_SESSION:-}" ]; then
  # A private session bus and keyring, so the app's tray and secrets use throw-away ones.
  exec "$(dirname "$(realpath "$0")")/with-session.sh" "$(realpath "$0")" "$bin"
fi
for tool in Xvfb curl ss; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "rss: error: $tool is not installed" >&2
    echo "hint: run scripts/deps.sh bench" >&2
    exit 1
  fi
done

samples=5   # one a second
scratch=$(mktemp -d)
app_pid='' xvfb_pid=''
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -KILL "$app_pid" 2>/dev/null || true
  fi
  if [ -n "$xvfb_pid" ]; then
    kill -TERM "$xvfb_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fail prints an error, the app's last log lines, and exits.
fail() {
  echo "rss: error: $1" >&2
  if [ -s "$scratch/app.log" ]; then
    echo "rss: the app's last log lines:" >&2
    tail -n 20 "$scratch/app.log" >&2
  fi
  exit 1
}

# A display number Xvfb picks itself among the free ones (-displayfd), so that this
# never collides with another display; it writes the number once it accepts clients.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$scratch/display" 2>"$scratch/xvfb.log" &
xvfb_pid=$!
display=''
for _ in $(seq 1 100); do # at most 10 s
  display=$(tr -dc '0-9' <"$scratch/display" 2>/dev/null || true)
  [ -n "$display" ] && break
  kill -0 "$xvfb_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$display" ] || { cat "$scratch/xvfb.log" >&2; fail "Xvfb did not start"; }

# A free loopback port: random picks below the kernel's ephemeral range (where outgoing
# connections take theirs), checked against every socket in any state.
low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
port=''
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % (low > 21000 ? low - 20000 : 1000)))
  if [ -z "$(ss -Htan "sport = :$p")" ]; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free loopback port found"

mkdir -p "$scratch/data" "$scratch/cache" "$scratch/config"
# HOME stays (see docs: moving it moves the Go caches); the XDG dirs keep Mesa's and
# Fyne's caches and preferences out of the user's own.
env -u WAYLAND_DISPLAY DISPLAY=":$display" LANG=en_US.UTF-8 \
  XDG_CACHE_HOME="$scratch/cache" XDG_CONFIG_HOME="$scratch/config" \
  "$bin" --data-dir "$scratch/data" --listen "127.0.0.1:$port" >"$scratch/app.log" 2>&1 &
app_pid=$!

pac="http://127.0.0.1:$port/proxy.pac"
up=''
for _ in $(seq 1 60); do # at most about 30 s: a first run creates the CA and the store
  kill -0 "$app_pid" 2>/dev/null || fail "the app exited before its proxy answered"
  if grep -q 'msg="proxy stopped"' "$scratch/app.log"; then fail "the app's proxy could not start"; fi
  if curl -sf --noproxy '*' --max-time 1 -o /dev/null "$pac"; then up=1; break; fi
  sleep 0.5
done
[ -n "$up" ] || fail "the app's proxy did not answer $pac within 30 s"

sleep 1 # let the first frames be drawn
max=0
for i in $(seq 1 "$samples"); do
  # VmRSS, and its anonymous part (heaps: Go's and the C libraries') and its file-backed
  # part (the binary and shared libraries such as Mesa's, shared with other processes).
  line=$(awk '$1 == "VmRSS:" { r = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
    END { if (r != "") printf "%.1f %.1f %.1f", r / 1024, a / 1024, f / 1024 }' "/proc/$app_pid/status" 2>/dev/null || true)
  [ -n "$line" ] || fail "the app exited while being measured"
  read -r mb anon file <<<"$line"
  echo "BenchmarkAppRSS/idle 1 $mb MB-rss $anon MB-anon $file MB-file"
  max=$(awk -v a="$max" -v b="$mb" 'BEGIN { print (b > a ? b : a) }')
  [ "$i" -lt "$samples" ] && sleep 1
done
echo "rss-idle-MB: $max"

# Stop it as a user's session would, and check that it quits cleanly.
kill -TERM "$app_pid"
for _ in $(seq 1 100); do # at most 10 s
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$app_pid" 2>/dev/null; then
  fail "the app did not quit within 10 s of SIGTERM"
fi
status=0
wait "$app_pid" || status=$?
app_pid=''
[ "$status" -eq 0 ] || fail "the app exited with status $status after SIGTERM"
