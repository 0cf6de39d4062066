# The two commands of the README: `make run` (the main job on the embedded default) and `make test` (the whole suite).
# Both create .venv and install the project with its dev extras first; nothing else needs installing by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export NBDEV_TEST_FLAGS ?= spark slow
# the notebooks whose tables and charts the docs show (make outputs refreshes them)
DOC_NBS := nbs/03_markets.ipynb nbs/06_bundle.ipynb nbs/10_streaming.market_simulator.ipynb nbs/20_features.feature_engineering.ipynb \
           nbs/22_features.simulated_sets.ipynb nbs/33_dlt.gold_features.ipynb nbs/42_models.model_tournament.ipynb \
           nbs/45_models.champion_challenger.ipynb nbs/51_monitoring.drift_detector.ipynb nbs/70_dashboard.demo.ipynb \
           nbs/71_dashboard.export.ipynb

.PHONY: install run test test-fast lab docs outputs readme export clean lint bench help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/' | expand -t 14

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Python 3.11+ is required (found $$($(PYTHON) --version 2>&1)). Set PYTHON=/path/to/python3.11"; exit 1; }
	@command -v java >/dev/null 2>&1 || { echo "Java 17+ is required for Spark and was not found."; \
	  echo "  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless    macOS: brew install openjdk@17"; exit 1; }
	@java -version 2>&1 | awk -F'"' '/version/ {split($$2, v, "."); if (v[1] < 17) { print "Java 17+ is required, found " $$2; exit 1 }}'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -c "from financial_transactions.bundle import ensure_kernel; ensure_kernel()"
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its dev extras

run: install  ## run the main sequence of jobs on the embedded default (no account, no key)
	$(VENV)/bin/fin-mlops run

test: install  ## the whole suite: every notebook (spark and slow cells too) and the integration tests
	bash scripts/ensure_test_deps.sh
	$(PY) -m pytest

test-fast: install  ## notebooks without spark/slow cells, no integration tests
	NBDEV_TEST_FLAGS= $(PY) -m pytest tests/test_notebooks.py

lab: install  ## JupyterLab on nbs/ with the project's kernel
	$(PY) -m pip install -q -e ".[lab]"
	$(VENV)/bin/jupyter lab --notebook-dir=nbs

export:  ## regenerate the package from the notebooks and clean them
	$(VENV)/bin/nbdev-export && $(VENV)/bin/nbdev-clean

lint: install  ## ruff over the generated package, tests and benchmarks
	$(VENV)/bin/ruff check financial_transactions tests bench

readme: install  ## README.md from nbs/index.ipynb (works without Quarto)
	$(PY) scripts/make_readme.py

docs: install  ## the documentation site in _docs/ (Quarto where installed, else plain HTML from nbdev's processed notebooks)
	$(PY) scripts/make_docs.py

outputs: install  ## re-run notebooks and keep their tables and charts as committed outputs: make outputs NB="nbs/42_*.ipynb"
	$(PY) scripts/refresh_outputs.py $(or $(NB),$(DOC_NBS))

bench: install  ## run every benchmark in bench/ and print the figures
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:  ## remove the local lakehouse and build products (keeps .venv)
	rm -rf .lakehouse _docs _proc nbs/_proc build dist *.egg-info
