# One command each on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup test lint demo clean

$(BIN)/ipr: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# torch first, pinned, with plain pip: the local CPU wheel satisfies the range in pyproject.toml
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[all]"
	touch $(BIN)/ipr

setup: $(BIN)/ipr

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/ipr demo

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
