# syntax=docker/dockerfile:1
# One image for every role: web (gunicorn, the default command), Celery worker, Celery beat and
# the one-shot migration job differ only in their command (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user that owns nothing it does not need to write.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first (a layer that survives code changes). Every version is pinned; psycopg's
# binary wheel brings its own libpq, so no compiler or system libraries are needed.
COPY requirements/ requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/prod.txt

COPY . .

# Static files are collected at build time, with a throwaway key and DEBUG off, so the running
# container never writes to its own tree. The key exists only in this RUN step's environment.
RUN DJANGO_SECRET_KEY=build-time-collectstatic-only-0000000000000000000000000 \
    DJANGO_DEBUG=false \
    DATABASE_URL=postgres://build@127.0.0.1:1/never-connected \
    CELERY_FILESYSTEM_BROKER_DIR=/tmp/celery-build \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/celery-build

ARG APP_RELEASE=dev
ENV APP_RELEASE=${APP_RELEASE} \
    DJANGO_SETTINGS_MODULE=posproject.settings \
    DJANGO_DEBUG=false \
    PORT=8000 \
    CELERY_FILESYSTEM_BROKER_DIR=/tmp/celery

USER app:app
EXPOSE 8000

# Liveness only (no dependencies): the orchestrator restarts a process that stopped serving.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["gunicorn", "-c", "posproject/gunicorn.conf.py"]
