"""The console on a phone, and a conversation deleted under the agent's feet (issue 16, items 8
and 9), in Chromium through a real ASGI server: at 390 × 844 the queue's rows are cards whose
Claim button lies inside the viewport and the page never scrolls sideways; when the visitor deletes
their chat, the agent's open conversation says so live, the composer closes, and a reload shows
the console's own page. With CONFIDANT_SHOTS=<folder>, screenshots of each page at 390 and
1280 px go there, to look at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.auth import totp_device
from tests.e2e.conftest import chromium, staff_sign_in
from tests.factories import UserFactory
from tests.servers import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = os.environ.get("CONFIDANT_SHOTS", "")  # a folder for screenshots to look at; none without it


def _fits(page: Any) -> None:
    """Nothing on the page is wider than the viewport: no sideways scrolling."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _inside_viewport(page: Any, selector: str, *, scroll: bool = False) -> None:
    """The element is wholly on screen (after scrolling the page down to it, with `scroll`)."""
    element = page.locator(selector)
    # The queue's socket redraws its rows when it connects (and again on every change), so the
    # element measured may be replaced between finding and measuring it: measure until one holds.
    box = None
    for _ in range(50):
        expect(element).to_be_visible()
        if scroll:
            element.evaluate("el => el.scrollIntoView({block: 'center'})")
        box = element.bounding_box()
        if box is not None:
            break
        page.wait_for_timeout(200)
    assert box is not None, f"{selector} is not shown on {page.url}: {page.content()[-3000:]}"
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, box


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_the_console_on_a_phone_and_a_conversation_deleted_while_open(chromium_path: str) -> None:
    agent_key = totp_device(UserFactory(username="alex", first_name="Alex", role=User.Role.AGENT)).bin_key

    with asgi_server() as base, chromium(chromium_path) as browser:
        visitor = browser.new_context(viewport={"width": 420, "height": 760}).new_page()
        visitor.goto(f"{base}/chat/")
        visitor.fill("#body", "My parcel never arrived")
        visitor.keyboard.press("Enter")
        expect(visitor.locator(".msg-customer:not(.msg-pending)")).to_have_count(1)
        visitor.click("#handoff")
        expect(visitor.locator("#chat-state")).to_have_text("Waiting for an agent…")

        phone_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        phone = phone_context.new_page()
        staff_sign_in(phone, base, "alex", agent_key, start="/console/")
        expect(phone.locator("#queue-rows tr")).to_have_count(1)
        claim = "#queue-rows tr button:has-text('Claim')"
        _inside_viewport(phone, claim)
        _fits(phone)
        _shot(phone, "queue-390")

        # The same session on a desktop screen (a second sign-in would reuse the same code).
        desktop = browser.new_context(viewport=DESKTOP, storage_state=phone_context.storage_state()).new_page()
        desktop.goto(f"{base}/console/")
        expect(desktop.locator("#queue-rows tr")).to_have_count(1)
        expect(desktop.locator("#queue-status")).to_have_text("Live updates: on")
        _shot(desktop, "queue-1280")

        phone.click(claim)
        expect(phone.locator("#composer")).to_be_visible()
        expect(phone.locator("#console[data-connected]")).to_have_count(1)
        phone.fill("#body", "Hello, I'm Alex. Let me look for your parcel.")
        phone.locator("#composer button").click()  # a tap on Send, as on a phone
        expect(visitor.locator(".msg-agent")).to_contain_text("Let me look for your parcel")
        _inside_viewport(phone, "#composer button", scroll=True)
        _fits(phone)
        _shot(phone, "conversation-390")
        desktop.goto(phone.url)
        expect(desktop.locator("#console[data-connected]")).to_have_count(1)
        _shot(desktop, "conversation-1280")

        # The visitor deletes the chat from the widget: both open consoles hear of it at once.
        visitor.click("#delete-chat")
        visitor.click("main button.danger")
        for page in (phone, desktop):
            expect(page.locator("#ended")).to_be_visible()
            expect(page.locator("#ended")).to_contain_text("The customer deleted this conversation.")
            expect(page.locator("#composer")).to_be_hidden()
            expect(page.locator("#note-body")).to_be_disabled()
            expect(page.locator("#state-badge")).to_have_text("Deleted")
            expect(page.locator("#chat-error")).to_be_hidden()  # closed for good: no "Reconnecting…"
        _fits(phone)
        _shot(phone, "ended-390")
        _shot(desktop, "ended-1280")

        # A reload: the console's own page, with the way back to the queue.
        phone.reload()
        expect(phone.locator("main")).to_contain_text("This conversation no longer exists: it was deleted.")
        _fits(phone)
        _shot(phone, "gone-390")
        phone.click("text=Back to the queue")
        expect(phone.locator("h1")).to_have_text("Queue")
        expect(phone.locator("#queue-empty")).to_be_visible()
