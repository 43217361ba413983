# katapult-ipam: `make serve` to try it, `make test` to prove it. `make help` lists all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KATAPULT_IPAM_DATABASE_URL ?= sqlite:///var/katapult-ipam.db
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: help install serve migrate test test-sqlite test-postgres lint format bench bench-auth lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements/dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(STAMP) ## Create .venv and install the locked dependencies

serve: $(STAMP) ## Migrate and load the demo inventory into ./var, then serve on 127.0.0.1:8080
	$(BIN)/katapult-ipam demo examples/demo-inventory.yaml --port 8080
	$(BIN)/katapult-ipam serve --host 127.0.0.1 --port 8080

migrate: $(STAMP) ## Create or upgrade the database schema
	$(BIN)/katapult-ipam migrate

test: lint test-sqlite test-postgres ## Lint, then the whole suite on SQLite and on PostgreSQL

test-sqlite: $(STAMP) ## The suite on SQLite
	$(BIN)/pytest -n 2 -q

test-postgres: $(STAMP) ## The suite on PostgreSQL ($(TEST_POSTGRES_URL))
	KATAPULT_IPAM_TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -n 2 -q

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP) ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP) ## Allocation throughput against /livez, on SQLite and PostgreSQL
	$(BIN)/python bench/allocate.py
	$(BIN)/python bench/allocate.py --database-url $(TEST_POSTGRES_URL)

bench-auth: $(STAMP) ## What each authenticator path adds to a request
	$(BIN)/python bench/auth.py

lock: ## Re-resolve requirements/*.lock from pyproject.toml (needs uv)
	uv pip compile pyproject.toml requirements/build.in --extra dev --generate-hashes --python-version 3.11 --no-header -o requirements/dev.lock
	uv pip compile pyproject.toml requirements/build.in --generate-hashes --python-version 3.11 --no-header -o requirements/runtime.lock

clean: ## Remove the virtual environment and the local database
	rm -rf $(VENV) var
