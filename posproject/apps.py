"""`django.contrib.admin` with the project's site (`posproject.admin_site.AdminSite`): kept apart
from the site because app configs are imported before any model may be."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "posproject.admin_site.AdminSite"
