#!/usr/bin/env bash
# Measures the notary's cached v1 answers under wrk, in one run: one process on its SQLite
# file, one process on PostgreSQL, and two processes sharing that PostgreSQL (a fleet on
# one host). Loopback only; every process is ended at exit. The figures go to stdout.
# Usage: scripts/fleet-bench.sh [seconds per run, default 10]   (ROUNDS=3: rounds of the three)
# Needs: go, wrk, PostgreSQL's binaries (/usr/lib/postgresql/*/bin; scripts/deps.sh bench).
set -euo pipefail
secs=${1:-10}
cd "$(dirname "$0")/.."
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/postgres" ] || { echo "fleet-bench: no PostgreSQL binaries; hint: scripts/deps.sh bench" >&2; exit 1; }
command -v wrk >/dev/null || { echo "fleet-bench: no wrk; hint: scripts/deps.sh bench" >&2; exit 1; }
tmp=$(mktemp -d /tmp/fleet-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; as=(runuser -u postgres --); fi
"${as[@]}" "$pgbin/initdb" -D "$tmp/pg" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
"${as[@]}" "$pgbin/postgres" -D "$tmp/pg" -k "$tmp" -c listen_addresses= >"$tmp/pg.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do "$pgbin/pg_isready" -q -h "$tmp" && break; sleep 0.1; done
"$pgbin/psql" -q -h "$tmp" -U postgres -c "CREATE DATABASE notary" >/dev/null
url="postgres:///notary?host=$tmp&user=postgres"
CGO_ENABLED=0 go build -o "$tmp/convergence-notary" ./cmd/convergence-notary
"$tmp/convergence-notary" keygen --key-dir "$tmp/key" --host 127.0.0.1 >/dev/null

port=24240
# start NAME STORE: a notary on the next port, allowed to probe itself (its own
# listener is the target asked about: no other site needed).
start() {
  port=$((port + 1))
  mkdir -p "$tmp/$1"
  "$tmp/convergence-notary" serve --listen "127.0.0.1:$port" --data "$tmp/$1" --key-dir "$tmp/key" \
    --host 127.0.0.1 --allow-target 127.0.0.0/8 --allow-port 24241-24250 --rate 0 --log-level warn $2 \
    2>"$tmp/$1.log" &
  pids+=($!)
  for _ in $(seq 100); do curl -sk "https://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "fleet-bench: notary $1 did not start" >&2; cat "$tmp/$1.log" >&2; exit 1
}
# The target every run asks about, probed once (the first notary's port).
target=/target/127.0.0.1+24241
rate() { wrk -t1 -c"$2" -d"${secs}s" "https://127.0.0.1:$1$target" | awk '/Requests\/sec/ {print $2}'; }

start sqlite ""
curl -sk "https://127.0.0.1:24241$target" >/dev/null
start pg1 "--store $url"
curl -sk "https://127.0.0.1:24242$target" >/dev/null
start pg2 "--store $url"
curl -sk "https://127.0.0.1:24243$target" >/dev/null

# Rounds interleave the shapes, so a change in the machine's load falls on all of them.
rounds=${ROUNDS:-3}
sq=(); p1=(); p2=()
for r in $(seq "$rounds"); do
  sq+=("$(rate 24241 32)")
  p1+=("$(rate 24242 32)")
  a=$(mktemp -p "$tmp"); b=$(mktemp -p "$tmp")
  rate 24242 16 >"$a" & w1=$!
  rate 24243 16 >"$b" & w2=$!
  wait $w1 $w2
  p2+=("$(awk -v x="$(cat "$a")" -v y="$(cat "$b")" 'BEGIN {printf "%.0f", x + y}')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%.0f", v[int((NR+1)/2)]}'; }
echo "cached v1 answers, wrk ${secs}s per run, keep-alive TLS, requests/s ($rounds rounds; median, then each):"
echo "  one process, SQLite (32 conns):          $(median "${sq[@]}")  (${sq[*]})"
echo "  one process, PostgreSQL (32 conns):      $(median "${p1[@]}")  (${p1[*]})"
echo "  two processes, one PostgreSQL (16+16):   $(median "${p2[@]}")  (${p2[*]})"
echo "PostgreSQL connections open: $("$pgbin/psql" -At -h "$tmp" -U postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'notary'")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
