# hookloop: two commands.
#   make run   set up, start the AWS emulator, create resources, serve the pipeline, send the samples
#   make test  every test (unit, end-to-end on the emulator, Lambda binaries under cargo lambda)
#
# Everything this needs is installed here, pinned: Python tools into a virtualenv that .venv/
# links to, Rust crates by Cargo.lock, the arm64 Rust target by rustup. The Rust toolchain
# (rustup, cargo) and python3 are the only prerequisites.
#
# Deployment (AWS credentials needed): make build, make deploy, make deploy-fn FUNCTION=ingest
# (or processor, compactor), make invoke-local (needs Docker), make logs, make delete.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON              ?= python3
VENV                := .venv
MOTO_VERSION         := 5.2.1
CARGO_LAMBDA_VERSION := 1.9.2
ZIGLANG_VERSION      := 0.13.0.post1
SAM_CLI_VERSION      := 1.170.0
CFN_LINT_VERSION     := 1.58.0
DUCKDB_VERSION       := 2.0.1
ARM64_TARGET         := aarch64-unknown-linux-gnu
CARGO_FUZZ_VERSION   := 0.13.2
# Cargo-installed tools live outside the clone, like the build directory.
TOOLS                := $(HOME)/.cache/hookloop/tools

# Builds live outside the clone so a fresh clone (CI) reuses them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/hookloop/target
# So does the Python tools' virtualenv, one per set of pins and Python version; .venv/ in the clone
# links to it. Besides the install time, this keeps arm64 builds warm across clones: cargo lambda's
# zig linker wrapper is named after the path of the cargo-lambda binary, and cargo fingerprints
# every crate with its linker, so a venv inside each clone rebuilt every arm64 crate in each new
# clone (about 25 minutes of a CI run).
RUN_PINS    := 'moto[server]==$(MOTO_VERSION)'
DEPLOY_PINS := 'cargo-lambda==$(CARGO_LAMBDA_VERSION)' 'ziglang==$(ZIGLANG_VERSION)' \
	'aws-sam-cli==$(SAM_CLI_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)' 'duckdb==$(DUCKDB_VERSION)'
VENV_KEY := $(shell printf '%s %s' '$(subst ',,$(RUN_PINS) $(DEPLOY_PINS))' "$$($(PYTHON) --version 2>&1)" \
	| sha256sum | cut -c1-12)
VENV_HOME ?= $(HOME)/.cache/hookloop/venv-$(VENV_KEY)
BIN := $(CARGO_TARGET_DIR)/debug

# make run settings
MOTO_PORT     ?= 4566
LISTEN        ?= 127.0.0.1:3000
PREFIX        ?= hookloop-local
WEBHOOK_TOKEN ?= dev-token
# The geofence document make run computes geofence events by (GEOFENCES; an s3:// URI in a stack).
GEOFENCES     ?= infra/geofences.example.geojson
CLEVERTAP_STUB ?= 127.0.0.1:3999

# deployment settings (deploy-fn of the ingest moves its alias `live`, which the API calls, at
# once: the quick path skips the canary `make deploy` goes through)
STACK    ?= hookloop
REGION   ?= $(or $(AWS_REGION),us-east-1)
FUNCTION ?= ingest
EVENT    ?= events/apigw/location-radar-geofence.json
# The stack's functions (FUNCTION=), each the binary hookloop-<name> and the template's
# <Name>Function (output <Name>FunctionName).
FUNCTIONS := ingest processor compactor
FUNCTION_ID_ingest    := Ingest
FUNCTION_ID_processor := Processor
FUNCTION_ID_compactor := Compactor
FUNCTION_ID = $(or $(FUNCTION_ID_$(FUNCTION)),$(error FUNCTION=$(FUNCTION): one of $(FUNCTIONS)))
SAM      := PATH=$(CURDIR)/$(VENV)/bin:$$PATH SAM_CLI_TELEMETRY=0 $(CURDIR)/$(VENV)/bin/sam

.PHONY: help venv setup build-local run test bench fuzz lint fmt clean build sam-build deploy deploy-fn sam-local-setup invoke-local logs delete

