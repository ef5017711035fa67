# Confidant. `make run` to try it, `make test` to test it (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run serve test lint bench clean .env.dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# constraints.txt pins every runtime dependency and test tool, transitive ones too (scripts/constraints.py).
$(VENV)/.run-deps: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@ $(VENV)/.run-deps

.env.dev: | $(BIN)/python
	$(BIN)/python scripts/write_dev_env.py .env.dev

## Try Confidant on this machine: SQLite, in-memory channel layer, file-based Celery broker,
## one ASGI process, a Celery worker with beat, demo data. http://127.0.0.1:8000
## The SQLite databases live in var/ (SQLite makes files, not folders); links in e-mails point to
## this port unless SITE_URL is set.
run: $(VENV)/.run-deps .env.dev
	mkdir -p var
	DEBUG=1 $(BIN)/python manage.py check_databases --create
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py migrate --noinput --database keys
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@DEBUG=1 $(BIN)/python manage.py purge_transcripts --dry-run
	@echo "Confidant: chat at http://127.0.0.1:$(PORT)/chat/ , console at http://127.0.0.1:$(PORT)/console/"
	DEBUG=1 PORT=$(PORT) SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.dev start

## Production mode: PostgreSQL and Redis, several ASGI processes, a Celery worker and beat.
serve: $(VENV)/.run-deps
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "make serve needs DATABASE_URL and REDIS_URL (see docs/operations.md)"; exit 1; }
	COLLECTSTATIC=1 $(BIN)/python manage.py collectstatic --noinput
	$(BIN)/python manage.py check_databases
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py migrate --noinput --database keys
	COLLECTSTATIC=1 PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile start

## The whole suite: on PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set, else embedded.
test: $(VENV)/.test-deps .env.dev
	mkdir -p var
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	CONFIDANT_DEV_ENV=1 $(BIN)/python manage.py makemigrations --check --dry-run
	CONFIDANT_DEV_ENV=1 $(BIN)/pytest

## The chat path measured from outside, product against a bare Channels relay, in alternating
## rounds (bench/chat.py; BENCH_ARGS=--quick, --rounds N, --cases a,b,e, --processes 1,2). Needs
## DATABASE_URL naming a database it may recreate (its name contains "bench") and REDIS_URL.
## Writes bench/results/ and the table in README.md.
bench: $(VENV)/.test-deps .env.dev
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "make bench needs DATABASE_URL and REDIS_URL (see docs/operations.md)"; exit 1; }
	mkdir -p var
	CONFIDANT_DEV_ENV=1 $(BIN)/python bench/chat.py $(BENCH_ARGS)

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var staticfiles
