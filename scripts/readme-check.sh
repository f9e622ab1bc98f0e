#!/usr/bin/env bash
# Runs README.md's commands in the order the README gives them, on this tree, as a
# newcomer would on a fresh clone, and fails at the first one that does not work as
# written. `make test` runs it (after the Go tests, whose build cache it reuses).
#
# Every command of the README (an indented line starting with ./convergence,
# ./convergence-notary, make or curl) must be handled below: run as written, run with
# what only this machine can say substituted (a free port instead of 8118 or 4242, a
# scratch dir instead of /var/lib, the fingerprint the notary printed instead of
# SHA256), or skipped with the reason (outside network, a display, root's trust stores,
# or a long target that make test runs itself). A command the script does not know
# fails it: a README change must come with its check.
#
# It never touches the user's data dir (CONVERGENCE_HOME is a scratch dir), trust
# stores or display; everything it starts listens on 127.0.0.1 and is stopped, and its
# scratch dir removed, when it ends, failed or not.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
export GOFLAGS="${GOFLAGS:--tags=no_emoji}"
work=$(mktemp -d "${TMPDIR:-/tmp}/convergence-readme-XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
export CONVERGENCE_HOME="$work/home" # never the user's data dir
unset DISPLAY WAYLAND_DISPLAY        # the app runs headless whatever this machine has

say() { printf 'readme-check: %s\n' "$*"; }
fail() { printf 'readme-check: FAILED: %s\n' "$*" >&2; exit 1; }
skip() { say "skipped ($1): $2"; }

# freeport prints a TCP port on 127.0.0.1 that nothing listens on now (bash alone: a
# fresh Debian has no python), below the ephemeral range (Linux: 32768-60999), where an
# outgoing connection's own port could make a bind fail although nothing listens.
freeport() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port found on 127.0.0.1"
}

# waitfor FILE TEXT: waits (at most 60 s) until FILE holds TEXT.
waitfor() {
	for _ in $(seq 600); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no \"$2\" in $1 within 60 s: $(tail -5 "$1" 2>/dev/null)"
}

# The binaries the README calls ./convergence and ./convergence-notary, built (from the
# build cache when the tests built them already) into the scratch dir, where the
# commands run.
say "building ./convergence and ./convergence-notary"
(cd "$repo" && go build -ldflags "-X main.version=readme-check" -o "$work/convergence" . &&
	CGO_ENABLED=0 go build -o "$work/convergence-notary" ./cmd/convergence-notary)
cd "$work"

