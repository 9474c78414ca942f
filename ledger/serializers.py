"""Output shapes of the ledger endpoints (read-only: the ledger has no write routes)."""

from __future__ import annotations

from rest_framework import serializers

from ledger.models import Account, JournalEntry, JournalLine
from money.fields import CurrencyScoped, money_field


def money(help_text: str = "") -> serializers.DecimalField:
    """Money out as a string with the currency's minor units (`"12.50"`, `"100"` JPY)."""
    return money_field(max_digits=16, read_only=True, help_text=help_text or None)


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
    debit = money()
    credit = money()
    balance = money(help_text="debit − credit")


class TrialBalanceSerializer(serializers.Serializer):
    accounts = TrialBalanceRowSerializer(many=True, read_only=True)
    total_debit = money()
    total_credit = money()


class TrialBalanceQuerySerializer(serializers.Serializer):
    store = serializers.IntegerField(
        required=False, min_value=1, help_text="A store id; omitted: all your stores together."
    )
    date_to = serializers.DateField(
        required=False, help_text="Entries dated up to this day, inclusive (store's local date)."
    )
