"""Which modifiers a sale line may carry: a pure check the sale runs on the product's groups
(plain data, no database), so a quote and a sale decide alike."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidInput

__all__ = ["GroupData", "ModifierData", "modifiers_check"]


@dataclass(frozen=True, slots=True)
class ModifierData:
    id: int
    group_id: int
    name: str
    price_delta: Decimal


@dataclass(frozen=True, slots=True)
class GroupData:
    """One of the product's active groups with its *active* modifiers."""

    id: int
    name: str
    min_choices: int
    max_choices: int
    modifiers: tuple[ModifierData, ...]


def modifiers_check(groups: list[GroupData], chosen_ids: list[int]) -> list[ModifierData]:
    """The chosen modifiers, in the order given, once each is known to belong to one of
    `groups` (active), to be chosen once, and every group's count to lie within its
    `[min_choices, max_choices]`; else `InvalidInput` on `modifiers`."""
    available = {m.id: m for group in groups for m in group.modifiers}
    repeated = sorted(i for i, n in Counter(chosen_ids).items() if n > 1)
    if repeated:
        raise _invalid(f"Modifiers chosen more than once: {repeated}.")
    unknown = [i for i in chosen_ids if i not in available]
    if unknown:
        raise _invalid(f"Not an active modifier of this product: {unknown}.")
    chosen = [available[i] for i in chosen_ids]
    per_group = Counter(m.group_id for m in chosen)
    for group in groups:
        count = per_group[group.id]
        if not group.min_choices <= count <= group.max_choices:
            raise _invalid(
                f"{group.name}: choose between {group.min_choices} and {group.max_choices} "
                f"(chose {count})."
            )
    return chosen


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, errors={"modifiers": [message]})
