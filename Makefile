# Two commands matter: `make run` and `make test`. Both set up what they need
# and skip any step whose inputs have not changed, so a second run is quick.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HTMX := register/static/vendor/htmx.min.js
AXE := node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup assets db demo lint bench proof clean screenshots

run: setup db
	FLASK_DEBUG=1 $(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed assets
	$(BIN)/pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed assets

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

assets: $(HTMX)

$(HTMX): node_modules/.package-lock.json
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

# Apply migrations; load demo data only when the register has no accounts yet;
# bring the search index up to date (building it if there is none).
db: $(VENV)/.installed
	FLASK_DEBUG=1 $(FLASK) db upgrade
	FLASK_DEBUG=1 $(FLASK) demo-data --if-empty --mentors 300
	FLASK_DEBUG=1 $(FLASK) search sync

lint: $(VENV)/.test-installed
	$(BIN)/ruff check register tests

clean:
	rm -rf $(VENV) node_modules register/static/vendor instance .pytest_cache

# Search and reports benchmarks: BENCH_PROFILES=20000 by default; write docs/benchmarks.md.
bench: setup
	$(BIN)/python bench/search_bench.py --write docs/benchmarks.md
	$(BIN)/python bench/reports_bench.py --append docs/benchmarks.md

# Load and faults on a production-like setup (PostgreSQL of its own, two gunicorn hosts,
# workers, Redis and an SMTP sink, all on loopback); writes docs/reliability.md.
# PROOF_SCALE=0.5 shortens every phase for a quick look. Needs PostgreSQL's server
# binaries (/usr/lib/postgresql/*/bin) and redis-server.
proof: setup
	$(BIN)/python proof/run.py --scale $(or $(PROOF_SCALE),1) --write docs/reliability.md

# Every main page at desk and phone widths, saved for review in docs/screenshots/.
screenshots: $(VENV)/.test-installed assets
	rm -f docs/screenshots/*.png
	SCREENSHOT_DIR=docs/screenshots REQUIRE_BROWSER=1 $(BIN)/pytest -p no:randomly -q tests/test_browser_design.py
