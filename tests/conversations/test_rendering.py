"""One renderer for a chat message: the pages and the sockets draw it with the same template
(conversations.rendering), times in one shape ("j M, H:i", rewritten in the viewer's zone)."""

from __future__ import annotations

import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from conversations import rendering, services
from conversations.models import Conversation, Message
from tests.auth import signed_in_client
from tests.wsclient import Socket, async_login_session, async_open_widget_conversation

TIME = re.compile(r'<time datetime="[^"]+" data-local>\d{1,2} [A-Z][a-z]{2}, \d\d:\d\d</time>')


def test_message_text_is_escaped_and_only_bot_and_system_messages_link_the_notice() -> None:
    notice = reverse("privacy:notice")
    for sender in ("bot", "system"):
        html = rendering.message_html(seq=1, sender=sender, body=f"<b>x</b> see {notice}", at=None, customer_view=True)
        assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>" not in html
        assert f'<a href="{notice}">our privacy notice</a>' in html
    for sender in ("customer", "agent"):
        html = rendering.message_html(seq=1, sender=sender, body=f"see {notice}", at=None, customer_view=False)
        assert "<a " not in html and f"see {notice}" in html


def test_greeting_points_at_the_notice_by_its_url_name() -> None:
    assert services.greeting_text().endswith(reverse("privacy:notice"))


async def _socket_html(path: str, session_key: str) -> dict[int, str]:
    sock = Socket(path, session_key)
    assert await sock.connect()
    await sock.send({"type": "resume", "after_seq": 0})
    frames = {}
    while not await sock.nothing(0.5):
        frame = await sock.recv()
        if frame["type"] == "message":
            frames[frame["seq"]] = frame["html"]
    await sock.close()
    return frames


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_sockets_send_each_viewer_the_html_their_pages_show(customer: object, agent: object) -> None:
    customer_session = await async_login_session(customer)
    conversation = await sync_to_async(Conversation.objects.get)(
        pk=await async_open_widget_conversation(customer_session)
    )
    await sync_to_async(services.message_post)(
        conversation_id=conversation.pk,
        sender="customer",
        body="<script>alert(1)</script> & co",
        client_id=uuid.uuid4(),
    )
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation.pk)
    await sync_to_async(services.conversation_claim)(conversation_id=conversation.pk, agent=agent)

    as_customer = await _socket_html("/ws/chat/", customer_session)
    as_agent = await _socket_html(f"/ws/agent/conversations/{conversation.pk}/", await async_login_session(agent))
    customer_page = await sync_to_async(
        lambda: (
            signed_in_client(customer)
            .get(reverse("conversations:my_conversation", args=[conversation.pk]))
            .content.decode()
        )
    )()
    console_page = await sync_to_async(
        lambda: signed_in_client(agent).get(f"/console/conversations/{conversation.pk}/").content.decode()
    )()

    count = await sync_to_async(Message.objects.count)()
    assert set(as_customer) == set(as_agent) == set(range(1, count + 1))
    for seq in as_customer:
        assert as_customer[seq] in customer_page
        assert as_agent[seq] in console_page
        assert TIME.search(as_agent[seq])
    assert "You ·" in as_customer[2] and "Customer ·" in as_agent[2]
    assert "Assistant (automated) ·" in as_customer[1] and "Bot ·" in as_agent[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in as_agent[2] and "<script>" not in as_agent[2]
