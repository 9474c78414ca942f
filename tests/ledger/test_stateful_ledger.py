"""Property: whatever a store does, in whatever order — sell (with cash rounding and tips),
refund (restocked or not), take goods back without a receipt, exchange (paying the difference
or getting cash back), sell gift cards, pay with them, expire them, sell to a customer who earns
loyalty points, pay with points or store credit, refund to store credit, void, adjust stock, move
cash, open and close shifts — after every step the trial balance has equal totals, the exchange
clearing account is zero, gift cards outstanding (2300) is the sum of the cards' balances, store
credit (2310) and loyalty points (2320) are the customer's balances, the
inventory
account equals the book value of the store's stock (Σ `StockLevel.value`), a void cancels its
sale on every account, the day reconciles (ledger cash = shift counts, inventory = stock
valued by its movements, revenue and tax = orders), and the stock levels and the open drawer's
expected cash equal a model kept from what each step did, all through the real services.

Every example trades in a fresh store, so examples never see each other's figures even though
they share the test's transaction. A refused step (not enough stock, no open shift for a cash
refund, a discount above the basket) runs in a savepoint and must leave no trace: the
invariants are checked after it too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from catalog.models import Product, StockLevel
from catalog.services import stock_adjust
from customers.models import Customer
from domain.errors import DomainError, InvalidInput
from giftcards.models import GiftCard
from giftcards.services import IssuePayment, gift_card_issue, gift_cards_expire
from ledger.models import JournalLine
from ledger.selectors import account_balances, trial_balance
from ledger.services import EXCHANGE_CLEARING, INVENTORY
from money import round_cents
from orders.models import Order, OrderLine, OrderStatus, PaymentMethod, Shift
from orders.pricing import LineInput, price_order
from orders.reconciliation import reconcile_store_day, store_today
from orders.refund_pricing import LineSnapshot, TenderRequest, refund_piece
from orders.selectors.shifts import shift_cash_summary
from orders.services.refunds import ExchangeReturnRequest, RefundLineRequest, refund_create
from orders.services.returns import ReturnLineRequest, ReturnTenderRequest, return_create
from orders.services.sales import (
    PaymentRequest,
    SaleLineRequest,
    cash_rounding_of,
    order_create,
    order_quote,
)
from orders.services.shifts import cash_movement_create, shift_close, shift_open
from orders.services.voids import order_void
from tests.catalog.factories import ProductFactory, TaxRateFactory
from tests.customers.factories import CustomerFactory
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory

D = Decimal

POINT_VALUE = D("0.01")

# The loose product's cost and quantities make values of fractions of a cent (0.333 kg at 0.33
# is 0.10989): every posting is rounded, and the book value of stock must follow the postings
# exactly, not a valuation rounded once at the end.
UNIT_QUANTITIES = [D(1), D(2), D(3)]
LOOSE_QUANTITIES = [D("0.25"), D("0.333"), D("1.5"), D("2.75")]


def refund_piece_total(line: OrderLine, quantity: Decimal) -> Decimal:
    """What refunding `quantity` of `line` gives back (the refund's own pure pricing)."""
    snapshot = LineSnapshot(
        quantity=line.quantity,
        net=line.net,
        tax=line.tax,
        cost=line.cost,
        refunded_quantity=line.refunded_quantity,
        refunded_net=line.refunded_net,
        refunded_tax=line.refunded_tax,
        refunded_cost=line.refunded_cost,
    )
    return refund_piece(snapshot, quantity).total


class StoreTrading(RuleBasedStateMachine):
    @initialize(
        prices_include_tax=st.booleans(), cash_rounding=st.sampled_from([D("0"), D("0.05")])
    )
    def open_store(self, prices_include_tax: bool, cash_rounding: Decimal) -> None:
        self.store = StoreFactory(
            prices_include_tax=prices_include_tax,
            cash_rounding=cash_rounding,
            # One point per unit paid in money, worth a cent.
            loyalty_points_per_unit=D("1"),
            loyalty_point_value=POINT_VALUE,
        )
        # This example's customer (customers are merchant-wide; only this store's sales name it).
        self.customer = CustomerFactory()
        self.register = RegisterFactory(store=self.store, code="R1")
        self.cashier = CashierFactory(stores=[self.store])
        self.manager = ManagerFactory(stores=[self.store])
        self.unit = ProductFactory(
            price=D("4.99"),
            cost=D("2.00"),
            tax_rate=TaxRateFactory(name="Standard 8.25", rate=D("8.250")),
        )
        self.loose = ProductFactory(
            price=D("2.50"), cost=D("0.33"), tax_rate=TaxRateFactory(name="Zero", rate=D("0"))
        )
        for product in (self.unit, self.loose):
            stock_adjust(
                store=self.store,
                product=product,
                quantity_delta=D(20),
                reason="receive",
                user=self.manager,
            )
        self.shift: Shift | None = None
        # The model: stock per product id, and the open drawer's cash (None: no open shift).
        self.stock: dict[int, Decimal] = {self.unit.pk: D(20), self.loose.pk: D(20)}
        self.drawer: Decimal | None = None
        # Codes of the gift cards sold (the database keeps only their hashes).
        self.gift_codes: list[str] = []

    # --- helpers ---------------------------------------------------------------------------

    def attempt(self, name: str, action, allowed: frozenset[str] | None = None):  # type: ignore[no-untyped-def]
        """Run one service call in a savepoint and return what it returned; a refusal must roll
        back completely, and must be one of `allowed` (any refusal when None): then None.
        (`--hypothesis-show-statistics` shows how often each step succeeded.)"""
        try:
            with transaction.atomic():
                result = action()
        except DomainError as refusal:
            if allowed is not None and refusal.code not in allowed:
                raise
            event(f"{name}: refused ({refusal.code})")
            return None
        event(f"{name}: done")
        return result

    def cash_of(self, payments, with_tips: bool = True) -> Decimal:  # type: ignore[no-untyped-def]
        """Σ the cash rows of `payments` (with their tips)."""
        return sum(
            (
                p.amount + (p.tip if with_tips else D(0))
                for p in payments
                if p.method == PaymentMethod.CASH
            ),
            D(0),
        )

    def sold(self, order: Order) -> None:
        """The model after a sale: its lines leave the shelf, its cash (with tips) enters the
        drawer (negative: the cash an exchange paid back)."""
        for line in order.lines.all():
            self.stock[line.product_id] -= line.quantity
        self.take_cash(self.cash_of(order.payments.all()))

    def take_cash(self, amount: Decimal) -> None:
        if amount:
            assert self.drawer is not None, "cash moved without an open shift"
            self.drawer += amount

    def gave_back(self, refund) -> None:  # type: ignore[no-untyped-def]
        """The model after a refund: restocked lines back on the shelf, cash out of the drawer."""
        if refund.restock:
            for line in refund.lines.select_related("order_line"):
                self.stock[line.order_line.product_id] += line.quantity
        self.take_cash(-self.cash_of(refund.payments.all(), with_tips=False))

    def ensure_shift(self, data: st.DataObject) -> Shift:
        """The register's open shift, opening one (with a drawn float) when there is none."""
        if self.shift is None:
            opening_float = data.draw(
                st.sampled_from([D("0.00"), D("50.00"), D("100.00")]), label="opening_float"
            )
            self.shift = shift_open(
                register=self.register, opening_float=opening_float, user=self.cashier
            )
            self.drawer = opening_float
        return self.shift

    def draw_piece(
        self, data: st.DataObject, whole_line: bool, name: str
    ) -> tuple[OrderLine, Decimal] | None:
        """A line of the store's orders with something left to give back, and what to give
        back of it (all that is left, or one unit); None when nothing is left anywhere."""
        open_lines = list(
            OrderLine.objects.filter(order__store_id=self.store.pk)
            .exclude(refunded_quantity__gte=F("quantity"))
            .order_by("id")
        )
        if not open_lines:
            event(f"{name}: nothing left to give back")
            return None
        line = data.draw(st.sampled_from(open_lines), label="line")
        left = line.quantity - line.refunded_quantity
        return line, left if whole_line or left <= 1 else D(1)

    def quantities(self, product: Product) -> list[Decimal]:
        return UNIT_QUANTITIES if product.pk == self.unit.pk else LOOSE_QUANTITIES

    # --- rules (hypothesis favours rules that sort first, by argument count and name: the
    # names put checkout and returns ahead of the rest) ----------------------------------------

    @rule(
        data=st.data(),
        tender=st.sampled_from(
            [
                "cash",
                "card",
                "other",
                "split",
                "cash_with_change",
                "gift_card",
                "gift_card_split",
                "store_credit",
                "points",
            ]
        ),
        with_customer=st.booleans(),
        # 30.00 is more than most baskets: refused with 400, nothing written.
        order_discount=st.sampled_from([D("0"), D("0"), D("0.50"), D("30.00")]),
        tip=st.sampled_from([D("0"), D("0"), D("0.50")]),
    )
    def checkout(
        self,
        data: st.DataObject,
        tender: str,
        order_discount: Decimal,
        tip: Decimal,
        with_customer: bool,
    ) -> None:
        self.ensure_shift(data)
        products = data.draw(
            st.lists(st.sampled_from([self.unit, self.loose]), min_size=1, max_size=3),
            label="products",
        )
        lines = [
            SaleLineRequest(
                product_id=product.pk,
                quantity=data.draw(st.sampled_from(self.quantities(product)), label="quantity"),
            )
            for product in products
        ]

        def ring_up() -> None:
            total = order_quote(
                user=self.cashier,
                register_id=self.register.pk,
                lines=lines,
                discount=order_discount,
            ).priced.total

            def rounded(non_cash: Decimal) -> Decimal:
                # The cash part due, rounded to the store's step (the sale's own rule).
                return (
                    total
                    - non_cash
                    + cash_rounding_of(
                        total=total,
                        non_cash=non_cash,
                        step=self.store.cash_rounding,
                        currency=self.store.currency,
                    )
                )

            tipped = tip if tender in ("cash", "card", "split", "cash_with_change") else D("0")
            if tender.startswith("gift_card"):
                if not self.gift_codes:
                    raise InvalidInput(errors={"payments": ["no gift card sold yet"]})
                code = data.draw(st.sampled_from(self.gift_codes), label="gift_code")
                if tender == "gift_card":
                    payments = [PaymentRequest(method="gift_card", amount=total, code=code)]
                else:  # part on the card, the rest in cash (rounded)
                    part = min(total, D("1.00"))
                    payments = [
                        PaymentRequest(method="gift_card", amount=part, code=code),
                        PaymentRequest(method="cash", amount=rounded(part)),
                    ]
            elif tender == "store_credit":
                payments = [PaymentRequest(method="store_credit", amount=total)]
            elif tender == "points":
                self.customer.refresh_from_db()
                points = min(self.customer.loyalty_points, int(total / POINT_VALUE))
                # What the points do not cover goes on the card (none when nothing is left).
                payments = [
                    PaymentRequest(method=method, amount=amount, points=count)
                    for method, amount, count in (
                        ("points", points * POINT_VALUE, points),
                        ("card", total - points * POINT_VALUE, None),
                    )
                    if amount
                ]
            elif tender == "split":
                card = round_cents(total / 2)
                payments = [
                    PaymentRequest(method="card", amount=card, card_last4="4242", tip=tipped),
                    PaymentRequest(method="cash", amount=rounded(card)),
                ]
            elif tender == "cash_with_change":
                cash = rounded(D("0"))
                payments = [
                    PaymentRequest(
                        method="cash", amount=cash, tendered=cash + tipped + 5, tip=tipped
                    )
                ]
            elif tender == "cash":
                payments = [PaymentRequest(method="cash", amount=rounded(D("0")), tip=tipped)]
            else:
                payments = [PaymentRequest(method=tender, amount=total, tip=tipped)]
            return order_create(
                user=self.cashier,
                register_id=self.register.pk,
                lines=lines,
                payments=payments,
                discount=order_discount,
                # Store credit and points are the customer's: those tenders always name them.
                customer_id=self.customer.pk
                if with_customer or tender in ("store_credit", "points")
                else None,
            )

        # Paid as the rules say (cash rounded to the store's step, tips on top), a sale is refused
        # only for want of stock or for the over-large order discount.
        order = self.attempt(
            "sale",
            ring_up,
            allowed=frozenset({"insufficient_stock"})
            | (frozenset({"validation_error"}) if order_discount == D("30.00") else frozenset())
            # A card spent or expired by earlier steps, or none sold yet.
            | (
                frozenset({"insufficient_balance", "gift_card_invalid", "validation_error"})
                if tender.startswith("gift_card")
                else frozenset({"insufficient_balance"})
                if tender in ("store_credit", "points")
                else frozenset()
            ),
        )
        if order is not None:
            self.sold(order)

    @precondition(lambda self: Order.objects.filter(store_id=self.store.pk).exists())
    @rule(data=st.data(), restock=st.booleans(), whole_line=st.booleans())
    def customer_return(self, data: st.DataObject, restock: bool, whole_line: bool) -> None:
        piece = self.draw_piece(data, whole_line, "refund")
        if piece is None:
            return
        line, quantity = piece
        order = Order.objects.get(pk=line.order_id)
        refund = self.attempt(
            "refund",
            lambda: refund_create(
                order=order,
                lines=[RefundLineRequest(line_id=line.pk, quantity=quantity)],
                restock=restock,
                reason="customer",
                user=self.manager,
            ),
        )
        if refund is not None:
            self.gave_back(refund)

    @precondition(lambda self: Order.objects.filter(store_id=self.store.pk).exists())
    @rule(data=st.data(), whole_line=st.booleans())
    def customer_return_to_store_credit(self, data: st.DataObject, whole_line: bool) -> None:
        """Goods back, the money onto the customer's store credit (Cr 2310), whoever paid."""
        piece = self.draw_piece(data, whole_line, "refund to credit")
        if piece is None:
            return
        line, quantity = piece
        order = Order.objects.get(pk=line.order_id)
        if order.customer_id not in (None, self.customer.pk):
            return
        total = refund_piece_total(line, quantity)
        refund = self.attempt(
            "refund to credit",
            lambda: refund_create(
                order=order,
                lines=[RefundLineRequest(line_id=line.pk, quantity=quantity)],
                restock=True,
                reason="store credit",
                user=self.manager,
                tenders=[TenderRequest(method="store_credit", amount=total)] if total else None,
                customer_id=self.customer.pk,
            ),
        )
        if refund is not None:
            self.gave_back(refund)

    @rule(data=st.data())
    def return_without_receipt(self, data: st.DataObject) -> None:
        """Goods back without a receipt, at the current price or a drawn lower one; without an
        open shift a cash part is refused (`shift_not_open`) and leaves no trace."""
        # Mostly on an open shift (hypothesis draws 0 most often); 2: whatever the shift is.
        if data.draw(st.integers(0, 2), label="shift") != 2:
            self.ensure_shift(data)
        restock = data.draw(st.booleans(), label="restock")
        tender = data.draw(st.sampled_from(["default", "card", "split"]), label="tender")
        product = data.draw(st.sampled_from([self.unit, self.loose]), label="product")
        quantity = data.draw(st.sampled_from(self.quantities(product)), label="quantity")
        unit_price = data.draw(st.sampled_from([None, D("1.00"), D("0.37")]), label="unit_price")

        def take_back() -> None:
            total = price_order(
                lines=[
                    LineInput(
                        unit_price=product.price if unit_price is None else unit_price,
                        quantity=quantity,
                        tax_rate=product.tax_rate.rate,
                    )
                ],
                prices_include_tax=self.store.prices_include_tax,
            ).total
            tenders = {
                "default": None,
                "card": [ReturnTenderRequest(method="card", amount=total)],
                "split": [
                    ReturnTenderRequest(method="other", amount=D("0.01")),
                    ReturnTenderRequest(method="cash", amount=total - D("0.01")),
                ],
            }[tender]
            return return_create(
                user=self.manager,
                register_id=self.register.pk,
                lines=[
                    ReturnLineRequest(
                        product_id=product.pk, quantity=quantity, unit_price=unit_price
                    )
                ],
                tenders=tenders,
                restock=restock,
                reason="no receipt",
            )

        returned = self.attempt("return", take_back, allowed=frozenset({"shift_not_open"}))
        if returned is not None:
            if restock:
                self.stock[product.pk] += quantity
            self.take_cash(-self.cash_of(returned.payments.all(), with_tips=False))

    @rule(
        data=st.data(),
        amount=st.sampled_from([D("5.00"), D("20.00"), D("0.37")]),
        method=st.sampled_from(["cash", "card"]),
    )
    def checkout_gift_card(self, data: st.DataObject, amount: Decimal, method: str) -> None:
        """Sell a gift card (not a sale: Dr the tender, Cr 2300), its cash into the drawer."""
        self.ensure_shift(data)
        issued = self.attempt(
            "gift card",
            lambda: gift_card_issue(
                user=self.cashier,
                register_id=self.register.pk,
                amount=amount,
                payments=[IssuePayment(method=method, amount=amount)],
            ),
        )
        if issued is not None:
            self.gift_codes.append(issued.code)
            if method == "cash":
                self.take_cash(amount)

    @precondition(lambda self: bool(self.gift_codes))
    @rule(days=st.sampled_from([0, 4000]))
    def expire_gift_cards(self, days: int) -> None:
        """The expiry run, now (nothing to do) or years later (every card expires: breakage)."""
        self.attempt(
            "gift card expiry",
            lambda: gift_cards_expire(now=timezone.now() + dt.timedelta(days=days)),
        )

    @precondition(lambda self: Order.objects.filter(store_id=self.store.pk).exists())
    @rule(data=st.data(), restock=st.booleans(), whole_line=st.booleans())
    def checkout_exchange(self, data: st.DataObject, restock: bool, whole_line: bool) -> None:
        """Goods of an earlier sale back, something else taken: the difference paid by card or
        in cash (rounded to the store's step), or the cash that goes back when the returned
        goods are worth more."""
        self.ensure_shift(data)
        piece = self.draw_piece(data, whole_line, "exchange")
        if piece is None:
            return
        line, quantity = piece
        product = data.draw(st.sampled_from([self.unit, self.loose]), label="product")
        taken = [
            SaleLineRequest(
                product_id=product.pk,
                quantity=data.draw(st.sampled_from(self.quantities(product)), label="taken"),
            )
        ]
        pay_by = data.draw(st.sampled_from(["card", "cash"]), label="pay_by")
        returns = [ExchangeReturnRequest(line_id=line.pk, quantity=quantity, restock=restock)]

        def swap() -> Order:
            total = order_quote(
                user=self.manager, register_id=self.register.pk, lines=taken
            ).priced.total
            due = total - refund_piece_total(line, quantity)
            if due >= 0 and pay_by == "card":
                payments = [PaymentRequest(method="card", amount=due)] if due else []
            else:
                cash = due + cash_rounding_of(
                    total=due,
                    non_cash=D(0),
                    step=self.store.cash_rounding,
                    currency=self.store.currency,
                )
                payments = [PaymentRequest(method="cash", amount=cash)]
            return order_create(
                user=self.manager,
                register_id=self.register.pk,
                lines=taken,
                payments=payments,
                returns=returns,
            )

        # Refused only for want of stock, or for a voided order's line (nothing left to give).
        order = self.attempt(
            "exchange", swap, allowed=frozenset({"insufficient_stock", "refund_exceeds_sold"})
        )
        if order is not None:
            self.sold(order)
            for refund in order.exchange_refunds.all():
                self.gave_back(refund)

    @precondition(lambda self: Order.objects.filter(store_id=self.store.pk).exists())
    @rule(data=st.data())
    def void_a_sale(self, data: st.DataObject) -> None:
        """Any order of the store: one that may be voided (completed, nothing refunded, its
        shift open) is, and any other is refused without a trace."""
        orders = Order.objects.filter(store_id=self.store.pk).order_by("id")
        voidable = list(orders.filter(status=OrderStatus.COMPLETED, shift__status="open"))
        # Mostly one that may be voided; sometimes any (refusals must leave no trace).
        pick_voidable = voidable and data.draw(st.integers(0, 3), label="voidable") > 0
        order = data.draw(
            st.sampled_from(voidable if pick_voidable else list(orders)), label="order"
        )
        voided = self.attempt(
            "void", lambda: order_void(order=order, reason="mistake", user=self.manager)
        )
        if voided is not None:
            for line in voided.lines.all():
                self.stock[line.product_id] += line.quantity
            self.take_cash(-self.cash_of(voided.payments.all()))

    @rule(
        data=st.data(),
        reason=st.sampled_from(["receive", "count", "damage", "correction"]),
        sign=st.sampled_from([1, -1]),
    )
    def stock_adjustment(self, data: st.DataObject, reason: str, sign: int) -> None:
        product = data.draw(st.sampled_from([self.unit, self.loose]), label="product")
        delta = sign * data.draw(st.sampled_from(self.quantities(product)), label="delta")
        adjusted = self.attempt(
            "stock adjustment",
            lambda: stock_adjust(
                store=self.store,
                product=product,
                quantity_delta=delta,
                reason=reason,
                user=self.manager,
            ),
        )
        if adjusted is not None:
            self.stock[product.pk] += delta

    @rule(
        data=st.data(),
        kind=st.sampled_from(["in", "out"]),
        amount=st.sampled_from([D("0.01"), D("5.00"), D("20.00")]),
    )
    def drawer_cash_movement(self, data: st.DataObject, kind: str, amount: Decimal) -> None:
        shift = self.ensure_shift(data)
        moved = self.attempt(
            "cash movement",
            lambda: cash_movement_create(
                shift=shift, kind=kind, amount=amount, reason="float", user=self.cashier
            ),
        )
        if moved is not None:
            self.take_cash(amount if kind == "in" else -amount)

    @precondition(lambda self: self.shift is not None)
    @rule(miscount=st.sampled_from([D("0"), D("0.35"), D("-1.00")]))
    def end_of_shift(self, miscount: Decimal) -> None:
        assert self.shift is not None
        expected = shift_cash_summary(shift=self.shift).expected_cash
        counted = max(expected + miscount, D("0.00"))
        shift_close(shift=self.shift, counted_cash=counted, user=self.cashier)
        self.shift = None
        self.drawer = None

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def trial_balance_has_equal_totals(self) -> None:
        balance = trial_balance(store_id=self.store.pk, date_to=None)
        assert balance is not None
        assert balance.total_debit == balance.total_credit

    @invariant()
    def the_exchange_clearing_account_is_zero(self) -> None:
        balance = account_balances(store_id=self.store.pk, codes=[EXCHANGE_CLEARING])
        assert balance[EXCHANGE_CLEARING] == 0

    @invariant()
    def gift_cards_outstanding_are_the_cards_balances(self) -> None:
        owed = -account_balances(store_id=self.store.pk, codes=["2300"])["2300"]
        balances = GiftCard.objects.filter(store_id=self.store.pk).aggregate(
            total=Coalesce(Sum("balance"), D("0"))
        )["total"]
        assert owed == balances

    @invariant()
    def store_credit_and_points_owed_are_the_customers_balances(self) -> None:
        owed = account_balances(store_id=self.store.pk, codes=["2310", "2320"])
        customer = Customer.objects.get(pk=self.customer.pk)
        assert -owed["2310"] == customer.store_credit
        assert -owed["2320"] == customer.loyalty_points * POINT_VALUE

    @invariant()
    def stock_levels_are_the_models(self) -> None:
        levels = dict(
            StockLevel.objects.filter(store_id=self.store.pk).values_list("product_id", "quantity")
        )
        assert levels == self.stock

    @invariant()
    def the_open_drawer_holds_the_models_cash(self) -> None:
        if self.shift is not None:
            assert shift_cash_summary(shift=self.shift).expected_cash == self.drawer

    @invariant()
    def inventory_account_is_the_book_value_of_stock(self) -> None:
        inventory = account_balances(store_id=self.store.pk, codes=[INVENTORY])[INVENTORY]
        book_value = StockLevel.objects.filter(store_id=self.store.pk).aggregate(
            value=Coalesce(Sum("value"), D("0"))
        )["value"]
        assert inventory == book_value

    @invariant()
    def a_void_cancels_its_sale_on_every_account(self) -> None:
        voided = Order.objects.filter(store_id=self.store.pk, status=OrderStatus.VOIDED)
        rows = (
            JournalLine.objects.filter(
                entry__store_id=self.store.pk,
                entry__source__in=["sale", "void"],
                entry__source_id__in=voided.values("id"),
            )
            .values("account_id")
            .annotate(net=Sum(F("debit") - F("credit")))
            .order_by()
        )
        assert {row["account_id"]: row["net"] for row in rows if row["net"] != 0} == {}

    @invariant()
    def the_day_reconciles(self) -> None:
        result = reconcile_store_day(store=self.store, date=store_today(self.store))
        assert result.ok, result.as_dict()


@pytest.mark.django_db
def test_random_trading_keeps_the_ledger_balanced_and_reconciled() -> None:
    run_state_machine_as_test(
        StoreTrading,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
