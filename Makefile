# Convolution, Unrolled. On a fresh machine with Python 3.11:
#   make book   set up .venv and build the HTML book into _build/html
#   make test   set up .venv (and Chromium) and run every test
#   make check  the quick loop: lint, unit tests, strict nbval (no book build, no Chromium)
#   make lab    set up .venv and open the notebooks in JupyterLab
#   make student  write the student copy of the notebooks (no solutions) to _build/student
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JB := $(VENV)/bin/jupyter-book
BUILD_FLAGS := -W -n --keep-going

.PHONY: setup book test check screenshots unit notebooks-test browser-test lint format lab execute clean chromium bench vendor student

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

# ruff reads the notebooks too (their code cells), so book/ is linted like the package.
LINTED := conv tests benchmarks tools book

lint: setup
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)

format: setup
	$(PY) -m ruff format $(LINTED)
	$(PY) -m ruff check --fix $(LINTED)

# Unit, property and widget tests, then strict nbval on every chapter.
unit: setup
	$(PY) -m pytest -n 2 --dist loadfile -m "not browser" tests

notebooks-test: setup
	$(PY) -m pytest -n 2 --dist loadfile --nbval --nbval-current-env \
	  --nbval-sanitize-with nbval_sanitize.cfg -p no:randomly book

# Builds the book from scratch (zero warnings) and checks every page in headless Chromium: two
# workers, each with its own Chromium; --dist loadfile keeps a file's session fixtures (the
# book's web server, JupyterLab) on one worker.
browser-test: setup chromium book
	$(PY) -m pytest -n 2 --dist loadfile -m browser tests

test: lint unit notebooks-test browser-test

# Full-page screenshots of every built page at desktop and phone widths, in _build/screenshots.
screenshots: setup chromium
	test -d _build/html || $(MAKE) book
	SCREENSHOTS=1 $(PY) -m pytest -n 2 -m browser tests/test_book_browser.py -k page_offline

# The quick loop while editing: everything but the book build and the browser.
check: lint unit notebooks-test

lab: setup
	$(VENV)/bin/jupyter lab book

# Re-execute notebooks in place (after editing them): make execute NB="book/01-*.ipynb"
NB ?= book/*.ipynb
execute: setup
	$(PY) tools/nbtools.py execute $(NB)

# Refresh the vendored JavaScript in book/_assets/vendor from npm (the book build never needs node).
vendor: setup
	$(PY) tools/vendor.py

bench: setup
	$(PY) benchmarks/bench_conv.py

# The notebooks with every solution removed and outputs cleared, for students to work in.
student: setup
	$(PY) tools/student.py _build/student

clean:
	rm -rf _build .pytest_cache .hypothesis
