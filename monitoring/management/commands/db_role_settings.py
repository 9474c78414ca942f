"""`manage.py db_role_settings [--role R] [--check]`: the statement, lock and idle-in-transaction
timeouts as settings of the database role (docs/operations.md, "PgBouncer").

Run it against the server directly (not through PgBouncer) whenever the `DB_*_TIMEOUT_MS`
settings change, and at deploy time before the web starts (compose.yaml's `db-role-settings`).
`--check` changes nothing and exits non-zero when the role's settings differ from the settings.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from monitoring import db_session


class Command(BaseCommand):
    help = "Set (or --check) the database role's statement/lock/idle-in-transaction timeouts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--role", help="the role the pool logs in as (default: the connection's own user)"
        )
        parser.add_argument("--database", default="default", help="database alias")
        parser.add_argument(
            "--check", action="store_true", help="exit 1 when the role's settings differ"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        conn = connections[options["database"]]
        role = options["role"] or _current_user(conn)
        expected = db_session.expected_timeouts()
        if not options["check"]:
            db_session.apply_role_timeouts(conn, role, expected)
        differences = db_session.role_differences(db_session.role_timeouts(conn, role), expected)
        for name, (actual, want) in differences.items():
            self.stderr.write(f"{role}: {name} is {actual} ms, the settings want {want} ms")
        if differences:
            raise CommandError(f"role {role}: {len(differences)} timeout(s) differ")
        verb = "has" if options["check"] else "set"
        summary = ", ".join(f"{name}={ms}ms" for name, ms in expected.items())
        self.stdout.write(f"role {role} {verb} {summary}")


def _current_user(conn: Any) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return str(cursor.fetchone()[0])
