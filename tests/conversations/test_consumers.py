"""The chat protocol over the real ASGI application and the configured channel layer (Redis in
CI): ordering, acks, idempotent resends, resume, bad frames, origins and access."""

from __future__ import annotations

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from conversations import services
from conversations.models import Conversation, InternalNote, Message
from tests.wsclient import (
    Socket,
    async_login_session,
    async_open_widget_conversation,
    async_visitor_session,
    login_session,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _msg(body: str, client_id: str | None = None) -> dict[str, str]:
    return {"type": "message", "client_id": client_id or str(uuid.uuid4()), "body": body}


async def _widget(session_key: str | None = None) -> Socket:
    sock = Socket("/ws/chat/", session_key or await async_visitor_session())
    assert await sock.connect()
    assert (await sock.recv()) == {"type": "status", "state": "bot"}
    return sock


async def _widget_any(session_key: str) -> Socket:
    """A widget socket, whatever its status."""
    sock = Socket("/ws/chat/", session_key)
    assert await sock.connect()
    assert (await sock.recv())["type"] == "status"
    return sock


async def _conversation_id(sock: Socket) -> uuid.UUID:
    await sock.send({"type": "resume", "after_seq": 0})
    greeting = await sock.recv_until("message", seq=1)
    assert greeting["sender"] == "bot" and "automated" in greeting["body"] and "/privacy/" in greeting["body"]
    assert await sock.recv() == {"type": "resumed", "through_seq": 1, "more": False}
    # Nothing is stored until the visitor writes; open it as their first message would. The
    # socket follows (chat.started) and catches up from the greeting.
    had = await sync_to_async(lambda: SessionStore(session_key=sock.session_key).get("conversation_id"))()
    conversation_id = await async_open_widget_conversation(sock.session_key)
    if not had:
        assert await sock.recv() == {"type": "resumed", "through_seq": 1, "more": False}
    return conversation_id


async def test_greeting_then_message_is_saved_acked_broadcast_and_answered() -> None:
    sock = await _widget()
    await _conversation_id(sock)
    frame = _msg("hello there")
    await sock.send(frame)
    got = [await sock.recv() for _ in range(3)]
    ack = next(f for f in got if f["type"] == "ack")
    echo = next(f for f in got if f["type"] == "message" and f["sender"] == "customer")
    bot = next(f for f in got if f["type"] == "message" and f["sender"] == "bot")
    assert ack == {"type": "ack", "client_id": frame["client_id"], "seq": 2}
    assert echo["seq"] == 2 and echo["body"] == "hello there" and echo["client_id"] == frame["client_id"]
    assert bot["seq"] == 3 and bot["client_id"] is None
    stored = await sync_to_async(lambda: list(Message.objects.values_list("seq", "sender", "body")))()
    assert stored[1] == (2, "customer", "hello there")
    await sock.close()


async def test_messages_keep_their_order() -> None:
    sock = await _widget()
    await _conversation_id(sock)
    await sync_to_async(services.conversation_hand_over)(
        conversation_id=await sync_to_async(lambda: Conversation.objects.get().pk)()
    )
    frames = [_msg(f"message {i}") for i in range(20)]
    for f in frames:
        await sock.send(f)
    acks = {}
    echoed = []
    while len(acks) < 20 or len(echoed) < 20:
        got = await sock.recv()
        if got["type"] == "ack":
            acks[got["client_id"]] = got["seq"]
        elif got["type"] == "message" and got["sender"] == "customer":
            echoed.append(got)
    assert [acks[f["client_id"]] for f in frames] == sorted(acks.values())
    assert [e["body"] for e in echoed] == [f"message {i}" for i in range(20)]
    assert [e["seq"] for e in echoed] == sorted(e["seq"] for e in echoed)
    await sock.close()


async def test_resend_with_same_client_id_is_stored_once_and_acked_again() -> None:
    sock = await _widget()
    conversation_id = await _conversation_id(sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    frame = _msg("only once please")
    await sock.send(frame)
    first = await sock.recv_until("ack")
    await sock.send(frame)
    second = await sock.recv_until("ack")
    assert first == second
    count = await sync_to_async(Message.objects.filter(client_id=frame["client_id"]).count)()
    assert count == 1
    await sock.close()


async def test_resume_after_reconnect_delivers_everything_after_seq_in_order() -> None:
    session = await async_visitor_session()
    sock = await _widget(session)
    conversation_id = await _conversation_id(sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    await sock.close()
    # While the customer is away, the conversation goes on.
    agent_user = await sync_to_async(_make_agent)()
    await sync_to_async(services.conversation_claim)(conversation_id=conversation_id, agent=agent_user)
    for i in range(3):
        await sync_to_async(services.message_post)(
            conversation_id=conversation_id,
            sender="agent",
            body=f"while away {i}",
            client_id=uuid.uuid4(),
            author=agent_user,
        )
    sock = await _widget_reconnect(session, "agent")
    await sock.send({"type": "resume", "after_seq": 2})
    seqs, bodies = [], []
    last = await sync_to_async(lambda: Conversation.objects.get(pk=conversation_id).last_seq)()
    while not seqs or seqs[-1] < last:
        frame = await sock.recv_until("message")
        seqs.append(frame["seq"])
        bodies.append(frame["body"])
    assert seqs == list(range(3, last + 1))
    assert bodies[-3:] == ["while away 0", "while away 1", "while away 2"]
    await sock.close()


def _make_agent():
    from tests.factories import UserFactory

    return UserFactory(role="agent", first_name="Alex")


async def _widget_reconnect(session: str, state: str) -> Socket:
    sock = Socket("/ws/chat/", session)
    assert await sock.connect()
    assert (await sock.recv()) == {"type": "status", "state": state}
    return sock


BAD_FRAMES = [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_frame"),
    ('"message"', "bad_frame"),
    ("{}", "missing_field"),
    ('{"type": "shout"}', "unknown_type"),
    ('{"type": "note", "client_id": "%s", "body": "x"}' % uuid.uuid4(), "unknown_type"),
    ('{"type": "message", "body": "hi"}', "missing_field"),
    ('{"type": "message", "client_id": "%s"}' % uuid.uuid4(), "missing_field"),
    ('{"type": "message", "client_id": "not-a-uuid", "body": "hi"}', "invalid_field"),
    ('{"type": "message", "client_id": "%s", "body": 42}' % uuid.uuid4(), "invalid_field"),
    ('{"type": "message", "client_id": "%s", "body": "   "}' % uuid.uuid4(), "invalid_field"),
    (json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "body": "x" * 4001}), "too_long"),
    ('{"type": "resume"}', "missing_field"),
    ('{"type": "resume", "after_seq": -1}', "invalid_field"),
    ('{"type": "resume", "after_seq": "3"}', "invalid_field"),
    ('{"type": "message", "client_id": "%s", "body": "hi \\ud800"}' % uuid.uuid4(), "invalid_field"),
    ("[" * 100000, "frame_too_large"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_FRAMES)
async def test_bad_frame_gets_error_and_connection_stays_usable(raw: str, code: str) -> None:
    sock = await _widget()
    await sock.send(raw)
    error = await sock.recv()
    assert error["type"] == "error" and error["code"] == code and error["detail"]
    frame = _msg("still here")
    await sock.send(frame)
    ack = await sock.recv_until("ack")
    assert ack["client_id"] == frame["client_id"]
    await sock.close()


async def test_binary_frame_gets_error_and_connection_stays_usable() -> None:
    sock = await _widget()
    await sock.send_bytes(b"\x00\x01binary")
    assert (await sock.recv())["code"] == "binary_not_supported"
    await sock.send({"type": "resume", "after_seq": 0})
    assert (await sock.recv_until("message"))["seq"] == 1
    await sock.close()


async def test_longest_allowed_body_is_accepted() -> None:
    sock = await _widget()
    frame = _msg("y" * settings.CHAT_MAX_BODY_CHARS)
    await sock.send(frame)
    assert (await sock.recv_until("ack"))["client_id"] == frame["client_id"]
    await sock.close()


async def test_handshake_from_a_foreign_origin_is_refused() -> None:
    sock = Socket("/ws/chat/", await async_visitor_session(), origin="https://evil.example")
    assert not await sock.connect()
    assert await sync_to_async(Conversation.objects.count)() == 0


async def test_handshake_without_a_session_is_refused() -> None:
    sock = Socket("/ws/chat/", None)
    assert not await sock.connect()


async def test_handoff_frame_moves_to_the_queue_and_updates_console_queues() -> None:
    agent_user = await sync_to_async(_make_agent)()
    queue = Socket("/ws/agent/queue/", await async_login_session(agent_user))
    assert await queue.connect()
    assert (await queue.recv()) == {"type": "queue", "conversations": []}
    sock = await _widget()
    conversation_id = await _conversation_id(sock)
    await sock.send({"type": "handoff"})
    got = [await sock.recv(), await sock.recv()]
    assert {"type": "status", "state": "waiting"} in got
    system = next(f for f in got if f["type"] == "message")
    assert system["sender"] == "system" and "agent" in system["body"].lower()
    snapshot = await queue.recv_until("queue")
    assert [c["id"] for c in snapshot["conversations"]] == [str(conversation_id)]
    assert snapshot["conversations"][0]["state"] == "waiting"
    # A second handoff changes nothing.
    await sock.send({"type": "handoff"})
    assert await sock.nothing()
    await sock.close()
    await queue.close()


async def test_a_handoff_as_the_first_frame_opens_the_conversation_into_the_queue() -> None:
    sock = await _widget()
    await sock.send({"type": "handoff"})
    assert (await sock.recv_until("status")) == {"type": "status", "state": "waiting"}
    conversation = await sync_to_async(Conversation.objects.get)()
    assert conversation.state == Conversation.State.WAITING
    await sock.send({"type": "resume", "after_seq": 0})
    greeting = await sock.recv_until("message", seq=1)
    assert greeting["sender"] == "bot"
    await sock.close()


async def test_staff_sockets_of_the_same_session_ignore_the_widget_opening_its_conversation() -> None:
    agent_user = await sync_to_async(_make_agent)()
    session = await async_login_session(agent_user)
    queue = Socket("/ws/agent/queue/", session)
    assert await queue.connect()
    await queue.recv_until("queue")
    sock = await _widget_any(session)
    await sock.send(_msg("staff trying the widget"))
    assert (await sock.recv_until("ack"))["seq"] == 2
    await sock.send({"type": "handoff"})
    await queue.recv_until("queue")  # still open, and told of the new waiting conversation
    await sock.close()
    await queue.close()


async def test_asking_for_a_human_in_words_hands_over() -> None:
    sock = await _widget()
    await _conversation_id(sock)
    await sock.send(_msg("Can I talk to a person please?"))
    assert (await sock.recv_until("status"))["state"] == "waiting"
    await sock.close()


async def test_agent_and_customer_talk_live_with_typing_and_private_notes() -> None:
    agent_user = await sync_to_async(_make_agent)()
    customer_sock = await _widget()
    conversation_id = await _conversation_id(customer_sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    await sync_to_async(services.conversation_claim)(conversation_id=conversation_id, agent=agent_user)
    await customer_sock.recv_until("status", state="agent")

    agent_sock = Socket(f"/ws/agent/conversations/{conversation_id}/", await async_login_session(agent_user))
    assert await agent_sock.connect()
    assert (await agent_sock.recv()) == {"type": "status", "state": "agent"}

    await agent_sock.send({"type": "typing"})
    assert (await customer_sock.recv_until("typing")) == {"type": "typing", "sender": "agent"}
    reply = _msg("Hi, this is Alex. How can I help?")
    await agent_sock.send(reply)
    assert (await agent_sock.recv_until("ack"))["client_id"] == reply["client_id"]
    got = await customer_sock.recv_until("message", sender="agent")
    assert got["body"] == reply["body"]

    await customer_sock.send({"type": "typing"})
    assert (await agent_sock.recv_until("typing")) == {"type": "typing", "sender": "customer"}
    question = _msg("My card is missing")
    await customer_sock.send(question)
    assert (await agent_sock.recv_until("message", sender="customer"))["body"] == "My card is missing"

    note = {"type": "note", "client_id": str(uuid.uuid4()), "body": "Customer verified by phone"}
    await agent_sock.send(note)
    echoed = await agent_sock.recv_until("note")
    assert echoed["body"] == note["body"] and echoed["client_id"] == note["client_id"]
    assert await sync_to_async(InternalNote.objects.count)() == 1
    # The customer never receives the note, and cannot send one.
    while not await customer_sock.nothing(0.5):
        frame = await customer_sock.recv()
        assert frame["type"] != "note"
    await customer_sock.send(note)
    assert (await customer_sock.recv())["code"] == "unknown_type"
    await agent_sock.close()
    await customer_sock.close()


async def test_agent_cannot_reply_before_claiming() -> None:
    agent_user = await sync_to_async(_make_agent)()
    sock = await _widget()
    conversation_id = await _conversation_id(sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    agent_sock = Socket(f"/ws/agent/conversations/{conversation_id}/", await async_login_session(agent_user))
    assert await agent_sock.connect()  # a waiting conversation may be read before claiming
    await agent_sock.recv()
    await agent_sock.send(_msg("sneaky"))
    assert (await agent_sock.recv_until("error"))["code"] == "not_found"
    assert not await sync_to_async(Message.objects.filter(sender="agent").exists)()
    await agent_sock.close()
    await sock.close()


async def test_forged_conversation_ids_look_the_same_as_missing_ones() -> None:
    owner, intruder = await sync_to_async(lambda: (_make_agent(), _make_agent()))()
    sock = await _widget()
    conversation_id = await _conversation_id(sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    await sync_to_async(services.conversation_claim)(conversation_id=conversation_id, agent=owner)
    intruder_session = await async_login_session(intruder)
    for target in (conversation_id, uuid.uuid4(), "not-a-uuid"):
        forged = Socket(f"/ws/agent/conversations/{target}/", intruder_session)
        assert not await forged.connect()
        assert forged.close_code == 4403
    # Visitors and anonymous users cannot open the staff sockets at all.
    for path in (f"/ws/agent/conversations/{conversation_id}/", "/ws/agent/queue/"):
        assert not await Socket(path, await async_visitor_session()).connect()
    await sock.close()


async def test_reconnecting_widget_gets_the_same_conversation() -> None:
    session = await async_visitor_session()
    first = await _widget(session)
    conversation_id = await _conversation_id(first)
    await first.close()
    second = await _widget(session)
    assert await _conversation_id(second) == conversation_id
    assert await sync_to_async(Conversation.objects.count)() == 1
    await second.close()


async def test_a_customer_cannot_use_the_agent_socket_even_for_their_own_conversation() -> None:
    from tests.factories import UserFactory

    customer = await sync_to_async(UserFactory)(role="customer")
    session = await async_login_session(customer)
    sock = await _widget(session)
    conversation_id = await _conversation_id(sock)
    assert await sync_to_async(lambda: Conversation.objects.get(pk=conversation_id).customer_id)() == customer.pk
    staff_socket = Socket(f"/ws/agent/conversations/{conversation_id}/", session)
    assert not await staff_socket.connect() and staff_socket.close_code == 4403
    assert not await Socket("/ws/agent/queue/", session).connect()
    await sock.close()


async def test_an_agent_who_loses_access_stops_receiving_and_is_closed() -> None:
    first, second = await sync_to_async(lambda: (_make_agent(), _make_agent()))()
    customer_sock = await _widget()
    conversation_id = await _conversation_id(customer_sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    watcher = Socket(f"/ws/agent/conversations/{conversation_id}/", await async_login_session(first))
    assert await watcher.connect()  # may read it while it waits in the queue
    await watcher.recv()
    await sync_to_async(services.conversation_claim)(conversation_id=conversation_id, agent=second)
    assert await watcher.closed_with() == 4403
    await customer_sock.close()


async def test_a_disabled_agent_is_refused_on_the_next_frame() -> None:
    agent_user = await sync_to_async(_make_agent)()
    customer_sock = await _widget()
    conversation_id = await _conversation_id(customer_sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    await sync_to_async(services.conversation_claim)(conversation_id=conversation_id, agent=agent_user)
    agent_sock = Socket(f"/ws/agent/conversations/{conversation_id}/", await async_login_session(agent_user))
    assert await agent_sock.connect()
    await agent_sock.recv()
    agent_user.is_active = False
    await sync_to_async(agent_user.save)(update_fields=["is_active"])
    await agent_sock.send(_msg("after I was disabled"))
    assert (await agent_sock.recv_until("error"))["code"] == "not_found"
    assert not await sync_to_async(Message.objects.filter(sender="agent").exists)()
    await customer_sock.close()


async def test_a_visitor_who_only_looks_leaves_nothing_stored() -> None:
    sock = await _widget()
    await sock.send({"type": "resume", "after_seq": 0})
    greeting = await sock.recv_until("message", seq=1)
    assert greeting["sender"] == "bot" and "/privacy/" in greeting["body"]
    await sock.recv_until("resumed")
    await sock.send({"type": "typing"})
    assert await sock.nothing()
    await sock.close()
    assert await sync_to_async(Conversation.objects.count)() == 0
    assert await sync_to_async(Message.objects.count)() == 0


async def test_two_tabs_writing_at_once_share_one_conversation_and_see_every_message() -> None:
    import asyncio

    session = await async_visitor_session()
    tabs = [await _widget(session) for _ in range(3)]
    assert await sync_to_async(Conversation.objects.count)() == 0
    frames = [_msg(f"from tab {i}") for i in range(3)]
    await asyncio.gather(*(tab.send(frame) for tab, frame in zip(tabs, frames, strict=True)))
    # Three seqs after the greeting's (1), one per message; the bot's answers may come in between.
    acked = [(await tab.recv_until("ack"))["seq"] for tab in tabs]
    assert len(set(acked)) == 3 and min(acked) >= 2
    conversation = await sync_to_async(Conversation.objects.get)()
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation.pk)  # the bot stays out
    for tab in tabs:  # each tab sees the three messages: broadcast, or caught up when it followed
        await tab.send({"type": "resume", "after_seq": 1})
        seen: set[str] = set()
        while len(seen) < 3:
            frame = await tab.recv()
            if frame["type"] == "message" and frame["sender"] == "customer":
                seen.add(frame["body"])
        assert seen == {f["body"] for f in frames}
    bodies = await sync_to_async(
        lambda: list(Message.objects.filter(sender="customer").values_list("body", flat=True))
    )()
    assert sorted(bodies) == sorted(f["body"] for f in frames)
    for tab in tabs:
        await tab.close()


async def test_staff_sockets_need_a_session_that_passed_the_second_factor() -> None:
    agent_user = await sync_to_async(_make_agent)()
    unverified = await sync_to_async(lambda: login_session(agent_user, verified=False))()
    sock = await _widget()
    conversation_id = await _conversation_id(sock)
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    for path in ("/ws/agent/queue/", f"/ws/agent/conversations/{conversation_id}/"):
        refused = Socket(path, unverified)
        assert not await refused.connect() and refused.close_code == 4403
    await sock.close()
