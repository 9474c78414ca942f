"""The sample alert rules and the Grafana dashboard only name metrics the application exports,
and are well-formed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

DOCS = Path(__file__).resolve().parents[2] / "docs"
METRIC_NAME = re.compile(r"\b((?:pos|django)_[a-z_]+)\b")
# Standard names every Prometheus setup has (not exported by the application itself).
EXTERNAL = {"up", "process_resident_memory_bytes"}


@pytest.fixture(scope="module")
def exported(django_db_blocker) -> set[str]:
    """Every sample name the running application can expose (after one request, so that
    django-prometheus' request metrics exist)."""
    from django.test import Client

    import monitoring.metrics  # noqa: F401

    with django_db_blocker.unblock():
        Client().get("/health/live")
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
        names.update(sample.name for sample in family.samples)
    return names


def _alert_rules() -> list[dict]:
    document = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_alert_rules_are_well_formed() -> None:
    rules = _alert_rules()
    assert len(rules) >= 10
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_alert_rules_name_exported_metrics(exported: set[str]) -> None:
    for rule in _alert_rules():
        for name in METRIC_NAME.findall(rule["expr"]):
            assert name in exported, f"{rule['alert']}: {name}"


def test_dashboard_names_exported_metrics(exported: set[str]) -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "pos-backend"
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(expressions) >= 20
    for expr in expressions:
        assert expr.count("(") == expr.count(")"), expr
        for name in METRIC_NAME.findall(expr):
            assert name in exported, f"{name} in {expr}"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


MONEY_METRIC = re.compile(r"\bpos_[a-z_]+_amount_total\b")
BY_CURRENCY = re.compile(r"\bsum by \([^)]*\bcurrency\b[^)]*\)")


def test_money_panels_never_add_currencies() -> None:
    """Every query over a money counter keeps one series per currency (`sum by (…, currency)`):
    the stores' amounts are never added across currencies."""
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    money = [expr for expr in expressions if MONEY_METRIC.search(expr)]
    assert len(money) >= 3
    for expr in money:
        assert BY_CURRENCY.search(expr), expr
    for rule in _alert_rules():
        if MONEY_METRIC.search(rule["expr"]):
            assert BY_CURRENCY.search(rule["expr"]), rule["alert"]
