"""Every write to users, stores and registers, and the auth flows (login, refresh, logout,
password change).

Authorisation rules that are business rules live here, not in views, so that the API and the
Django admin obey the same ones. `actor=None` means the system itself (migrations, `seed_demo`).

* Nobody changes their own role, stores or active flag.
* Only admins create admins and managers, and only admins change roles.
* Managers manage cashiers of their own stores only (and only those stores). The password,
  username and active flag of a user are a manager's to change only when *every* store of that
  user is theirs: a cashier shared with another store would otherwise be a way into that store.
* Stores are written by admins; registers by admins and by managers of the register's store.

Revocation: a password change or a deactivation bumps `User.token_version` with an `F()` update;
every token carries the version it was issued under (`ver`), and both authentication and the
refresh endpoint refuse a token whose version has moved on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.timezone import now
from rest_framework_simplejwt.exceptions import (
    TokenBackendError,
    TokenBackendExpiredToken,
    TokenError,
)
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.events import record_account_event
from accounts.exceptions import InvalidCredentials, TokenNotValid, UserManagementForbidden
from accounts.models import Register, Role, Store, User
from accounts.roles import group_name
from accounts.selectors import can_see_store, visible_store_ids
from accounts.tokens import TOKEN_VERSION_CLAIM, TokenPair, token_pair_for
from domain.errors import Forbidden, InvalidInput, ObjectNotFound

logger = logging.getLogger("accounts.services")


class _Unset:
    """Marks a keyword argument the caller did not pass (leave the field as it is)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

_USERNAME_IN_AUDIT_MAX = 150


# --- Helpers ------------------------------------------------------------------------------------


def _is_system(actor: User | None) -> bool:
    return actor is None


def _store_ids(stores: Iterable[Store | int]) -> set[int]:
    return {s if isinstance(s, int) else s.pk for s in stores}


