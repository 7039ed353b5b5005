# Two commands: `make demo` and `make test`. Each installs what it needs into .venv
# (and Debian packages through apt when run as root).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lock lint system-deps-demo system-deps-test clean

# Everything Python comes from requirements.lock: exact versions, transitive ones included,
# each with its hashes. The project itself goes in last, without resolving anything.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

# Refresh the lock from pyproject.toml, keeping the pins in requirements.pins.
# `make lock UPGRADE=1` moves every other package to its newest release.
LOCK_VENV := .venv-lock
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q pip-tools==7.7.0
	$(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
		--extra test --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
		-c requirements.pins -o requirements.lock pyproject.toml

system-deps-demo:
	@scripts/system-deps.sh demo

system-deps-test:
	@scripts/system-deps.sh test

demo: system-deps-demo $(STAMP)
	$(PY) main.py demo

# The layer rules of docs/architecture.md, as import-linter contracts in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

test: system-deps-test $(STAMP) lint
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) main.py bench --json

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache
