"""`manage.py verify_audit [--chain N] [--month YYYY-MM]`: walk the audit hash chains (or one
month of them, from that month's anchors); exit 1 when one is broken."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.verification import audit_verify, audit_verify_month
from dbtools.partitions import Month


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chains; exits non-zero when an event was changed or removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chain",
            type=int,
            default=None,
            help=(
                "Only this chain: a store id; outside any store -<user id> (a user's events), "
                "-10**18-k (failed logins' username shard k) or 0 (system and older events)."
            ),
        )
        parser.add_argument(
            "--month",
            default=None,
            help="Only the stretch of each chain that starts in this month (YYYY-MM, UTC).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["month"]:
            try:
                month = Month.parse(options["month"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            result = audit_verify_month(month=month, chain=options["chain"])
        else:
            result = audit_verify(chain=options["chain"])
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(f"ok: {result.events_checked} events checked, chains intact")
            )
            return
        chains = ", ".join(str(c) for c in result.broken_chains)
        raise CommandError(
            f"BROKEN: first broken event id {result.first_broken_id} "
            f"({result.events_checked} events checked; broken chain(s): {chains})",
            returncode=1,
        )
