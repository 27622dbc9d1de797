# The front door: `make demo`, `make test`. Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_LANDING := data/landing
DEMO_DB := data/tally.duckdb
export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: dagster-home install spark-install java postgres-server browser report demo test lint format docs bench bench-install bench-other clean dev dev-smoke
DEV_PORT ?= 3000
DAGSTER_HOME_DIR := $(CURDIR)/data/dagster
DEMO_AS_OF = $$($(BIN)/python -c 'import json; print(json.load(open("$(DEMO_LANDING)/_expected/manifest.json"))["as_of"])')

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The Spark target's packages (PySpark is large: not in the default install).
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

spark-install: $(SPARK_STAMP)

# apt_install(what, package, present-check, hint): installs a Debian package the
# tests need when the check fails, or stops with the hint when there is no apt-get.
define apt_install
	@if $(3); then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "$(1) missing: apt-get install -y $(2)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo -n ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2) >/dev/null; \
	else \
		echo "$(1) missing and no apt-get: $(4)" >&2; \
		exit 1; \
	fi
endef

# The tests start their own throwaway PostgreSQL cluster (tests/postgres_cluster.py);
# this makes sure the server binaries are there, installing them when missing.
postgres-server:
	$(call apt_install,PostgreSQL server binaries,postgresql,ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || [ -n "$$TALLY_PG_BINDIR" ],install PostgreSQL (initdb and pg_ctl) or set TALLY_PG_BINDIR)

# The Spark target runs PySpark, which needs a Java runtime (17 or later).
java:
	$(call apt_install,Java,openjdk-17-jre-headless,command -v java >/dev/null 2>&1,install Java 17 or later)

# The report's browser test drives headless Chromium (the Debian package).
browser:
	$(call apt_install,Chromium,chromium,[ -n "$$TALLY_CHROMIUM" ] || command -v chromium >/dev/null 2>&1,install Chromium or set TALLY_CHROMIUM)

# The demo's build is a run of the Dagster instance `make dev` serves (DAGSTER_HOME).
demo: install dagster-home
	$(BIN)/tally generate --out $(DEMO_LANDING)
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/tally build --landing $(DEMO_LANDING) --duckdb-path $(DEMO_DB) --as-of "$(DEMO_AS_OF)" --no-validate
	$(BIN)/tally alert --duckdb-path $(DEMO_DB)
	$(BIN)/tally report --duckdb-path $(DEMO_DB)
	@$(MAKE) --no-print-directory docs
	@echo ""
	@echo "Next:"
	@echo "  report:           $(CURDIR)/data/report.html   (open in a browser)"
	@echo "  marts (DuckDB):   $(DEMO_DB)   e.g. $(BIN)/python -c \"import duckdb; print(duckdb.connect('$(DEMO_DB)', read_only=True).sql('select * from marts.fct_recon_window_summary where window_status = \\'breaks\\''))\""
	@echo "  dbt docs:         $(CURDIR)/target/static_index.html   (one file, opens from disk; or: $(BIN)/dbt docs serve --port 8080)"
	@echo "  Data Docs:        $(CURDIR)/data/data_docs/index.html   (Great Expectations on the staged inputs; opens from disk; see expectations/README.md)"
	@echo "  ground truth:     $(DEMO_LANDING)/_expected/breaks.csv"
	@echo "  alerts:           data/alerts.log (state and outbox: data/tally.alerts.sqlite)"
	@echo "  run metrics:      marts.fct_recon_runs, data/metrics.prom"
	@echo "  Dagster UI:       make dev   (then http://127.0.0.1:$(DEV_PORT))"

# The Dagster UI on the demo data (make demo first if there is none).
dev: install dagster-home
	@test -f $(DEMO_DB) || $(MAKE) --no-print-directory demo
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) TALLY_LANDING_DIR=$(CURDIR)/$(DEMO_LANDING) \
		TALLY_DUCKDB_PATH=$(CURDIR)/$(DEMO_DB) TALLY_AS_OF="$(DEMO_AS_OF)" \
		$(BIN)/dagster dev -m orchestration.defs.definitions -h 127.0.0.1 -p $(DEV_PORT)

# The Dagster instance of the demo: data/dagster with the project's instance settings.
dagster-home:
	@mkdir -p $(DAGSTER_HOME_DIR)
	@cp orchestration/defs/dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml

# Starts `dagster dev`, waits until the UI answers and the definitions loaded, stops it.
dev-smoke: install
	$(BIN)/python -m orchestration.defs.dev_smoke

# dbt docs as one self-contained page (manifest and catalog inside, so it opens
# from disk), then the Great Expectations checkpoint on the demo warehouse, which
# rebuilds Data Docs (and prints where).
docs: install
	@TALLY_DUCKDB_PATH=$(DEMO_DB) TALLY_LANDING_DIR=$(DEMO_LANDING) $(BIN)/dbt docs generate --static --quiet
	@echo "dbt docs: $(CURDIR)/target/static_index.html"
	@$(BIN)/tally validate --duckdb-path $(DEMO_DB)

# The report of the demo warehouse (make demo first).
report: install
	$(BIN)/tally report --duckdb-path $(DEMO_DB)

# The suite runs in two processes (pytest-xdist); TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2

test: install spark-install postgres-server browser java
	$(BIN)/ruff check orchestration tests bench
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

# The peers of the reconciliation benchmark (datacompy, polars, reladiff) in a venv
# of their own: datacompy pins pandas and polars below the project's versions.
PEERS_VENV := .venv-bench-peers
PEERS_STAMP := $(PEERS_VENV)/.installed
BENCH_ARGS ?=

$(PEERS_STAMP): bench/requirements-peers.txt
	@test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet -r bench/requirements-peers.txt
	@touch $(PEERS_STAMP)

bench-install: install $(PEERS_STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'

# Tally against the hand-written query and the peers, 1M and 10M rows per side
# (bench/README.md). BENCH_ARGS passes flags, e.g. BENCH_ARGS="--sizes 1000000";
# --postgres and --spark add those engines at the smallest size.
bench: bench-install postgres-server spark-install java
	$(BIN)/python bench/reconcile.py $(BENCH_ARGS)

# The older single-question benchmarks (bench/README.md).
bench-other: install postgres-server
	$(BIN)/python bench/incremental.py
	$(BIN)/python bench/edit_loop.py
	$(BIN)/python bench/break_history.py
	$(BIN)/python bench/channel_health.py
	$(BIN)/python bench/postgres.py

lint: install
	$(BIN)/ruff check orchestration tests bench
	$(BIN)/ruff format --check orchestration tests bench

format: install
	$(BIN)/ruff format orchestration tests bench
	$(BIN)/ruff check --fix orchestration tests bench

clean:
	rm -rf target logs data .pytest_cache
