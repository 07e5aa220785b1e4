# The verbs people and CI use. `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit eval bench native clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# The native kernel (native/kernel.cpp), when this machine has a C++ compiler and RE2's headers
# (Debian: libre2-dev); without it errorkb gives the same answers from Python. Skipped when built.
native: $(STAMP)
	$(BIN)/python native/build.py

demo: native
	$(BIN)/errorkb lookup 'lwIP: TCP connection reset by peer during SYN-SENT state, remote port 8080'

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests eval bench native

typecheck: $(STAMP)
	$(BIN)/mypy

unit: native
	$(BIN)/python -m pytest

eval: native
	$(BIN)/python -m eval.run

bench: native
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/errorkb/match/_kernel.*
