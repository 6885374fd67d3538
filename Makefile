# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3.11
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
VENDOR := app/static/vendor
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: run test setup lint test-sqlite test-postgres browser-deps postgres-up translations assets clean \
	bench bench-small bench-sqlite bench-import

run: export SESSION_COOKIE_SECURE ?= 0
run: setup
	$(FLASK) db upgrade heads
	$(FLASK) bpmn load
	$(FLASK) seed-demo --if-empty
	$(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --config gunicorn.conf.py --workers 2 --threads 4 --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

setup: $(VENV)/.installed assets translations

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

assets: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR)/bpmn-js $(VENDOR)/chart.js && mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/chart.js
	cp -r node_modules/bpmn-js/dist/*.js node_modules/bpmn-js/dist/assets $(VENDOR)/bpmn-js/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.js/
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d app/translations

lint: $(VENV)/.installed
	$(BIN)/ruff check .

browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)

postgres-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL is not answering"; exit 1

test: setup lint browser-deps postgres-up test-sqlite test-postgres

test-sqlite: setup
	$(BIN)/pytest

test-postgres: setup postgres-up
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest

# the benchmark (bench/): a generated data set of its own database (`bench` on PostgreSQL,
# instance/bench.sqlite), then the measurements beside their targets; results in bench/results.json
bench: setup postgres-up
	$(BIN)/python -m bench

bench-small: setup postgres-up
	$(BIN)/python -m bench --small

bench-sqlite: setup
	$(BIN)/python -m bench --small --db sqlite

# the bulk survey import: 5,000 households (20,000 persons, 10,000 buildings) into a fresh PostgreSQL database
bench-import: setup postgres-up
	$(BIN)/python -m bench.imports

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .ruff_cache
