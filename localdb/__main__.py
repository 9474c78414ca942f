"""`python -m localdb start|stop|url|status` (see the package docstring)."""

from __future__ import annotations

import argparse
import logging
import sys

from localdb import database_url, running, start, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdb", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "url", "status"])
    parser.add_argument("--pgdata", help="data directory (default: .pgdata beside manage.py)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.command == "start":
        print(start(args.pgdata))
    elif args.command == "stop":
        print("stopped" if stop(args.pgdata) else "not running", file=sys.stderr)
    elif args.command == "url":
        print(database_url(args.pgdata))
    else:
        up = running(args.pgdata)
        print("running" if up else "stopped")
        return 0 if up else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
