"""The append-only, hash-chained audit trail.

`audit` depends on no other domain app: the store is kept as a plain id and the actor through
`AUTH_USER_MODEL`. One chain per store; outside any store one chain per user (`-user_id`) and 64
shards for failed logins by username (`audit.chains`), so unrelated logins never queue on one
row; chain 0 keeps events written before that and system events. Each chain has a head row that
the appender locks as late in its transaction as it can, created on the chain's first event.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from audit.exceptions import ImmutableAuditEvent

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first event of every chain."""

OUTSIDE_ANY_STORE = 0
"""The chain of events that belong to no store, no user and no username (system work), and of
every event outside any store written before `audit.chains` spread those over user chains."""


class AuditEventQuerySet(models.QuerySet):
    """Refuses the bulk write paths: the trail is append-only."""

    def update(self, **kwargs: Any) -> int:
        raise ImmutableAuditEvent("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableAuditEvent("Audit events are append-only.")

    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise ImmutableAuditEvent("Audit events are append-only.")

    def for_chain(self, chain: int) -> AuditEventQuerySet:
        return self.filter(chain=chain).order_by("id")


class AuditEvent(models.Model):
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=True,
    )
    action = models.CharField(max_length=64, db_index=True)
    store_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    chain = models.BigIntegerField(
        help_text="The store id; outside any store -user_id (an event about a user), "
        "-10**18 - k (a failed login's username shard k, 0-63) or 0 (none of those, or "
        "written before per-user chains)."
    )
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    # Not unique: a unique index on a partitioned table must include the partition key (`at`),
    # which would make it meaningless. The chain itself catches a duplicated event (its
    # `prev_hash` cannot link), and verification checks every link.
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(fields=("chain", "id"), name="auditevent_chain"),
            models.Index(fields=("store_id", "id"), name="auditevent_store_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableAuditEvent(f"Audit event {self.pk} is append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableAuditEvent(f"Audit event {self.pk} is append-only.")


class AuditChainAnchor(models.Model):
    """The first event of a chain in one month (UTC, the month of its `at`, which is the month
    partition it sits in), written by the append statement itself. The events between one
    anchor and the chain's next anchor (by id) can be verified on their own, starting from
    `prev_hash` (`verify_audit --month`), without reading any other month's partition."""

    chain = models.BigIntegerField()
    month = models.DateField(help_text="The first day of the month (UTC).")
    first_event_id = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("chain", "first_event_id")
        constraints = [
            models.UniqueConstraint(fields=("chain", "month"), name="auditchainanchor_unique"),
        ]

    def __str__(self) -> str:
        return f"chain {self.chain} {self.month:%Y-%m} from #{self.first_event_id}"


class AuditChainHead(models.Model):
    """The last link of one chain. Appenders lock this row (`SELECT … FOR UPDATE`) so two
    transactions can never both extend the chain from the same hash; `length` and
    `last_event_id` also let verification notice events removed from the chain's end."""

    chain = models.BigIntegerField(primary_key=True)
    last_hash = models.CharField(max_length=64)
    last_event_id = models.BigIntegerField(null=True, blank=True)
    length = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"chain {self.chain}: {self.length} events"
