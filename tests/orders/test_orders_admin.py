"""The selling admin: view only for everyone, managers limited to their stores, searchable by
number, filterable by store/date/cashier/status."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from orders.models import CashMovement, Order, Refund, Return, Shift
from orders.services.refunds import RefundLineRequest, refund_create
from orders.services.returns import ReturnLineRequest, return_create
from orders.services.shifts import cash_movement_create, shift_close, shift_open
from tests.catalog.factories import set_stock
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory
from tests.orders.selling import sell

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores(store, other_store, cashier, manager, product):
    """An order, refund, return without receipt, shift and cash movement in each store."""
    set_stock(other_store, product, 100)
    rows = {}
    for shop, seller in ((store, cashier), (other_store, CashierFactory(stores=[other_store]))):
        register = RegisterFactory(store=shop, code=f"T{shop.pk}")
        shift = shift_open(register=register, opening_float=D("10.00"), user=seller)
        cash_movement_create(shift=shift, kind="in", amount=D("5.00"), reason="coins", user=seller)
        order = sell(seller, register, [(product, "2")], [("cash", "10.80")])
        refund = refund_create(
            order=order,
            lines=[RefundLineRequest(line_id=order.lines.get().pk, quantity=D("1"))],
            restock=True,
            reason="",
            user=ManagerFactory(stores=[shop]),
        )
        returned = return_create(
            user=ManagerFactory(stores=[shop]),
            register_id=register.pk,
            lines=[ReturnLineRequest(product_id=product.pk, quantity=D("1"))],
            tenders=None,
            restock=True,
            reason="no receipt",
        )
        rows[shop.pk] = {"order": order, "refund": refund, "shift": shift, "return": returned}
    return rows


@pytest.fixture(autouse=True)
def _role_groups(manager, admin_user) -> None:
    """The admin authorises by model permissions, which users get through their role's group
    (the user services keep that membership; factories bypass them)."""
    for user in (manager, admin_user):
        user.groups.set([Group.objects.get(name=user.role)])


def changelist(model) -> str:
    return reverse(f"admin:orders_{model._meta.model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:orders_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("model", [Order, Refund, Return, Shift, CashMovement])
def test_manager_sees_only_their_stores_rows(
    client, manager, store, other_store, two_stores, model
):
    client.force_login(manager)

    response = client.get(changelist(model))

    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    expected = set(
        model.objects.filter(
            **({"shift__store": store} if model is CashMovement else {"store": store})
        ).values_list("pk", flat=True)
    )
    assert shown == expected
    assert shown


def test_admin_sees_every_store(client, admin_user, two_stores) -> None:
    client.force_login(admin_user)
    response = client.get(changelist(Order))
    assert response.context["cl"].result_count == 2


def test_other_stores_order_is_not_found_for_a_manager(client, manager, other_store, two_stores):
    client.force_login(manager)
    foreign = two_stores[other_store.pk]["order"]
    response = client.get(change(foreign))
    # the admin redirects to its index with "doesn't exist" for rows outside the queryset
    assert response.status_code == 302
    assert foreign.number.encode() not in client.get(response.url).content


def test_order_page_is_read_only_with_lines_payments_and_refunds(
    client, manager, store, two_stores
) -> None:
    client.force_login(manager)
    order = two_stores[store.pk]["order"]

    response = client.get(change(order))

    assert response.status_code == 200
    page = response.content.decode()
    assert order.number in page
    assert two_stores[store.pk]["refund"].number in page
    assert order.lines.get().sku in page
    assert 'name="_save"' not in page
    assert response.context["has_change_permission"] is False


@pytest.mark.parametrize("model", [Order, Refund, Return, Shift, CashMovement])
def test_nobody_adds_changes_or_deletes(client, admin_user, store, two_stores, model) -> None:
    client.force_login(admin_user)
    obj = model.objects.first()
    add = reverse(f"admin:orders_{model._meta.model_name}_add")
    delete = reverse(f"admin:orders_{model._meta.model_name}_delete", args=[obj.pk])

    assert client.get(add).status_code == 403
    assert client.get(delete).status_code == 403
    assert client.post(change(obj), {}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_search_by_number_and_filters(client, manager, store, cashier, two_stores) -> None:
    client.force_login(manager)
    order = two_stores[store.pk]["order"]
    refund = two_stores[store.pk]["refund"]

    found = client.get(changelist(Order), {"q": order.number})
    assert [o.pk for o in found.context["cl"].result_list] == [order.pk]
    assert client.get(changelist(Order), {"q": "no-such"}).context["cl"].result_count == 0
    by_refund = client.get(changelist(Refund), {"q": refund.number})
    assert [r.pk for r in by_refund.context["cl"].result_list] == [refund.pk]
    for params in (
        {"status__exact": "partially_refunded"},
        {"cashier__id__exact": cashier.pk},
        {"store__id__exact": store.pk},
        {"created_at__year": str(timezone.localtime(order.created_at).year)},
    ):
        response = client.get(changelist(Order), params)
        assert response.status_code == 200
        assert [o.pk for o in response.context["cl"].result_list] == [order.pk], params
    assert (
        client.get(changelist(Order), {"status__exact": "refunded"}).context["cl"].result_count == 0
    )


def test_store_filter_offers_only_visible_stores(client, manager, store, other_store, two_stores):
    client.force_login(manager)
    response = client.get(changelist(Order))
    page = response.content.decode()
    assert store.name in page
    assert other_store.name not in page


def test_cashiers_have_no_admin(client, cashier, two_stores) -> None:
    client.force_login(cashier)
    response = client.get(changelist(Order))
    assert response.status_code == 302
    assert "/login/" in response.url


# --- The manager's back office (issue 14, item 14) ----------------------------------------------


NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def in_new_york(value: dt.datetime) -> str:
    """How the admin names a time of a New York store's record."""
    return value.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S %Z") + " (America/New_York)"


