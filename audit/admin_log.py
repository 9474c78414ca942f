"""Changes made through the Django admin join the audit trail as `admin.add`, `admin.change`
and `admin.delete` events (object type `app_label.model`, the object id, its repr and the admin's
change message — field names only, never values, so no secret can leak through it).

Why a `post_save` receiver on `LogEntry` rather than a `ModelAdmin` mixin: every admin writes a
`LogEntry` for each add/change/delete, including the admins of other apps and of third-party
packages, so one receiver covers all of them without each admin class opting in. It runs inside
the admin view's transaction (`changeform_view` and `delete_view` are atomic), so the event
commits with the change. (Business services never rely on signals; they call `audit_record`
themselves — the admin is Django's code, and `LogEntry` is its own explicit audit hook.)

The one path that writes `LogEntry` rows without a signal is the bulk "delete selected" action
(`bulk_create` for more than one object); `audit.admin` replaces that site-wide action with
`audited_delete_selected`, which records those deletions itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy

from audit.services import audit_record

ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def _store_id(obj: Model | None) -> int | None:
    """Store-scoped objects (a register, a stock level …) go to their store's chain, so the
    store's managers see them; everything else to the chain outside any store."""
    store_id = getattr(obj, "store_id", None)
    return store_id if isinstance(store_id, int) else None


def _record(
    *,
    action: str,
    actor_id: int | None,
    object_type: str,
    object_id: str,
    object_repr: str,
    message: str,
    store_id: int | None,
) -> None:
    audit_record(
        action=action,
        actor=actor_id,
        store_id=store_id,
        object_type=object_type,
        object_id=object_id,
        changes={"object": object_repr, "message": message},
    )


def record_log_entry(
    sender: type[LogEntry], instance: LogEntry, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not created or raw or instance.action_flag not in ACTIONS:
        return
    content_type = instance.content_type
    obj = None
    if content_type is not None:
        try:
            obj = instance.get_edited_object()
        except Exception:  # noqa: BLE001 - a vanished object still gets its event, without store
            obj = None
    _record(
        action=ACTIONS[instance.action_flag],
        actor_id=instance.user_id,
        object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        object_id=instance.object_id or "",
        object_repr=instance.object_repr,
        message=str(instance.get_change_message()),
        store_id=_store_id(obj),
    )


@admin.action(
    permissions=["delete"],
    description=gettext_lazy("Delete selected %(verbose_name_plural)s"),
)
def audited_delete_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> HttpResponse | None:
    """Django's `delete_selected`, plus an `admin.delete` event per object when it deletes more
    than one (a single deletion's `LogEntry` is saved normally and reaches `record_log_entry`)."""
    confirmed = bool(request.POST.get("post"))
    targets = (
        [(str(obj.pk), str(obj)[:200], _store_id(obj)) for obj in queryset] if confirmed else []
    )
    opts = modeladmin.model._meta
    with transaction.atomic():
        response = django_delete_selected(modeladmin, request, queryset)
        if confirmed and response is None and len(targets) > 1:
            for object_id, object_repr, store_id in targets:
                _record(
                    action=ACTIONS[DELETION],
                    actor_id=request.user.pk,
                    object_type=f"{opts.app_label}.{opts.model_name}",
                    object_id=object_id,
                    object_repr=object_repr,
                    message="Deleted (bulk action).",
                    store_id=store_id,
                )
    return response
