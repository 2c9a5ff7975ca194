# Convolution, Unrolled. On a fresh machine with Python 3.11:
#   make book   set up .venv and build the HTML book into _build/html
#   make test   set up .venv (and Chromium) and run every test
#   make lab    set up .venv and open the notebooks in JupyterLab
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JB := $(VENV)/bin/jupyter-book
BUILD_FLAGS := -W -n --keep-going

.PHONY: setup book test unit notebooks-test browser-test lint format lab execute clean chromium bench

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: setup
	rm -rf _build
	$(JB) build . $(BUILD_FLAGS)

chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: setup
	$(PY) -m ruff check conv tests benchmarks tools
	$(PY) -m ruff format --check conv tests benchmarks tools

format: setup
	$(PY) -m ruff format conv tests benchmarks tools
	$(PY) -m ruff check --fix conv tests benchmarks tools

# Unit, property and widget tests, then strict nbval on every chapter.
unit: setup
	$(PY) -m pytest -n 2 --dist loadfile -m "not browser" tests

notebooks-test: setup
	$(PY) -m pytest -n 2 --dist loadfile --nbval --nbval-current-env \
	  --nbval-sanitize-with nbval_sanitize.cfg -p no:randomly book

# Builds the book from scratch (zero warnings) and checks every page in headless Chromium.
browser-test: setup chromium book
	$(PY) -m pytest -m browser tests

test: lint unit notebooks-test browser-test

lab: setup
	$(VENV)/bin/jupyter lab book

# Re-execute notebooks in place (after editing them): make execute NB="book/01-*.ipynb"
NB ?= book/*.ipynb
execute: setup
	$(PY) tools/nbtools.py execute $(NB)

bench: setup
	$(PY) benchmarks/bench_conv.py

clean:
	rm -rf _build .pytest_cache .hypothesis
