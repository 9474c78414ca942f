"""Deny by default: every route under /api/v1/ refuses anonymous callers, every view declares its
roles, and the accounts routes answer exactly the roles the contract names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from apitools.permissions import roles_for
from tests.accounts.conftest import assert_problem
from tests.factories import RegisterFactory

PUBLIC = {"/api/v1/auth/token/", "/api/v1/auth/token/refresh/"}
METHODS = ("get", "post", "put", "patch", "delete")


def _sample(pattern: str) -> str:
    """A concrete path for a route or regex pattern (`<int:pk>` / `(?P<pk>[^/.]+)` → 1)."""
    pattern = pattern.lstrip("^").rstrip("$").replace("\\.", ".")
    pattern = re.sub(r"\(\?P<\w+>[^)]*\)", "1", pattern)
    pattern = re.sub(r"<(?:\w+:)?\w+>", "1", pattern)
    return pattern.replace("\\", "")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _sample(str(entry.pattern)))
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + _sample(str(entry.pattern)), entry.callback


def api_routes() -> list[tuple[str, Any]]:
    routes = [(path, cb) for path, cb in _walk(get_resolver().url_patterns)]
    return sorted(
        {(path, cb) for path, cb in routes if path.startswith("/api/v1/")}, key=lambda r: r[0]
    )


def test_the_walk_finds_the_accounts_routes() -> None:
    paths = {path for path, _ in api_routes()}
    assert {
        "/api/v1/auth/token/",
        "/api/v1/auth/token/refresh/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/me/",
        "/api/v1/auth/password/",
        "/api/v1/users/",
        "/api/v1/users/1/",
        "/api/v1/stores/",
        "/api/v1/stores/1/",
        "/api/v1/registers/",
        "/api/v1/registers/1/",
    } <= paths


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted({p for p, _ in api_routes()} - PUBLIC))
def test_every_api_route_refuses_anonymous_callers(path: str) -> None:
    client = APIClient()
    for method in METHODS:
        response = getattr(client, method)(path, {}, format="json")
        body = assert_problem(response, 401, "not_authenticated")
        assert "Bearer" in response.get("WWW-Authenticate", ""), (method, path, body)


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted({p for p, _ in api_routes()} - PUBLIC))
def test_every_api_route_refuses_a_revoked_token(path: str, cashier: User, client_for) -> None:
    client = client_for(cashier)
    User.objects.filter(pk=cashier.pk).update(token_version=99)
    response = client.get(path)
    assert_problem(response, 401, "token_not_valid")


def test_every_api_view_declares_its_roles_or_is_public() -> None:
    for path, callback in api_routes():
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        assert view_class is not None, path
        if path in PUBLIC:
            assert list(view_class.permission_classes) == [AllowAny]
            assert list(view_class.authentication_classes) == []
            continue
        assert hasattr(view_class, "allowed_roles"), f"{path} declares no allowed_roles"


def test_a_view_without_roles_answers_nobody() -> None:
    class Bare:
        action = "list"

    assert roles_for(Bare(), None) == frozenset()  # type: ignore[arg-type]


# --- Route × role matrix for the accounts routes -------------------------------------------------

ADMIN, MANAGER, CASHIER = "admin", "manager", "cashier"


@pytest.fixture
def world(store: Store, other_store: Store, admin_user: User, manager: User, cashier: User):
    register = RegisterFactory(store=store, code="R1")
    other_register = RegisterFactory(store=other_store, code="R9")
    return {
        "store": store,
        "other_store": other_store,
        "register": register,
        "other_register": other_register,
        ADMIN: admin_user,
        MANAGER: manager,
        CASHIER: cashier,
    }


def _expected(allowed: set[str], role: str, ok: int) -> int:
    return ok if role in allowed else 403


# (method, path template, body factory, roles allowed, success status)
MATRIX: list[tuple[str, str, Callable[[dict], dict], set[str], int]] = [
    ("get", "/api/v1/auth/me/", lambda w: {}, {ADMIN, MANAGER, CASHIER}, 200),
    ("get", "/api/v1/users/", lambda w: {}, {ADMIN, MANAGER}, 200),
    ("get", "/api/v1/users/{cashier}/", lambda w: {}, {ADMIN, MANAGER}, 200),
    (
        "post",
        "/api/v1/users/",
        lambda w: {
            "username": "newbie",
            "password": "a-long-password-77",
            "stores": [w["store"].pk],
        },
        {ADMIN, MANAGER},
        201,
    ),
    ("patch", "/api/v1/users/{cashier}/", lambda w: {"is_active": True}, {ADMIN}, 200),
    ("put", "/api/v1/users/{cashier}/", lambda w: {"username": "renamed"}, {ADMIN}, 200),
    ("delete", "/api/v1/users/{cashier}/", lambda w: {}, {ADMIN}, 204),
    ("get", "/api/v1/stores/", lambda w: {}, {ADMIN, MANAGER, CASHIER}, 200),
    ("get", "/api/v1/stores/{store}/", lambda w: {}, {ADMIN, MANAGER, CASHIER}, 200),
    ("post", "/api/v1/stores/", lambda w: {"code": "NEW", "name": "New"}, {ADMIN}, 201),
    ("patch", "/api/v1/stores/{store}/", lambda w: {"name": "Renamed"}, {ADMIN}, 200),
    (
        "put",
        "/api/v1/stores/{store}/",
        lambda w: {"code": w["store"].code, "name": "Renamed"},
        {ADMIN},
        200,
    ),
    ("get", "/api/v1/registers/", lambda w: {}, {ADMIN, MANAGER, CASHIER}, 200),
    ("get", "/api/v1/registers/{register}/", lambda w: {}, {ADMIN, MANAGER, CASHIER}, 200),
    (
        "post",
        "/api/v1/registers/",
        lambda w: {"store": w["store"].pk, "code": "R2", "name": "Two"},
        {ADMIN, MANAGER},
        201,
    ),
    ("patch", "/api/v1/registers/{register}/", lambda w: {"name": "Till"}, {ADMIN, MANAGER}, 200),
    (
        "put",
        "/api/v1/registers/{register}/",
        lambda w: {"store": w["store"].pk, "code": "R1", "name": "Till"},
        {ADMIN, MANAGER},
        200,
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [ADMIN, MANAGER, CASHIER])
@pytest.mark.parametrize(
    ("method", "template", "body", "allowed", "ok"),
    MATRIX,
    ids=[f"{m.upper()} {t}" for m, t, *_ in MATRIX],
)
def test_accounts_route_role_matrix(
    world: dict, client_for, role: str, method: str, template: str, body, allowed, ok
) -> None:
    path = template.format(
        cashier=world[CASHIER].pk, store=world["store"].pk, register=world["register"].pk
    )
    response = getattr(client_for(world[role]), method)(path, body(world), format="json")
    expected = _expected(allowed, role, ok)
    if expected == 403:
        assert_problem(response, 403, "permission_denied")
    else:
        assert response.status_code == expected, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/stores/{store}/", "delete"),
        ("/api/v1/registers/{register}/", "delete"),
    ],
)
def test_stores_and_registers_are_never_deleted(
    world: dict, client_for, path: str, method: str
) -> None:
    url = path.format(store=world["store"].pk, register=world["register"].pk)
    response = getattr(client_for(world[ADMIN]), method)(url)
    # No role is granted an undeclared action (deny by default), so this is a 403, not a 405.
    assert_problem(response, 403, "permission_denied")
    assert Store.objects.filter(pk=world["store"].pk).exists()
    assert Register.objects.filter(pk=world["register"].pk).exists()


# --- Every route × role: a role a view does not name is refused ----------------------------------


def _role_cases() -> list[tuple[str, str, str]]:
    """(path, method, role) for every API route and method whose view does not grant `role`."""
    cases = []
    for path, callback in api_routes():
        if path in PUBLIC:
            continue
        view_class = getattr(callback, "cls", None)
        if view_class is None:
            continue
        actions = getattr(callback, "actions", None)  # viewsets: {method: action}
        methods = actions or {m: m for m in METHODS if hasattr(view_class, m)}
        for method, action in methods.items():
            if method not in METHODS:
                continue
            view = view_class()
            view.action = action  # type: ignore[attr-defined]

            class _Request:
                pass

            request = _Request()
            request.method = method.upper()  # type: ignore[attr-defined]
            granted = roles_for(view, request)  # type: ignore[arg-type]
            for role in (ADMIN, MANAGER, CASHIER):
                if role not in granted:
                    cases.append((path, method, role))
    return cases


ROLE_CASES = _role_cases()


def test_the_role_walk_covers_the_accounts_routes() -> None:
    assert ("/api/v1/users/", "get", CASHIER) in ROLE_CASES
    assert ("/api/v1/stores/", "post", MANAGER) in ROLE_CASES
    assert ("/api/v1/registers/1/", "patch", CASHIER) in ROLE_CASES


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method", "role"), ROLE_CASES)
def test_every_route_refuses_the_roles_it_does_not_name(
    path: str, method: str, role: str, store: Store, client_for
) -> None:
    from tests.factories import AdminFactory, CashierFactory, ManagerFactory

    factory = {ADMIN: AdminFactory, MANAGER: ManagerFactory, CASHIER: CashierFactory}[role]
    user = factory(stores=[store])
    response = getattr(client_for(user), method)(path, {}, format="json")
    assert_problem(response, 403, "permission_denied")
