#!/usr/bin/env bash
# Measures the desktop app's resident memory in several states, one app process after
# another under one Xvfb display, in a private D-Bus session (scripts/with-session.sh),
# each with a fresh data dir and a free loopback port:
#   tray        --background: idle in the tray, as the app starts at login (the idle goal)
#   window      the window open, empty history
#   tray-10k    as tray, with 10,000 verdicts in the history (the Activity list's cap);
#               the app reads them only when its window first opens, so this is what a
#               full history costs an app that stays in the tray
#   window-10k  as window, with the 10,000 verdicts in the Activity list
# For each: waits until the proxy serves the PAC file and the app has settled, samples
# VmRSS (and its anonymous and file-backed parts) from /proc for about 5 s, then stops it
# with SIGTERM and checks a clean exit. Builds the history seeder
# (internal/testsupport/seedhistory) unless CONVERGENCE_SEEDHISTORY names a built one; never
# builds the app. Prints benchstat lines `BenchmarkAppRSS/<state> 1 N MB-rss A MB-anon
# F MB-file` and `BenchmarkAppIdleCPU/<state> 1 P pct-core` (the CPU it used while
# sampled), then a summary line per state (its largest VmRSS) and `rss-idle-MB: N` (the
# tray state's).
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
seeder=${CONVERGENCE_SEEDHISTORY:-}
for tool in Xvfb curl ss $([ -z "$seeder" ] && echo go); do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "rss: error: $tool is not installed" >&2
    echo "hint: run scripts/deps.sh bench" >&2
    exit 1
  fi
done

samples=5   # one a second
scratch=$(mktemp -d)
app_pid='' xvfb_pid='' log=''
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

# fail prints an error, the current app's last log lines, and exits.
fail() {
  echo "rss: error: $1" >&2
  if [ -n "$log" ] && [ -s "$log" ]; then
    echo "rss: the app's last log lines:" >&2
    tail -n 20 "$log" >&2
  fi
  exit 1
}

if [ -z "$seeder" ]; then
  seeder="$scratch/seedhistory"
  (cd "$(dirname "$(realpath "$0")")/.." && go build -o "$seeder" ./internal/testsupport/seedhistory) ||
    fail "could not build the history seeder (hint: go build ./internal/testsupport/seedhistory, or set CONVERGENCE_SEEDHISTORY)"
fi
[ -x "$seeder" ] || fail "the history seeder $seeder is not an executable (CONVERGENCE_SEEDHISTORY)"

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

# free_port prints a free loopback port: random picks below the kernel's ephemeral range
# (where outgoing connections take theirs), checked against every socket in any state.
free_port() {
  local low p
  low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % (low > 21000 ? low - 20000 : 1000)))
    if [ -z "$(ss -Htan "sport = :$p")" ]; then echo "$p"; return; fi
  done
  fail "no free loopback port found"
}

# cpu_ticks prints the CPU time the app has used, in clock ticks (utime + stime; the
# fields after the command name, which sits in parentheses).
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$app_pid/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  awk '{ print $12 + $13 }' <<<"$stat"
}

# settle waits until the app is idle. With its window open it loads the history
# asynchronously at start (with 10,000 verdicts: about 1 s of CPU reading and decoding
# them), maybe before, maybe after the proxy answers, and draws its first frames. No log line marks the end, so the sign
# is the one the measurement is about: the app stops working, using under 5% of a core
# in each of 2 seconds in a row (idle it uses 1-3%). At most 30 s.
settle() {
  local hz quiet=0 before after
  hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
  before=$(cpu_ticks)
  for _ in $(seq 1 30); do
    sleep 1
    after=$(cpu_ticks)
    [ -n "$after" ] || fail "the app exited while settling"
    if [ $((after - before)) -le $((hz / 20)) ]; then quiet=$((quiet + 1)); else quiet=0; fi
    [ "$quiet" -ge 2 ] && return
    before=$after
  done
  fail "the app still used over 5% of a core 30 s after its proxy answered"
}

