"""Django admin for users, stores and registers. Saves go through `accounts.services`, so the
admin obeys the same rules as the API:

* admins see and edit everyone, but never their own role, stores or active flag;
* managers see and edit only the cashiers of their stores, may assign only their own stores
  (a cashier's other stores are kept), and can never grant admin or manager; a cashier's
  password, username and active flag only when all of the cashier's stores are theirs;
* stores are edited by admins (managers see their own, read-only); registers by admins and by
  managers of the register's store.

Nobody deletes users, stores or registers here: orders and the audit trail refer to them.
Deactivate instead.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, BaseUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts import services
from accounts.admin_filters import OwnStoresListFilter
from accounts.models import Register, Role, Store, User
from accounts.selectors import register_list, store_list, user_list, visible_store_ids
from posproject.admin import FreeTextAdminMixin

# The admin user behind the current password-change request (ModelAdmin instances are shared
# between threads, so the actor cannot live on `self`).
_password_actor: ContextVar[User | None] = ContextVar("password_actor", default=None)


def _is_admin(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_admin", False))


def _is_manager(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and getattr(user, "role", None) == Role.MANAGER)


# --- Users --------------------------------------------------------------------------------------


class UserAddForm(BaseUserCreationForm):
    class Meta(BaseUserCreationForm.Meta):  # type: ignore[name-defined]  # stubs: no Meta
        model = User
        fields = ("username", "role", "stores")


class UserChangeForm(DjangoUserChangeForm):
    class Meta(DjangoUserChangeForm.Meta):  # type: ignore[name-defined]  # stubs: no Meta
        model = User
        fields = "__all__"


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """Saves through `user_set_password`: audited, and every token of the user revoked."""

    def save(self, commit: bool = True) -> Any:
        usable = self.cleaned_data.get("set_usable_password", True)
        services.user_set_password(
            actor=_password_actor.get(),
            user=self.user,
            password=self.cleaned_data["password1"] if usable else None,
        )
        return self.user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    change_password_form = ServicePasswordChangeForm
    list_display = ("username", "role", "store_codes", "is_active", "last_login")
    list_filter = ("role", "is_active", ("stores", OwnStoresListFilter))
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("id",)
    filter_horizontal = ("stores",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role and stores", {"fields": ("role", "stores", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "password1", "password2", "role", "stores"),
            },
        ),
    )

    @admin.display(description="stores")
    def store_codes(self, obj: User) -> str:
        return ", ".join(store.code for store in obj.stores.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return user_list(user=request.user)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            fields += ["role", "stores", "is_active"]
        elif obj is not None and not _is_admin(request):
            fields += ["role"]
            if not services.user_credentials_changeable(actor=request.user, user=obj):  # type: ignore[arg-type]
                fields += ["username", "is_active"]
        return fields

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "role" and not _is_admin(request):
            kwargs["choices"] = [(Role.CASHIER.value, Role.CASHIER.label)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "stores":
            kwargs["queryset"] = store_list(user=request.user)  # type: ignore[arg-type]
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        actor: User = request.user  # type: ignore[assignment]
        if not change:
            user = services.user_create(
                actor=actor,
                username=data["username"],
                password=data.get("password1") or None,
                role=data.get("role") or Role.CASHIER,
                stores=list(data.get("stores") or []),
            )
        else:
            updates: dict[str, Any] = {
                field: data[field]
                for field in ("username", "first_name", "last_name", "email", "role", "is_active")
                if field in form.changed_data
            }
            if "stores" in form.changed_data:
                chosen = {store.pk for store in data["stores"]}
                mine = visible_store_ids(actor)
                if mine is not None:
                    # A manager's form lists only their stores; keep the cashier's others.
                    others = set(obj.stores.exclude(pk__in=mine).values_list("id", flat=True))
                    chosen |= others
                updates["stores"] = chosen
            current = User.objects.get(pk=obj.pk)
            user = services.user_update(actor=actor, user=current, **updates)
        # Let the admin continue (redirect, change log) with the saved row.
        obj.pk = user.pk
        obj._state.adding = False
        obj._state.db = user._state.db
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Stores and groups were set by the service; only inline formsets (none today) remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        user = self.get_object(request, unquote(id))
        if user is not None and not services.user_credentials_changeable(
            actor=request.user,  # type: ignore[arg-type]
            user=user,
        ):
            raise PermissionDenied
        token = _password_actor.set(request.user)  # type: ignore[arg-type]
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)


# --- Stores and registers -----------------------------------------------------------------------


@admin.register(Store)
class StoreAdmin(FreeTextAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "currency", "timezone", "prices_include_tax")
    search_fields = ("code", "name")
    ordering = ("id",)
    fields = services.STORE_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Store]:
        return store_list(user=request.user)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Store, form: forms.ModelForm, change: bool
    ) -> None:
        data = {field: form.cleaned_data[field] for field in self.fields}
        if change:
            store = services.store_update(actor=request.user, store=obj, **data)  # type: ignore[arg-type]
        else:
            store = services.store_create(actor=request.user, **data)  # type: ignore[arg-type]
        obj.pk = store.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(Register)
class RegisterAdmin(FreeTextAdminMixin, admin.ModelAdmin):
    list_display = ("code", "store", "name", "is_active")
    list_filter = (("store", OwnStoresListFilter), "is_active")
    search_fields = ("code", "name")
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Register]:
        return register_list(user=request.user)  # type: ignore[arg-type]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("store", "code", "name", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A register never moves to another store.
        return ("store",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "store":
            kwargs["queryset"] = store_list(user=request.user)  # type: ignore[arg-type]
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Register, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            register = services.register_update(
                actor=request.user,  # type: ignore[arg-type]
                register=obj,
                **{f: data[f] for f in ("code", "name", "is_active") if f in form.changed_data},
            )
        else:
            register = services.register_create(
                actor=request.user,  # type: ignore[arg-type]
                store=data["store"],
                code=data["code"],
                name=data.get("name", ""),
                is_active=data.get("is_active", True),
            )
        obj.pk = register.pk
        obj._state.adding = False
        obj.refresh_from_db()
