# DE Sandbox front door: `make help` lists every target. Native targets need only Python 3.11; uv is bootstrapped.
SHELL := /bin/bash
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

bench: install ## Benchmark the example DAG against a plain dbt build, side by side
	$(SANDBOX) bench

lint: install ## Lint Python (ruff) and SQL (sqlfluff)
	$(PY) -m ruff check src dags tests
	$(PY) -m ruff format --check src dags tests
	$(PY) -m sqlfluff lint dbt/models

.PHONY: help install demo run test bench lint

local-up: install ## Start the native platform (PostgreSQL + Airflow, no Docker) and print its URLs and login
	$(SANDBOX) local-up

local-down: install ## Stop every process the native platform started
	$(SANDBOX) local-down

local-clean: install ## Stop the native platform and wipe its data (databases, Airflow home, logs)
	$(SANDBOX) local-clean

local-status: install ## Show which native platform services are running
	$(SANDBOX) local-status

.PHONY: local-up local-down local-clean local-status