# measure STATE ARGS SEED: runs the app with ARGS on a fresh data dir holding SEED
# verdicts, prints its benchstat lines, and appends its summary line to $scratch/summary.
measure() {
  local state=$1 args=$2 seed=$3 dir="$scratch/$1" port pac up='' max=0 mx_anon=0 mx_file=0 line mb anon file status=0 ticks0 ticks1 ns0 ns1 cpu
  mkdir -p "$dir/data" "$dir/cache" "$dir/config"
  log="$dir/app.log"
  if [ "$seed" -gt 0 ]; then
    "$seeder" --data-dir "$dir/data" --n "$seed" >"$dir/seed.log" 2>&1 || { cat "$dir/seed.log" >&2; fail "could not seed $state's history"; }
  fi
  port=$(free_port)
  # HOME stays (see docs: moving it moves the Go caches); the XDG dirs keep Mesa's and
  # Fyne's caches and preferences out of the user's own.
  # shellcheck disable=SC2086 # $args is a list of flags
  env -u WAYLAND_DISPLAY DISPLAY=":$display" LANG=en_US.UTF-8 \
    XDG_CACHE_HOME="$dir/cache" XDG_CONFIG_HOME="$dir/config" \
    "$bin" --data-dir "$dir/data" --listen "127.0.0.1:$port" $args >"$log" 2>&1 &
  app_pid=$!

  pac="http://127.0.0.1:$port/proxy.pac"
  for _ in $(seq 1 60); do # at most about 30 s: a first run creates the CA and the store
    kill -0 "$app_pid" 2>/dev/null || fail "the app ($state) exited before its proxy answered"
    if grep -q 'msg="proxy stopped"' "$log"; then fail "the app's proxy ($state) could not start"; fi
    if curl -sf --noproxy '*' --max-time 1 -o /dev/null "$pac"; then up=1; break; fi
    sleep 0.5
  done
  [ -n "$up" ] || fail "the app's proxy ($state) did not answer $pac within 30 s"
  settle
  ticks0=$(cpu_ticks) ns0=$(date +%s%N)
  for i in $(seq 1 "$samples"); do
    # VmRSS, and its anonymous part (heaps: Go's and the C libraries') and its file-backed
    # part (the binary and shared libraries such as Mesa's, shared with other processes).
    line=$(awk '$1 == "VmRSS:" { r = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
      END { if (r != "") printf "%.1f %.1f %.1f", r / 1024, a / 1024, f / 1024 }' "/proc/$app_pid/status" 2>/dev/null || true)
    [ -n "$line" ] || fail "the app ($state) exited while being measured"
    read -r mb anon file <<<"$line"
    echo "BenchmarkAppRSS/$state 1 $mb MB-rss $anon MB-anon $file MB-file"
    if awk -v a="$max" -v b="$mb" 'BEGIN { exit !(b > a) }'; then max=$mb mx_anon=$anon mx_file=$file; fi
    [ "$i" -lt "$samples" ] && sleep 1
  done
  # The CPU it used meanwhile, idle: a share of one core (Fyne's loop, when it runs, wakes
  # 60 times a second even with no window).
  ticks1=$(cpu_ticks) ns1=$(date +%s%N)
  cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" -v ns=$((ns1 - ns0)) \
    'BEGIN { printf "%.1f", 100 * (t / hz) / (ns / 1e9) }')
  echo "BenchmarkAppIdleCPU/$state 1 $cpu pct-core"
  echo "rss-MB $state: $max (anon $mx_anon, file $mx_file); cpu $cpu% of a core" >>"$scratch/summary"
  [ "$state" = tray ] && echo "rss-idle-MB: $max" >>"$scratch/summary"

  # Stop it as a user's session would, and check that it quits cleanly.
  kill -TERM "$app_pid"
  for _ in $(seq 1 100); do # at most 10 s
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$app_pid" 2>/dev/null && fail "the app ($state) did not quit within 10 s of SIGTERM"
  wait "$app_pid" || status=$?
  app_pid=''
  [ "$status" -eq 0 ] || fail "the app ($state) exited with status $status after SIGTERM"
  log=''
}

measure tray --background 0
measure window '' 0
measure tray-10k --background 10000
measure window-10k '' 10000
cat "$scratch/summary"
