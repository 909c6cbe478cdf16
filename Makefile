# vigilancia: two commands set everything up on a fresh machine.
#   make demo   creates .venv, installs, and runs the monitoring cycle on the sample region
#   make test   creates .venv, installs, and runs the test suite (PostgreSQL runs too when
#               VIGILANCIA_TEST_POSTGRES_URL is set; .ci/run sets it)
#   make test-postgres  starts the throwaway PostgreSQL server and runs the PostgreSQL tests
#   make web-assets     installs the web app's scripts and styles from npm (package-lock.json)
#                       into src/vigilancia/web/static/vendor; demo and test do it too
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
WEB_STAMP = src/vigilancia/web/static/vendor/VERSIONS.txt

.PHONY: demo test test-postgres lint bench clean web-assets

$(STAMP): pyproject.toml scripts/system-packages
	scripts/system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# the pages' scripts and styles (MapLibre GL JS), from npm, served by the app itself
$(WEB_STAMP): package.json package-lock.json scripts/web-assets
	scripts/web-assets

web-assets: $(WEB_STAMP)

demo: $(STAMP) $(WEB_STAMP)
	$(BIN)/vigilancia demo --output demo-output

test: $(STAMP) $(WEB_STAMP)
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
	rm -rf $(VENV) node_modules demo-output .pytest_cache .mypy_cache .ruff_cache
