# Storefront — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app saas
PYTEST_ARGS ?=
# The port `make demo` / `make serve` listen on and write into links: PORT=5100 make demo
PORT ?= 5000
export PORT

.DEFAULT_GOAL := help
.PHONY: help install demo serve test test-embedded lint format bench audit-tools audit screenshots clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the project with its dev tools

demo: install ## Seed a demo platform, serve it on http://localhost:5000 (PORT=5100 make demo: another port; Ctrl-C stops all)
	$(FLASK) demo
	$(FLASK) serve

serve: install ## Serve without seeding
	$(FLASK) serve

test: install ## Run the whole test suite (embedded servers unless DATABASE_URL/REDIS_URL are set)
	$(BIN)/pytest $(PYTEST_ARGS)

test-embedded: install ## Run the smoke tests on the embedded PostgreSQL/Redis (ignores the URLs)
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -m smoke $(PYTEST_ARGS)

lint: install ## ruff (lint + format check), the import-linter layer contracts, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Run the benchmarks under bench/ and print their ratios
	$(BIN)/python -m bench

# The Nu Html Checker (vnu-jar, run with the system's Java) and Lighthouse, pinned in
# tools/package-lock.json. --ignore-scripts: vnu-jar's postinstall would download a Java
# runtime from outside the npm registry; the system's `java` runs the checker instead.
tools/node_modules/.installed: tools/package.json tools/package-lock.json
	npm ci --prefix tools --ignore-scripts --no-audit --no-fund
	@touch $@

audit-tools: tools/node_modules/.installed ## Install the HTML checker and Lighthouse (npm) into tools/
	@test -f tools/node_modules/vnu-jar/build/dist/vnu.jar && test -x tools/node_modules/.bin/lighthouse

audit: install audit-tools ## Lighthouse scores of every theme's home, collection and product pages
	$(BIN)/python -m bench.lighthouse

screenshots: install ## Screenshots of every theme's home, collection, product, cart, checkout into docs/screenshots/
	$(BIN)/python -m bench.screenshots

clean: ## Remove the venv and caches (keeps instance/ data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
