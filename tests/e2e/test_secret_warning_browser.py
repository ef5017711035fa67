"""The widget warns before sending a card number (static/js/secretwarning.js): "Send masked" sends
the masked text, which is all the agent sees; "Edit" (or Escape) sends nothing and selects the
number. Keyboard only, as a screen reader user would."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import User
from conversations.models import Message
from tests.auth import totp_device
from tests.e2e.conftest import chromium, staff_sign_in
from tests.factories import UserFactory
from tests.servers import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARD = "4111 1111 1111 1111"


def _talking(browser: Any, base: str, agent_key: bytes) -> tuple[Any, Any]:
    """A visitor's widget and an agent's console, the agent having claimed the visitor's chat."""
    visitor = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    visitor.goto(f"{base}/chat/")
    expect(visitor.locator(".msg-bot").first).to_contain_text("automated assistant")
    visitor.click("#handoff")
    expect(visitor.locator("#chat-state")).to_have_text("Waiting for an agent…")
    agent = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    staff_sign_in(agent, base, "alex", agent_key, start="/console/")
    agent.click("#queue-rows tr button:has-text('Claim')")
    expect(agent.locator("#console[data-connected]")).to_have_count(1)
    expect(visitor.locator("#chat-state")).to_have_text("You're chatting with an agent")
    return visitor, agent


def _warning_is_announced(page: Any, found: str) -> Any:
    warning = page.get_by_role("alertdialog", name="Check before sending")
    expect(warning).to_be_visible()
    expect(warning).to_have_attribute("aria-modal", "true")
    expect(warning).to_have_accessible_description(re.compile(re.escape(found)))
    expect(warning).to_contain_text("sign in to your account")  # SECURE_CHANNEL_TEXT
    expect(page.locator("#secret-edit")).to_be_focused()
    return warning


def _selected(page: Any) -> str:
    return page.eval_on_selector("#body", "el => el.value.slice(el.selectionStart, el.selectionEnd)")


@pytest.fixture
def agent_key() -> bytes:
    return totp_device(UserFactory(username="alex", first_name="Alex", role=User.Role.AGENT)).bin_key


def test_send_masked_sends_only_the_masked_number(chromium_path: str, agent_key: bytes) -> None:
    with asgi_server() as base, chromium(chromium_path) as browser:
        visitor, agent = _talking(browser, base, agent_key)
        masked = "My card is •••• •••• •••• 1111, is it blocked?"
        visitor.fill("#body", f"My card is {CARD}, is it blocked?")
        visitor.keyboard.press("Enter")
        warning = _warning_is_announced(visitor, "This message contains a card number.")
        expect(warning.locator("#secret-warning-preview")).to_have_text(masked)

        # Tab moves between the two buttons and never leaves the dialog.
        visitor.keyboard.press("Tab")
        expect(visitor.locator("#secret-send-masked")).to_be_focused()
        visitor.keyboard.press("Tab")
        expect(visitor.locator("#secret-edit")).to_be_focused()
        visitor.keyboard.press("Shift+Tab")
        expect(visitor.locator("#secret-send-masked")).to_be_focused()
        visitor.keyboard.press("Enter")

        expect(warning).to_be_hidden()
        expect(visitor.locator("#body")).to_be_focused()
        expect(visitor.locator("#body")).to_have_value("")
        sent = agent.locator(".msg-customer").last
        expect(sent.locator(".msg-body")).to_have_text(masked)
        expect(sent.locator(".msg-masked")).to_have_text("Card number removed before storing.")
        expect(visitor.locator(".msg-customer .msg-body").last).to_have_text(masked)
        assert CARD not in agent.content()
        assert CARD not in visitor.content()

    assert [m.body for m in Message.objects.filter(sender="customer")] == [masked]


def test_edit_sends_nothing_and_selects_the_number(chromium_path: str, agent_key: bytes) -> None:
    with asgi_server() as base, chromium(chromium_path) as browser:
        visitor, agent = _talking(browser, base, agent_key)
        visitor.fill("#body", f"  Card {CARD} and my password is hunter22")
        visitor.keyboard.press("Enter")
        warning = _warning_is_announced(visitor, "This message contains a card number and a password.")

        # Escape is "Edit": back to the text with the number selected.
        visitor.keyboard.press("Escape")
        expect(warning).to_be_hidden()
        expect(visitor.locator("#body")).to_be_focused()
        assert _selected(visitor) == CARD

        # Enter on "Edit" (where the focus starts) does the same.
        visitor.keyboard.press("Enter")
        _warning_is_announced(visitor, "This message contains a card number and a password.")
        visitor.keyboard.press("Enter")
        expect(warning).to_be_hidden()
        expect(visitor.locator("#body")).to_be_focused()
        assert _selected(visitor) == CARD
        expect(visitor.locator("#log .msg-customer")).to_have_count(0)

        # The customer types over the number and takes the password out: no warning, sent as written.
        visitor.keyboard.type("ending 1111")
        visitor.keyboard.press("Control+End")  # the end of the text, not of a wrapped line
        for _ in range(len(" and my password is hunter22")):
            visitor.keyboard.press("Backspace")
        visitor.keyboard.press("Enter")
        expect(warning).to_be_hidden()
        expect(agent.locator(".msg-customer .msg-body")).to_have_text(["Card ending 1111"])
        expect(agent.locator(".msg-customer .msg-masked")).to_have_count(0)
        assert CARD not in agent.content()

    assert [m.body for m in Message.objects.filter(sender="customer")] == ["Card ending 1111"]
