# DE Sandbox front door: `make help` lists every target. Native targets need only Python 3.11; uv is bootstrapped.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.ONESHELL:

UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
PY := $(CURDIR)/.venv/bin/python
SANDBOX := $(PY) -m de_sandbox.cli
PYTEST_ARGS ?=
TEST_APT_PACKAGES := prometheus chromium

help: ## List every target with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools && $(CURDIR)/.tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked
	touch $@

install: .venv/.synced ## Install the locked Python environment into .venv (bootstraps uv)

demo: install ## Run the example pipeline end to end on DuckDB and print a summary
	$(SANDBOX) demo

run: install ## Run one DAG once on the embedded default: make run DAG=<dag_id> [DATE=<logical date>]
	@test -n "$(DAG)" || { echo "usage: make run DAG=<dag_id> [DATE=<logical date>]" >&2; exit 2; }
	$(SANDBOX) run "$(DAG)" $(if $(DATE),--date "$(DATE)")

test: install ## Run the whole test suite (installs the Debian packages it needs: prometheus, chromium)
	$(SANDBOX) ensure-packages $(TEST_APT_PACKAGES)
	$(PY) -m pytest $(PYTEST_ARGS)

test-backfill: install ## The 48-hour wikipedia_pageviews backfill, 4 runs at a time, on a platform of its own (not in make test: too long)
	$(PY) -m pytest tests/e2e/test_native_backfill.py --run-long -m long -q $(PYTEST_ARGS)

test-long: install ## The tests beyond make test's budget: the 48-hour backfill and the scale DAG on the native platform
	$(SANDBOX) ensure-packages $(TEST_APT_PACKAGES)
	$(PY) -m pytest tests/e2e --run-long -m long -q $(PYTEST_ARGS)

bench: install ## DAG vs plain dbt build side by side [BENCH_PROJECT=example|scale BENCH_ROWS=1000000 BENCH_WAREHOUSE=duckdb|postgres BENCH_MODES=all|native|... BENCH_JSON=file]
	$(SANDBOX) bench

ROWS ?= 6000000
bench-ingest: install ## Time a synthetic pageview hour end to end vs DuckDB read_csv [ROWS=6000000|1000000,6000000] [WAREHOUSE=postgres|both] [RUNS=3] [HOURS=3]
	$(SANDBOX) bench-ingest --rows $(or $(ROWS),6000000) --warehouse $(or $(WAREHOUSE),duckdb) --runs $(or $(RUNS),1) --hours $(or $(HOURS),1)

lint: install ## Lint Python (ruff) and SQL (sqlfluff)
	$(PY) -m ruff check src dags bench tests
	$(PY) -m ruff format --check src dags bench tests
	# sqlfluff's dbt templater opens the DuckDB target: give it a throwaway file so lint works on a fresh clone
	# (no data/ folder yet) and never touches the warehouse.
	lint_dir=$$(mktemp -d); trap 'rm -rf "$$lint_dir"' EXIT
	DUCKDB_PATH="$$lint_dir/lint.duckdb" $(PY) -m sqlfluff lint dbt/models

.PHONY: help install demo run test test-backfill bench bench-ingest lint

TEMPLATE ?= files
pipeline-new: install ## Scaffold a working pipeline: make pipeline-new NAME=<name> [TEMPLATE=files|http-json]
	@test -n "$(NAME)" || { echo "usage: make pipeline-new NAME=<name> [TEMPLATE=files|http-json]" >&2; exit 2; }
	$(SANDBOX) pipeline-new "$(NAME)" --template "$(TEMPLATE)"

pipeline-check: install ## Validate a pipeline, build its changed models on a scratch warehouse copy: make pipeline-check NAME=<name>
	@test -n "$(NAME)" || { echo "usage: make pipeline-check NAME=<name>" >&2; exit 2; }
	$(SANDBOX) pipeline-check "$(NAME)"

