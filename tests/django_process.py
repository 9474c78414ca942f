"""Settings read at start-up are tested in a fresh interpreter: `run_django(program, env=…)`
runs `program` (by default just `django.setup()`) with the project's settings, the suite's
environment less `unset` and plus `env`, and returns what it printed and its exit code."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - the suite's own interpreter, a fixed argument list
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
SETUP = "import django; django.setup()"


def run_django(
    program: str = SETUP,
    *,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "posproject.settings"}
    for name in unset:  # the suite's own value of a setting under test
        environ.pop(name, None)
    environ.update(env or {})
    return subprocess.run(  # nosec B603
        [sys.executable, "-c", program],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