AT = dt.datetime(2026, 12, 3, 12, 34, 12, tzinfo=dt.UTC)  # 07:34:12 EST in New York


def test_store_scoped_times_are_shown_in_the_stores_time_zone(
    client, manager, store, two_stores
) -> None:
    rows = two_stores[store.pk]
    Order.objects.filter(pk=rows["order"].pk).update(created_at=AT)
    Refund.objects.filter(pk=rows["refund"].pk).update(created_at=AT)
    Shift.objects.filter(pk=rows["shift"].pk).update(opened_at=AT)
    CashMovement.objects.filter(shift=rows["shift"]).update(created_at=AT)
    client.force_login(manager)
    shown = "2026-12-03 07:34:12 EST (America/New_York)"

    for obj in (rows["order"], rows["refund"], rows["shift"], CashMovement.objects.first()):
        model = type(obj)
        listing = client.get(changelist(model)).content.decode()
        assert shown in listing, model
        assert "12:34" not in listing, model
        page = client.get(change(obj)).content.decode()
        assert shown in page, model
    # The shift page's cash movements and the order page's refunds (inlines) too.
    assert client.get(change(rows["shift"])).content.decode().count(shown) >= 2
    assert client.get(change(rows["order"])).content.decode().count(shown) >= 2


def test_ledger_audit_and_stock_times_are_store_local(
    client, manager, admin_user, store, two_stores
) -> None:
    from audit.models import AuditEvent
    from catalog.models import StockLevel, StockMovement
    from ledger.models import JournalEntry

    movement = StockMovement.objects.filter(store=store).first()
    level = StockLevel.objects.filter(store=store).first()
    entry = JournalEntry.objects.filter(store=store).first()
    event = AuditEvent.objects.filter(store_id=store.pk).first()
    from audit.services import audit_record

    login_event = audit_record(action="test.storeless", store_id=None)
    assert login_event is not None
    client.force_login(manager)

    for obj, value in (
        (movement, movement.created_at),
        (level, level.updated_at),
        (entry, entry.created_at),
        (event, event.at),
    ):
        opts = obj._meta
        listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert in_new_york(value) in listing.content.decode(), opts.model_name
        if obj is level:
            continue  # its page shows no time
        page = client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )
        assert in_new_york(value) in page.content.decode(), opts.model_name

    # An event outside any store is shown in UTC, named.
    client.force_login(admin_user)
    page = client.get(reverse("admin:audit_auditevent_change", args=[login_event.pk]))
    assert login_event.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") in (
        page.content.decode()
    )


def test_site_header_names_the_product(client, manager) -> None:
    client.force_login(manager)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Django administration" not in page
    assert "POS backend administration" in page


def test_order_page_links_its_refunds_and_receipt(client, manager, store, two_stores) -> None:
    client.force_login(manager)
    order = two_stores[store.pk]["order"]
    refund = two_stores[store.pk]["refund"]

    page = client.get(change(order)).content.decode()

    assert change(refund) in page
    receipt_url = reverse("admin:orders_order_receipt", args=[order.pk])
    assert receipt_url in page
    receipt = client.get(receipt_url)
    assert receipt.status_code == 200
    assert receipt["Content-Type"] == "text/plain; charset=utf-8"
    assert order.number in receipt.content.decode()
    html = client.get(receipt_url, {"format": "html"})
    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert order.number in html.content.decode()


def test_receipt_of_another_stores_order_is_404(client, manager, other_store, two_stores) -> None:
    client.force_login(manager)
    foreign = two_stores[other_store.pk]["order"]
    assert client.get(reverse("admin:orders_order_receipt", args=[foreign.pk])).status_code == 404


def refund_url(order) -> str:
    return reverse("admin:orders_order_refund", args=[order.pk])


