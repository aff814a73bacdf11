# One command each for a newcomer: `make run` and `make test`.
# Works on a fresh machine with only Python >= 3.11 and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DATA ?= data
NAME ?= My group

.PHONY: run test lint typecheck imports unit bench clean

# The virtual environment is (re)built when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is needed") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Start a node on ./data (created on first run) at http://127.0.0.1:8484.
run: $(STAMP)
	test -f $(DATA)/feed.key || $(BIN)/tredegar init --data $(DATA) --name "$(NAME)"
	$(BIN)/tredegar run --data $(DATA) --host 127.0.0.1 --port 8484

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -n auto -q

test: lint typecheck imports unit

# The benchmarks at full size (docs/performance.md); never part of `make test`.
bench: $(STAMP)
	$(BIN)/tredegar bench --json bench.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
