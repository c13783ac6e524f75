# hookloop: two commands.
#   make run   set up, start the AWS emulator, create resources, serve the pipeline, send the samples
#   make test  every test (unit, end-to-end on the emulator, Lambda binaries under cargo lambda)
#
# Everything this needs is installed here, pinned: Python tools into .venv/, Rust crates by
# Cargo.lock. The Rust toolchain (cargo) and python3 are the only prerequisites.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON              ?= python3
VENV                := .venv
MOTO_VERSION        := 5.2.1
CARGO_LAMBDA_VERSION := 1.9.2

# Builds live outside the clone so a fresh clone (CI) reuses them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/hookloop/target
BIN := $(CARGO_TARGET_DIR)/debug

# make run settings
MOTO_PORT     ?= 4566
LISTEN        ?= 127.0.0.1:3000
PREFIX        ?= hookloop-local
WEBHOOK_TOKEN ?= dev-token

.PHONY: help setup build-local run test lint fmt clean

help:
	@echo "make run    run the pipeline locally on the moto emulator (Ctrl-C stops)"
	@echo "make test   run every test"
	@echo "make lint   rustfmt and clippy"
	@echo "make clean  remove .venv/ and the build directory ($(CARGO_TARGET_DIR))"

$(VENV)/.installed: Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
		'moto[server]==$(MOTO_VERSION)' 'cargo-lambda==$(CARGO_LAMBDA_VERSION)'
	touch $@

setup: $(VENV)/.installed

build-local: setup
	cargo build --locked --workspace --bins

run: build-local
	@mkdir -p .local
	@export AWS_ENDPOINT_URL=http://127.0.0.1:$(MOTO_PORT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
		AWS_REGION=us-east-1 WEBHOOK_TOKEN='$(WEBHOOK_TOKEN)'; \
	if (exec 3<>/dev/tcp/127.0.0.1/$(MOTO_PORT)) 2>/dev/null; then \
		echo "port $(MOTO_PORT) is taken: stop what runs there or use make run MOTO_PORT=<port>"; exit 1; fi; \
	$(VENV)/bin/moto_server -H 127.0.0.1 -p $(MOTO_PORT) > .local/moto.log 2>&1 & moto=$$!; \
	serve=; trap 'kill $$serve $$moto 2>/dev/null; wait 2>/dev/null; echo stopped' EXIT; trap 'exit 130' INT TERM; \
	for i in $$(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$(MOTO_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	echo "== moto on $$AWS_ENDPOINT_URL (log: .local/moto.log)"; \
	echo "== hookloop init --prefix $(PREFIX)"; \
	$(BIN)/hookloop init --prefix $(PREFIX) | tee .local/env; \
	source .local/env; \
	echo "== hookloop serve --listen $(LISTEN) (log: .local/serve.log)"; \
	$(BIN)/hookloop serve --listen $(LISTEN) > .local/serve.log 2>&1 & serve=$$!; \
	for i in $$(seq 100); do (exec 3<>/dev/tcp/$${LISTEN%:*}/$${LISTEN##*:}) 2>/dev/null && break; sleep 0.1; done; \
	echo "== hookloop send --trace events/webhooks/*/*.json"; \
	$(BIN)/hookloop send --url http://$(LISTEN) --trace events/webhooks/*/*.json; \
	echo; echo "== serving on http://$(LISTEN) with WEBHOOK_TOKEN=$(WEBHOOK_TOKEN); Ctrl-C to stop"; \
	echo "   try: curl -H 'content-type: application/json' -H 'x-webhook-token: $(WEBHOOK_TOKEN)' \\"; \
	echo "          --data @events/webhooks/location/structured.json http://$(LISTEN)/webhooks/location"; \
	wait $$serve

test: build-local
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo test --locked --workspace

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean:
	rm -rf $(VENV) .local
	cargo clean