help:
	@echo "make run    run the pipeline locally on the moto emulator (Ctrl-C stops)"
	@echo "make test   run every test"
	@echo "make lint   rustfmt and clippy"
	@echo "make bench  benchmarks: requests vs the floor, cost, throughput, cold start, memory, sizes"
	@echo "make fuzz   run every fuzz target for FUZZ_SECONDS (default 60) each"
	@echo "make clean  remove the .venv link and the build directory ($(CARGO_TARGET_DIR)); the virtualenvs other clones share stay in ~/.cache/hookloop/venv-*"
	@echo "make build  release arm64 bootstraps via cargo lambda ($(CARGO_TARGET_DIR)/lambda/*/bootstrap)"
	@echo "make deploy sam build + sam deploy of stack $(STACK) in $(REGION) (PARAMS=\"Key=Value ...\")"
	@echo "make deploy-fn FUNCTION=ingest|processor|compactor   cargo lambda deploy of one function's code"
	@echo "make invoke-local FUNCTION=ingest EVENT=events/apigw/... [ENV_VARS=f.json]   sam local invoke in Docker, offline"
	@echo "                  (FUNCTION=compactor EVENT=events/schedule/compactor-hourly.json: one scheduled run)"
	@echo "make logs   tail the stack's function logs;  make delete   delete the stack"

# What running needs (the emulator), and what building, deploying and their tests need on top.
# Two clones set up at once on a new machine share the virtualenv: each step holds a lock (where
# flock exists) and is harmless when repeated.
VENV_LOCK = $(if $(shell command -v flock),flock $(VENV_HOME).lock)
$(VENV_HOME)/.installed:
	mkdir -p $(dir $(VENV_HOME))
	$(VENV_LOCK) $(PYTHON) -m venv $(VENV_HOME)
	$(VENV_LOCK) $(VENV_HOME)/bin/pip install --quiet --disable-pip-version-check $(RUN_PINS)
	touch $@

$(VENV_HOME)/.deploy-tools: $(VENV_HOME)/.installed
	$(VENV_LOCK) $(VENV_HOME)/bin/pip install --quiet --disable-pip-version-check $(DEPLOY_PINS)
	touch $@

# .venv/ (what tests, docs and recipes name) is a link to the pinned virtualenv.
venv: $(VENV_HOME)/.installed
	@[ "$$(readlink $(VENV))" = "$(VENV_HOME)" ] || { [ -L $(VENV) ] || rm -rf $(VENV); ln -sfn $(VENV_HOME) $(VENV); }

setup: venv $(VENV_HOME)/.deploy-tools
	@rustup target list --installed | grep -qx $(ARM64_TARGET) || rustup target add $(ARM64_TARGET)

build-local: venv
	cargo build --locked --workspace --bins

