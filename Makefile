# Developer entry points. `make setup` creates .venv with everything the project needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench

setup:
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(PY) -m uv venv --quiet --allow-existing --python $(PY) $(VENV)
	$(PY) -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'

run:
	$(BIN)/alvh run

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint
	$(BIN)/python -m pytest -n 2 --dist loadscope --durations=15

bench:
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/validate.py
	$(BIN)/python benchmarks/signals.py
	$(BIN)/python benchmarks/backtest.py
	$(BIN)/python benchmarks/operate.py
	$(BIN)/python benchmarks/pages.py
	$(BIN)/python benchmarks/startup.py
