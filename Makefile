# ShopIntent: `make run` runs the study on the built-in synthetic shop, `make test` passes the tests.
# Each target sets up what it needs: a .venv with the pinned requirements (installed once;
# re-run only when requirements*.txt or pyproject.toml change) and the Jupyter kernel `shopintent`.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# TensorFlow Recommenders needs Keras 2 (tf-keras) next to Keras 3: see DESIGN.md.
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: setup run test test-all lab bench lint clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "ShopIntent needs Python 3.11 (found: $$($(PYTHON) --version)); set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name shopintent \
	  --display-name "Python (ShopIntent)" --env TF_USE_LEGACY_KERAS 1 >/dev/null
	@touch $(STAMP)

# The whole pipeline on the built-in data: every notebook, HTML reports in reports/.
run: setup
	$(BIN)/shopintent run --profile default --dataset synthetic

# Lint (ruff check and ruff format --check, 100 columns), then the fast tier and the smoke run-all,
# on TEST_WORKERS pytest-xdist workers: the run-all's tests share one worker, Spark's another.
TEST_WORKERS ?= 2
test: setup
	$(BIN)/ruff check lib tests benchmarks
	$(BIN)/ruff format --check lib tests benchmarks
	$(BIN)/python -m pytest -m "not slow" -q --durations=30 -n $(TEST_WORKERS) --dist loadgroup

# Everything, including slow tests (training, notebook runs).
test-all: setup
	$(BIN)/python -m pytest -q

lab: setup
	$(BIN)/jupyter lab

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: setup
	$(BIN)/ruff check lib tests benchmarks
	$(BIN)/ruff format --check lib tests benchmarks

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