# The README's commands, in order, continuation lines joined.
mapfile -t cmds < <(awk '/^     *(\.\/convergence|make |curl )/ {
	line = $0
	while (line ~ /\\$/) { getline nxt; sub(/\\$/, "", line); line = line nxt }
	sub(/^ +/, "", line); sub(/ +#.*$/, "", line); gsub(/ +/, " ", line); print line }' "$repo/README.md")
[ "${#cmds[@]}" -gt 10 ] || fail "found only ${#cmds[@]} commands in README.md"

notary_log=$work/notary.log
notary_port=
notary_fp=
# start_notary runs 'make notary' on a free port with a scratch data dir, and reads the
# fingerprint it prints.
start_notary() {
	notary_port=$(freeport)
	: >"$notary_log"
	make -s -C "$repo" notary NOTARY_DATA="$work/notary-data" NOTARY_LISTEN="127.0.0.1:$notary_port" >"$notary_log" 2>&1 &
	pids+=($!)
	waitfor "$notary_log" "to add this notary to a client"
	notary_fp=$(sed -n 's/.*--fingerprint \([0-9a-f]\{64\}\).*/\1/p' "$notary_log" | tail -1)
	[ -n "$notary_fp" ] || fail "make notary printed no fingerprint: $(cat "$notary_log")"
}
stop_notary() {
	local p=${pids[-1]}
	kill "$p"; wait "$p" 2>/dev/null || true
	unset 'pids[-1]'
}

# example.notary: "a bundle file you were given"; made here the way the README's
# bundle command makes one.
make_example_bundle() {
	[ -f example.notary ] && return 0
	./convergence-notary bundle --data "$work/example-notary" --name "Example Org" --host 127.0.0.1 >example.notary
}

for cmd in "${cmds[@]}"; do
	say "\$ $cmd"
	case "$cmd" in
	"make demo")
		out=$(make -s -C "$repo" demo 2>&1) || fail "make demo: $out"
		grep -q "verdict: TRUSTED" <<<"$out" && grep -q "verdict: REJECTED" <<<"$out" ||
			fail "make demo did not show a trusted and a blocked site: $out"
		;;
	"make run")
		skip "needs a display" "make demo above ran the app"
		;;
	"make test" | "make e2e" | "make readme-check")
		skip "make test runs it itself" "$cmd"
		;;
	"make bench" | "make fuzz" | "make package" | "make lint")
		skip "minutes long (package and lint also download their tool)" "$cmd"
		;;
	"./convergence --headless --listen 127.0.0.1:8118")
		# Port 0, not 8118: this machine may run its own app there; the log says where.
		./convergence --headless --listen 127.0.0.1:0 >"$work/headless.log" 2>&1 &
		pids+=($!)
		waitfor "$work/headless.log" "proxy listening"
		addr=$(sed -n 's/.*msg="proxy listening" addr=\([0-9.:]*\).*/\1/p' "$work/headless.log")
		[ -n "$addr" ] || fail "the proxy did not say where it listens: $(cat "$work/headless.log")"
		grep -q "FindProxyForURL" <<<"$(curl -fsS "http://$addr/proxy.pac")" || fail "no PAC file at http://$addr/proxy.pac"
		kill "${pids[-1]}"; wait "${pids[-1]}" || fail "the headless proxy did not stop cleanly: $(cat "$work/headless.log")"
		unset 'pids[-1]'
		;;
	"./convergence ca install" | "./convergence ca uninstall")
		skip "changes this machine's trust stores" "$cmd"
		;;
	"./convergence ca export > convergence-ca.pem")
		./convergence ca export >convergence-ca.pem
		grep -q "BEGIN CERTIFICATE" convergence-ca.pem || fail "ca export wrote no certificate"
		;;
	curl\ *example.com* | *"notary add https://notary.example.org/"* | "./convergence check example.com:443")
		skip "outside network" "$cmd"
		;;
	"./convergence notary add example.notary")
		make_example_bundle
		grep -q 'added notary "Example Org"' <<<"$(./convergence notary add example.notary)" || fail "$cmd"
		;;
	"./convergence notary list")
		grep -q "Example Org" <<<"$(./convergence notary list)" || fail "notary list lacks the notary added"
		;;
	"./convergence set directory-urls https://"*)
		eval "$cmd" >/dev/null || fail "$cmd"
		grep -qF -- "${cmd##* }" <<<"$(./convergence settings)" || fail "settings do not show the directory URL set"
		;;
	"./convergence set directory-keys ed25519:BASE64KEY")
		skip "a placeholder for the key the directory's maintainer gives" "$cmd"
		;;
	"./convergence notary choose" | "./convergence directory list" | "./convergence directory refresh")
		skip "outside network (the directory at directory.example.org)" "$cmd"
		;;
	./convergence\ cleartext\ *)
		eval "$cmd" >/dev/null || fail "$cmd"
		;;
	"make notary")
		start_notary
		first_fp=$notary_fp
		stop_notary
		start_notary # its key must survive a restart
		[ "$notary_fp" = "$first_fp" ] || fail "make notary made a new key at restart ($first_fp, then $notary_fp)"
		;;
	"make notary-build")
		make -s -C "$repo" notary-build >/dev/null
		[ -x "$repo/convergence-notary" ] || fail "make notary-build made no ./convergence-notary"
		;;
	"./convergence-notary serve --listen :443 "*)
		skip "binds :443 and writes /var/lib: a server's setup" "make notary above ran serve"
		;;
	"./convergence-notary bundle --data /var/lib/convergence-notary "*)
		rm -f example.notary
		eval "${cmd//\/var\/lib\/convergence-notary/$work/example-notary}"
		grep -q '"Example Org"' example.notary || fail "bundle wrote no bundle"
		;;
	"./convergence notary add https://127.0.0.1:4242/.well-known/convergence.notary --fingerprint SHA256")
		[ -n "$notary_port" ] || fail "no notary runs: 'make notary' must come first in the README"
		url="https://127.0.0.1:$notary_port/.well-known/convergence.notary"
		out=$(./convergence notary add "$url" 2>&1) && fail "notary add of a notary's own URL without --fingerprint succeeded: $out"
		grep -q "hint: .*--fingerprint" <<<"$out" || fail "notary add without --fingerprint gave no hint naming it: $out"
		grep -q 'added notary "Local test notary"' <<<"$(./convergence notary add "$url" --fingerprint "$notary_fp")" ||
			fail "notary add $url --fingerprint $notary_fp"
		stop_notary
		;;
	*)
		fail "README command not handled by scripts/readme-check.sh: $cmd"
		;;
	esac
done
say "ok: ${#cmds[@]} README commands"
