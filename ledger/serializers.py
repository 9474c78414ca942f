"""Output shapes of the ledger endpoints (read-only: the ledger has no write routes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from ledger.models import Account, JournalEntry, JournalLine
from ledger.selectors import TrialBalance
from money.fields import AmountField, CurrencyScoped, money_field


def money(help_text: str = "") -> serializers.DecimalField:
    """Money out as a string with the currency's minor units (`"12.50"`, `"100"` JPY)."""
    return money_field(max_digits=16, read_only=True, help_text=help_text or None)


def amount(help_text: str = "") -> AmountField:
    """An amount of the balance's currency (the serializer context's `currency`), with its
    ISO 4217 minor units."""
    return money_field(
        max_digits=20,
        read_only=True,
        help_text=help_text or "In the balance's currency, with its ISO 4217 minor units.",
    )


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ("code", "name", "type")
        read_only_fields = fields


class JournalLineSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code", read_only=True, help_text="Code.")
    debit = money()
    credit = money()

    class Meta:
        model = JournalLine
        fields = ("account", "debit", "credit")
        read_only_fields = fields


class JournalEntrySerializer(CurrencyScoped, serializers.ModelSerializer):
    currency_source = "store.currency"

    store = serializers.IntegerField(source="store_id", read_only=True)
    lines = JournalLineSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = ("id", "date", "store", "memo", "source", "source_id", "lines")
        read_only_fields = fields


class TrialBalanceRowSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    debit = amount()
    credit = amount()
    balance = amount(help_text="debit − credit")


class TrialBalanceSerializer(serializers.Serializer):
    """The trial balance of stores of one currency, in that currency."""

    # Rendered through `trial_balance_data`, which puts the currency in the context.

    accounts = TrialBalanceRowSerializer(many=True, read_only=True)
    total_debit = amount()
    total_credit = amount()


class TrialBalanceByCurrencySerializer(serializers.Serializer):
    """The balances of stores of several currencies: one per currency code, never summed."""

    currencies = serializers.DictField(
        child=TrialBalanceSerializer(),
        read_only=True,
        help_text="By ISO 4217 code of the stores' currency.",
    )

    def to_representation(self, instance: Mapping[str, TrialBalance]) -> dict[str, Any]:
        return {
            "currencies": {
                currency: trial_balance_data(balance) for currency, balance in instance.items()
            }
        }


def trial_balance_data(balance: TrialBalance) -> Any:
    """One currency's balance in the API's shape, in its currency's minor units."""
    return TrialBalanceSerializer(balance, context={"currency": balance.currency}).data


class TrialBalanceQuerySerializer(serializers.Serializer):
    store = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="A store id; omitted: all your stores, one balance per currency.",
    )
    date_to = serializers.DateField(
        required=False, help_text="Entries dated up to this day, inclusive (store's local date)."
    )
