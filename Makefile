# Convergence: `make run` starts the desktop app, `make test` runs the whole suite.
# Every target installs the Debian/Ubuntu packages it needs first (scripts/deps.sh).

GO        ?= go
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
NOTARY_LDFLAGS := -X main.version=$(VERSION)
TEST_TIMEOUT ?= 40m
BENCHTIME ?= 2s
FUZZTIME  ?= 30s
# no_emoji leaves Fyne's colour emoji font out: the UI shows no emoji, and the font cost
# about 20 MB of heap (parsed once per text style) and 4 MB of binary. Every go command
# below, and the ones the tests start, build with it.
GOTAGS    ?= no_emoji
export GOFLAGS += -tags=$(GOTAGS)

.PHONY: all deps deps-run build notary-build run demo test e2e bench fuzz notary package lint clean readme-check

all: build notary-build

# What the tests need (a superset of what building and running need).
deps:
	@scripts/deps.sh test

# What building and running the app need.
deps-run:
	@scripts/deps.sh run

convergence: deps-run FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o convergence .

convergence-notary: FORCE
	CGO_ENABLED=0 $(GO) build -ldflags '$(NOTARY_LDFLAGS)' -o convergence-notary ./cmd/convergence-notary

build: convergence
notary-build: convergence-notary

FORCE:

# Starts the desktop app. With no display it prints how to run headless instead.
run: convergence
	./convergence $(ARGS)

# See it work: three local notaries, an honest site and an attacked one, and the app
# (its window when there is a display, else on the terminal) on a throw-away data dir.
demo: convergence
	./convergence demo

# The whole suite: vet, then every package with -race inside a private D-Bus session
# with an unlocked keyring (scripts/with-session.sh). Tests that need root skip without it.
test: deps
	$(GO) vet ./...
	scripts/with-session.sh $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	scripts/readme-check.sh

# The README's commands, in order, on this tree (those that need no outside network).
readme-check: deps
	scripts/readme-check.sh

# The attack scenarios alone (issue 7); they need root for network namespaces.
e2e: deps
	scripts/with-session.sh $(GO) test -race -timeout $(TEST_TIMEOUT) -run 'Scenario' -v ./e2e/...

bench:
	@scripts/deps.sh bench
	scripts/with-session.sh $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(GO) build -ldflags '$(LDFLAGS)' -o "$$tmp/convergence" . && scripts/rss.sh "$$tmp/convergence"
	scripts/fleet-bench.sh 10

fuzz: deps
	scripts/fuzz.sh $(FUZZTIME)

# A local notary for trying things out, allowed to probe loopback. Its key and history
# stay in $(NOTARY_DATA) across restarts (a new key at each start would make clients
# see "a certificate other than its pinned one"); its log says how to add it to a
# client ("to add this notary to a client"). rm -rf $(NOTARY_DATA) starts afresh.
NOTARY_DATA ?= .notary-data
NOTARY_LISTEN ?= 127.0.0.1:4242
notary: convergence-notary
	@mkdir -p -m 700 "$(NOTARY_DATA)"; echo "notary data dir: $(NOTARY_DATA) (kept across restarts)"; \
	exec ./convergence-notary serve --listen $(NOTARY_LISTEN) --data "$(NOTARY_DATA)" --name "Local test notary" --host 127.0.0.1 \
	  --allow-target 127.0.0.0/8 --allow-target ::1/128 $(ARGS)

# A Linux package (convergence.tar.xz). fyne packages a binary built here with the
# version stamped (fyne's own build would stamp "dev"), from a copy of FyneApp.toml
# and the icon in a scratch dir: fyne bumps the Build number in the FyneApp.toml it
# reads, and removes a binary it built itself. ./convergence and the tracked
# FyneApp.toml are left as they are.
package: deps-run
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && trap 'exit 1' INT TERM && \
	  $(GO) build -trimpath -tags '$(GOTAGS),release' -ldflags '$(LDFLAGS)' -o "$$tmp/convergence" . && \
	  mkdir -p "$$tmp/src/assets" && cp FyneApp.toml "$$tmp/src/" && cp assets/icon.png "$$tmp/src/assets/" && \
	  printf 'package main\n\nfunc main() {}\n' > "$$tmp/src/main.go" && \
	  (cd "$$tmp/src" && GOFLAGS= $(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package --target linux --release \
	    --executable "$$tmp/convergence" --name Convergence) && \
	  mv "$$tmp/src/"*.tar.xz . && ls -l *.tar.xz

lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -f convergence convergence-notary *.tar.xz
