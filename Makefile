# wcproxy developer entry points. `make demo` and `make test` are the README's two set-up commands.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: demo test lint unit fast bench venv node clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The official WalletConnect SDKs for the interop tests, pinned in tests/node/package-lock.json.
$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check walletconnect policy proxy tests
	$(BIN)/ruff format --check walletconnect policy proxy tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Everything CI runs: lint, type checks, import contracts, and the whole suite (sdk, redis, e2e, slow included).
test: lint node
	$(BIN)/pytest

# Quick local loop: skips the slow end-to-end tests.
fast: $(STAMP)
	$(BIN)/pytest -m 'not slow' -x -q

demo: $(STAMP)
	$(BIN)/wcproxy demo --config config/example.toml

bench: $(STAMP)
	@$(BIN)/python -m proxy.bench

clean:
	rm -rf $(VENV) tests/node/node_modules .pytest_cache .mypy_cache .ruff_cache
