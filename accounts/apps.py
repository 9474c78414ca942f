from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save


def _sync_role_groups_after_migrate(
    sender: AppConfig, apps: Any = global_apps, **kwargs: Any
) -> None:
    """Re-sync the role groups once per `migrate` (or test flush), after the last app's
    permissions exist. Django creates permissions from a post-migrate hook too, so a data
    migration alone cannot see the permissions of models that other apps add later."""
    with_models = [c for c in global_apps.get_app_configs() if c.models_module is not None]
    if not with_models or sender.label != with_models[-1].label:
        return
    from accounts.roles import sync_role_groups

    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:
        return
    sync_role_groups(group_model=group_model, permission_model=permission_model)


def _invalidate_cached_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A user changed (saved, deleted, stores changed): authentication must not serve their
    cached row any more (see `accounts.authentication`)."""
    from accounts.authentication import invalidate_user

    action = kwargs.get("action")
    if action is None:  # post_save / post_delete of a user
        invalidate_user(instance.pk)
    elif not kwargs.get("reverse"):  # `user.stores.add/remove/set/clear`
        if action.startswith("post_"):
            invalidate_user(instance.pk)
    elif action in ("post_add", "post_remove"):  # `store.users.add/remove`
        for user_id in kwargs.get("pk_set") or ():
            invalidate_user(user_id)
    elif action == "pre_clear":  # `store.users.clear()`: the members, while they are known
        for user_id in instance.users.values_list("pk", flat=True):
            invalidate_user(user_id)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and stores"

    def ready(self) -> None:
        post_migrate.connect(
            _sync_role_groups_after_migrate, dispatch_uid="accounts.sync_role_groups"
        )
        user_model: Any = self.get_model("User")
        for signal in (post_save, post_delete):
            signal.connect(
                _invalidate_cached_user, sender=user_model, dispatch_uid="accounts.auth_cache"
            )
        m2m_changed.connect(
            _invalidate_cached_user,
            sender=user_model.stores.through,
            dispatch_uid="accounts.auth_cache_stores",
        )
