"""Project package: settings, URL routing, WSGI/ASGI entry points, the Celery app, and the
cross-cutting API plumbing (errors, pagination, permissions, request context, money)."""

from posproject.celery import app as celery_app

__all__ = ("celery_app",)
