"""Start-up checks (`manage.py check`, run by `migrate` and `runserver`) for operations settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from monitoring.exposition import parse_networks


@register(Tags.security)
def metrics_networks_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    try:
        parse_networks(list(settings.METRICS_ALLOWED_CIDRS))
    except ValueError as exc:
        return [
            Error(
                f"METRICS_ALLOWED_CIDRS has a malformed network: {exc}",
                hint="Comma-separated CIDRs, e.g. 10.0.0.0/8,192.168.1.0/24.",
                id="monitoring.E001",
            )
        ]
    return []
