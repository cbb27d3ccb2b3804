# The two commands a newcomer needs: `make dev` (run locally) and `make test` (everything CI runs).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The tests, the local stack and sam build run on the Lambda runtime's Python (3.13, template.yaml),
# not whichever python3 is first on PATH; pyenv machines have it under ~/.pyenv/versions.
PY313_DIR := $(firstword $(dir $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13)) $(dir $(shell command -v python3.13 2>/dev/null)))
PYTHON ?= $(if $(PY313_DIR),$(PY313_DIR)python3.13,$(error Python 3.13 (the Lambda runtime, template.yaml) is missing: install it, e.g. `pyenv install 3.13`, or pass PYTHON=/path/to/python3.13))
SAM_ENV := PATH="$(CURDIR)/$(BIN):$(PY313_DIR):$$PATH" SAM_CLI_TELEMETRY=0
PYTEST_WORKERS ?= 2

.PHONY: dev demo test lint unit unit-orders integration e2e browser build deploy bench clean cleanup

$(VENV)/.local-installed: pyproject.toml
	$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.local-installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# checkov, the template's security scan, in a venv of its own (pyproject.toml says why).
SCAN := $(VENV)/checkov
$(SCAN)/.installed: pyproject.toml $(VENV)/.local-installed
	test -x $(SCAN)/bin/python || $(BIN)/python -m venv $(SCAN)
	$(SCAN)/bin/python -m pip install --quiet --upgrade pip
	$(SCAN)/bin/python -m pip install --quiet --group scan
	touch $@

# The demo page's Uppy (demo/package.json, pinned in its lock file), from the npm registry.
DEMO_INSTALLED := demo/node_modules/.installed
$(DEMO_INSTALLED): demo/package.json demo/package-lock.json
	cd demo && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The local stack's IAM policy evaluator, @cloud-copilot/iam-simulate (local_stack/iam/package.json, pinned
# in its lock file), from the npm registry: every call a function makes is judged by it.
IAM_INSTALLED := local_stack/iam/node_modules/.installed
$(IAM_INSTALLED): local_stack/iam/package.json local_stack/iam/package-lock.json
	cd local_stack/iam && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser test drives Debian's chromium (tests/browser): installed when missing where apt-get
# can (CI runs as root); elsewhere the test says what is missing (and fails under CI=true).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; } \
	    || echo "could not install chromium: the browser test will fail under CI=true, skip otherwise"; \
	else echo "no apt-get: install chromium at $(CHROMIUM) for the browser test"; fi

dev: $(VENV)/.local-installed $(DEMO_INSTALLED) $(IAM_INSTALLED) ## run the whole service locally (Ctrl-C stops it)
	$(BIN)/python -m local_stack

# The demo page alone, against a deployed stack: config.json written from its outputs (docs/deploying.md).
DEMO_CONFIG ?= demo/config.json
demo: $(VENV)/.local-installed $(DEMO_INSTALLED) ## the demo page at http://localhost:5173/demo/ against a deployed stack
	$(BIN)/python -m local_stack.demo $(DEMO_CONFIG)

cleanup: $(VENV)/.local-installed ## run the cleanup function once against the running `make dev` stack
	$(BIN)/python -m local_stack invoke CleanupFunction events/cleanup.json

test: lint $(DEMO_INSTALLED) $(IAM_INSTALLED) $(CHROMIUM) ## lint, then unit, integration, e2e and browser tests
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests

unit: $(VENV)/.dev-installed $(IAM_INSTALLED)
	$(BIN)/python -m pytest tests/unit

# The unit suite in one process in file order, in reverse file order, and shuffled with three seeds
# (pytest-randomly): a test that leans on another's leftovers fails in one of them (docs/testing.md).
UNIT_FILES = $(sort $(wildcard tests/unit/test_*.py))
unit-orders: $(VENV)/.dev-installed $(IAM_INSTALLED)
	$(BIN)/python -m pytest -q -p no:randomly $(UNIT_FILES)
	$(BIN)/python -m pytest -q -p no:randomly $(shell printf '%s\n' $(UNIT_FILES) | tac)
	for seed in 1 2 3; do $(BIN)/python -m pytest -q --randomly-seed=$$seed tests/unit || exit 1; done

integration: $(VENV)/.dev-installed $(IAM_INSTALLED)
	$(BIN)/python -m pytest tests/integration

e2e: $(VENV)/.dev-installed $(IAM_INSTALLED)
	$(BIN)/python -m pytest tests/e2e

browser: $(VENV)/.dev-installed $(DEMO_INSTALLED) $(IAM_INSTALLED) $(CHROMIUM)
	$(BIN)/python -m pytest tests/browser

lint: $(VENV)/.dev-installed $(SCAN)/.installed ## ruff, mypy, cfn-lint, sam validate --lint, checkov, sam build
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/shared functions local_stack tests benchmarks
	$(BIN)/cfn-lint template.yaml
	$(SAM_ENV) $(BIN)/sam validate --lint --region us-east-1
	$(SCAN)/bin/checkov --file template.yaml --framework cloudformation --skip-download --quiet --compact
	$(MAKE) build

bench: $(VENV)/.dev-installed ## cold start, DynamoDB cost, warm latency, built size, media structure at landing, what uploads cost: tables + benchmarks/results.json, price_figures.json, docs/costs.md
	$(SAM_ENV) $(BIN)/python benchmarks/run.py

build: $(VENV)/.dev-installed
	$(SAM_ENV) $(BIN)/sam build --cached --parallel

deploy: build
	$(SAM_ENV) $(BIN)/sam deploy --guided

clean:
	rm -rf $(VENV) .aws-sam .bench .local .pytest_cache .mypy_cache .ruff_cache demo/node_modules local_stack/iam/node_modules tests/browser/artifacts
