"""Flood limits of the chat (conversations.limits), each hit over real sockets on the ASGI app and
the configured channel layer and cache (Redis in CI); and normal use, which never meets one."""

from __future__ import annotations

import uuid
from asyncio import sleep
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chatbot_site import settings as settings_module
from conversations import limits, services
from conversations.models import Conversation, Message
from tests.chatbot_site.test_settings import PRODUCTION, _python
from tests.servers import ROOT
from tests.wsclient import Socket, async_open_widget_conversation, async_visitor_session

pytestmark = pytest.mark.django_db(transaction=True)
asyncio = pytest.mark.asyncio


def _msg(body: str) -> dict[str, str]:
    return {"type": "message", "client_id": str(uuid.uuid4()), "body": body}


async def _widget(session_key: str | None = None) -> Socket:
    sock = Socket("/ws/chat/", session_key or await async_visitor_session())
    assert await sock.connect()
    assert (await sock.recv())["type"] == "status"
    return sock


async def _answers(sock: Socket, count: int) -> list[dict[str, Any]]:
    """The next `count` acks and errors (other frames skipped)."""
    got: list[dict[str, Any]] = []
    while len(got) < count:
        frame = await sock.recv()
        if frame["type"] in ("ack", "error"):
            got.append(frame)
    return got


async def _hand_over(sock: Socket) -> uuid.UUID:
    """Open the conversation and take the bot out of it (its answers would only add frames)."""
    await sock.send({"type": "resume", "after_seq": 0})
    await sock.recv_until("resumed")
    conversation_id = await async_open_widget_conversation(sock.session_key)  # as a first message would
    await sock.recv_until("resumed")  # the socket follows it
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    return conversation_id


@asyncio
async def test_messages_per_session_are_limited_across_the_sessions_sockets(settings: Any) -> None:
    settings.CHAT_MESSAGE_RATE_PER_SESSION = "5/h"
    session = await async_visitor_session()
    first, second = await _widget(session), await _widget(session)
    await _hand_over(first)
    for i in range(3):
        await first.send(_msg(f"first {i}"))
    for i in range(3):
        await second.send(_msg(f"second {i}"))
    answers = [*(await _answers(first, 3)), *(await _answers(second, 3))]
    assert [a["type"] for a in answers].count("ack") == 5
    refused = next(a for a in answers if a["type"] == "error")
    assert refused["code"] == "rate_limited" and 0 < refused["retry_after"] <= 3600
    assert await sync_to_async(Message.objects.filter(sender="customer").count)() == 5
    await first.close()
    await second.close()


@asyncio
async def test_messages_per_address_are_limited_across_sessions(settings: Any) -> None:
    settings.CHAT_MESSAGE_RATE_PER_ADDRESS = "2/h"
    one, other = await _widget(), await _widget()
    answers = []
    for sock in (one, other, other):
        await sock.send(_msg("hello"))
        answers.append((await _answers(sock, 1))[0].get("code", "ack"))
    assert answers == ["ack", "ack", "rate_limited"]
    await one.close()
    await other.close()


@asyncio
async def test_resume_frames_are_limited_per_session(settings: Any) -> None:
    settings.CHAT_RESUME_RATE_PER_SESSION = "3/h"
    sock = await _widget()
    for _ in range(3):
        await sock.send({"type": "resume", "after_seq": 0})
        await sock.recv_until("resumed")
    await sock.send({"type": "resume", "after_seq": 0})
    refused = await sock.recv_until("error")
    assert refused["code"] == "rate_limited" and refused["retry_after"] > 0
    await sock.close()


@asyncio
async def test_resume_frames_are_limited_per_address(settings: Any) -> None:
    settings.CHAT_RESUME_RATE_PER_ADDRESS = "1/h"
    one, other = await _widget(), await _widget()
    await one.send({"type": "resume", "after_seq": 0})
    await one.recv_until("resumed")
    await other.send({"type": "resume", "after_seq": 0})
    assert (await other.recv_until("error"))["code"] == "rate_limited"
    await one.close()
    await other.close()


