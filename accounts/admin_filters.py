"""Admin filter sidebars that name only the stores the user may see: a manager of one store
must not learn every other store's code and name from a "By store" filter. Admins see all."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.selectors import visible_store_ids


class OwnStoresListFilter(admin.RelatedFieldListFilter):
    """`list_filter = (("store", OwnStoresListFilter),)` on a foreign key or many-to-many to
    `Store`: the choices are the user's stores."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        ids = visible_store_ids(request.user)  # type: ignore[arg-type]
        if ids is None:
            return super().field_choices(field, request, model_admin)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, ordering=ordering, limit_choices_to={"pk__in": ids}
        )
