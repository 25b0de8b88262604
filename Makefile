# kerasgen developer targets.
#
#   make demo   train a small DCGAN on the built-in digits (offline) and say
#               where its sample grid and checkpoint are
#   make test   run the test suite on TensorFlow, then on JAX (what CI runs:
#               without the tests marked slow)
#   make test-all  every test, the slow ones too
#   make clean  remove build outputs and the demo run (keeps .venv)
#
# Both set up .venv first (python3 -m venv, then `pip install -e .` with the
# extras they need). That step runs again only when setup.cfg or
# pyproject.toml changed since the last install (a stamp file per set of
# extras inside .venv), so a second `make test` starts straight away.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Workers per backend run. On 2 cores, 2 workers pay TensorFlow's start-up
# twice but overlap the subprocess-heavy CLI tests; see README, "Tests".
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
# `make test` leaves out the tests marked slow (see setup.cfg); `make
# test-all` runs every test.
PYTEST_MARKERS ?= not slow
PYTEST_SELECT = $(if $(PYTEST_MARKERS),-m "$(PYTEST_MARKERS)")
# The built-in digits are 8x8: trained at 16x16 they stay sharp, and 1,500
# steps take about a minute on 2 CPU cores.
DEMO_STEPS ?= 1500
DEMO_SET ?= image_size=16
DEMO_NAME ?= demo

.PHONY: demo test test-all test-tensorflow test-jax venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per set of extras; rebuilt when the packaging files change.
$(VENV)/.installed-%: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[$*]"
	touch $@

venv: $(VENV)/.installed-jax,test

demo: $(VENV)/.installed-jax
	$(BIN)/kerasgen train dcgan --name $(DEMO_NAME) --steps $(DEMO_STEPS) --set $(DEMO_SET) --sample-every 500 --overwrite
	@echo
	@echo "Sample grids: runs/$(DEMO_NAME)/samples/ (the last one is the newest)"
	@echo "Checkpoint:   runs/$(DEMO_NAME)/checkpoint.keras"
	@echo "More samples: $(BIN)/kerasgen sample runs/$(DEMO_NAME) --n 64 --out demo.png"

test: test-tensorflow test-jax

test-all:
	$(MAKE) test PYTEST_MARKERS=

test-tensorflow: $(VENV)/.installed-jax,test
	KERAS_BACKEND=tensorflow $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_SELECT) $(PYTEST_ARGS) tests

# JAX compiles each new model's train step again even when an identical
# one (the family contracts build a config three times, every CLI test
# process trains the same recipe) was compiled a minute before: a
# persistent compilation cache, emptied at the start of each run, serves
# those from disk. Tracing still happens, so trace-count tests are unchanged.
JAX_CACHE ?= .pytest_cache/jax-compilation
JAX_CACHE_ENV = JAX_COMPILATION_CACHE_DIR=$(abspath $(JAX_CACHE)) \
	JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0

test-jax: $(VENV)/.installed-jax,test
	rm -rf $(JAX_CACHE)
	$(JAX_CACHE_ENV) KERAS_BACKEND=jax $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_SELECT) $(PYTEST_ARGS) tests

clean:
	rm -rf build dist *.egg-info .pytest_cache runs/$(DEMO_NAME)
