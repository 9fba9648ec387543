# One entry point for building, testing and running the product service.
# `make test` is the README's test command and what .ci/run calls.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The pinned uv; it installs exactly what uv.lock says (hashes checked) into $(VENV).
UV     := PYTHON=$(PYTHON) scripts/uv
PROTOS := $(shell find proto -name '*.proto')

.PHONY: install lock demo run soak test test-unit test-integration test-smoke test-e2e test-faults test-deploy test-alerts test-legacy-peer prometheusrule lint infra-up infra-down infra-status bench clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock hatch_build.py $(PROTOS)
	@echo "installing from uv.lock (hashes checked) into $(VENV)"
	$(UV) sync --locked --extra dev --reinstall-package product-service
	@# The project's own modules too (the installed ones are compiled by scripts/uv). A module
	@# edited later is compiled in memory at each start: Python does not use stale bytecode.
	$(PY) -m compileall -q -j 0 service tools
	@touch $@

## Refresh uv.lock after changing dependencies in pyproject.toml (only what changed moves);
## `make lock UPGRADE=1` moves every package to the newest version pyproject.toml allows.
lock:
	$(UV) lock $(if $(UPGRADE),--upgrade)

## The embedded demo: the service beside a real daprd, SQLite, in-memory pub/sub; no servers.
demo: install
	scripts/demo

## The service and its sidecar in the foreground until Ctrl-C: make run PROFILE=embedded|full
PROFILE ?= embedded
run: install
	scripts/run $(PROFILE)

## Everything: unit (with the benchmark's pure parts, bench/tests), integration (SQLite and
## MariaDB), infrastructure smoke tests, alert rules, end-to-end, faults and deployment; and
## the Go unit tests of the legacy peer (tools/legacy_peer).
test: install
	scripts/infra up
	cd tools/legacy_peer && go test ./...
	$(PY) -m pytest tests bench/tests

## The legacy peer's Go unit tests: its protobuf encodings, header set, dispatch, dead letters.
test-legacy-peer:
	cd tools/legacy_peer && go test ./...

test-unit: install
	$(PY) -m pytest tests/unit bench/tests

test-integration: install
	scripts/infra up mariadb
	$(PY) -m pytest tests/integration

test-smoke: install
	scripts/infra up
	$(PY) -m pytest tests/smoke

## The end-to-end scenarios of issue 4: product service and order simulator beside real daprd
## sidecars, on Kafka, Redis and MariaDB (database product_e2e). Stops MariaDB for 5 s once.
test-e2e: install
	scripts/infra up
	$(PY) -m pytest tests/e2e -m e2e

## The fault suite of issue 8: streams of paid orders while the app is SIGKILLed, the sidecar,
## Kafka and MariaDB restarted, Redis stopped, the relay cut off; duplicates and poison.
## Restarts the shared Kafka, MariaDB and Redis (always brought back). Database product_faults.
test-faults: install
	scripts/infra up
	$(PY) -m pytest tests/faults -m faults

## Flakiness hunt: the e2e and fault suites 5 times in a row with one core kept busy beside
## them; prints each run's result and duration (scripts/soak -h for the flags).
SOAK_ARGS ?=
soak: install
	scripts/soak $(SOAK_ARGS)

## Deployment: Dockerfile (hadolint), the wheel in a clean venv, k8s/ rendered by kustomize and
## validated (Kubernetes and Dapr CRD schemas), the pod the Dapr injector's own patch code makes
## of it (tools/injector), k8s/'s Dapr resources and Consul in real daprd.
test-deploy: install
	scripts/infra up
	$(PY) -m pytest tests/deploy

## The alert rules of issue 17 (docs/operations.md): promtool check and unit tests
## (docs/prometheus/tests/), a runbook section per alert, the PrometheusRule current.
test-alerts: install
	scripts/infra up prometheus
	$(PY) -m pytest tests/alerts

## Regenerate k8s/components/monitoring/prometheusrule.yaml from docs/prometheus/product-service-rules.yaml.
prometheusrule:
	scripts/prometheusrule

## Issue 7: the full-path throughput benchmark (bench/full_path/) on the full local stack:
## the product service beside its daprd on Kafka, Redis and MariaDB (database product_bench).
## Flags through BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick --scenario steady".
BENCH_ARGS ?=
bench: install
	$(UV) sync --locked --extra dev --extra bench
	scripts/infra up
	$(PY) -m bench.full_path $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check service tests bench tools hatch_build.py
	$(VENV)/bin/ruff format --check service tests bench tools hatch_build.py
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench/db_deduct.py bench/full_path bench/e2e_latency.py bench/app_path.py bench/app_instructions.py

infra-up:
	scripts/infra up

infra-down:
	scripts/infra down

infra-status:
	scripts/infra status

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache service/product_service/contract/product \
		service/product_service/contract/legacy
