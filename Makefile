# Flywheel CRM — the targets a newcomer can guess. `make run` starts everything; `make test`
# runs the whole suite against the real PostgreSQL and Redis.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
# The web server's port for every process `make run` starts (honcho rewrites PORT for each),
# so that the worker writes links to the same server (flywheel_crm/settings/local.py).
export FLYWHEEL_WEB_PORT := $(PORT)

.DEFAULT_GOAL := help
.PHONY: help install run services migrate seed test lint fmt typecheck check schema bench bench-analytics screenshots clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

install: $(VENV)/.installed  ## Create .venv and install the pinned dependencies

services: install  ## Check PostgreSQL and Redis, creating the database if missing
	@$(PY) manage.py preflight --create-db

migrate: services  ## Apply database migrations
	$(PY) manage.py migrate --noinput

seed: migrate  ## Load the demo data (once: a second run adds nothing)
	$(PY) manage.py seed_demo

run: migrate  ## Start web, Celery worker and beat with demo data (PORT=8000; Ctrl-C stops all)
	@$(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "  Flywheel CRM is starting on http://127.0.0.1:$(PORT)/"
	@echo "  API docs:  http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Ctrl-C stops the web server, the worker and beat."
	@echo ""
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile.dev -p $(PORT)

test: install  ## Run the whole test suite against the real PostgreSQL and Redis, with coverage
	@DJANGO_SETTINGS_MODULE=flywheel_crm.settings.test $(PY) manage.py preflight --server-only
	DJANGO_SETTINGS_MODULE=flywheel_crm.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest --cov --cov-report=term-missing:skip-covered

lint: install  ## Ruff lint and format check, and the apps' layer contract (docs/architecture.md)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

fmt: install  ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install  ## mypy with the Django and DRF plugins
	$(VENV)/bin/mypy .

check: lint typecheck test  ## Everything CI cares about

bench: services  ## Measure the Celery pipelines and the dashboard's numbers at scale; writes BENCHMARKS.md
	$(PY) -m bench.run --scale $${BENCH_SCALE:-100000} --segment-scale $${BENCH_SEGMENT_SCALE:-1000000} --analytics-scale $${BENCH_ANALYTICS_SCALE:-1.0}

bench-analytics: services  ## Only the dashboard's numbers: 1M customers, 100k then 10M interactions (BENCH_ANALYTICS_SCALE=1.0)
	$(PY) -m bench.run --only analytics --analytics-scale $${BENCH_ANALYTICS_SCALE:-1.0}

schema: install  ## Write the OpenAPI schema to docs/openapi.yaml
	$(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

screenshots: install  ## Save PNGs of the main pages in docs/screenshots/ (demo data, throwaway database)
	@DJANGO_SETTINGS_MODULE=flywheel_crm.settings.test $(PY) manage.py preflight --server-only
	DJANGO_SETTINGS_MODULE=flywheel_crm.settings.test $(PY) manage.py screenshots

clean:  ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