async def _post_many(conversation_id: uuid.UUID, count: int) -> None:
    def post() -> None:
        for i in range(count):
            services.message_post(
                conversation_id=conversation_id, sender="customer", body=f"m{i}", client_id=uuid.uuid4()
            )

    await sync_to_async(post)()


async def _resume_all(sock: Socket) -> tuple[list[int], int]:
    """Resume from 0 as static/js/chatlink.js does: ask for the next page while `more`.
    Returns the seqs received and how many pages it took; fails on any error frame."""
    seqs: list[int] = []
    pages = 0
    await sock.send({"type": "resume", "after_seq": 0})
    while True:
        frame = await sock.recv()
        assert frame["type"] != "error", frame
        if frame["type"] == "message":
            seqs.append(frame["seq"])
        elif frame["type"] == "resumed":
            pages += 1
            assert frame["through_seq"] == (seqs[-1] if seqs else 0)
            if not frame["more"]:
                return seqs, pages
            await sock.send({"type": "resume", "after_seq": seqs[-1]})


@asyncio
async def test_one_resume_replays_one_page_and_the_client_asks_for_the_next(settings: Any) -> None:
    settings.CHAT_RESUME_PAGE = 10
    session = await async_visitor_session()
    sock = await _widget(session)
    conversation_id = await _hand_over(sock)
    await _post_many(conversation_id, 24)
    await sock.close()
    last = await sync_to_async(lambda: Conversation.objects.get().last_seq)()
    again = await _widget(session)
    await again.send({"type": "resume", "after_seq": 0})
    first_page = []
    while (frame := await again.recv())["type"] != "resumed":
        if frame["type"] == "message":
            first_page.append(frame["seq"])
    assert first_page == list(range(1, 11)) and frame == {"type": "resumed", "through_seq": 10, "more": True}
    seqs, pages = await _resume_all(again)
    assert seqs == list(range(1, last + 1)) and pages == -(-last // 10)
    await again.close()


@asyncio
async def test_invalid_frames_close_the_socket_after_the_limit(settings: Any) -> None:
    settings.CHAT_INVALID_FRAME_RATE_PER_SESSION = "3/h"
    session = await async_visitor_session()
    sock = await _widget(session)
    for _ in range(3):
        await sock.send("not json")
        assert (await sock.recv())["code"] == "bad_json"
    await sock.send(b"\xff\xfe".decode("latin-1"))
    assert (await sock.recv())["code"] == "bad_json"  # the frame that goes over still gets its answer
    assert await sock.closed_with() == limits.CLOSE_INVALID_FRAMES
    # The count belongs to the session: a new socket's first invalid frame closes it too.
    again = await _widget(session)
    await again.send("{}")
    assert (await again.recv())["code"] == "missing_field"
    assert await again.closed_with() == limits.CLOSE_INVALID_FRAMES


@asyncio
async def test_sockets_per_session_are_limited_and_given_back_on_close(settings: Any) -> None:
    settings.CHAT_SOCKETS_PER_SESSION = 2
    session = await async_visitor_session()
    first, second = await _widget(session), await _widget(session)
    third = Socket("/ws/chat/", session)
    assert not await third.connect() and third.close_code == limits.CLOSE_TOO_MANY_SOCKETS
    await first.close()
    await (await _widget(session)).close()  # the closed socket's place is free again
    await second.close()


@asyncio
async def test_sockets_per_address_are_limited(settings: Any) -> None:
    settings.CHAT_SOCKETS_PER_ADDRESS = 2
    one, two = await _widget(), await _widget()
    three = Socket("/ws/chat/", await async_visitor_session())
    assert not await three.connect() and three.close_code == limits.CLOSE_TOO_MANY_SOCKETS
    queue = Socket("/ws/agent/queue/", None)  # every socket counts, whoever it is for
    assert not await queue.connect() and queue.close_code == limits.CLOSE_TOO_MANY_SOCKETS
    await one.close()
    await two.close()


@asyncio
async def test_sockets_of_a_killed_process_stop_counting_when_their_leases_end(settings: Any) -> None:
    settings.CHAT_SOCKETS_PER_SESSION = 2
    session = await async_visitor_session()
    # What a killed process leaves: two leases taken and never given back (short ones here).
    probe = limits.SocketLimits({"session": _Session(session), "client": ("127.0.0.1", 0)}, "dead")
    for member in ("dead-1", "dead-2"):
        assert await limits.leases_take(keys=probe.keys, limits=[2, 200], member=member, lease=1)

    async def connects() -> bool:
        sock = Socket("/ws/chat/", session)
        if not await sock.connect():
            assert sock.close_code == limits.CLOSE_TOO_MANY_SOCKETS
            return False
        await sock.close()
        return True

    assert not await connects()
    for _ in range(300):  # poll: the leases end a second after they were taken
        if await connects():
            break
        await sleep(0.1)
    else:
        raise AssertionError("the dead leases never ended")


class _Session:
    def __init__(self, key: str) -> None:
        self.session_key = key


@asyncio
async def test_normal_use_meets_no_limit() -> None:
    """Default settings: a 50-message chat with the bot, then a reconnect that resumes 500
    messages through paging."""
    session = await async_visitor_session()
    sock = await _widget(session)
    await sock.send({"type": "resume", "after_seq": 0})
    await sock.recv_until("resumed")
    answers = 0
    for i in range(50):
        await sock.send(_msg(f"question {i}"))
        while (frame := await sock.recv())["type"] != "ack":
            assert frame["type"] != "error", frame
            answers += frame["type"] == "message" and frame["sender"] == "bot"
    while answers < 50:  # the bot answers after the ack
        frame = await sock.recv()
        assert frame["type"] != "error", frame
        answers += frame["type"] == "message" and frame["sender"] == "bot"
    await sock.close()
    conversation_id = await sync_to_async(lambda: Conversation.objects.get().pk)()
    await _post_many(conversation_id, 500 - await sync_to_async(lambda: Message.objects.count())())
    again = await _widget(session)
    seqs, pages = await _resume_all(again)
    assert seqs == list(range(1, 501)) and pages == 5
    await again.close()


def test_new_sessions_per_address_on_the_widget_page(settings: Any) -> None:
    settings.CHAT_NEW_SESSIONS_PER_ADDRESS = "2/h"
    returning = Client()
    assert returning.get("/chat/").status_code == 200
    assert Client().get("/chat/").status_code == 200
    refused = Client().get("/chat/")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
    assert "sessionid" not in refused.cookies
    assert returning.get("/chat/").status_code == 200  # a browser with its session is not counted


@pytest.mark.parametrize("value", ["lots", "0/m", "5", "5/fortnight", "-1/m"])
def test_a_limit_that_is_not_a_rate_is_refused_at_start_up(value: str) -> None:
    run = _python("import django; django.setup()", env={**PRODUCTION, "CHAT_MESSAGE_RATE_PER_SESSION": value})
    assert run.returncode != 0 and "CHAT_MESSAGE_RATE_PER_SESSION must be a rate" in run.stderr


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_socket_count_that_is_not_positive_is_refused_at_start_up(value: str) -> None:
    run = _python("import django; django.setup()", env={**PRODUCTION, "CHAT_SOCKETS_PER_SESSION": value})
    assert run.returncode != 0 and "CHAT_SOCKETS_PER_SESSION" in run.stderr


def test_uvicorn_is_told_the_apps_frame_limit() -> None:
    for procfile in ("Procfile", "Procfile.dev"):
        web = next(line for line in (ROOT / procfile).read_text().splitlines() if "uvicorn" in line)
        assert f"--ws-max-size ${{CHAT_MAX_FRAME_BYTES:-{64 * 1024}}}" in web
    assert settings_module.CHAT_MAX_FRAME_BYTES == 64 * 1024  # the default the Procfiles repeat