def _validate_password(password: str, *, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput("Invalid input.", errors={field: list(exc.messages)}) from exc


def _full_clean(instance: Any, *, exclude: Iterable[str] = ()) -> None:
    """Model validation (field validators, unique and check constraints); the exception handler
    renders a Django `ValidationError` as `400 validation_error` with field errors."""
    instance.full_clean(exclude=list(exclude) or None)


def _apply_changes(instance: Any, fields: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set the fields whose value differs; `{field: [before, after]}` of those (the audit's
    shape). Unchanged fields are neither set nor reported."""
    changes = {
        field: [getattr(instance, field), value]
        for field, value in fields.items()
        if getattr(instance, field) != value
    }
    for field, (_, value) in changes.items():
        setattr(instance, field, value)
    return changes


def _sync_role_group(user: User) -> None:
    """Make the user a member of exactly their role's group (the Django admin's permissions)."""
    group, _ = Group.objects.get_or_create(name=group_name(user.role))
    user.groups.set([group])


def _bump_token_version(user: User) -> None:
    """Revoke every token of `user`: an `F()` increment, saved through `save()` so that
    `post_save` watchers (the authentication cache) see it."""
    user.token_version = F("token_version") + 1  # type: ignore[assignment]
    user.save(update_fields=["token_version"])
    user.refresh_from_db(fields=["token_version"])


def _ensure_may_manage(actor: User | None, target: User) -> None:
    """Who may touch an existing user at all. Targets a manager may not see are 404."""
    if _is_system(actor) or actor.is_admin:  # type: ignore[union-attr]
        return
    assert actor is not None
    if actor.pk == target.pk:
        return  # self-service (own password); own role/stores/is_active are refused separately
    if actor.role != Role.MANAGER:
        raise Forbidden()
    manager_stores = set(visible_store_ids(actor) or [])
    target_stores = set(target.stores.values_list("id", flat=True))
    if target.role != Role.CASHIER or target.is_superuser or not (target_stores & manager_stores):
        raise ObjectNotFound()


def user_credentials_changeable(*, actor: User | None, user: User) -> bool:
    """Whether `actor` may change `user`'s password, username or active flag: the system, an
    admin, the user themself (their own password), or a manager of every store of the user."""
    if _is_system(actor) or actor.is_admin or actor.pk == user.pk:  # type: ignore[union-attr]
        return True
    assert actor is not None
    mine = set(visible_store_ids(actor) or [])
    theirs = set(user.stores.values_list("id", flat=True))
    return bool(theirs) and theirs <= mine


def _ensure_may_change_credentials(actor: User | None, user: User) -> None:
    if not user_credentials_changeable(actor=actor, user=user):
        raise UserManagementForbidden(
            "You may change the password, username or active flag only of users whose stores "
            "are all yours."
        )


def _ensure_may_grant_role(actor: User | None, role: str) -> None:
    if _is_system(actor) or actor.is_admin:  # type: ignore[union-attr]
        return
    if role != Role.CASHIER:
        raise UserManagementForbidden("Only admins create or promote admins and managers.")


def _ensure_may_assign_stores(actor: User | None, *, before: set[int], after: set[int]) -> None:
    """Managers may add or remove only their own stores."""
    if _is_system(actor) or actor.is_admin:  # type: ignore[union-attr]
        return
    assert actor is not None
    changed = before ^ after
    if not changed <= set(visible_store_ids(actor) or []):
        raise UserManagementForbidden("You may only assign users to your own stores.")


# --- Users --------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    role: str = Role.CASHIER,
    stores: Iterable[Store | int] = (),
    is_active: bool = True,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create a user in `role` assigned to `stores`. Managers create cashiers of their own stores
    only (no stores given: all of theirs); a cashier creates nobody. `password=None` makes an
    account that cannot sign in until a password is set."""
    if actor is not None and not actor.is_manager_or_admin:
        raise Forbidden()
    if role not in Role.values:
        raise InvalidInput("Invalid input.", errors={"role": [f"Unknown role {role!r}."]})
    _ensure_may_grant_role(actor, role)
    store_ids = _store_ids(stores)
    if actor is not None and not actor.is_admin:
        if not store_ids:
            store_ids = set(visible_store_ids(actor) or [])
        _ensure_may_assign_stores(actor, before=set(), after=store_ids)
        is_active = True  # not a manager's to decide at creation
    if store_ids and Store.objects.filter(pk__in=store_ids).count() != len(store_ids):
        raise InvalidInput("Invalid input.", errors={"stores": ["Unknown store."]})

    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        is_active=is_active,
    )
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user=user, field="password")
        user.set_password(password)
    _full_clean(user)
    user.save()
    user.stores.set(sorted(store_ids))
    _sync_role_group(user)
    record_account_event(
        "user.created",
        actor=actor,
        object_id=user.pk,
        changes={
            "username": user.username,
            "role": user.role,
            "stores": sorted(store_ids),
            "is_active": user.is_active,
        },
    )
    return user


