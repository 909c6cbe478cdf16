# vigilancia: two commands set everything up on a fresh machine.
#   make demo   creates .venv, installs, and runs the monitoring cycle on the sample region
#   make test   creates .venv, installs, and runs the test suite (PostgreSQL runs too when
#               VIGILANCIA_TEST_POSTGRES_URL is set; .ci/run sets it)
#   make test-postgres  starts the throwaway PostgreSQL server and runs the PostgreSQL tests
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test test-postgres lint bench clean

$(STAMP): pyproject.toml scripts/system-packages
	scripts/system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vigilancia demo --output demo-output

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-postgres: $(STAMP)
	VIGILANCIA_TEST_POSTGRES_URL="$$(scripts/postgres-test-server start)" && \
	export VIGILANCIA_TEST_POSTGRES_URL && \
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m postgresql

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/monitor_throughput.py

clean:
	scripts/postgres-test-server destroy
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
