"""`manage.py partitions [--since YYYY-MM] [--ahead N]`: create the history tables' missing
monthly partitions and drop the expired idempotency-key partitions (what the daily beat task
`partitions-ensure` does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dbtools.partitions import Month
from orders.services.partitions import partitions_maintain


class Command(BaseCommand):
    help = "Create the monthly partitions ahead and drop the expired idempotency-key partitions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", default=None, help="Also create the months from this one (YYYY-MM)."
        )
        parser.add_argument(
            "--ahead",
            type=int,
            default=None,
            help="Months ahead of the current one (default: PARTITION_MONTHS_AHEAD).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = Month.parse(options["since"]) if options["since"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["ahead"] is not None and options["ahead"] < 0:
            raise CommandError("--ahead must be 0 or more.")
        result = partitions_maintain(since=since, months_ahead=options["ahead"])
        self.stdout.write(
            f"created {len(result['created'])} partition(s), "
            f"dropped {len(result['dropped'])} expired idempotency-key partition(s)"
        )
        for name in result["created"]:
            self.stdout.write(f"  + {name}")
        for name in result["dropped"]:
            self.stdout.write(f"  - {name}")
