from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium(executable_path: str) -> Iterator[Any]:
    """Real Chromium (Debian's package) driven by Playwright's sync API. Enter it only after the
    test's ORM work: the sync API runs an event loop in this thread, and Django refuses ORM calls
    from a thread with a running loop."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
