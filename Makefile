# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test coverage bench lint validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/guidance-bot train
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/guidance-bot run

test: $(STAMP)
	$(BIN)/guidance-bot validate
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/pytest -q -n auto

# The same tests in one process under the coverage tracer (about twice as slow, so not in CI).
coverage: $(STAMP)
	$(BIN)/pytest -q --cov=bot --cov-report=term:skip-covered

validate: $(STAMP)
	$(BIN)/guidance-bot validate

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
