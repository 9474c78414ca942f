"""Domain errors of the catalog and stock; one DRF exception handler maps them to problem+json."""

from __future__ import annotations

from domain.errors import Conflict


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_detail = "Not enough stock for one or more products."

    def __init__(self, product_ids: list[int], detail: str | None = None) -> None:
        super().__init__(detail, extra={"products": sorted(product_ids)})
        self.product_ids = sorted(product_ids)


class ProductInUse(Conflict):
    code = "product_in_use"
    default_detail = "This product has been sold or moved; deactivate it instead of deleting it."


class CategoryInUse(Conflict):
    code = "category_in_use"
    default_detail = "This category still has products or subcategories."


class TaxRateInUse(Conflict):
    code = "tax_rate_in_use"
    default_detail = "Products still use this tax rate."


class ModifierGroupInUse(Conflict):
    code = "modifier_group_in_use"
    default_detail = "Products still use this modifier group; detach it or deactivate it."
