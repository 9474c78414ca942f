"""Manager approvals (API.md, Version 1.1, "Approvals (manager override)").

A manager (or admin) of a register's store types their username and PIN at the register
(`approval_grant`): the answer is a token good for one request of one action on that register,
for `APPROVAL_TTL` (120 s). The request carries it in `X-Approval`; the service that needs the
approval consumes it (`approval_consume`: under a row lock, so a token used twice at once is
used once) and names the approver in its audit event. Only the token's SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Role, Store, User
from accounts.selectors import register_list
from accounts.services import user_check_pin
from audit.services import audit_record
from domain.errors import Forbidden, ObjectNotFound
from orders.exceptions import ApprovalRequired
from orders.models import Approval, ApprovalAction

APPROVAL_TTL = dt.timedelta(seconds=120)


@dataclass(frozen=True, slots=True)
class GrantedApproval:
    token: str
    approval: Approval


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def approval_grant(
    *, requester: User, username: str, pin: str, action: str, register_id: int
) -> GrantedApproval:
    """A single-use token for `action` on the register, when `username` is a manager or admin
    of the register's store and `pin` is theirs; `Forbidden` otherwise (the caller throttles
    the failures like logins). The register must be one of the requester's stores (404)."""
    if action not in ApprovalAction.values:
        raise Forbidden("Not an action that needs approval.")
    register = register_list(user=requester).select_related("store").filter(pk=register_id).first()
    if register is None:
        raise ObjectNotFound("Register not found.")
    approver = User.objects.filter(username=username, is_active=True).first()
    may_approve = approver is not None and (
        approver.role == Role.ADMIN
        or (approver.role == Role.MANAGER and approver.stores.filter(pk=register.store_id).exists())
    )
    if approver is None or not may_approve or not user_check_pin(user=approver, pin=pin):
        raise Forbidden("Wrong PIN, or this user may not approve on this register.")
    now = timezone.now()
    token = secrets.token_urlsafe(24)
    approval = Approval.objects.create(
        token_hash=_hash(token),
        action=action,
        register=register,
        store_id=register.store_id,
        approved_by=approver,
        requested_by=requester,
        created_at=now,
        expires_at=now + APPROVAL_TTL,
    )
    audit_record(
        action="approval.granted",
        actor=approver,
        store_id=register.store_id,
        object_type="approval",
        object_id=approval.pk,
        changes={"action": action, "register": register.pk, "requested_by": requester.pk},
    )
    return GrantedApproval(token=token, approval=approval)


def approval_consume(*, token: str | None, action: str, register_id: int) -> int:
    """Use the approval `token` for `action` on the register, in the caller's transaction (the
    row is locked until it commits, so a token sent twice at once is used once); the approver's
    id. Missing, unknown, used, expired or for another action or register → `ApprovalRequired`."""
    if not token:
        raise ApprovalRequired()
    now = timezone.now()
    approval = (
        Approval.objects.select_for_update()
        .filter(
            token_hash=_hash(token),
            action=action,
            register_id=register_id,
            used_at__isnull=True,
            expires_at__gt=now,
        )
        .first()
    )
    if approval is None:
        raise ApprovalRequired("The approval is unknown, used, expired or for something else.")
    Approval.objects.filter(pk=approval.pk).update(used_at=now)
    return approval.approved_by_id


def approval_check(*, token: str | None, action: str, register_id: int) -> int:
    """Like `approval_consume` but leaves the token unused (a quote shows what the sale will
    need without spending the approval)."""
    if not token:
        raise ApprovalRequired()
    approval = Approval.objects.filter(
        token_hash=_hash(token),
        action=action,
        register_id=register_id,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first()
    if approval is None:
        raise ApprovalRequired("The approval is unknown, used, expired or for something else.")
    return approval.approved_by_id


def needs_refund_approval(*, user: User, store: Store) -> bool:
    """A cashier gives money back (a refund, a return, an exchange) only with a manager's
    approval, unless the store's `cashier_can_refund` is on."""
    return user.role == Role.CASHIER and not store.cashier_can_refund


def approval_consume_any(*, tokens: Sequence[str], action: str, register_id: int) -> int:
    """`approval_consume` of the first of `tokens` (an `X-Approval` header may carry several,
    comma-separated, for a request that needs more than one approval) that is good for `action`
    on the register; `ApprovalRequired` when none is."""
    for token in tokens:
        try:
            return approval_consume(token=token, action=action, register_id=register_id)
        except ApprovalRequired:
            continue
    raise ApprovalRequired()
