# XClass: the two set-up commands are `make run` and `make test` (README.md).
SHELL := /bin/bash
NPM ?= npm
STAMP := node_modules/.xclass-installed
# The Temporal CLI embeds the real server (`temporal server start-dev`). It is built
# from Go modules into .tools/bin (pinned release), once; never downloaded prebuilt.
TEMPORAL_CLI_VERSION := v1.5.1
TEMPORAL := .tools/bin/temporal
# The report test opens the HTML report in Debian's Chromium (driven by playwright-core).
CHROMIUM := /usr/bin/chromium
# Tests read XClass's output tables back with Debian's astropy (a reference, never a runtime dependency).
ASTROPY := /usr/lib/python3/dist-packages/astropy
# The TAP client is tested against a real TAP server: GAVO DaCHS (Debian's gavodachs2-server) on
# PostgreSQL with pgSphere. The package's set-up needs the cluster running, so it is started first
# and the set-up finished after (dpkg --configure -a); tests/tap/dachs.ts serves the test tables.
# Bookworm's pgSphere 1.1.1 cannot be created in PostgreSQL 15.20 (bookworm-security refuses its
# operator declarations: "commutator operator @> is already the commutator of operator <@"), so the
# server is held at bookworm's own 15.18, which the machine image carries.
DACHS := /usr/bin/dachs
PG_VERSION := 15
PG_PACKAGE_VERSION := 15.18-0+deb12u1

# The TypeScript sources; the build runs only when one of them (or the compiler settings) changed.
SOURCES := $(shell find config schemas activities workflows artifacts lib cli engine report bench tests -name '*.ts' -not -path '*/node_modules/*') tsconfig.json
BUILT := dist/.built

.PHONY: install build run test bench clean temporal chromium astropy dachs postgres

install: $(STAMP)

temporal: $(TEMPORAL)

$(TEMPORAL):
	mkdir -p .tools/bin
	GOBIN=$(CURDIR)/.tools/bin GOFLAGS=-mod=mod go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

chromium: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

astropy: $(ASTROPY)

$(ASTROPY):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-astropy

dachs: $(DACHS) postgres

$(DACHS):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades \
		postgresql-$(PG_VERSION)=$(PG_PACKAGE_VERSION) postgresql-client-$(PG_VERSION)=$(PG_PACKAGE_VERSION) postgresql-$(PG_VERSION)-pgsphere
	apt-mark hold postgresql-$(PG_VERSION) postgresql-client-$(PG_VERSION)
	pg_ctlcluster $(PG_VERSION) main stop >/dev/null 2>&1 || true
	pg_ctlcluster $(PG_VERSION) main start
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gavodachs2-server || DEBIAN_FRONTEND=noninteractive dpkg --configure -a
	test -x $(DACHS)

# the cluster does not outlive the machine's session: started for every test run
postgres:
	pg_ctlcluster $(PG_VERSION) main status >/dev/null 2>&1 || pg_ctlcluster $(PG_VERSION) main start

$(STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

build: $(BUILT)

$(BUILT): $(STAMP) $(SOURCES)
	$(NPM) run --silent build
	@touch $@

run: build
	@run_id=$$(./bin/xclass.js run) && echo "run $$run_id" && echo "report: $$(./bin/xclass.js report $$run_id)"

test: build $(TEMPORAL) $(CHROMIUM) $(ASTROPY) dachs
	$(NPM) run --silent format:check
	npx vitest run

# every benchmark, then one table of their headline figures (bench/support/figures.ts)
bench: build $(TEMPORAL)
	@rm -f .xclass/bench-*.log; mkdir -p .xclass
	@set -o pipefail; for b in dist/bench/*.js; do echo "== $$b"; node $$b | tee .xclass/bench-$$(basename $$b .js).log || exit 1; done
	@node dist/bench/support/summarise.js .xclass/bench-*.log

clean:
	rm -rf dist
