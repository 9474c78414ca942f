"""Every write to customers, as keyword-only functions named `customer_<verb>`.

Personal data never enters the audit trail, which is append-only and so could never be erased:
the events say *which* fields were set or changed (`"changed": ["email", "phone"]`), never their
values, and name the customer by id only (`object_id`). Whether a customer is tax exempt is not
personal and is recorded with its before and after.

Balances (`store_credit`, `loyalty_points`) are not written here: they belong to the store
credit and loyalty services, which post a journal entry for every change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from customers.contact import generate_code, normalize_code, normalize_email, normalize_phone
from customers.exceptions import CustomerErased, CustomerHasBalance
from customers.models import ERASED_NAME, Customer
from domain.card_numbers import contains_card_number
from domain.errors import InvalidInput

__all__ = [
    "EDITABLE_FIELDS",
    "UNSET",
    "customer_create",
    "customer_erase",
    "customer_update",
]

#: What the API and the admin may set on a customer; everything else is the server's.
EDITABLE_FIELDS = ("code", "name", "email", "phone", "tax_exempt", "tax_exempt_id")
#: The fields that hold personal data: erased, and never written to the audit trail.
PERSONAL_FIELDS = ("name", "email", "phone", "tax_exempt_id")
UNSET: Any = object()
_CODE_ATTEMPTS = 5
_CODE_TAKEN = "A customer with this code already exists."
_CARD_NUMBER = "A full card number is not accepted here."
_NAME_MAX = Customer._meta.get_field("name").max_length or 200
_TAX_ID_MAX = Customer._meta.get_field("tax_exempt_id").max_length or 64


def customer_create(
    *,
    user: User | None,
    name: str,
    code: str | None = None,
    email: str = "",
    phone: str = "",
    tax_exempt: bool = False,
    tax_exempt_id: str = "",
) -> Customer:
    """A new customer; without `code`, a generated one (`customers.contact.generate_code`).
    Invalid fields, or a `code` already taken → `InvalidInput` naming the fields."""
    given_code = code is not None and code.strip() != ""
    values = _cleaned(
        {
            "name": name,
            "email": email,
            "phone": phone,
            "tax_exempt": tax_exempt,
            "tax_exempt_id": tax_exempt_id,
            **({"code": code} if given_code else {}),
        }
    )
    with transaction.atomic():
        customer = _save_with_code(
            lambda new_code: Customer.objects.create(**{**values, "code": new_code}),
            code=values.get("code"),
        )
        audit_record(
            action="customer.created",
            actor=user,
            object_type="customer",
            object_id=customer.pk,
            changes={
                "fields": sorted(f for f in PERSONAL_FIELDS if getattr(customer, f)),
                "code": "given" if given_code else "generated",
                "tax_exempt": customer.tax_exempt,
            },
        )
    return customer


def customer_update(
    *,
    customer: Customer,
    user: User | None,
    code: Any = UNSET,
    name: Any = UNSET,
    email: Any = UNSET,
    phone: Any = UNSET,
    tax_exempt: Any = UNSET,
    tax_exempt_id: Any = UNSET,
) -> Customer:
    """Change the fields given (`UNSET` keeps a field as it is), under the row's lock. An erased
    customer → `CustomerErased` (409); invalid fields, a code already taken, or tax exempt
    without an exemption id (as the fields will be after the change) → `InvalidInput`."""
    given = {
        name_: value
        for name_, value in {
            "code": code,
            "name": name,
            "email": email,
            "phone": phone,
            "tax_exempt": tax_exempt,
            "tax_exempt_id": tax_exempt_id,
        }.items()
        if value is not UNSET
    }
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.is_erased:
            raise CustomerErased()
        current = {field: getattr(locked, field) for field in EDITABLE_FIELDS}
        values = _cleaned({**current, **given})
        changed = sorted(f for f in EDITABLE_FIELDS if values[f] != current[f])
        if not changed:
            return locked
        for field in changed:
            setattr(locked, field, values[field])

        def save(new_code: str) -> Customer:
            locked.code = new_code
            locked.save(update_fields=[*changed, "updated_at"])
            return locked

        if "code" in changed:
            _save_with_code(save, code=values["code"])
        else:
            locked.save(update_fields=[*changed, "updated_at"])
        audit: dict[str, Any] = {"changed": changed}
        if "tax_exempt" in changed:
            audit["tax_exempt"] = {"before": current["tax_exempt"], "after": locked.tax_exempt}
        audit_record(
            action="customer.updated",
            actor=user,
            object_type="customer",
            object_id=locked.pk,
            changes=audit,
        )
    return locked


def customer_erase(
    *, customer: Customer, user: User | None, now: dt.datetime | None = None
) -> Customer:
    """Erase the person (a right-to-erasure request), keeping the row so that the sales, held
    orders and returns naming the customer keep their history: name `"Erased customer"`; email,
    phone and the exemption id emptied and the exemption lifted; a new random code (the old one
    may be printed on a card in the person's wallet); `erased_at` set. Each order keeps its own
    copy of the exemption id it was sold under: that is the merchant's tax record, which the law
    requires it to keep (docs/API.md, "Customers").

    Refused (`CustomerHasBalance`, 409) while the customer has store credit or points: money the
    merchant owes would otherwise lose its owner. Erasing an erased customer changes nothing."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.is_erased:
            return locked
        if locked.store_credit > 0 or locked.loyalty_points > 0:
            raise CustomerHasBalance()
        erased = sorted(f for f in (*PERSONAL_FIELDS, "tax_exempt") if getattr(locked, f))
        locked.name = ERASED_NAME
        locked.email = locked.phone = locked.tax_exempt_id = ""
        locked.tax_exempt = False
        locked.erased_at = now or timezone.now()

        def save(new_code: str) -> Customer:
            locked.code = new_code
            locked.save(
                update_fields=[
                    "code",
                    "name",
                    "email",
                    "phone",
                    "tax_exempt",
                    "tax_exempt_id",
                    "erased_at",
                    "updated_at",
                ]
            )
            return locked

        _save_with_code(save, code=None)
        audit_record(
            action="customer.erased",
            actor=user,
            object_type="customer",
            object_id=locked.pk,
            changes={"erased": erased, "code": "replaced"},
        )
    return locked


def _cleaned(values: dict[str, Any]) -> dict[str, Any]:
    """`values` normalised (`customers.contact`), or `InvalidInput` naming every bad field."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(values)

    def check(field: str, clean: Callable[[Any], Any]) -> None:
        if field not in values:
            return
        try:
            cleaned[field] = clean(values[field])
        except ValueError as exc:
            errors[field] = [str(exc)]

    check("code", normalize_code)
    check("name", _clean_name)
    check("email", normalize_email)
    check("phone", normalize_phone)
    check("tax_exempt_id", _clean_tax_exempt_id)
    if "tax_exempt" in values:
        cleaned["tax_exempt"] = bool(values["tax_exempt"])
        if (
            cleaned["tax_exempt"]
            and not cleaned.get("tax_exempt_id")
            and "tax_exempt_id" not in errors
        ):
            errors["tax_exempt_id"] = ["Required when the customer is tax exempt."]
    if errors:
        raise InvalidInput(errors=errors)
    return cleaned


def _clean_name(value: Any) -> str:
    value = str(value or "").strip()
    if not value:
        raise ValueError("This field may not be blank.")
    if len(value) > _NAME_MAX:
        raise ValueError(f"At most {_NAME_MAX} characters.")
    if contains_card_number(value):
        raise ValueError(_CARD_NUMBER)
    return value


def _clean_tax_exempt_id(value: Any) -> str:
    value = str(value or "").strip()
    if len(value) > _TAX_ID_MAX:
        raise ValueError(f"At most {_TAX_ID_MAX} characters.")
    if contains_card_number(value):
        raise ValueError(_CARD_NUMBER)
    return value


def _save_with_code(save: Callable[[str], Customer], *, code: str | None) -> Customer:
    """`save(code)` in a savepoint: the given code (taken → `InvalidInput` on `code`), or a
    generated one, drawn again should it be taken (8.5 × 10¹¹ codes: a clash is rare, five in a
    row is a bug)."""
    for _ in range(1 if code is not None else _CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return save(code if code is not None else generate_code())
        except IntegrityError as exc:
            if _violated_constraint(exc) != "customer_code_unique":
                raise
    if code is not None:
        raise InvalidInput(errors={"code": [_CODE_TAKEN]})
    raise RuntimeError("Could not draw a free customer code.")  # pragma: no cover


def _violated_constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
