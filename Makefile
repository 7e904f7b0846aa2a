# teem: set-up, demo, tests and benchmarks.
# Works on a fresh Debian machine that has python3 (>= 3.11), make and apt-get.
#
#   make demo     seed 001's examples on every local scheduler
#   make test     the test suite
#   make bench    teem vs Dask benchmarks
#   make clean    remove build and cache files (keeps .venv)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON3 ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
APT_LOG ?= /tmp/teem-apt.log
# Real services for the integration tests (SLURM, sshd, MPI); see ../shared/tools/README.md.
# TOOLS ?= ../shared/tools

# apt_install PKG: install a Debian package if we are root and apt-get exists.
# Prints a warning and returns 1 if that is not possible or fails (output in $(APT_LOG)).
define apt_install
	if [ "$$(id -u)" != 0 ]; then echo "warning: not root, cannot apt-get install $(1)" >&2; exit 1; fi; \
	if ! command -v apt-get >/dev/null; then echo "warning: no apt-get, cannot install $(1)" >&2; exit 1; fi; \
	echo "apt-get install $(1) (log: $(APT_LOG))"; \
	{ apt-get -q -o DPkg::Lock::Timeout=300 update && \
	  DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 \
	    install --no-install-recommends $(1); } >>$(APT_LOG) 2>&1 || \
	{ echo "warning: apt-get install $(1) failed; last lines of $(APT_LOG):" >&2; \
	  tail -n 20 $(APT_LOG) >&2; exit 1; }
endef

.PHONY: venv install demo test bench clean dot dot-required test-tools

## venv: create $(VENV) if it is missing (or has no pip) and upgrade pip in it.
# Debian's python3 needs the python3-venv package for `python3 -m venv`: installed if missing.
venv:
	@if ! $(PY) -m pip --version >/dev/null 2>&1; then \
	  echo "creating $(VENV) with $$($(PYTHON3) --version)"; \
	  if ! $(PYTHON3) -m venv $(VENV); then \
	    echo "$(PYTHON3) -m venv failed; installing Debian's python3-venv and trying again"; \
	    ( $(call apt_install,python3-venv) ); \
	    $(PYTHON3) -m venv $(VENV); \
	  fi; \
	fi
	$(PIP) install -q --upgrade pip

## install: teem in editable mode, with graphviz for visualize().
install: venv
	$(PIP) install -q -e '.[diagnostics]'

# The 'dot' program that visualize() needs: best effort for the demo, required for the tests.
dot:
	@command -v dot >/dev/null || ( $(call apt_install,graphviz) ) || \
	  echo "warning: graphviz's 'dot' is missing; the demo will not draw its task graph" >&2

dot-required:
	@command -v dot >/dev/null || ( $(call apt_install,graphviz) )

# What the dashboard and `teem top` tests drive: a real browser (Debian's chromium with its
# WebDriver) and tmux. SLURM, sshd and MPI are started by the tests through ../shared/tools.
test-tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v tmux >/dev/null || missing="$$missing tmux"; \
	dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then ( $(call apt_install,$$missing) ); fi

## demo: seed 001's examples on sync, threads and processes, with a progress bar.
demo: install dot
	$(PY) -m teem.demo

## test: the test suite, with the test extras, graphviz, chromium and tmux.
test: venv dot-required test-tools
	$(PIP) install -q -e '.[test,diagnostics]'
	$(PY) -m pytest -q tests

## bench: teem vs Dask side by side, small sizes (installs the pinned Dask from the 'bench' extra).
# Each script also runs in full without --quick; see its docstring.
bench: venv
	$(PIP) install -q -e '.[bench]'
	$(PY) bench/bench_delayed.py --quick
	$(PY) bench/bench_distributed.py --quick
	$(PY) bench/bench_array.py
	$(PY) bench/bench_bag.py --quick
	$(PY) bench/bench_dataframe.py --quick
	$(PY) bench/bench_scheduler_state.py 100000

## clean: build and cache files; the virtual environment stays (rm -rf $(VENV) to remove it).
clean:
	rm -rf build dist *.egg-info .pytest_cache bench/.cache task_graph.svg
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
