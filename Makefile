# The course's commands. Two matter most:
#   make book   build the static website and print where it is
#   make test   run the whole test suite (what CI runs)
# Both create .venv/ and install everything on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: help install book serve lab test test-fast grade exercises execute experiments bench gpu-check clean

help:
	@echo "make book        build the website into _build/html/ and print its path"
	@echo "make test        run every test: dbnlib, notebooks (nbval), exercises, website, browser"
	@echo "make lab         open the course in JupyterLab"
	@echo "make grade       score your answers in exercises/ (writes grade_report.json)"
	@echo "make exercises   regenerate exercises/ from solutions/"
	@echo "make execute     re-run every notebook after an edit and save its outputs"
	@echo "make experiments re-run the long experiments whose results chapters read from chapters/results/"
	@echo "make bench       run the benchmark table (benchmarks/)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@$(BIN)/python -c "import pathlib, webbrowser, os; p = pathlib.Path('_build/html/index.html').resolve(); print('The book is built:', p); (os.environ.get('DISPLAY') or os.environ.get('BROWSER')) and webbrowser.open(p.as_uri())"

serve: book
	$(BIN)/python -m http.server --directory _build/html 8000

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. chapters/01_logistic_regression.ipynb

# One BLAS thread per test worker: two workers on two cores, no oversubscription
# (OpenBLAS threads that compete for cores can slow a notebook down tenfold).
TEST_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test: $(STAMP)
	$(BIN)/python tools/make_exercises.py --check
	$(TEST_ENV) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	    --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 600 \
	    tests chapters solutions

test-fast: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow and not browser" tests

grade: $(STAMP)
	$(BIN)/python -m dbnlib.grade --timeout 120 --report grade_report.json

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py chapters/*.ipynb solutions/*.ipynb
	$(BIN)/python tools/make_exercises.py

experiments: $(STAMP)
	$(BIN)/python tools/run_experiments.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

gpu-check:
	bash benchmarks/gpu_check.sh

clean:
	rm -rf _build .pytest_cache grade_report.json
