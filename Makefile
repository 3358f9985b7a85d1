# tcpbook — two commands do everything on a fresh Debian/Ubuntu machine:
#   make test   set up, build the book, run every test
#   make book   set up and build the HTML book into _build/html
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: help install system-deps test test-fast book book-clean lab bench lint clean

help:
	@echo "make test   - install everything, build the book, run all tests"
	@echo "make book   - install everything and build the HTML book (_build/html)"
	@echo "make lab    - open JupyterLab on the chapters (MyST .md open as notebooks)"
	@echo "make bench  - run the benchmarks and print their tables"
	@echo "make lint   - ruff"

# The Python environment, from the repo's own files.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "tcpbook needs Python >= 3.10, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

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
	$(PY) scripts/run_tests.py -n $(PYTEST_WORKERS)

# The package tests alone (no book build); handy while working on tcpbook/.
test-fast: install
	$(PY) scripts/run_tests.py -n $(PYTEST_WORKERS) -m "not book and not browser and not slow"

# JupyterLab on the chapters, in the environment Binder gets (binder/requirements.txt and
# binder/postBuild), all inside .venv: Jupyter config, lab settings and workspaces never
# touch the home directory.  MyST .md chapters open as notebooks.
LAB_STAMP := $(VENV)/.lab-installed
$(LAB_STAMP): $(STAMP) binder/requirements.txt binder/postBuild
	$(PY) -m pip install --quiet -r binder/requirements.txt
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
	  $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: install
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check tcpbook tests benchmarks scripts

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache
