# The two commands that matter: `make run` and `make test`. Both set themselves up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help run reset rebuild redrive test lint format typecheck validate checkov unit emulation integration e2e fuzz build bench load mutate openapi clean

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/shop/requirements.txt | sha1sum | cut -c1-12)
# pyenv reads .python-version (3.13); otherwise any python3.13 on PATH.
PYTHON := $(shell command -v python3.13 2>/dev/null || command -v python3)
PYTEST_WORKERS ?= auto

# Never reach AWS from here: fake credentials unless the caller set real ones for `sam deploy`.
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export SAM_CLI_TELEMETRY := 0

help: ## List the targets
	@grep -hE '^[A-Za-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt layers/shop/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 13))' || \
	  { echo "Python 3.13 is needed (e.g. 'pyenv install 3.13'); found $$($(PYTHON) --version)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing development dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# The layer's package and the repository on the venv's path, for scripts, bench and the REPL.
	@printf '%s\n%s\n' "$(CURDIR)/layers/shop" "$(CURDIR)" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/shop-dev.pth"
	@# The console script `shopctl` (pyproject [project.scripts]), editable: it runs this checkout.
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . > $(VENV)/shopctl-install.log 2>&1 \
	  || { cat $(VENV)/shopctl-install.log; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP) ## Run the whole system locally (Query API :3000, Command API :3001); state in STATE_DIR (.local)
	@$(BIN)/python -m local

reset: ## Forget the local stack's state: its event stores on disk (STATE_DIR, default .local)
	@rm -rf "$${STATE_DIR:-.local}" && echo "removed $${STATE_DIR:-.local}/"

rebuild: $(STAMP) ## Rebuild a read table of the running local stack: make rebuild VIEW=ProductsView
	@test -n "$(VIEW)" || { echo "name the read table: make rebuild VIEW=ProductsView (or CartsView, OrdersView)"; exit 2; }
	@$(BIN)/shopctl rebuild "$(VIEW)" --endpoint-url "http://127.0.0.1:$${MOTO_PORT:-4566}"

redrive: $(STAMP) ## Redrive the running local stack's parked records (STREAM=, CONSUMER= narrow it)
	@$(BIN)/shopctl parked --endpoint-url "http://127.0.0.1:$${MOTO_PORT:-4566}" \
	  $(if $(CONSUMER),--consumer "$(CONSUMER)") $(if $(STREAM),--stream "$(STREAM)")
	@$(BIN)/shopctl redrive --endpoint-url "http://127.0.0.1:$${MOTO_PORT:-4566}" \
	  $(if $(CONSUMER),--consumer "$(CONSUMER)") $(if $(STREAM),--stream "$(STREAM)")

test: $(STAMP) lint typecheck validate checkov ## Lint, type-check, validate and scan the template, run every test
	@$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

unit: $(STAMP) ## Domain and application tests: no AWS, no network (seconds)
	@$(BIN)/pytest tests/unit -q

emulation: $(STAMP) ## Tests of the local emulation: moto fixes, API Gateway, stream mappings, servers
	@$(BIN)/pytest tests/local -q -n $(PYTEST_WORKERS)

integration: $(STAMP) ## Adapters and handlers on moto: contract, integration and template tests
	@$(BIN)/pytest tests/contract tests/integration tests/template -q -n $(PYTEST_WORKERS)

e2e: $(STAMP) ## The local stack over HTTP (python -m local in a subprocess)
	@$(BIN)/pytest tests/e2e -q

fuzz: $(STAMP) ## Fuzz both APIs longer than make test does: a fresh stack, a random seed (FUZZ_SEED, FUZZ_EXAMPLES)
	@FUZZ_ALL=1 FUZZ_SEED=$${FUZZ_SEED:-$$RANDOM} FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-25} \
	  $(BIN)/pytest tests/e2e/test_fuzz_contract.py -q -rA

openapi: $(STAMP) ## Write docs/openapi/{command,query}.json from the code and template.yaml
	@$(BIN)/python -m local.openapi

.PHONY: event-contract
event-contract: $(STAMP) ## Write the schema snapshot and example of each event's new version (docs/upcasting.md)
	@$(BIN)/python -m tests.support.event_contract --write

lint: $(STAMP) ## ruff lint + format check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports --no-cache

format: $(STAMP) ## Apply ruff's formatting and safe fixes
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

typecheck: $(STAMP) ## mypy, strict on the layer
	@$(BIN)/mypy

validate: $(STAMP) ## cfn-lint and sam validate --lint on template.yaml
	@$(BIN)/cfn-lint template.yaml
	@AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	  $(BIN)/sam validate --lint

# checkov has its own venv: it pins boto3 1.35 and older networkx/packaging than aws-sam-cli and the layer.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cat requirements-checkov.txt | sha1sum | cut -c1-12)

$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@echo "Installing checkov into $(CHECKOV_VENV) ..."
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@rm -f $(CHECKOV_VENV)/.installed-* && touch $@

checkov: $(CHECKOV_STAMP) ## checkov over template.yaml: zero failures; the only skips are in .checkov.yaml
	@$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

# The layer's Makefile (layers/shop/Makefile) compiles its bytecode with python3.13: the venv's, first on PATH.
build: $(STAMP) ## sam build: every function, and the layer with its bytecode, for arm64 (ARCH=x86_64 to change)
	@PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam build --parameter-overrides Architecture=$${ARCH:-arm64}

# The load generator (locust) and the plot (matplotlib) have their own venv: locust pins gevent and flask
# versions that clash with aws-sam-cli. The bench itself runs in .venv and calls into this one.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cat requirements-bench.txt | sha1sum | cut -c1-12)

$(BENCH_STAMP): requirements-bench.txt
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@echo "Installing locust and matplotlib into $(BENCH_VENV) ..."
	@$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@rm -f $(BENCH_VENV)/.installed-* && touch $@

bench: $(STAMP) $(BENCH_STAMP) ## Measure requests, capacity, import time, throughput, lag and load (+ plot) -> docs/performance.md
	@BENCH_VENV=$(BENCH_VENV) $(BIN)/python -m bench

load: $(STAMP) $(BENCH_STAMP) ## Only the load section of make bench: locust at 1x-10x, latency and lag, its plot (5-8 min)
	@BENCH_VENV=$(BENCH_VENV) $(BIN)/python -m bench --only load

# Mutation testing has its own venv: mutmut 3 needs a newer click than aws-sam-cli pins.
MUTATE_VENV := .venv-mutate
MUTATE_STAMP := $(MUTATE_VENV)/.installed-$(shell cat requirements-mutate.txt layers/shop/requirements.txt | sha1sum | cut -c1-12)
MUTATE_JOBS ?= 2
MUTATE_DIR := .mutate

$(MUTATE_STAMP): requirements-mutate.txt layers/shop/requirements.txt
	@test -x $(MUTATE_VENV)/bin/python || $(PYTHON) -m venv $(MUTATE_VENV)
	@echo "Installing mutmut and the test dependencies into $(MUTATE_VENV) ..."
	@$(MUTATE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-mutate.txt
	@rm -f $(MUTATE_VENV)/.installed-* && touch $@

mutate: $(MUTATE_STAMP) ## Mutation testing of the core (slow; MUTATE_JOBS=2) -> docs/mutation-testing.md
	@# A staging copy with the layer's package at src/shop, where mutmut expects it ([tool.mutmut]).
	@rm -rf $(MUTATE_DIR) && mkdir -p $(MUTATE_DIR)/src
	@cp -r layers/shop/shop $(MUTATE_DIR)/src/shop
	@cp -r tests local functions events template.yaml pyproject.toml $(MUTATE_DIR)/
	@find $(MUTATE_DIR) -name __pycache__ -prune -exec rm -rf {} +
	@cd $(MUTATE_DIR) && SECONDS=0 && ../$(MUTATE_VENV)/bin/mutmut run --max-children $(MUTATE_JOBS) > run.log 2>&1; \
	  status=$$?; echo "mutmut run: exit $$status after $$SECONDS s (log: $(MUTATE_DIR)/run.log)"; \
	  tail -5 run.log; test $$status -eq 0
	@cd $(MUTATE_DIR) && ../$(MUTATE_VENV)/bin/mutmut results --all true \
	  | ../$(MUTATE_VENV)/bin/python tests/support/mutation_score.py | tee score.txt

clean: ## Remove build output and caches (keeps .venv)
	@rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis $(MUTATE_DIR)
