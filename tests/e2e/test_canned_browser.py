"""Canned replies in the console (static/js/canned.js), keyboard only: "/" opens the list, typing
filters it, arrow keys and Enter insert the reply with its placeholders filled by the server, the
agent edits and sends it; the search box does the same; Escape closes the list."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import User
from conversations import canned
from conversations.models import Message
from tests.auth import totp_device
from tests.e2e.conftest import chromium, staff_sign_in
from tests.factories import UserFactory, conversation_assigned
from tests.servers import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings: Any) -> dict[str, Any]:
    agent = UserFactory(username="alex", first_name="Alex", role=User.Role.AGENT)
    customer = UserFactory(username="dana", first_name="Dana", role=User.Role.CUSTOMER)
    canned.canned_reply_create(
        owner=None, shortcut="greet", title="Greeting", body="Hello {customer_first_name}, this is {agent_first_name}."
    )
    canned.canned_reply_create(owner=None, shortcut="freeze", title="Freeze a card", body="Freeze it in the app.")
    canned.canned_reply_create(owner=agent, shortcut="ref", title="Reference", body="Your reference: {order_ref}")
    conversation = conversation_assigned(agent, customer)
    return {"key": totp_device(agent).bin_key, "conversation": conversation.pk}


def test_slash_and_search_insert_filled_replies(chromium_path: str, world: dict[str, Any]) -> None:
    with asgi_server() as base, chromium(chromium_path) as browser:
        page = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
        staff_sign_in(page, base, "alex", world["key"], start=f"/console/conversations/{world['conversation']}/")
        expect(page.locator("#console[data-connected]")).to_have_count(1)
        body, listbox = page.locator("#body"), page.get_by_role("listbox", name="Canned replies")

        body.focus()
        page.keyboard.type("/")
        expect(listbox).to_be_visible()
        expect(body).to_have_attribute("aria-expanded", "true")
        expect(listbox.get_by_role("option")).to_have_count(3)
        page.keyboard.type("gr")
        expect(listbox.get_by_role("option")).to_have_count(1)
        expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
        page.keyboard.press("Enter")
        expect(body).to_have_value("Hello Dana, this is Alex.")
        expect(listbox).to_be_hidden()
        expect(body).to_be_focused()
        page.keyboard.type(" How can I help?")
        page.keyboard.press("Enter")
        expect(page.locator(".msg-agent .msg-body").last).to_have_text("Hello Dana, this is Alex. How can I help?")
        expect(body).to_have_value("")

        # Escape closes the list and leaves what was typed.
        page.keyboard.type("/fr")
        expect(listbox).to_be_visible()
        page.keyboard.press("Escape")
        expect(listbox).to_be_hidden()
        expect(body).to_have_value("/fr")
        page.fill("#body", "")

        # The search box: arrow keys move through the matches; an unknown placeholder is flagged.
        page.locator("#canned-search").focus()
        page.keyboard.type("re")
        options = listbox.get_by_role("option")
        expect(options.first).to_contain_text("/ref")
        page.keyboard.press("ArrowDown")
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("Enter")
        expect(body).to_have_value("Your reference: {order_ref}")
        expect(page.locator("#canned-status")).to_contain_text("{order_ref}")
        expect(body).to_be_focused()

    assert list(Message.objects.filter(sender="agent").values_list("body", flat=True)) == [
        "Hello Dana, this is Alex. How can I help?"
    ]
