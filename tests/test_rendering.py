"""`apitools.rendering.datetime_text` renders exactly as DRF's `DateTimeField` does, in
UTC (its fast path) and in any other active time zone, for aware and naive values."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from apitools.rendering import datetime_text

_MOMENTS = [
    dt.datetime(2026, 11, 22, 7, 32, 9, 221896, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 22, 7, 32, 9, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
    dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
    dt.datetime(2026, 6, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("UTC")),
    dt.datetime(2026, 6, 1, 12, 0, 0, 5),
]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize("moment", _MOMENTS, ids=str)
def test_datetime_text_is_drfs_rendering(zone: str, moment: dt.datetime) -> None:
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        expected = serializers.DateTimeField().to_representation(moment)
        assert datetime_text(moment) == expected
        assert datetime_text(moment, timezone.get_current_timezone()) == expected
