"""CSV import and export of products (django-import-export), used by the admin, the
`import_products` command and the benchmark.

An import goes through the same validation as the API (`ProductSerializer`) and the same write
path as the services (`product_bulk_save`: catalog versions, stock levels, audit). Rows are
matched on `sku` (existing → update, new → create). The whole file is one transaction: a single
bad row is reported with its line number and nothing at all is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export import fields, resources, widgets
from import_export.results import Result
from rest_framework import serializers

from accounts.models import User
from catalog.models import Category, Product, TaxRate
from catalog.serializers import ProductSerializer
from catalog.services import product_bulk_save
from catalog.services.products import PLAIN_FIELDS
from money.fields import catalog_price_text
from spreadsheets import safe_cell

# The CSV columns are the product's own editable columns (one definition, in the service);
# variants, scale codes and modifier groups are edited through the API or the admin.
COLUMNS = PLAIN_FIELDS
_CHUNK = 2000
# Blank cells in these columns mean "leave as is" (on create: the default).
_BLANK_MEANS_UNSET = ("cost", "track_stock", "is_active")
# Blank cells in these mean "none".
_BLANK_MEANS_NULL = ("barcode", "category")


class _PreloadedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A `PrimaryKeyRelatedField` that resolves ids from a dict loaded once per import
    (`context[<field name>]`) instead of one query per row; same errors."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(str(data).strip())
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        found = self.context[str(self.field_name)].get(pk)
        if found is None:
            self.fail("does_not_exist", pk_value=data)
        return found


class ProductImportSerializer(ProductSerializer):
    """The API's product serializer with its lookups batched for a whole file: related ids and
    barcode clashes are checked against maps loaded once (sku clashes cannot happen: a known
    sku is an update of that product)."""

    category = _PreloadedPrimaryKeyField(
        queryset=Category.objects.none(), allow_null=True, required=False
    )
    tax_rate = _PreloadedPrimaryKeyField(queryset=TaxRate.objects.none())

    class Meta(ProductSerializer.Meta):
        fields = ("id", *COLUMNS, "version", "updated_at")
        extra_kwargs: dict[str, dict[str, Any]] = {"sku": {"validators": []}}

    def validate_barcode(self, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None:
            owner = self.context["barcode_owners"].get(value)
            if owner is not None and (self.instance is None or owner != self.instance.pk):
                raise serializers.ValidationError("A product with this barcode already exists.")
        return value


class ProductResource(resources.ModelResource):
    # Related objects by id, read from the `*_id` attributes: exporting costs no extra query.
    category = fields.Field(
        attribute="category_id", column_name="category", widget=widgets.IntegerWidget()
    )
    tax_rate = fields.Field(
        attribute="tax_rate_id", column_name="tax_rate", widget=widgets.IntegerWidget()
    )

    class Meta:
        model = Product
        fields = COLUMNS
        export_order = COLUMNS
        import_id_fields = ("sku",)
        use_bulk = True
        batch_size = None  # one write at the end, after every row validated (see bulk_create)
        skip_diff = True
        clean_model_instances = False
        use_transactions = True

    # Prices as the API writes them (two decimals, three when the third is significant), not
    # the column's three.
    def dehydrate_price(self, product: Product) -> str:
        return catalog_price_text(product.price)

    def dehydrate_cost(self, product: Product) -> str:
        return catalog_price_text(product.cost)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._existing: dict[str, Product] = {}
        self._first_line_of: dict[tuple[str, str], int] = {}
        self._user: User | None = None
        self._serializer: ProductImportSerializer | None = None

    # --- import ----------------------------------------------------------------------------

    def import_data(self, dataset: tablib.Dataset, *args: Any, **kwargs: Any) -> Result:
        # Never a partial import, whoever calls: a validation error rolls everything back.
        kwargs["rollback_on_validation_errors"] = True
        kwargs["use_transactions"] = True
        return super().import_data(dataset, *args, **kwargs)

    def before_import(self, dataset: tablib.Dataset, **kwargs: Any) -> None:
        self._user = kwargs.get("user")
        missing = [c for c in ("sku", "name", "price", "tax_rate") if c not in dataset.headers]
        if missing:
            raise ValidationError(f"Missing column(s): {', '.join(missing)}.")
        skus = [str(s).strip() for s in dataset["sku"] if s]
        barcodes = (
            [str(b).strip() for b in dataset["barcode"] if b]
            if "barcode" in dataset.headers
            else []
        )
        self._existing = {}
        owners: dict[str | None, int] = {}
        for start in range(0, max(len(skus), len(barcodes)), _CHUNK):
            # Rows to update are locked for the import: a concurrent edit waits, never lost.
            sku_chunk = skus[start : start + _CHUNK]
            self._existing.update(
                (p.sku, p)
                for p in Product.objects.filter(sku__in=sku_chunk)
                .order_by("id")
                .select_for_update()
            )
            owners.update(
                Product.objects.filter(barcode__in=barcodes[start : start + _CHUNK]).values_list(
                    "barcode", "id"
                )
            )
        # One serializer for the whole file: building its fields costs more than validating.
        self._serializer = ProductImportSerializer(
            context={
                "include_cost": True,
                "category": Category.objects.in_bulk(),
                "tax_rate": TaxRate.objects.in_bulk(),
                "barcode_owners": owners,
            }
        )

    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Product | None:
        return self._existing.get(str(row.get("sku") or "").strip())

    def after_init_instance(
        self, instance: Product, new: bool, row: dict[str, Any], **kwargs: Any
    ) -> None:
        instance._price_before = None if new else instance.price  # type: ignore[attr-defined]

    def import_instance(self, instance: Product, row: dict[str, Any], **kwargs: Any) -> None:
        """Validate the row with the API's serializer and copy the result onto the instance."""
        line = kwargs.get("row_number", 0) + 1  # the header is line 1
        data = _row_data(row)
        errors = self._duplicates(data, line)
        new = instance.pk is None
        serializer = self._serializer
        assert serializer is not None  # set by before_import
        # Re-aimed at each row, as DRF's ListSerializer does with its child.
        serializer.instance = None if new else instance
        serializer.partial = not new
        serializer.initial_data = data
        validated: dict[str, Any] = {}
        try:
            validated = serializer.run_validation(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {NON_FIELD_ERRORS: exc.detail}
            errors.update({k: [str(m) for m in v] for k, v in detail.items()})
        if errors:
            raise ValidationError(errors)
        for name, value in validated.items():
            setattr(instance, name, value)

    def _duplicates(self, data: dict[str, Any], line: int) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for column in ("sku", "barcode"):
            value = str(data.get(column) or "").strip()
            if not value:
                continue
            first = self._first_line_of.setdefault((column, value), line)
            if first != line:
                errors[column] = [f"Same {column} as line {first}."]
        return errors

    def save_m2m(self, instance: Product, row: dict[str, Any], **kwargs: Any) -> None:
        return None

    def bulk_create(
        self,
        using_transactions: bool,
        dry_run: bool,
        raise_errors: bool,
        batch_size: int | None = None,
        result: Result | None = None,
    ) -> None:
        """The one write of the import: every created and updated product together, through
        the catalog service, and only when no row was invalid."""
        created, updated = list(self.create_instances), list(self.update_instances)
        self.create_instances.clear()
        self.update_instances.clear()
        if result is not None and (result.has_validation_errors() or result.has_errors()):
            return
        if not (created or updated) or not (using_transactions or not dry_run):
            return
        try:
            product_bulk_save(created=created, updated=updated, user=self._user)
        except Exception as exc:  # noqa: BLE001 — reported as the import's error, rolled back
            self.handle_import_error(result, exc, raise_errors)

    def bulk_update(self, *args: Any, **kwargs: Any) -> None:
        self.update_instances.clear()  # written together with the creations (bulk_create)

    def after_import(self, dataset: tablib.Dataset, result: Result, **kwargs: Any) -> None:
        # import-export would reset the id sequence here; ids always come from the sequence,
        # and resetting it under concurrent inserts could hand out an id twice.
        return None

    # --- export ----------------------------------------------------------------------------

    def get_queryset(self) -> Any:
        return Product.objects.order_by("id")

    def export_field(self, field: fields.Field, instance: Product, **kwargs: Any) -> Any:
        """Text cells neutralised against formula injection, whatever the format (CSV, TSV, a
        spreadsheet): names, SKUs and barcodes come from people."""
        value = super().export_field(field, instance, **kwargs)
        return safe_cell(value) if isinstance(value, str) else value


def _row_data(row: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column in COLUMNS:
        if column not in row:
            continue
        value = row[column]
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None):
            if column in _BLANK_MEANS_UNSET:
                continue
            if column in _BLANK_MEANS_NULL:
                value = None
        data[column] = value
    return data


@dataclass
class ImportReport:
    """What an import did, or why it did nothing. `line` counts the header as line 1."""

    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def product_import_csv(*, text: str, user: User | None, dry_run: bool = False) -> ImportReport:
    """Import products from CSV text (header row first). All or nothing."""
    dataset = tablib.Dataset().load(text, format="csv")
    result = ProductResource().import_data(dataset, dry_run=dry_run, raise_errors=False, user=user)
    return report_from(result)


def product_export_csv() -> str:
    return ProductResource().export().csv


def report_from(result: Result) -> ImportReport:
    errors: list[dict[str, Any]] = [
        {"line": row.number + 1, "errors": row.error_dict} for row in result.invalid_rows
    ]
    for error_row in result.error_rows:
        errors.append(
            {
                "line": error_row.number + 1,
                "errors": {NON_FIELD_ERRORS: [str(e.error) for e in error_row.errors]},
            }
        )
    for base_error in result.base_errors:
        errors.append({"line": None, "errors": {NON_FIELD_ERRORS: [_message(base_error.error)]}})
    errors.sort(key=lambda e: (e["line"] is None, e["line"] or 0))
    if errors:
        return ImportReport(errors=errors)
    return ImportReport(created=result.totals["new"], updated=result.totals["update"])


def _message(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    return str(error)
