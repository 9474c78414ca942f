from __future__ import annotations

from posproject.api.errors import DomainError


class InsufficientStock(DomainError):
    status_code = 409
    code = "insufficient_stock"
    default_detail = "Not enough stock for one or more products."

    def __init__(self, product_ids: list[int], detail: str | None = None) -> None:
        super().__init__(detail, extra={"products": sorted(product_ids)})
        self.product_ids = sorted(product_ids)


class ProductInUse(DomainError):
    status_code = 409
    code = "product_in_use"
    default_detail = "This product has been sold or moved; deactivate it instead of deleting it."


class CategoryInUse(DomainError):
    status_code = 409
    code = "category_in_use"
    default_detail = "This category still has products or subcategories."


class TaxRateInUse(DomainError):
    status_code = 409
    code = "tax_rate_in_use"
    default_detail = "Products still use this tax rate."