@transaction.atomic
def user_update(
    *,
    actor: User | None,
    user: User,
    username: Any = UNSET,
    email: Any = UNSET,
    first_name: Any = UNSET,
    last_name: Any = UNSET,
    role: Any = UNSET,
    stores: Any = UNSET,
    is_active: Any = UNSET,
    password: Any = UNSET,
) -> User:
    """Change a user. Arguments left `UNSET` keep their value. Role, stores and the active flag
    follow the rules in the module docstring; a new password or a deactivation revokes every
    token the user holds."""
    _ensure_may_manage(actor, user)
    is_self = actor is not None and actor.pk == user.pk
    user = User.objects.select_for_update().get(pk=user.pk)
    before_stores = set(user.stores.values_list("id", flat=True))
    changes: dict[str, list[Any]] = {}
    if (
        (username is not UNSET and username != user.username)
        or (is_active is not UNSET and bool(is_active) != user.is_active)
        or (password is not UNSET and password is not None)
    ):
        _ensure_may_change_credentials(actor, user)

    if role is not UNSET and role != user.role:
        if role not in Role.values:
            raise InvalidInput("Invalid input.", errors={"role": [f"Unknown role {role!r}."]})
        if is_self:
            raise UserManagementForbidden("You cannot change your own role.")
        if not (_is_system(actor) or actor.is_admin):  # type: ignore[union-attr]
            raise UserManagementForbidden("Only admins change roles.")
        if user.is_superuser and role != Role.ADMIN:
            raise InvalidInput(
                "Invalid input.", errors={"role": ["A superuser is always an admin."]}
            )
        role_change = [user.role, role]
        user.role = role
    else:
        role_change = None

    after_stores = before_stores
    if stores is not UNSET:
        after_stores = _store_ids(stores)
        if after_stores != before_stores:
            if is_self:
                raise UserManagementForbidden("You cannot change your own stores.")
            _ensure_may_assign_stores(actor, before=before_stores, after=after_stores)
            known = Store.objects.filter(pk__in=after_stores).count()
            if known != len(after_stores):
                raise InvalidInput("Invalid input.", errors={"stores": ["Unknown store."]})
            changes["stores"] = [sorted(before_stores), sorted(after_stores)]

    deactivated = False
    if is_active is not UNSET and bool(is_active) != user.is_active:
        if is_self:
            raise UserManagementForbidden("You cannot deactivate or reactivate yourself.")
        changes["is_active"] = [user.is_active, bool(is_active)]
        deactivated = not is_active
        user.is_active = bool(is_active)

    profile = {
        "username": username,
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
    }
    changes.update(
        _apply_changes(user, {f: value for f, value in profile.items() if value is not UNSET})
    )

    if role_change or changes:
        _full_clean(user, exclude=["password"])
        user.save()
    if "stores" in changes:
        user.stores.set(sorted(after_stores))
    if role_change:
        _sync_role_group(user)
    if deactivated:
        _bump_token_version(user)
    if password is not UNSET and password is not None:
        user_set_password(actor=actor, user=user, password=password)
    # Audit events last: the chain head stays locked from here to the commit only.
    if role_change:
        record_account_event(
            "user.role_changed", actor=actor, object_id=user.pk, changes={"role": role_change}
        )
    if changes:
        record_account_event("user.updated", actor=actor, object_id=user.pk, changes=changes)
    return user


@transaction.atomic
def user_set_password(
    *, actor: User | None, user: User, password: str | None, field: str = "password"
) -> None:
    """Set a new password (validated by Django's validators; errors reported under `field`), or
    with `password=None` disable password sign-in, and revoke every access and refresh token
    issued before."""
    _ensure_may_manage(actor, user)
    _ensure_may_change_credentials(actor, user)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        _bump_token_version(user)
    else:
        _validate_password(password, user=user, field=field)
        user.set_password(password)
        user.save(update_fields=["password"])  # `User.save` bumps `token_version`
    record_account_event(
        "auth.password_changed",
        actor=actor,
        object_id=user.pk,
        changes={
            "self_service": actor is not None and actor.pk == user.pk,
            "usable": password is not None,
        },
    )


def user_change_own_password(*, user: User, old_password: str, new_password: str) -> None:
    """The signed-in user's own password change; the old password must be right."""
    if not user.check_password(old_password):
        raise InvalidInput("Invalid input.", errors={"old_password": ["Wrong password."]})
    user_set_password(actor=user, user=user, password=new_password, field="new_password")


def user_set_own_pin(*, user: User, password: str, pin: str) -> None:
    """The signed-in user's approval PIN (4–8 digits), stored as a password hash; the password
    must be right (a stolen access token alone cannot set one)."""
    if not user.check_password(password):
        raise InvalidInput("Invalid input.", errors={"password": ["Wrong password."]})
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise InvalidInput("Invalid input.", errors={"pin": ["4 to 8 digits."]})
    user.pin = make_password(pin)
    user.save(update_fields=["pin"])
    record_account_event("auth.pin_set", actor=user, object_id=user.pk, changes={})


def user_check_pin(*, user: User, pin: str) -> bool:
    """Whether `pin` is the user's approval PIN (False when none is set)."""
    return bool(user.pin) and check_password(pin, user.pin)


