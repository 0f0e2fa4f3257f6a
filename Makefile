# The course's commands. Two matter most:
#   make book   build the static website and print where it is
#   make test   run the whole test suite (what CI runs)
# Both create .venv/ and install everything on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

PORT   ?= 8000

.PHONY: help install lock book serve lab test test-fast grade exercises release execute experiments bench gpu-check clean

# `make help` prints the `## ` comment of every target, so the list cannot drift.
help: ## list the targets (this message)
	@echo "Usage: make <target>   (the first run creates .venv/ and installs everything)"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'

# Installs through constraints.txt: the exact versions the stored outputs were
# made with. `make lock` rewrites it from .venv after a deliberate upgrade.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $(STAMP)

install: $(STAMP) ## create .venv/ and install the course at the locked versions

# No $(STAMP) prerequisite: a deliberate upgrade of .venv must not be undone by
# reinstalling the old lock before it is rewritten.
lock: ## rewrite constraints.txt from the versions installed in .venv/
	@test -x $(BIN)/python || { echo "No .venv yet: run 'make install' first."; exit 1; }
	$(BIN)/python tools/lock_env.py

book: $(STAMP) ## build the website into _build/html/ and print where it is
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@$(BIN)/python -c "import pathlib, webbrowser, os; p = pathlib.Path('_build/html/index.html').resolve(); print('The book is built:', p); (os.environ.get('DISPLAY') or os.environ.get('BROWSER')) and webbrowser.open(p.as_uri())"
	@echo "  API reference:  _build/html/docs/api/index.html"
	@echo "Next: open index.html in a browser (it works offline), or 'make serve' for http://localhost:$(PORT);"
	@echo "      'make lab' runs the notebooks and moves the widgets; 'make test' checks everything."

serve: book ## build, then serve the website at http://localhost:8000 (PORT=8001 for another port)
	@echo "Serving _build/html at http://localhost:$(PORT) (Ctrl-C stops; if the port is taken: make serve PORT=8001)"
	$(BIN)/python -m http.server --directory _build/html $(PORT)

lab: $(STAMP) ## open the notebooks in JupyterLab (widgets need this running kernel)
	@echo "JupyterLab opens on chapters/01_logistic_regression.ipynb: chapters/ holds the book, exercises/"
	@echo "your graded exercises (then 'make grade'). Open the http://localhost:... URL printed below;"
	@echo "a taken port makes JupyterLab try the next one. Ctrl-C twice stops it."
	$(BIN)/jupyter lab --notebook-dir=. $$([ "$$(id -u)" = 0 ] && echo --allow-root) chapters/01_logistic_regression.ipynb

# One BLAS thread per test worker: two workers on two cores, no oversubscription
# (OpenBLAS threads that compete for cores can slow a notebook down tenfold).
TEST_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test: $(STAMP) ## run every test: dbnlib, notebooks (nbval), exercises, website, browser
	$(BIN)/python tools/make_exercises.py --check
	$(TEST_ENV) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	    --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout 600 \
	    tests chapters solutions

test-fast: $(STAMP) ## run the quick tests only (no slow ones, no browser)
	$(TEST_ENV) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow and not browser" tests

grade: $(STAMP) ## score your answers in exercises/ with the instructor's checks (writes grade_report.json)
	$(TEST_ENV) $(BIN)/python -m dbnlib.grade --timeout 30 --report grade_report.json

exercises: $(STAMP) ## regenerate exercises/, the checks and grading/manifest.json from solutions/ (never overwrites answers)
	$(BIN)/python tools/make_exercises.py

RELEASE ?= release
release: $(STAMP) ## write the learners' notebooks and checks.json for a class into $(RELEASE)/
	$(BIN)/python tools/make_exercises.py --release $(RELEASE)

execute: $(STAMP) ## re-run the notebooks whose cells or dbnlib changed, save their outputs (FORCE=1: all)
	$(BIN)/python tools/execute_notebooks.py $(if $(FORCE),--force) chapters/*.ipynb solutions/*.ipynb
	$(BIN)/python tools/make_exercises.py

experiments: $(STAMP) ## re-run the long experiments whose results chapters read from chapters/results/
	$(BIN)/python tools/run_experiments.py

bench: $(STAMP) ## run the benchmark table (benchmarks/)
	$(BIN)/python benchmarks/bench.py

gpu-check: ## run the GPU tests and benchmarks in one go (needs CuPy and a CUDA device)
	bash benchmarks/gpu_check.sh

clean: ## remove the built website and test leftovers
	rm -rf _build .pytest_cache grade_report.json