run: build-local
	@mkdir -p .local
	@export AWS_ENDPOINT_URL=http://127.0.0.1:$(MOTO_PORT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
		AWS_REGION=us-east-1 WEBHOOK_TOKEN='$(WEBHOOK_TOKEN)' GEOFENCES=$(GEOFENCES); \
	if (exec 3<>/dev/tcp/127.0.0.1/$(MOTO_PORT)) 2>/dev/null; then \
		echo "port $(MOTO_PORT) is taken: stop what runs there or use make run MOTO_PORT=<port>"; exit 1; fi; \
	$(VENV)/bin/python infra/local/moto_server.py -H 127.0.0.1 -p $(MOTO_PORT) > .local/moto.log 2>&1 & moto=$$!; \
	serve=; trap 'kill $$serve $$moto 2>/dev/null; wait 2>/dev/null; echo stopped' EXIT; trap 'exit 130' INT TERM; \
	for i in $$(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$(MOTO_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	echo "== moto on $$AWS_ENDPOINT_URL (log: .local/moto.log)"; \
	echo "== hookloop init --prefix $(PREFIX)"; \
	$(BIN)/hookloop init --prefix $(PREFIX) | tee .local/env; \
	source .local/env; \
	echo "== hookloop serve --listen $(LISTEN) --clevertap-stub $(CLEVERTAP_STUB) (log: .local/serve.log)"; \
	$(BIN)/hookloop serve --listen $(LISTEN) --clevertap-stub $(CLEVERTAP_STUB) > .local/serve.log 2>&1 & serve=$$!; \
	for i in $$(seq 100); do (exec 3<>/dev/tcp/$${LISTEN%:*}/$${LISTEN##*:}) 2>/dev/null && break; sleep 0.1; done; \
	echo "== hookloop send --trace events/webhooks/*/*.json"; \
	$(BIN)/hookloop send --url http://$(LISTEN) --trace events/webhooks/*/*.json; \
	echo; echo "== loaded back to the CleverTap stand-in by infra/loadback-rules.json (GET http://$(CLEVERTAP_STUB)/_stub/accepted)"; \
	$(VENV)/bin/python -c "$$SHOW_STUB" http://$(CLEVERTAP_STUB)/_stub/accepted; \
	echo; echo "== serving on http://$(LISTEN) with WEBHOOK_TOKEN=$(WEBHOOK_TOKEN); Ctrl-C to stop"; \
	echo "   try: curl -H 'content-type: application/json' -H 'x-webhook-token: $(WEBHOOK_TOKEN)' \\"; \
	echo "          --data @events/webhooks/location/structured.json http://$(LISTEN)/webhooks/location"; \
	wait $$serve

# Prints what the CleverTap stand-in accepted, one record per line (waits up to 10 s for load-back).
define SHOW_STUB
import json, sys, time, urllib.request
records = []
for _ in range(50):
    records = json.load(urllib.request.urlopen(sys.argv[1]))
    if len(records) >= 7: break
    time.sleep(0.2)
for a in records:
    print("  " + json.dumps(a["record"], sort_keys=True))
endef
export SHOW_STUB

# A failing test's message, not a backtrace, ends the log (TEST_BACKTRACE=1 for backtraces).
TEST_BACKTRACE ?= 0
# Three lanes, side by side: the fault suite (4 minutes, mostly waiting on visibility timeouts);
# deploy_fn and sam_local (a stack deployed and one function's code updated, every sample event
# run by sam local invoke in Docker: 4 minutes that mostly build for arm64 and wait on sam and
# Docker); every other test. cargo test releases the build directory once its binaries are
# built, and each lane is `cargo test --workspace` with its targets (the same features, so
# nothing is built twice). The deploy lane runs at a lower CPU priority: the others time their
# calls to the emulator (the fault suite's rates, the ingest's deadline), its builds do not.
# Each lane's output is printed whole when it ends. A test file in tests/ or crates/*/tests/
# joins the last lane by itself.
TEST_LANE_FAULTS := faults
TEST_LANE_DEPLOY := deploy_fn sam_local
TEST_LANE_REST   := $(filter-out $(TEST_LANE_FAULTS) $(TEST_LANE_DEPLOY), \
	$(sort $(basename $(notdir $(wildcard tests/*.rs crates/*/tests/*.rs)))))
CARGO_TEST = cargo test --locked --workspace
test-lane-faults test-lane-deploy test-lane-rest: export RUST_BACKTRACE = $(TEST_BACKTRACE)
.PHONY: test-lanes test-lane-faults test-lane-deploy test-lane-rest

test: setup build-local
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo test --locked --workspace --no-run
	$(MAKE) --no-print-directory -j3 --output-sync=target test-lanes

test-lanes: test-lane-faults test-lane-deploy test-lane-rest
test-lane-faults:
	$(CARGO_TEST) $(addprefix --test ,$(TEST_LANE_FAULTS)) -- --show-output
test-lane-deploy:
	nice -n 10 $(CARGO_TEST) $(addprefix --test ,$(TEST_LANE_DEPLOY)) -- --show-output
test-lane-rest:
	$(CARGO_TEST) --lib --bins $(addprefix --test ,$(TEST_LANE_REST)) -- --show-output
	$(CARGO_TEST) --doc

# Benchmarks, never timed tests (BENCHMARKS.md: method, machine, latest figures):
#   1. parse + validate + normalise + serialise throughput, 1 KB and 10 KB bodies (criterion);
#   2. requests per 1,000 webhooks by service at batch sizes 10, 100, 1,000, batched and one item
#      per request, next to the floor, and the modelled cost (on moto; bench/requests.{md,json,svg});
#   3. cold start of both release binaries and the processor's peak memory on 1,000 x 2 KB;
#      the processor's CPU per message end to end, and where it goes (perf on the profiling
#      build: the release build with symbols); what a message's spans and log line cost
#      (crates/runtime/examples/span_cost.rs);
#   4. end to end through hookloop serve: ingest rate, p50/p99 latency, time to drain;
#   5. the zipped arm64 bootstrap of each function (make build).
# The compaction's requests and Lambda time are priced by the cost model (crates/bench/src/compaction.rs).
bench: setup build
	cargo bench --locked -p hookloop-bench --bench throughput
	cargo bench --locked -p hookloop-geofence --bench geofence
	cargo build --locked --release -p hookloop-ingest -p hookloop-processor -p hookloop-cli -p hookloop-bench
	cargo build --locked --profile profiling -p hookloop-processor
	$(CARGO_TARGET_DIR)/release/hookloop-bench .
	AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=INFO \
		cargo run --locked --release -q -p hookloop-runtime --example span_cost 2>/dev/null
	@for f in $(FUNCTIONS); do $(VENV)/bin/python -c 'import os, sys, zipfile; \
		b, z = sys.argv[1], sys.argv[2]; \
		zf = zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9); zf.write(b, "bootstrap"); zf.close(); \
		print(f"{sys.argv[3]}: bootstrap {os.path.getsize(b) / 1e6:.2f} MB, zipped {os.path.getsize(z) / 1e6:.2f} MB")' \
		$(CARGO_TARGET_DIR)/lambda/hookloop-$$f/bootstrap $(CARGO_TARGET_DIR)/lambda/hookloop-$$f.zip hookloop-$$f; done

# Fuzzing: every parser and the envelope, each for FUZZ_SECONDS, seeded with the sample events.
# cargo fuzz passes nightly-only flags; this machine has only the stable toolchain, so
# RUSTC_BOOTSTRAP=1 lets stable accept them. Without a sanitizer (-s none): panics, aborts,
# timeouts and out-of-memory are what is found.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := webhook_clevertap:events/webhooks/clevertap webhook_export_status:events/webhooks/clevertap-export-status \
	webhook_location:events/webhooks/location envelope:events/sqs loadback_rules:infra upload_response:events/webhooks/clevertap \
	json_string:events

$(TOOLS)/bin/cargo-fuzz:
	cargo install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION) --root $(TOOLS)

fuzz: $(TOOLS)/bin/cargo-fuzz
	@for pair in $(FUZZ_TARGETS); do t=$${pair%%:*}; seeds=$${pair#*:}; \
		mkdir -p crates/fuzz/corpus/$$t; \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s (seeds: $$seeds)"; \
		mkdir -p .local; log=.local/fuzz-$$t.log; \
		if RUSTC_BOOTSTRAP=1 PATH=$(TOOLS)/bin:$$PATH cargo fuzz run --fuzz-dir crates/fuzz -s none -O $$t \
			crates/fuzz/corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 > $$log 2>&1; \
		then grep -E '^Done' $$log; \
		else tail -40 $$log; echo "fuzz $$t failed: see $$log and crates/fuzz/artifacts/$$t"; exit 1; fi; \
	done
	@echo "== the generated hostile webhooks, 25 times make test's cases"
	PROPTEST_CASES=50000 cargo test --locked -p hookloop-ingest --test properties -- --show-output
	PROPTEST_CASES=125000 cargo test --locked -p hookloop-domain --test json_string -- --show-output

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# Each function is built as sam build builds it: from its own crate (so with its own crate
# features), --arm64 --bin hookloop-<name>. make build, make deploy-fn and sam build then share one
# build per function instead of adding a fourth, workspace-wide feature set.
build-fn = (cd crates/$(1) && PATH=$(CURDIR)/$(VENV)/bin:$$PATH cargo lambda build --release --arm64 --bin hookloop-$(1))
build: setup
	$(foreach f,$(FUNCTIONS),$(call build-fn,$(f)) && ) true
	@ls -l $(CARGO_TARGET_DIR)/lambda/hookloop-*/bootstrap

sam-build: setup
	cd infra && $(SAM) build --beta-features

# PARAMS="Key=Value ..." sets parameters (sam's --parameter-overrides); the others keep the stack's
# values, or the template's defaults on the first deploy. sam shows the change set and asks first.
# PARAMS reaches sam through the environment, verbatim: SAM's own parser reads its quotes.
export PARAMS
deploy: sam-build
	cd infra && $(SAM) deploy --stack-name $(STACK) --region $(REGION) \
		$(if $(PARAMS),--parameter-overrides "$$PARAMS")
	cd infra && $(SAM) list stack-outputs --stack-name $(STACK) --region $(REGION)

deploy-fn: setup
	$(call build-fn,$(FUNCTION))
	name=$$(cd infra && $(SAM) list stack-outputs --stack-name $(STACK) --region $(REGION) --output json \
		| $(PYTHON) -c 'import json,sys; o={x["OutputKey"]: x["OutputValue"] for x in json.load(sys.stdin)}; print(o["$(FUNCTION_ID)FunctionName"])'); \
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH cargo lambda deploy --region $(REGION) --binary-name hookloop-$(FUNCTION) \
		$(if $(filter ingest,$(FUNCTION)),--alias live) "$$name"

# Docker and qemu-user from Debian's packages, a Docker engine, and a local stand-in for Lambda's
# provided.al2023 arm64 image: sam local invoke with no container registry (root, Debian).
sam-local-setup:
	infra/local/sam-local/setup.sh

# The built function in Docker with one event; ENV_VARS=file.json (sam's --env-vars) points it
# at resources (tests/sam_local.rs: at the emulator). Stop a dockerd setup started: dockerd.sh stop.
invoke-local: sam-build sam-local-setup
	cd infra && $(SAM) local invoke $(FUNCTION_ID)Function \
		-t .aws-sam/build/template.yaml --skip-pull-image -e $(abspath $(EVENT)) \
		$(if $(ENV_VARS),--env-vars $(abspath $(ENV_VARS)))

logs:
	cd infra && $(SAM) logs --stack-name $(STACK) --region $(REGION) --tail

delete:
	cd infra && $(SAM) delete --stack-name $(STACK) --region $(REGION)
	@echo "The raw bucket and the table are kept (DeletionPolicy: Retain); delete them by hand if you mean to."

clean:
	rm -rf $(VENV) .local infra/.aws-sam
	cargo clean
