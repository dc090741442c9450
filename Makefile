# Huiquan Ledger — developer and CI entry points.  `make` (or `make help`) lists them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON        ?= python3
VENV          ?= .venv
BIN           := $(VENV)/bin
STAMP         := $(VENV)/.installed

HUIQUAN_HOME  ?= ./var
BIND          ?= 127.0.0.1:8000
PYTEST_ARGS   ?= -q -n 2 --dist loadgroup
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONUNBUFFERED := 1

.PHONY: help venv system-deps postgres lint test test-sqlite test-postgresql run bench clean distclean

help: ## Show this help
	@echo "Huiquan Ledger — make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'
	@echo "Variables: HUIQUAN_HOME=$(HUIQUAN_HOME) BIND=$(BIND) PYTEST_ARGS='$(PYTEST_ARGS)'"

venv: $(STAMP) ## Create .venv and install the project with its dev extras

$(STAMP): pyproject.toml
	@if [ ! -x "$(BIN)/python" ] || ! "$(BIN)/python" -c 'import sys' >/dev/null 2>&1; then \
	  echo "==> creating $(VENV) with $$($(PYTHON) --version)"; \
	  rm -rf "$(VENV)"; \
	  $(PYTHON) -m venv "$(VENV)"; \
	fi
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	@touch "$@"

system-deps: ## Install missing Debian packages (fonts, WeasyPrint libs, poppler, chromium, psql)
	@bash scripts/system-deps.sh

postgres: ## Make sure PostgreSQL on 127.0.0.1:5432 is up and database `test` exists
	@bash scripts/ensure-postgres.sh

lint: venv ## ruff check, ruff format --check, mypy --strict ledger, lint-imports
	@failed=(); \
	echo "==> ruff check ."; $(BIN)/ruff check . || failed+=("ruff check"); \
	echo "==> ruff format --check ."; $(BIN)/ruff format --check . || failed+=("ruff format"); \
	echo "==> mypy --strict ledger"; $(BIN)/mypy --strict ledger || failed+=("mypy"); \
	echo "==> lint-imports"; $(BIN)/lint-imports || failed+=("lint-imports"); \
	if [ $${#failed[@]} -ne 0 ]; then echo "*** lint FAILED: $${failed[*]}"; exit 1; fi; \
	echo "==> lint OK"

test: venv system-deps postgres ## Lint, then pytest on SQLite, then on PostgreSQL (stops at the first failure)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgresql
	@echo "==> all test passes OK (SQLite, PostgreSQL)"

test-sqlite: venv ## pytest pass on SQLite only
	@echo "==> pytest pass 1/2: SQLite"
	@HUIQUAN_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS) \
	  || { rc=$$?; echo "*** pytest pass 1/2 (SQLite) FAILED (exit $$rc)"; exit $$rc; }

test-postgresql: venv postgres ## pytest pass on PostgreSQL only
	@echo "==> pytest pass 2/2: PostgreSQL ($(TEST_DATABASE_URL))"
	@HUIQUAN_TEST_DB=postgresql HUIQUAN_TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest $(PYTEST_ARGS) \
	  || { rc=$$?; echo "*** pytest pass 2/2 (PostgreSQL) FAILED (exit $$rc)"; exit $$rc; }

run: venv system-deps ## init + demo data (if empty) + serve on BIND, data in HUIQUAN_HOME
	HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan init
	HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan demo --if-empty --base-url http://$(BIND)
	@stamp=$$(date +%Y%m%d-%H%M%S); \
	  officer=$$(HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan token create --role officer --name "demo-officer-$$stamp" | head -1); \
	  auditor=$$(HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan token create --role auditor --name "demo-auditor-$$stamp" | head -1); \
	  admin=$$(HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan token create --role admin --name "demo-admin-$$stamp" | head -1); \
	  echo ""; \
	  echo "Huiquan Ledger on http://$(BIND)  (API page: http://$(BIND)/api/docs, public: http://$(BIND)/transparency)"; \
	  echo "  officer token: $$officer"; \
	  echo "  auditor token: $$auditor"; \
	  echo "  admin token:   $$admin"; \
	  echo "  try: curl -H \"Authorization: Bearer $$officer\" http://$(BIND)/api/v1/funds"; \
	  echo "  a donor's receipt link (a new one; the demo printed the first when it loaded):"; \
	  echo "       curl -X POST -H \"Authorization: Bearer $$officer\" http://$(BIND)/api/v1/receipts/HQ-2024-000001/link"; \
	  echo ""
	HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan serve --bind $(BIND)

bench: venv ## Run the benchmarks (python -m bench)
	$(BIN)/python -m bench

clean: ## Remove caches and build artefacts (keeps .venv and HUIQUAN_HOME)
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
	  .import_linter_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
