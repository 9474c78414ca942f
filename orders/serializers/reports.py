"""Input and output shapes of `GET /api/v1/reports/daily/`."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from money import ZERO
from money.fields import CurrencyScoped, money_field, quantity_field
from orders.services.reports import EARLIEST_REPORT_DATE


def _money(help_text: str = "") -> serializers.DecimalField:
    return money_field(coerce_to_string=True, help_text=help_text)


class DailyReportQuerySerializer(serializers.Serializer):
    store = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The store's id.")
    date = serializers.DateField(
        input_formats=["%Y-%m-%d"],
        help_text="A local date of the store (`YYYY-MM-DD`), from 1970-01-01 to the store's today.",
    )

    def validate_date(self, value: dt.date) -> dt.date:
        if value < EARLIEST_REPORT_DATE:
            raise serializers.ValidationError("Reports start on 1970-01-01.")
        return value

    format = serializers.ChoiceField(
        choices=("json", "csv"),
        default="json",
        required=False,
        help_text="`csv` answers `text/csv` (see the operation's description).",
    )


class TenderTotalsSerializer(serializers.Serializer):
    cash = _money()
    card = _money()
    other = _money()
    gift_card = _money()
    store_credit = _money()
    points = _money()


class HourTotalsSerializer(serializers.Serializer):
    hour = serializers.IntegerField(min_value=0, max_value=23, help_text="Local hour, 0–23.")
    orders = serializers.IntegerField()
    total = _money("Σ order totals (tax included) of sales in that local hour.")


class TopProductSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    name = serializers.CharField(help_text="The product's current catalog name.")
    quantity = quantity_field(coerce_to_string=True)
    total = _money("Σ line totals (after discounts, tax included).")


class PromotionTotalsSerializer(serializers.Serializer):
    promotion = serializers.IntegerField(help_text="The promotion's id.")
    name = serializers.CharField(help_text="Its name as the sales snapshotted it.")
    lines = serializers.IntegerField(help_text="Lines it applied to.")
    discount = _money("Σ what it took off those lines' gross.")


class CashierTotalsSerializer(serializers.Serializer):
    cashier = serializers.IntegerField()
    username = serializers.CharField()
    orders = serializers.IntegerField()
    total = _money("Σ order totals (tax included).")


class DailyReportSerializer(CurrencyScoped, serializers.Serializer):
    """One store's figures for one local day. See the operation's description for definitions."""

    store = serializers.IntegerField()
    date = serializers.DateField(help_text="The store's local date.")
    orders_count = serializers.IntegerField(help_text="Sales recorded that day, voids left out.")
    gross_sales = _money("Σ order subtotal = Σ line gross (as priced), before discounts.")
    discount_total = _money("Σ discounts (line discounts plus the spread order discounts).")
    # Defaults: a report stored before promotions existed had none.
    promotion_total = money_field(
        coerce_to_string=True,
        default=ZERO,
        help_text="Σ what automatic promotions took off (outside `discount_total`).",
    )
    by_promotion = PromotionTotalsSerializer(
        many=True,
        default=list,
        help_text="The discount by promotion, largest first.",
    )
    net_sales = _money("Σ line net: revenue without tax after discounts (ledger account 4000).")
    tax_total = _money("Σ tax of the day's sales (ledger account 2100).")
    refunds_total = _money("Σ totals (tax included) of the refunds made that day.")
    # Defaults: a report stored before voids existed had none.
    voids_count = serializers.IntegerField(
        default=0,
        help_text="The day's sales that were voided (left out of every other sales figure).",
    )
    voids_total = money_field(
        coerce_to_string=True,
        default=ZERO,
        help_text="Σ totals (tax included) of the day's voided sales.",
    )
    # Defaults: a report stored before returns existed had none.
    returns_count = serializers.IntegerField(
        default=0, help_text="Returns without a receipt made that day (POST /returns/)."
    )
    returns_total = money_field(
        coerce_to_string=True,
        default=ZERO,
        help_text="Σ totals (tax included) of the returns without a receipt made that day.",
    )
    # Defaults: a report stored before cash rounding and tips existed had none.
    rounding_total = money_field(
        coerce_to_string=True,
        default=ZERO,
        help_text="Σ cash rounding of the day's sales (signed; ledger account 6910).",
    )
    tips_total = money_field(
        coerce_to_string=True,
        default=ZERO,
        help_text="Σ tips taken with the day's sales (outside the totals; ledger account 2150).",
    )
    by_tender = TenderTotalsSerializer(help_text="Σ payment amounts per method (change excluded).")
    by_hour = HourTotalsSerializer(many=True, help_text="All 24 local hours, in order.")
    top_products = TopProductSerializer(many=True, help_text="Up to 10, highest total first.")
    by_cashier = CashierTotalsSerializer(many=True, help_text="Highest total first.")
    generated_at = serializers.DateTimeField(
        help_text="When the figures were computed (UTC). For a day that is over this is when "
        "the stored report was generated."
    )