pipeline-remove: install ## List everything of a pipeline; CONFIRM=1 archives then removes it: make pipeline-remove NAME=<name> [CONFIRM=1]
	@test -n "$(NAME)" || { echo "usage: make pipeline-remove NAME=<name> [CONFIRM=1]" >&2; exit 2; }
	$(SANDBOX) pipeline-remove "$(NAME)" $(if $(filter 1,$(CONFIRM)),--confirm)

.PHONY: pipeline-new pipeline-check pipeline-remove

local-up: install ## Start the native platform (PostgreSQL, Airflow, S3 stand-in, Prometheus; no Docker), print URLs and login
	$(SANDBOX) local-up

local-down: install ## Stop every process the native platform started
	$(SANDBOX) local-down

local-clean: install ## Stop the native platform and wipe its data (databases, Airflow home, logs)
	$(SANDBOX) local-clean

local-status: install ## Show which native platform services are running
	$(SANDBOX) local-status

.PHONY: local-up local-down local-clean local-status

# --- Docker Compose platform (docker-compose.yml): needs only Docker and python3 on the host
COMPOSE := docker compose
COMPOSE_ALL := $(COMPOSE) --profile celery
COMPOSE_HELPER := PYTHONPATH=$(CURDIR)/src python3 -m de_sandbox.compose.preflight
WAIT_TIMEOUT ?= 900
WORKERS ?= 1
ifeq ($(CELERY),1)
export COMPOSE_PROFILES := celery
export AIRFLOW_EXECUTOR := CeleryExecutor
UP_SCALE := --scale airflow-worker=$(WORKERS)
endif

up: ## Build and start the Docker platform, wait until healthy, print URLs [CELERY=1 WORKERS=n]
	@set -e  # .ONESHELL: the recipe is one script, so stop at the first failing step
	$(COMPOSE_HELPER) preflight
	$(COMPOSE) build
	$(COMPOSE) up --detach --wait --wait-timeout $(WAIT_TIMEOUT) $(UP_SCALE) || { $(COMPOSE_HELPER) diagnose; exit 1; }
	$(COMPOSE_HELPER) urls

down: ## Stop the Docker platform, keeping its data volumes
	@$(COMPOSE_HELPER) require-engine || exit 1
	$(COMPOSE_ALL) down --remove-orphans

clean: ## Remove the Docker platform's containers, volumes and generated data: next `make up` starts fresh
	@$(COMPOSE_HELPER) require-engine || exit 1
	$(COMPOSE_ALL) down --volumes --remove-orphans
	rm -rf great_expectations/uncommitted

ps: ## Show the Docker platform's containers with their health
	@$(COMPOSE_HELPER) require-engine || exit 1
	$(COMPOSE_ALL) ps --all

logs: ## Show recent logs of the Docker platform: make logs [SERVICE=airflow-scheduler] [FOLLOW=1]
	@$(COMPOSE_HELPER) require-engine || exit 1
	$(COMPOSE_ALL) logs --tail 200 $(if $(FOLLOW),--follow) $(SERVICE)

compose-check: install ## Validate the Docker platform statically (schema, variables, mounts, pins, ports, ...)
	$(SANDBOX) compose-check

.PHONY: up down clean ps logs compose-check

gx-validate: install ## Validate the warehouse tables with Great Expectations and rebuild the Data Docs
	$(SANDBOX) gx-validate

lineage: install ## Print table-level lineage (source -> target per task) from the OpenLineage events
	$(SANDBOX) lineage

.PHONY: gx-validate lineage

# --- pipelines: one config each, pipelines/<name>.yml (README "Pipelines")
pipeline-list: install ## List every pipeline: schedule, last window, last status and row counts
	$(SANDBOX) pipeline-list

dbt: install ## Run any dbt command on the sandbox's project and warehouse: make dbt ARGS="build --select <model>+"
	@test -n "$(strip $(ARGS))" || { echo 'usage: make dbt ARGS="<dbt command>", e.g. make dbt ARGS="build --select stg_shop__orders+"' >&2; exit 2; }
	$(SANDBOX) dbt -- $(ARGS)

.PHONY: pipeline-list dbt
