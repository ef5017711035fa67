"""An agent enrolls an authenticator in Chromium, then signs in with a code, and with a backup
code once (and not twice)."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.auth import current_code
from tests.e2e.conftest import chromium
from tests.factories import PASSWORD, UserFactory
from tests.servers import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: object, base: str) -> None:
    page.goto(f"{base}/console/")
    page.fill("#id_username", "nia")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")


def _sign_out(page: object) -> None:
    page.click("header button:has-text('Sign out')")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_agent_enrolls_totp_then_signs_in_with_a_code_and_a_backup_code_once(chromium_path: str) -> None:
    UserFactory(username="nia", first_name="Nia", role=User.Role.AGENT)
    with asgi_server() as base, chromium(chromium_path) as browser:
        page = browser.new_context().new_page()
        _sign_in(page, base)
        expect(page.locator("h1")).to_have_text("Set up two-step sign-in")
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        secret = page.inner_text("#totp-secret").replace(" ", "")
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        page.fill("#id_code", current_code(key))
        page.click("main button[type=submit]")
        codes = page.locator("#backup-codes code").all_inner_texts()
        assert len(codes) == 10
        page.click("text=I have saved them: continue")
        expect(page.locator("h1")).to_have_text("Queue")
        _sign_out(page)

        # Password, then a code from the authenticator (the next one: each code works once).
        _sign_in(page, base)
        expect(page.locator("h1")).to_have_text("Two-step sign-in")
        page.fill("#id_code", current_code(key, offset_steps=1))
        page.click("main button[type=submit]")
        expect(page.locator("h1")).to_have_text("Queue")
        _sign_out(page)

        # A backup code, once...
        _sign_in(page, base)
        page.fill("#id_code", codes[0])
        page.click("main button[type=submit]")
        expect(page.locator("h1")).to_have_text("Queue")
        _sign_out(page)

        # ...and not twice.
        _sign_in(page, base)
        page.fill("#id_code", codes[0])
        page.click("main button[type=submit]")
        expect(page.locator("[role=alert]")).to_contain_text("not valid")
        page.goto(f"{base}/console/")
        expect(page.locator("h1")).to_have_text("Two-step sign-in")
