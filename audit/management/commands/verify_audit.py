"""`manage.py verify_audit [--chain N]`: walk the audit hash chains; exit 1 when one is broken."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.verification import audit_verify


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chains; exits non-zero when an event was changed or removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chain", type=int, default=None, help="Only this chain (a store id; 0 = no store)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
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
