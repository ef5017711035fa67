"""A visitor and an agent, each in their own Chromium context, talk through a real ASGI server."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from accounts.models import User
from conversations import services
from conversations.models import Conversation, KnowledgeArticle, Message
from demo.data import ARTICLES
from tests.auth import totp_device
from tests.e2e.conftest import chromium, staff_sign_in
from tests.factories import UserFactory
from tests.servers import asgi_server
from tests.wsclient import open_widget_conversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_gets_an_answer_asks_for_a_human_and_talks_live_with_an_agent(chromium_path: str) -> None:
    for article in ARTICLES:
        KnowledgeArticle.objects.create(**article)
    agent_key = totp_device(UserFactory(username="alex", first_name="Alex", role=User.Role.AGENT)).bin_key

    with asgi_server() as base, chromium(chromium_path) as browser:
        visitor = browser.new_context(viewport={"width": 420, "height": 760}).new_page()
        visitor.goto(f"{base}/chat/")
        expect(visitor.locator(".msg-bot").first).to_contain_text("automated assistant")
        expect(visitor.locator("#chat-state")).to_have_text("Automated assistant")

        # A knowledge-base question gets the right article's answer.
        visitor.fill("#body", "I think my card was stolen, what should I do?")
        visitor.keyboard.press("Enter")
        answer = visitor.locator(".msg-bot").nth(1)
        expect(answer).to_contain_text("Freeze your card straight away")
        expect(answer).to_contain_text("Lost or stolen card")

        # Asking for a human puts the conversation in the queue.
        visitor.click("#handoff")
        expect(visitor.locator("#chat-state")).to_have_text("Waiting for an agent…")

        agent = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        staff_sign_in(agent, base, "alex", agent_key, start="/console/")
        expect(agent.locator("#queue-rows tr")).to_have_count(1)
        agent.click("#queue-rows tr button:has-text('Claim')")
        expect(agent.locator("#composer")).to_be_visible()
        expect(visitor.locator("#chat-state")).to_have_text("You're chatting with an agent")
        expect(visitor.locator(".msg-system").last).to_contain_text("Alex joined")

        # Live both ways, with the typing indicator.
        expect(agent.locator("#console[data-connected]")).to_have_count(1)
        visitor.type("#body", "Hello", delay=600)  # the widget sends typing at most every 2 s
        expect(agent.locator("#typing")).to_be_visible()
        visitor.fill("#body", "Hello, are you a real person?")
        visitor.keyboard.press("Enter")
        expect(agent.locator(".msg-customer .msg-body").last).to_have_text("Hello, are you a real person?")
        agent.fill("#body", "Yes, I'm Alex. I have frozen your card.")
        agent.keyboard.press("Enter")
        expect(visitor.locator(".msg-agent")).to_contain_text("I have frozen your card")
        agent.fill("#note-body", "Card frozen at the customer's request")
        agent.click("#note-form button")
        expect(agent.locator(".note")).to_contain_text("Card frozen")

        # After a reload the visitor sees the whole transcript, in order, without the note.
        visitor.reload()
        expect(visitor.locator(".msg-agent")).to_contain_text("I have frozen your card")
        bodies = visitor.locator(".msg .msg-body").all_inner_texts()
        assert bodies[0].startswith("Hi! I'm")
        assert bodies[1] == "I think my card was stolen, what should I do?"
        assert "Freeze your card" in bodies[2]
        assert bodies[-2:] == ["Hello, are you a real person?", "Yes, I'm Alex. I have frozen your card."]
        assert "Card frozen at" not in visitor.content()

    conversation = Conversation.objects.get()
    assert conversation.state == Conversation.State.AGENT
    assert list(conversation.messages.values_list("seq", flat=True)) == list(range(1, conversation.last_seq + 1))
    assert Message.objects.filter(sender="agent").count() == 1


def test_widget_embedded_in_the_business_site_answers(chromium_path: str) -> None:
    for article in ARTICLES:
        KnowledgeArticle.objects.create(**article)
    with asgi_server(extra_env={"DEMO_SITE": "1"}) as base, chromium(chromium_path) as browser:
        page = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
        page.goto(f"{base}/demo/")
        launcher = page.get_by_role("button", name="Chat with us")
        launcher.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#confidant-launcher")).to_have_attribute("aria-expanded", "true")
        chat = page.frame_locator("#confidant-panel iframe")
        expect(chat.locator(".msg-bot").first).to_contain_text("automated assistant")
        chat.locator("#body").fill("How do I pay in a cheque?")
        chat.locator("#body").press("Enter")
        expect(chat.locator(".msg-bot").nth(1)).to_contain_text("photographing it in the app")
        page.keyboard.press("Escape")
        expect(page.locator("#confidant-panel")).to_be_hidden()


def test_a_long_transcript_arrives_whole_through_resume_pages(chromium_path: str) -> None:
    """chatlink.js asks for the next page after each `resumed` frame with `more`."""

    def post(session_key: str, count: int) -> None:  # outside Playwright's event loop (the ORM refuses to run in it)
        conversation_id = open_widget_conversation(session_key)  # as the visitor's first message would
        for i in range(count):
            services.message_post(
                conversation_id=conversation_id, sender="customer", body=f"line {i}", client_id=uuid.uuid4()
            )

    with asgi_server(extra_env={"CHAT_RESUME_PAGE": "20"}) as base, chromium(chromium_path) as browser:
        page = browser.new_context(viewport={"width": 420, "height": 760}).new_page()
        page.goto(f"{base}/chat/")
        expect(page.locator(".msg-bot").first).to_contain_text("automated assistant")
        session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
        with ThreadPoolExecutor(1) as pool:
            pool.submit(post, session_key, 70).result()
        page.reload()
        expect(page.locator("#log .msg")).to_have_count(71)
        bodies = page.locator("#log .msg .msg-body").all_inner_texts()
        assert bodies[1:] == [f"line {i}" for i in range(70)]
