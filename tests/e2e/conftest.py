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


def staff_sign_in(page: Any, base: str, username: str, totp_key: bytes, *, start: str = "/accounts/login/") -> None:
    """Sign a staff member in through the real pages: password, then a code from their authenticator."""
    from tests.auth import current_code
    from tests.factories import PASSWORD

    page.goto(f"{base}{start}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.fill("#id_code", current_code(totp_key))
    page.click("main button[type=submit]")