def user_deactivate(*, actor: User | None, user: User) -> User:
    """Deactivate (users are never deleted: orders and the audit trail refer to them) and revoke
    every token the user holds."""
    return user_update(actor=actor, user=user, is_active=False)


# --- Stores and registers -----------------------------------------------------------------------


#: Called as `follower(store=store)` in the transaction that creates a store or changes its stock
#: policy (`allow_negative_stock`) or how its scale labels read (`scale_barcode_layout`,
#: `currency`). `accounts` imports no app above it, so an app that mirrors the policy registers
#: its follower here from its `AppConfig.ready()` with `store_policy_follow` (catalog: its stock
#: levels and barcode lookups, in `catalog.apps`). The link is an import from catalog to
#: accounts, in the allowed direction, that import-linter sees.
STORE_POLICY_FOLLOWERS: list[Callable[..., object]] = []


def store_policy_follow(follower: Callable[..., object]) -> None:
    """Register `follower(store=store)` to run when a store is created or its policy changes."""
    if follower not in STORE_POLICY_FOLLOWERS:
        STORE_POLICY_FOLLOWERS.append(follower)


def _store_policy_changed(store: Store) -> None:
    for follower in STORE_POLICY_FOLLOWERS:
        follower(store=store)


#: The source of the `version` every store and register write takes in its transaction, so that
#: registers' sync (`GET /api/v1/sync/changes/`) sees it: the catalog's version counter,
#: registered by `catalog.apps` with `sync_version_source` (accounts imports no app above it; as
#: with the policy followers the link is catalog → accounts). Without one, versions stay 0.
SYNC_VERSION_SOURCES: list[Callable[[], int]] = []


def sync_version_source(source: Callable[[], int]) -> None:
    """Register `source()` → a new version, called inside store and register writes."""
    if source not in SYNC_VERSION_SOURCES:
        SYNC_VERSION_SOURCES.append(source)


def _sync_version_take() -> int:
    """A new version for a store or register write, taken as the write's last step before its
    row is saved (the counter's lock is then held only briefly)."""
    return SYNC_VERSION_SOURCES[-1]() if SYNC_VERSION_SOURCES else 0


def _store_version_take(store: Store) -> None:
    """The store's new version, after its followers ran: the counter's lock is taken last, so a
    store's stock levels (one per product, written by catalog's follower) are never written
    while it is held (a product write holds its row, then waits for the counter)."""
    store.version = _sync_version_take()
    store.save(update_fields=["version"])


def _ensure_admin(actor: User | None) -> None:
    if not (_is_system(actor) or actor.is_admin):  # type: ignore[union-attr]
        raise Forbidden()


def _ensure_may_write_registers(actor: User | None, store: Store) -> None:
    if _is_system(actor):
        return
    assert actor is not None
    if not actor.is_manager_or_admin:
        raise Forbidden()
    if not can_see_store(actor, store.pk):
        raise ObjectNotFound()


#: A store's settings: what `store_create` takes and `store_update` may change (the admin form
#: and the API serializer show the same).
STORE_FIELDS = (
    "code",
    "name",
    "currency",
    "timezone",
    "prices_include_tax",
    "allow_negative_stock",
    "cash_rounding",
    "cashier_max_discount_percent",
    "cashier_can_refund",
    "loyalty_points_per_unit",
    "loyalty_point_value",
    "scale_barcode_layout",
)


