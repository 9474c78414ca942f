"""Modifier group writes. A group and its modifiers are written together; each write takes a
catalog version (registers sync groups like products) and records its audit event. Modifiers
are never deleted (sale lines name them): one left out of an update is deactivated."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypedDict

from django.db import transaction

from accounts.models import User
from audit.services import audit_record
from catalog.exceptions import ModifierGroupInUse
from catalog.models import Modifier, ModifierGroup
from catalog.services.versions import catalog_version_take, sync_tombstone_write
from domain.errors import InvalidInput
from money.fields import catalog_price_text

GROUP_FIELDS = ("name", "min_choices", "max_choices", "is_active")


class ModifierInput(TypedDict, total=False):
    """One modifier as a write names it: with `id` an existing one of the group, else new."""

    id: int
    name: str
    price_delta: Decimal
    is_active: bool


def modifier_group_create(
    *,
    user: User | None,
    name: str,
    min_choices: int = 0,
    max_choices: int = 1,
    is_active: bool = True,
    modifiers: Sequence[ModifierInput] = (),
) -> ModifierGroup:
    group = ModifierGroup(
        name=name, min_choices=min_choices, max_choices=max_choices, is_active=is_active
    )
    _check_choices(group)
    with transaction.atomic():
        group.version = catalog_version_take()
        group.save(force_insert=True)
        _modifiers_write(group, modifiers)
        audit_record(
            action="modifier_group.created",
            actor=user,
            object_type="modifier_group",
            object_id=group.pk,
            changes={**{f: getattr(group, f) for f in GROUP_FIELDS}, "modifiers": _snapshot(group)},
        )
    return group


def modifier_group_update(
    *, group: ModifierGroup, user: User | None, **changes: Any
) -> ModifierGroup:
    """Change any of `GROUP_FIELDS`; `modifiers`, when given, is the group's whole list of
    modifiers (by `id` updated, without one created, the others deactivated). A write that
    changes nothing takes no version."""
    unknown = set(changes) - {*GROUP_FIELDS, "modifiers"}
    if unknown:
        raise TypeError(f"modifier_group_update() got unexpected fields: {sorted(unknown)}")
    modifiers = changes.pop("modifiers", None)
    with transaction.atomic():
        locked = ModifierGroup.objects.select_for_update().get(pk=group.pk)
        before = {f: getattr(locked, f) for f in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        _check_choices(locked)
        changed: dict[str, Any] = {
            f: {"before": before[f], "after": getattr(locked, f)}
            for f in changes
            if before[f] != getattr(locked, f)
        }
        if modifiers is not None:
            snapshot_before = _snapshot(locked)
            _modifiers_write(locked, modifiers)
            snapshot_after = _snapshot(locked)
            if snapshot_before != snapshot_after:
                changed["modifiers"] = {"before": snapshot_before, "after": snapshot_after}
        if not changed:
            return locked
        locked.version = catalog_version_take()
        locked.save()
        audit_record(
            action="modifier_group.updated",
            actor=user,
            object_type="modifier_group",
            object_id=locked.pk,
            changes={"name": locked.name, **changed},
        )
    return locked


def modifier_group_delete(*, group: ModifierGroup, user: User | None) -> None:
    """Delete a group no product uses (its modifiers go with it); else `409
    modifier_group_in_use`. Registers learn of the deletion through a catalog version."""
    with transaction.atomic():
        locked = ModifierGroup.objects.select_for_update().get(pk=group.pk)
        if locked.products.exists():
            raise ModifierGroupInUse()
        snapshot = _snapshot(locked)
        locked.delete()
        sync_tombstone_write(kind="modifier_group", object_id=group.pk)
        audit_record(
            action="modifier_group.deleted",
            actor=user,
            object_type="modifier_group",
            object_id=group.pk,
            changes={"name": group.name, "modifiers": snapshot},
        )


def _check_choices(group: ModifierGroup) -> None:
    if group.max_choices < 1:
        raise InvalidInput(errors={"max_choices": ["Must be at least 1."]})
    if group.min_choices > group.max_choices:
        raise InvalidInput(errors={"min_choices": ["Must not exceed max_choices."]})


def _modifiers_write(group: ModifierGroup, modifiers: Sequence[ModifierInput]) -> None:
    """Make the group's modifiers the given list, in its order (`position`)."""
    existing = {m.pk: m for m in Modifier.objects.select_for_update().filter(group=group)}
    kept: set[int] = set()
    for position, data in enumerate(modifiers):
        modifier_id = data.get("id")
        if modifier_id is None:
            if not data.get("name"):
                raise InvalidInput(errors={"modifiers": ["A new modifier needs a name."]})
            modifier = Modifier(group=group)
        elif modifier_id in existing and modifier_id not in kept:
            modifier = existing[modifier_id]
        else:
            raise InvalidInput(
                errors={"modifiers": [f"Modifier {modifier_id} is not one of this group's."]}
            )
        modifier.name = data.get("name", modifier.name)
        modifier.price_delta = data.get("price_delta", modifier.price_delta)
        modifier.is_active = data.get("is_active", True)
        modifier.position = position
        modifier.save()
        kept.add(modifier.pk)
    for modifier_id, modifier in existing.items():
        if modifier_id not in kept and modifier.is_active:
            modifier.is_active = False
            modifier.save(update_fields=["is_active"])


def _snapshot(group: ModifierGroup) -> list[dict[str, Any]]:
    return [
        {
            "id": m.pk,
            "name": m.name,
            "price_delta": catalog_price_text(m.price_delta),
            "is_active": m.is_active,
        }
        for m in Modifier.objects.filter(group=group).order_by("position", "id")
    ]
