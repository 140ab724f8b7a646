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
test: services ## Run every test (unit, integration, contract, system) against real Redis, PostgreSQL, SQLite
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

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
sync-wstg: ## Reconcile every project with DefectDojo now (wstgctl sync)
	$(CARGO) run -q --bin wstgctl -- sync

.PHONY: wstg-status
wstg-status: ## Show sync status, queue depth and dead letters (wstgctl status)
	$(CARGO) run -q --bin wstgctl -- status

.PHONY: wstg-logs
wstg-logs: ## Follow the logs of the services started by `make demo`
	@tail -n 50 -F .demo/logs/*.log

.PHONY: dlq
dlq: ## List the dead-letter queue (wstgctl dlq list)
	$(CARGO) run -q --bin wstgctl -- dlq list

.PHONY: clean
clean: ## Remove build output and local demo data
	$(CARGO) clean
	rm -rf .demo data
