# Huiquan Ledger — developer and CI entry points.  `make` (or `make help`) lists them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON        ?= python3
VENV          ?= .venv
BIN           := $(VENV)/bin
# One stamp per lock file: moving from `make run` to `make test` installs what dev.txt adds.
RUN_STAMP     := $(VENV)/.installed-run
DEV_STAMP     := $(VENV)/.installed-dev
TOOLS_STAMP   := $(VENV)/.installed-tools
REQ           := requirements
UPGRADE       ?=

HUIQUAN_HOME  ?= ./var
BIND          ?= 127.0.0.1:8000
PYTEST_ARGS   ?= -q -n 2 --dist loadgroup
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# `make test` fuzzes hard (tests/hypothesis_profiles.py: the state machine's 10,000 steps per
# engine, the parser fuzzers, schemathesis); a bare `pytest` runs the fast `dev` profile.
HYPOTHESIS_PROFILE ?= ci

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONUNBUFFERED := 1

.PHONY: help venv venv-run lock system-deps system-deps-run postgres lint test test-sqlite \
  test-postgresql run bench clean distclean

help: ## Show this help
	@echo "Huiquan Ledger — make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'
	@echo "Variables: HUIQUAN_HOME=$(HUIQUAN_HOME) BIND=$(BIND) PYTEST_ARGS='$(PYTEST_ARGS)'" \
	  "HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE)"

venv: $(DEV_STAMP) ## Create .venv and install everything from requirements/dev.txt (hashes checked)

venv-run: $(RUN_STAMP) ## Create .venv and install only what serving needs (requirements/run.txt)

$(BIN)/python:
	@if [ ! -x "$(BIN)/python" ] || ! "$(BIN)/python" -c 'import sys' >/dev/null 2>&1; then \
	  echo "==> creating $(VENV) with $$($(PYTHON) --version)"; \
	  rm -rf "$(VENV)"; \
	  $(PYTHON) -m venv "$(VENV)"; \
	fi

$(RUN_STAMP): $(REQ)/run.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --require-hashes -r $(REQ)/run.txt
	$(BIN)/python -m pip install --no-deps -e .
	@touch "$@"

# dev.txt holds every pin of run.txt (it is resolved with run.txt as a constraint), so installing
# it satisfies the run stamp too.
$(DEV_STAMP): $(REQ)/dev.txt $(REQ)/run.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --require-hashes -r $(REQ)/dev.txt
	$(BIN)/python -m pip install --no-deps -e .
	@touch "$@" "$(RUN_STAMP)"

$(TOOLS_STAMP): $(REQ)/tools.txt | $(BIN)/python
	$(BIN)/python -m pip install --require-hashes -r $(REQ)/tools.txt
	@touch "$@"

UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

lock: $(TOOLS_STAMP) ## Re-resolve requirements/*.txt (with hashes) from pyproject.toml; UPGRADE=1 takes the newest in range
	$(UV_COMPILE) pyproject.toml --extra serve -o $(REQ)/run.txt
	$(UV_COMPILE) pyproject.toml --extra serve --extra dev -c $(REQ)/run.txt -o $(REQ)/dev.txt
	$(UV_COMPILE) $(REQ)/tools.in -o $(REQ)/tools.txt
	@echo "==> requirements/ locked; commit run.txt, dev.txt and tools.txt"

system-deps: ## Install missing Debian packages for tests (fonts, WeasyPrint libs, poppler, chromium, psql)
	@bash scripts/system-deps.sh test

system-deps-run: ## Install missing Debian packages for serving only (fonts, WeasyPrint libs)
	@bash scripts/system-deps.sh run

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
	@HUIQUAN_TEST_DB=sqlite HUIQUAN_HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(BIN)/pytest $(PYTEST_ARGS) \
	  || { rc=$$?; echo "*** pytest pass 1/2 (SQLite) FAILED (exit $$rc)"; exit $$rc; }

test-postgresql: venv postgres ## pytest pass on PostgreSQL only
	@echo "==> pytest pass 2/2: PostgreSQL ($(TEST_DATABASE_URL))"
	@HUIQUAN_TEST_DB=postgresql HUIQUAN_TEST_DATABASE_URL='$(TEST_DATABASE_URL)' \
	  HUIQUAN_HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(BIN)/pytest $(PYTEST_ARGS) \
	  || { rc=$$?; echo "*** pytest pass 2/2 (PostgreSQL) FAILED (exit $$rc)"; exit $$rc; }

run: venv-run system-deps-run ## init + demo data (if empty) + serve on BIND, data in HUIQUAN_HOME
	HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan init
	HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan demo --if-empty --base-url http://$(BIND)
	HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan issuer list >/dev/null
	@stamp=$$(date +%Y%m%d-%H%M%S); \
	  officer=$$(HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan token create --role officer --name "demo-officer-$$stamp" --expires-in 1 | head -1); \
	  auditor=$$(HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan token create --role auditor --name "demo-auditor-$$stamp" --expires-in 1 | head -1); \
	  admin=$$(HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan token create --role admin --name "demo-admin-$$stamp" --expires-in 1 | head -1); \
	  echo ""; \
	  echo "Huiquan Ledger on http://$(BIND)  (API page: http://$(BIND)/api/docs, public: http://$(BIND)/transparency)"; \
	  echo "  console: http://$(BIND)/console/login  (demo people; passwords are new on every make run)"; \
	  umask 077; pwfile=$$(mktemp); \
	  for person in "wangfang 王芳 officer" "liming 李明 approver" "zhangli 张丽 auditor" "chenqiang 陈强 admin" "zhouyun 周云 moderator"; do \
	    set -- $$person; $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(9))' > "$$pwfile"; \
	    HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan user create --login $$1 --name $$2 --role $$3 --password-file "$$pwfile" >/dev/null 2>&1 \
	      || HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan user set-password $$1 --password-file "$$pwfile" >/dev/null; \
	    echo "    $$3: login $$1 ($$2), password $$(cat "$$pwfile")"; \
	  done; rm -f "$$pwfile"; \
	  echo "  officer token: $$officer"; \
	  echo "  auditor token: $$auditor"; \
	  echo "  admin token:   $$admin"; \
	  echo "  try: curl -H \"Authorization: Bearer $$officer\" http://$(BIND)/api/v1/funds"; \
	  echo "  a donor's receipt: open the link the demo printed when it loaded the books (first run only)"; \
	  echo "       and check it: HUIQUAN_HOME='$(HUIQUAN_HOME)' $(BIN)/huiquan receipt verify <link>"; \
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