@transaction.atomic
def store_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    currency: str = "USD",
    timezone: str = "America/New_York",
    prices_include_tax: bool = False,
    allow_negative_stock: bool = False,
    cash_rounding: Decimal = Decimal(0),
    cashier_max_discount_percent: Decimal = Decimal(100),
    cashier_can_refund: bool = False,
    loyalty_points_per_unit: Decimal = Decimal(0),
    loyalty_point_value: Decimal = Decimal(0),
    scale_barcode_layout: str = "",
) -> Store:
    _ensure_admin(actor)
    store = Store(
        scale_barcode_layout=scale_barcode_layout,
        loyalty_points_per_unit=loyalty_points_per_unit,
        loyalty_point_value=loyalty_point_value,
        cashier_max_discount_percent=cashier_max_discount_percent,
        cashier_can_refund=cashier_can_refund,
        code=code,
        name=name,
        currency=currency,
        timezone=timezone,
        prices_include_tax=prices_include_tax,
        allow_negative_stock=allow_negative_stock,
        cash_rounding=cash_rounding,
    )
    _full_clean(store)
    store.save()
    _store_policy_changed(store)
    _store_version_take(store)
    record_account_event(
        "store.created",
        actor=actor,
        store_id=store.pk,
        object_type="store",
        object_id=store.pk,
        changes={field: getattr(store, field) for field in STORE_FIELDS},
    )
    return store


@transaction.atomic
def store_update(*, actor: User | None, store: Store, **fields: Any) -> Store:
    """Change a store's settings (`code`, `name`, `currency`, `timezone`, `prices_include_tax`,
    `allow_negative_stock`). Orders keep the currency and tax mode they were sold under."""
    _ensure_admin(actor)
    unknown = set(fields) - set(STORE_FIELDS)
    if unknown:
        raise TypeError(f"store_update got unknown fields {sorted(unknown)}")
    store = Store.objects.select_for_update().get(pk=store.pk)
    changes = _apply_changes(store, fields)
    if not changes:
        return store
    if "currency" in changes and store.journal_entries.exists():
        # Its books are in the old currency: a new one would mix two in one ledger.
        raise InvalidInput(
            errors={"currency": ["The store has booked money; its currency cannot change."]}
        )
    _full_clean(store)
    store.save(update_fields=list(changes))
    if {"allow_negative_stock", "scale_barcode_layout", "currency"} & set(changes):
        _store_policy_changed(store)
    _store_version_take(store)
    record_account_event(
        "store.updated",
        actor=actor,
        store_id=store.pk,
        object_type="store",
        object_id=store.pk,
        changes=changes,
    )
    return store


@transaction.atomic
def register_create(
    *, actor: User | None, store: Store, code: str, name: str = "", is_active: bool = True
) -> Register:
    _ensure_may_write_registers(actor, store)
    register = Register(store=store, code=code, name=name, is_active=is_active)
    _full_clean(register)
    register.version = _sync_version_take()
    register.save()
    record_account_event(
        "register.created",
        actor=actor,
        store_id=store.pk,
        object_type="register",
        object_id=register.pk,
        changes={"code": code, "name": name, "is_active": is_active},
    )
    return register


_REGISTER_FIELDS = ("code", "name", "is_active")


@transaction.atomic
def register_update(*, actor: User | None, register: Register, **fields: Any) -> Register:
    """Change a register's `code`, `name` or `is_active`. A register never moves to another
    store (its orders, shifts and numbering belong to the store it was created in)."""
    _ensure_may_write_registers(actor, register.store)
    unknown = set(fields) - set(_REGISTER_FIELDS)
    if unknown:
        raise TypeError(f"register_update got unknown fields {sorted(unknown)}")
    register = (
        Register.objects.select_for_update(of=("self",)).select_related("store").get(pk=register.pk)
    )
    changes = _apply_changes(register, fields)
    if not changes:
        return register
    _full_clean(register)
    register.version = _sync_version_take()
    register.save(update_fields=[*changes, "version"])
    record_account_event(
        "register.updated",
        actor=actor,
        store_id=register.store_id,
        object_type="register",
        object_id=register.pk,
        changes=changes,
    )
    return register


# --- Auth ---------------------------------------------------------------------------------------


def auth_login(*, username: str, password: str) -> TokenPair:
    """Check the credentials and issue a token pair. Inactive users cannot sign in (Django's
    `ModelBackend` refuses them). A failure is recorded in its own transaction, so it stays in the
    audit trail although the request fails; the event names the username, never the password."""
    user = authenticate(request=None, username=username, password=password)
    if user is None or not isinstance(user, User) or not user.is_active:
        _record_login_failure(username)
        raise InvalidCredentials()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(last_login=now())
        pair = token_pair_for(user)
        record_account_event("auth.login", actor=user, object_id=user.pk)  # last write
    return pair


