# Zhijiao: two commands set everything up.
#   make run   — virtual environment, install, migrate the embedded SQLite database, load the demo, serve :8000
#   make test  — everything the tests need (Debian packages, PostgreSQL and Redis started here), then the suite
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test run serve migrate seed test test-sqlite test-postgres test-e2e system-deps services bench lint clean screenshots

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/python scripts/i18n.py compile

$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $(TEST_STAMP)

install-test: install $(TEST_STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput -v0

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo "智矫 is serving at http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Debian packages the tests need: PostgreSQL, Redis, Chromium for the browser tests, CJK fonts.
system-deps:
	bash scripts/system_deps.sh

test: install-test system-deps
	bash scripts/test_all.sh

test-sqlite: install-test
	$(BIN)/python -m pytest -m "not e2e"

test-e2e: install-test
	$(BIN)/python -m pytest -m e2e

# Benchmarks on a 100,000-person demo, SQLite and PostgreSQL: writes var/bench/results.json and prints it.
bench: install-test system-deps
	bash scripts/bench.sh

lint: install-test
	$(BIN)/lint-imports
	$(BIN)/ruff check apps zhijiao tests benchmarks scripts conftest.py --select F,E9

screenshots: install-test
	ZHIJIAO_SCREENSHOTS=screenshots DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/python -m pytest -m e2e -p no:cacheprovider

clean:
	rm -rf $(VENV) var/test* .pytest_cache
