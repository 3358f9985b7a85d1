# tcpbook — two commands do everything on a fresh Debian/Ubuntu machine:
#   make test   set up, build the book, run every test
#   make book   set up and build the HTML book into _build/html
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: help install system-deps test test-fast book book-clean page lab lock bench lint clean

help:
	@echo "make test   - install everything, build the book, run all tests"
	@echo "make book   - install everything and build the HTML book (_build/html)"
	@echo "make page PAGE=chapters/x.md - build one page with the book's configuration (a quick preview)"
	@echo "make lab    - JupyterLab on the chapters (MyST .md open as notebooks); PORT=, TOKEN=, BROWSER=no"
	@echo "make lock   - re-resolve requirements.lock and binder/requirements.txt (UPGRADE=1: newest versions)"
	@echo "make bench  - run the benchmarks and print their tables"
	@echo "make lint   - ruff"

# The Python environment, from the hashed lock (the same versions Binder installs).
# requirements.txt says what we need and why; `make lock` turns it into requirements.lock.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "tcpbook needs Python >= 3.10, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The lock files: every package pinned, with hashes, for Python 3.10 and up on any platform
# (uv's universal resolution).  The Binder lock is constrained to the versions of the
# development lock, so Binder, make and CI run the same versions.  Keeps existing pins
# unless UPGRADE=1.  Needs PyPI; never downloads a Python (UV_PYTHON_DOWNLOADS=never).
UV_COMPILE = UV_PYTHON_DOWNLOADS=never $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.10 \
	--generate-hashes $(if $(UPGRADE),--upgrade,)
lock: $(STAMP)
	$(UV_COMPILE) --no-emit-package tcpbook requirements.txt -o requirements.lock
	$(UV_COMPILE) pyproject.toml binder/requirements.in -c requirements.lock -o binder/requirements.txt

# graphviz's dot, Debian's chromium and tcpdump, through apt-get when missing.
system-deps:
	@bash scripts/install-system-deps.sh

install: $(STAMP) system-deps

book: install
	$(PY) scripts/build_book.py

book-clean:
	rm -rf _build

test: install book
	$(VENV)/bin/ruff check tcpbook tests benchmarks scripts
	$(PY) scripts/run_tests.py -n $(PYTEST_WORKERS) --dist loadgroup

# The package tests alone (no book build); handy while working on tcpbook/.
test-fast: install
	$(PY) scripts/run_tests.py -n $(PYTEST_WORKERS) --dist loadgroup -m "not book and not browser and not slow"

# One page with the book's configuration (scripts/build_page.py): PAGE=chapters/x.md
page: install
	@test -n "$(PAGE)" || { echo "make page: say which page, e.g. make page PAGE=chapters/01-handshake.md" >&2; exit 2; }
	$(PY) scripts/build_page.py "$(PAGE)"

# JupyterLab on the chapters, in the environment Binder gets (the lock includes Binder's
# runtime, binder/postBuild sets JupyterLab up), all inside .venv: Jupyter config, lab
# settings and workspaces never touch the home directory.  MyST .md chapters open as
# notebooks, rendered by jupyterlab-myst.
#   PORT=8888      the port (exactly this one: no silent fallback to another)
#   TOKEN=secret   the login token (default: a random one, printed in the log)
#   BROWSER=no     do not open a browser; BROWSER=firefox opens that one
PORT ?= 8888
TOKEN ?=
BROWSER ?=
LAB_STAMP := $(VENV)/.lab-installed
$(LAB_STAMP): $(STAMP) binder/postBuild
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash binder/postBuild
	touch $(LAB_STAMP)

lab: install $(LAB_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	JUPYTER_CONFIG_DIR="$(CURDIR)/$(VENV)/etc/jupyter" \
	JUPYTER_PATH="$(CURDIR)/$(VENV)/share/jupyter" \
	JUPYTERLAB_SETTINGS_DIR="$(CURDIR)/$(VENV)/share/jupyter/lab/user-settings" \
	JUPYTERLAB_WORKSPACES_DIR="$(CURDIR)/$(VENV)/share/jupyter/lab/workspaces" \
	JUPYTER_RUNTIME_DIR="$(CURDIR)/$(VENV)/share/jupyter/runtime" \
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/chapters \
	  --ServerApp.port=$(PORT) --ServerApp.port_retries=0 \
	  $(if $(TOKEN),--IdentityProvider.token="$(TOKEN)",) \
	  $(if $(filter no none 0 false,$(BROWSER)),--no-browser,$(if $(BROWSER),--ServerApp.browser="$(BROWSER) %s",)) \
	  $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: install
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check tcpbook tests benchmarks scripts

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache
