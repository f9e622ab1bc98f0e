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

.PHONY: all deps deps-run build notary-build run test e2e bench fuzz notary package lint clean

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

# The whole suite: vet, then every package with -race inside a private D-Bus session
# with an unlocked keyring (scripts/with-session.sh). Tests that need root skip without it.
test: deps
	$(GO) vet ./...
	scripts/with-session.sh $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

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
notary: convergence-notary
	@mkdir -p -m 700 "$(NOTARY_DATA)"; echo "notary data dir: $(NOTARY_DATA) (kept across restarts)"; \
	exec ./convergence-notary serve --listen 127.0.0.1:4242 --data "$(NOTARY_DATA)" --name "Local test notary" --host 127.0.0.1 \
	  --allow-target 127.0.0.0/8 --allow-target ::1/128 $(ARGS)

package: deps-run
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package --target linux --release --tags $(GOTAGS)

lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -f convergence convergence-notary *.tar.xz
