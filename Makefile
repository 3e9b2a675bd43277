# Each target creates (or reuses) its own virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORE := $(VENV)/.installed-core

.PHONY: demo test lint bench fidelity clean

# schedlab alone (what the demo needs), then the development extras (tests, linters, Ray, ...)
$(CORE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(CORE)

$(STAMP): $(CORE)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

## demo: all six policies on the embedded openb trace, 3 seeds; table + figure in out/demo
demo: $(CORE)
	$(BIN)/schedlab fill --seeds 42-44 --out out/demo
	@echo "figure: out/demo/curves.png"

## test: lint (ruff), type checks (mypy), import layers (import-linter), the test suite (pytest),
## then the numbers quoted in README.md and docs/ re-run (scripts/check_docs.py)
test: lint
	$(BIN)/pytest -q
	$(BIN)/python scripts/check_docs.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: placement speed per policy on the default trace
bench: $(STAMP)
	$(BIN)/python benchmarks/fill_speed.py

## fidelity: schedlab vs the published ATC'23 numbers (the README's table)
fidelity: $(STAMP)
	$(BIN)/python scripts/fidelity.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis
