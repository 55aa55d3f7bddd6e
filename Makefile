# XClass: the two set-up commands are `make run` and `make test` (README.md).
SHELL := /bin/bash
NPM ?= npm
STAMP := node_modules/.xclass-installed

.PHONY: install build run test bench clean

install: $(STAMP)

$(STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

build: install
	$(NPM) run --silent build

run: build
	./bin/xclass.js run

test: build
	npx vitest run

bench: build
	@for b in dist/bench/*.js; do echo "== $$b"; node $$b || exit 1; done

clean:
	rm -rf dist
