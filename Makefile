# One entry point for developers, CI and operators.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint demo sandbox-kraken sandbox-telegram bench bench-notifier clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The whole suite. Exit code 5 (no tests collected) fails like any other non-zero code.
test: $(STAMP)
	bash scripts/ensure-browser.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy kraken dialogs bot voice sandbox harness scripts bench tests

demo: $(STAMP)
	$(BIN)/python -m scripts.demo

sandbox-kraken: $(STAMP)
	$(BIN)/python -m sandbox.kraken --host 127.0.0.1 --port 8500

sandbox-telegram: $(STAMP)
	$(BIN)/python -m sandbox.telegram --host 127.0.0.1 --port 8081

bench: $(STAMP)
	$(BIN)/python -m bench

bench-notifier: $(STAMP)
	$(BIN)/python -m bench.notifier

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
