"""Headless Chromium for the browser tests: Debian's `/usr/bin/chromium` (installed by
`make browser-deps`), driven by Playwright's sync API. Never a browser download
(`playwright install` is not used anywhere).

Without Chromium the tests skip with the reason, except under `REQUIRE_SERVICES=1` (CI), where
they fail: CI must not pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def chromium() -> Callable[[], AbstractContextManager[Any]]:
    """`with chromium() as browser:` — a headless Chromium for the duration of the block.

    Do the test's ORM work before and after the block, never inside it: Playwright's sync API
    runs an event loop, and Django code run under it would open (and leave open) a connection
    of its own."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (run `make browser-deps` as root to install it)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1: {reason}")
        pytest.skip(reason)

    @contextmanager
    def launch() -> Iterator[Any]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()

    return launch
