"""`manage.py seed_demo`: a store ready to sell, for `make run` and for trying the API.

Creates, through the same services as the API (so catalog versions, stock movements, journal
entries and audit events are all there): store `MAIN` (USD, America/New_York, tax-exclusive),
registers R1 and R2, two tax rates, six categories, 36 products with SKUs, EAN-13 barcodes,
prices, costs and opening stock, and the users `admin`, `manager` and `cashier`.

Idempotent: everything is looked up by its natural key (store code, register code, tax-rate and
category name, SKU, username) and only what is missing is created, so a second run creates
nothing. A product and its opening stock are created in one transaction.

Passwords. The demo users get random passwords, printed once when they are created; nothing
stores them in clear. A later run says the users exist; `--reset-passwords` gives them new random
passwords and prints those. `--demo-passwords` sets fixed, documented passwords instead (handy
for scripts), and is refused unless `DJANGO_DEBUG` is on, so that no server that might be
reachable ever runs with a password printed in this file.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Register, Role, Store, User
from accounts.services import register_create, store_create, user_create, user_set_password
from catalog.models import Category, Product, StockReason, TaxRate
from catalog.services import category_create, product_create, stock_adjust, tax_rate_create

STORE_CODE = "MAIN"
REGISTERS = (("R1", "Register 1"), ("R2", "Register 2"))
TAX_RATES = (("Standard", Decimal("8.250")), ("Zero", Decimal("0.000")))

# Fixed passwords for `--demo-passwords` (DEBUG only). They pass Django's password validators.
DEMO_PASSWORDS = {
    "admin": "keys-to-the-shop-1",
    "manager": "back-office-ledger-2",
    "cashier": "front-till-receipt-3",
}
USERS = (("admin", Role.ADMIN), ("manager", Role.MANAGER), ("cashier", Role.CASHIER))


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str
    price: str
    cost: str
    tax: str
    stock: str | None  # opening quantity; None: the product does not track stock


# fmt: off
PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct("BEV-001", "Cola 330 ml", "Beverages", "1.49", "0.55", "Standard", "120"),
    DemoProduct("BEV-002", "Diet Cola 330 ml", "Beverages", "1.49", "0.55", "Standard", "96"),
    DemoProduct("BEV-003", "Seltzer Water 500 ml", "Beverages", "0.99", "0.30", "Standard", "144"),
    DemoProduct("BEV-004", "Orange Juice 1 l", "Beverages", "3.49", "1.60", "Standard", "40"),
    DemoProduct("BEV-005", "Cold Brew 250 ml", "Beverages", "3.99", "1.40", "Standard", "36"),
    DemoProduct("BEV-006", "Green Tea 500 ml", "Beverages", "1.99", "0.70", "Standard", "48"),
    DemoProduct("BAK-001", "Sourdough Loaf", "Bakery", "4.99", "1.80", "Zero", "20"),
    DemoProduct("BAK-002", "Baguette", "Bakery", "2.49", "0.80", "Zero", "30"),
    DemoProduct("BAK-003", "Butter Croissant", "Bakery", "1.79", "0.55", "Zero", "40"),
    DemoProduct("BAK-004", "Blueberry Muffin", "Bakery", "2.29", "0.70", "Zero", "24"),
    DemoProduct("BAK-005", "Bagels, 6 pack", "Bakery", "3.99", "1.30", "Zero", "18"),
    DemoProduct("BAK-006", "Cinnamon Roll", "Bakery", "2.49", "0.75", "Zero", "24"),
    DemoProduct("DAI-001", "Whole Milk 1 gal", "Dairy", "3.79", "2.10", "Zero", "30"),
    DemoProduct("DAI-002", "Greek Yogurt 500 g", "Dairy", "4.49", "2.00", "Zero", "24"),
    DemoProduct("DAI-003", "Cheddar 8 oz", "Dairy", "4.99", "2.40", "Zero", "20"),
    DemoProduct("DAI-004", "Butter 1 lb", "Dairy", "5.49", "2.80", "Zero", "20"),
    DemoProduct("DAI-005", "Large Eggs, dozen", "Dairy", "3.29", "1.70", "Zero", "36"),
    DemoProduct("DAI-006", "Oat Milk 64 oz", "Dairy", "4.29", "2.00", "Zero", "18"),
    DemoProduct("PRO-001", "Bananas (per lb)", "Produce", "0.69", "0.25", "Zero", "80.000"),
    DemoProduct("PRO-002", "Gala Apples (per lb)", "Produce", "1.99", "0.90", "Zero", "55.500"),
    DemoProduct("PRO-003", "Avocado", "Produce", "1.49", "0.60", "Zero", "40"),
    DemoProduct("PRO-004", "Vine Tomatoes (per lb)", "Produce", "2.99", "1.20", "Zero", "30.250"),
    DemoProduct("PRO-005", "Baby Spinach 5 oz", "Produce", "3.49", "1.50", "Zero", "16"),
    DemoProduct("PRO-006", "Lemon", "Produce", "0.79", "0.25", "Zero", "60"),
    DemoProduct("SNK-001", "Potato Chips 8 oz", "Snacks", "3.99", "1.50", "Standard", "40"),
    DemoProduct("SNK-002", "Dark Chocolate Bar", "Snacks", "2.99", "1.10", "Standard", "50"),
    DemoProduct("SNK-003", "Trail Mix 10 oz", "Snacks", "5.99", "2.60", "Standard", "24"),
    DemoProduct("SNK-004", "Pretzels 16 oz", "Snacks", "3.49", "1.20", "Standard", "30"),
    DemoProduct("SNK-005", "Granola Bar", "Snacks", "1.29", "0.45", "Standard", "100"),
    DemoProduct("SNK-006", "Salted Peanuts 12 oz", "Snacks", "3.29", "1.25", "Standard", "30"),
    DemoProduct("HOU-001", "Paper Towels, 6 rolls", "Household", "8.99", "4.50", "Standard", "20"),
    DemoProduct("HOU-002", "Dish Soap 24 oz", "Household", "3.49", "1.40", "Standard", "24"),
    DemoProduct("HOU-003", "Trash Bags, 30 count", "Household", "9.49", "4.20", "Standard", "16"),
    DemoProduct("HOU-004", "AA Batteries, 4 pack", "Household", "5.99", "2.80", "Standard", "30"),
    DemoProduct("HOU-005", "Reusable Tote Bag", "Household", "1.99", "0.60", "Standard", "50"),
    DemoProduct("HOU-006", "Paper Bag", "Household", "0.10", "0.03", "Standard", None),
)
# fmt: on


def ean13(item_number: int) -> str:
    """An EAN-13 in the 200–299 "in-store" prefix range (never clashes with a real product),
    with its check digit."""
    body = f"200{item_number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _random_password(user: User) -> str:
    while True:
        candidate = secrets.token_urlsafe(12)
        try:
            password_validation.validate_password(candidate, user=user)
        except ValidationError:
            continue
        return candidate


class Command(BaseCommand):
    help = "Load the demo store, registers, catalog, stock and users (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the existing demo users new random passwords and print them.",
        )
        parser.add_argument(
            "--demo-passwords",
            action="store_true",
            help="Use the fixed, documented demo passwords (only with DJANGO_DEBUG on).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fixed = bool(options["demo_passwords"])
        if fixed and not settings.DEBUG:
            raise CommandError("--demo-passwords is refused unless DJANGO_DEBUG is on.")
        self.created: dict[str, int] = {}

        store = self._store()
        self._registers(store)
        tax_rates = self._tax_rates()
        categories = self._categories()
        self._products(store, tax_rates, categories)
        logins = self._users(store, fixed=fixed, reset=bool(options["reset_passwords"]))

        made = ", ".join(f"{count} {what}" for what, count in self.created.items() if count)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data: created {made}.")
            if made
            else "Demo data already present: nothing created."
        )
        self._print_logins(logins)

    # --- pieces ---------------------------------------------------------------------------------

    def _count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n

    def _store(self) -> Store:
        store = Store.objects.filter(code=STORE_CODE).first()
        if store is None:
            store = store_create(
                actor=None,
                code=STORE_CODE,
                name="Main Street",
                currency="USD",
                timezone="America/New_York",
                prices_include_tax=False,
                allow_negative_stock=False,
            )
            self._count("store")
        return store

    def _registers(self, store: Store) -> None:
        existing = set(Register.objects.filter(store=store).values_list("code", flat=True))
        for code, name in REGISTERS:
            if code not in existing:
                register_create(actor=None, store=store, code=code, name=name)
                self._count("registers")

    def _tax_rates(self) -> dict[str, TaxRate]:
        rates = {rate.name: rate for rate in TaxRate.objects.all()}
        for name, rate in TAX_RATES:
            if name not in rates:
                rates[name] = tax_rate_create(user=None, name=name, rate=rate)
                self._count("tax rates")
        return rates

    def _categories(self) -> dict[str, Category]:
        categories = {c.name: c for c in Category.objects.filter(parent__isnull=True)}
        for name in dict.fromkeys(p.category for p in PRODUCTS):
            if name not in categories:
                categories[name] = category_create(user=None, name=name)
                self._count("categories")
        return categories

    def _products(
        self, store: Store, tax_rates: dict[str, TaxRate], categories: dict[str, Category]
    ) -> None:
        existing = set(Product.objects.values_list("sku", flat=True))
        for number, item in enumerate(PRODUCTS, start=1):
            if item.sku in existing:
                continue
            with transaction.atomic():
                product = product_create(
                    user=None,
                    sku=item.sku,
                    name=item.name,
                    price=Decimal(item.price),
                    cost=Decimal(item.cost),
                    tax_rate=tax_rates[item.tax],
                    barcode=ean13(number),
                    category=categories[item.category],
                    track_stock=item.stock is not None,
                )
                if item.stock is not None:
                    stock_adjust(
                        store=store,
                        product=product,
                        quantity_delta=Decimal(item.stock),
                        reason=StockReason.RECEIVE,
                        note="Demo opening stock",
                        user=None,
                    )
            self._count("products")

    def _users(self, store: Store, *, fixed: bool, reset: bool) -> list[tuple[str, str, str]]:
        """(username, role, password or a note) for the table at the end."""
        logins: list[tuple[str, str, str]] = []
        for username, role in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                email = f"{username}@demo.invalid"
                password = (
                    DEMO_PASSWORDS[username]
                    if fixed
                    else _random_password(User(username=username, email=email))
                )
                user = user_create(
                    actor=None,
                    username=username,
                    password=password,
                    role=role,
                    stores=[store],
                    email=email,
                )
                self._count("users")
                logins.append((username, user.role, password))
            elif fixed or reset:
                password = DEMO_PASSWORDS[username] if fixed else _random_password(user)
                user_set_password(actor=None, user=user, password=password)
                logins.append((username, user.role, password))
            else:
                logins.append((username, user.role, ""))
        return logins

    def _print_logins(self, logins: list[tuple[str, str, str]]) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo logins (store MAIN):"))
        shown = False
        for username, role, password in logins:
            if password:
                shown = True
                self.stdout.write(f"  {role:<8} username: {username:<8} password: {password}")
            else:
                self.stdout.write(
                    f"  {role:<8} username: {username:<8} password: (unchanged; printed when "
                    "it was created)"
                )
        if shown:
            self.stdout.write(
                "  These passwords are shown only now: nothing stores them in clear text."
            )
        self.stdout.write(
            "  New random passwords: .venv/bin/python manage.py seed_demo --reset-passwords"
        )
        self.stdout.write("")