def auth_admin_login(*, request: HttpRequest, username: str, password: str) -> User:
    """The Django admin's credential check: staff (managers and admins) only, audited like the
    API's sign-in (`auth.login` / `auth.login_failed`, with `"channel": "admin"`). The caller
    throttles as the token endpoint does and starts the session (which sets `last_login`)."""
    user = authenticate(request=request, username=username, password=password)
    if user is None or not isinstance(user, User) or not user.is_active or not user.is_staff:
        _record_login_failure(username, channel="admin")
        raise InvalidCredentials()
    with transaction.atomic():
        record_account_event(
            "auth.login", actor=user, object_id=user.pk, changes={"channel": "admin"}
        )
    return user


def _record_login_failure(username: str, *, channel: str | None = None) -> None:
    changes = {"username": username[:_USERNAME_IN_AUDIT_MAX]}
    if channel is not None:
        changes["channel"] = channel
    with transaction.atomic():
        record_account_event("auth.login_failed", actor=None, object_id="", changes=changes)


def auth_refresh(*, refresh: str) -> TokenPair:
    """Rotate a refresh token: blacklist it and issue a new pair, exactly once.

    simplejwt's own refresh checks the blacklist and blacklists in separate steps, so a refresh
    token sent several times at once can be rotated several times. Here the token's
    `OutstandingToken` row is locked (`SELECT … FOR UPDATE`) for the whole check-and-blacklist,
    so concurrent refreshes queue on the row and all but the first find it blacklisted; the
    one-to-one blacklist row is the last guard (a second insert fails on its unique constraint)."""
    try:
        # Signature, expiry, type and blacklist (an early exit; the locked check is below).
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise TokenNotValid() from exc
    jti = token.get(api_settings.JTI_CLAIM)
    user_id = token.get(api_settings.USER_ID_CLAIM)
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update().filter(jti=jti).order_by("pk").first()
        )
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            raise TokenNotValid()
        user = User.objects.filter(pk=user_id).first()
        if (
            user is None
            or not user.is_active
            or token.get(TOKEN_VERSION_CLAIM) != user.token_version
        ):
            raise TokenNotValid()
        try:
            with transaction.atomic():
                BlacklistedToken.objects.create(token=outstanding)
        except IntegrityError as exc:
            raise TokenNotValid() from exc
        return token_pair_for(user)


def auth_logout(*, user: User, refresh: str) -> None:
    """Revoke one refresh token of `user` (idempotent: an already revoked or expired one is
    fine). Access tokens already issued stay valid until they expire (15 minutes); a password
    change revokes everything at once."""
    try:
        payload = token_backend.decode(refresh, verify=True)  # type: ignore[arg-type]
    except TokenBackendExpiredToken:
        return  # already unusable: nothing to revoke
    except TokenBackendError as exc:
        raise InvalidInput(
            "Invalid input.", errors={"refresh": ["Not a valid refresh token."]}
        ) from exc
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or str(
        payload.get(api_settings.USER_ID_CLAIM)
    ) != str(user.pk):
        raise InvalidInput(
            "Invalid input.", errors={"refresh": ["Not a refresh token of this user."]}
        )
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update()
            .filter(jti=payload.get(api_settings.JTI_CLAIM))
            .order_by("pk")
            .first()
        )
        if outstanding is None:
            raise InvalidInput("Invalid input.", errors={"refresh": ["Not a valid refresh token."]})
        _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if created:
            record_account_event("auth.logout", actor=user, object_id=user.pk)


def expired_tokens_flush(*, batch_size: int = 5000) -> int:
    """Delete outstanding refresh tokens whose expiry has passed (their blacklist rows go with
    them, by cascade), in short batches so no statement holds locks for long. What simplejwt's
    `flushexpiredtokens` command does, scheduled (accounts.tasks.flush_expired_tokens)."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                OutstandingToken.objects.filter(expires_at__lte=now())
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            OutstandingToken.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