def test_manager_refunds_an_order_through_the_service(client, manager, store, two_stores) -> None:
    from audit.models import AuditEvent
    from ledger.models import JournalEntry

    client.force_login(manager)
    order = two_stores[store.pk]["order"]
    line = order.lines.get()
    assert refund_url(order) in client.get(change(order)).content.decode()
    form = client.get(refund_url(order))
    assert form.status_code == 200
    assert "csrfmiddlewaretoken" in form.content.decode()

    response = client.post(
        refund_url(order),
        {f"line_{line.pk}": "1", "restock": "on", "reason": "broken seal"},
        follow=True,
    )

    assert response.status_code == 200
    refund = Refund.objects.filter(order=order).latest("id")
    assert refund.reason == "broken seal"
    assert refund.created_by == manager
    assert refund.number in response.content.decode()  # the success message
    order.refresh_from_db()
    assert order.status == "refunded"
    assert JournalEntry.objects.filter(source="refund", source_id=refund.pk).exists()
    assert AuditEvent.objects.filter(
        action="order.refunded", object_id=str(order.pk), changes__refund=refund.pk
    ).exists()


def test_refund_problems_show_the_domain_error(client, manager, store, two_stores) -> None:
    client.force_login(manager)
    order = two_stores[store.pk]["order"]
    line = order.lines.get()

    too_much = client.post(refund_url(order), {f"line_{line.pk}": "5", "reason": ""})
    assert too_much.status_code == 200
    assert Refund.objects.filter(order=order).count() == 1
    assert "more than is left to refund" in too_much.content.decode()

    shift_close(shift=two_stores[store.pk]["shift"], counted_cash=D("0.00"), user=manager)
    closed = client.post(refund_url(order), {f"line_{line.pk}": "1", "reason": ""}, follow=True)
    assert closed.status_code == 200
    assert "no open shift" in closed.content.decode()
    assert Refund.objects.filter(order=order).count() == 1


def test_refund_action_is_for_managers_of_the_orders_store(
    client, admin_user, manager, store, other_store, two_stores
) -> None:
    foreign = two_stores[other_store.pk]["order"]
    client.force_login(manager)
    assert client.get(refund_url(foreign)).status_code == 404
    line = foreign.lines.get()
    assert client.post(refund_url(foreign), {f"line_{line.pk}": "1"}).status_code == 404

    client.force_login(CashierFactory(stores=[store]))
    mine = two_stores[store.pk]["order"]
    response = client.post(refund_url(mine), {f"line_{mine.lines.get().pk}": "1"})
    assert response.status_code == 302
    assert "/login/" in response.url
    assert Refund.objects.count() == 2


def test_orders_export_as_csv_filtered_scoped_and_escaped(
    client, manager, store, other_store, two_stores
) -> None:
    order = two_stores[store.pk]["order"]
    Order.objects.filter(pk=order.pk).update(created_at=AT)
    cashier = order.cashier
    type(cashier).objects.filter(pk=cashier.pk).update(username="=HYPERLINK(1)")
    client.force_login(manager)
    export = reverse("admin:orders_order_export")
    assert export in client.get(changelist(Order)).content.decode()

    response = client.get(export, {"status__exact": "partially_refunded"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "number",
        "store",
        "register",
        "cashier",
        "status",
        "created_at",
        "time_zone",
        "currency",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "paid_total",
        "refunded_total",
    ]
    assert len(rows) == 2  # the other store's order is not there
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["number"] == order.number
    assert row["store"] == store.code
    assert row["cashier"] == "'=HYPERLINK(1)"
    assert row["created_at"] == "2026-12-03T07:34:12-05:00"
    assert row["time_zone"] == "America/New_York"
    # In the store currency's minor units (USD: two), not the column's three.
    assert row["total"] == f"{order.total:.2f}"
    assert row["refunded_total"] == f"{Order.objects.get(pk=order.pk).refunded_total:.2f}"

    none = client.get(export, {"status__exact": "refunded"})
    assert len(list(csv.reader(io.StringIO(b"".join(none.streaming_content).decode())))) == 1


def test_refund_form_is_csrf_protected(manager, store, two_stores) -> None:
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)
    order = two_stores[store.pk]["order"]

    response = browser.post(refund_url(order), {f"line_{order.lines.get().pk}": "1"})

    assert response.status_code == 403
    assert Refund.objects.filter(order=order).count() == 1


def test_a_voided_order_shows_its_void_read_only_and_no_refund_link(
    client, manager, store, cashier, product
) -> None:
    from orders.services.voids import order_void

    register = RegisterFactory(store=store, code="V1")
    shift_open(register=register, opening_float=D("0"), user=cashier)
    order = sell(cashier, register, [(product, "1")], [("card", "5.40")])
    order_void(order=order, reason="customer changed mind", user=manager)
    client.force_login(manager)

    response = client.get(change(order))

    assert response.status_code == 200
    page = response.content.decode()
    assert order.number in page
    assert "customer changed mind" in page
    assert "Voided" in page
    assert manager.username in page
    assert reverse("admin:orders_order_refund", args=[order.pk]) not in page
    assert 'name="_save"' not in page
    listed = client.get(changelist(Order), {"status__exact": "voided"}).content.decode()
    assert order.number in listed


def test_a_return_page_is_read_only_with_its_lines(client, manager, store, two_stores) -> None:
    client.force_login(manager)
    returned = two_stores[store.pk]["return"]

    page = client.get(change(returned))

    assert page.status_code == 200
    assert returned.number.encode() in page.content
    assert b"no receipt" in page.content
    assert not page.context["has_change_permission"]
    assert client.post(change(returned), {}).status_code == 403
