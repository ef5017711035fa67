"""The hostile-input sweep of the WebSocket consumers: hypothesis-generated frames (random JSON,
wrong types, huge and deeply nested values, lone surrogates, binary, oversized text) sent many to
a socket against the widget, agent and queue consumers.

Asserted through the protocol only (other limits may be added; messages may change): every frame
that `protocol.parse` refuses is answered with an `error` frame (any code but `internal`) or the
socket is closed with a close code docs/protocol.md documents, every server frame matches
protocol.SERVER_FRAMES, no error is logged, no exception escapes the consumer, and afterwards a
fresh socket still answers a valid frame. Invalid UTF-8 cannot travel over ASGI (text is `str`):
it is sent to a real uvicorn process in its own test.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from websockets.sync.client import connect

from conversations import protocol, services
from tests.security.fuzz_inputs import FRAMES, documented_close_codes, draw
from tests.servers import asgi_server
from tests.wsclient import Socket, login_session, visitor_session

# Frames per consumer: 10,500 in all, drawn with a fixed seed (the same every run).
COUNTS = {"customer": 4_500, "agent": 3_000, "queue": 3_000}
CLOSE_CODES = documented_close_codes()


@pytest.fixture
def agent_conversation(agent: Any) -> Any:
    conversation = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    return conversation.pk


def _refused(frame: tuple[str, Any], allowed: frozenset[str]) -> bool:
    kind, data = frame
    try:
        protocol.parse(data if kind == "text" else None, data if kind == "bytes" else None, allowed=allowed)
    except protocol.ProtocolError:
        return True
    return False


async def _drain(sock: Socket) -> int | None:
    """Read whatever the server sends until it is quiet; the close code if it closed."""
    while not await sock.comm.receive_nothing(timeout=0.05):
        output = await sock.comm.receive_output()
        if output["type"] == "websocket.close":
            return output.get("code", 1000)
        _check(json.loads(output["text"]))
    return None


def _check(frame: dict[str, Any]) -> None:
    protocol.validate_server_frame(frame)
    assert not (frame["type"] == "error" and frame["code"] == "internal"), frame


async def _answer(sock: Socket) -> int | None:
    """Wait for the answer to a refused frame: an error frame (None) or a close (its code)."""
    while True:
        output = await sock.comm.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return output.get("code", 1000)
        frame = json.loads(output["text"])
        _check(frame)
        if frame["type"] == "error":
            return None


async def _sweep(path: str, session: str, frames: list[tuple[str, Any]], allowed: frozenset[str]) -> dict[str, int]:
    counts = {"sent": 0, "refused": 0, "error_frames": 0, "closed": 0, "valid": 0}
    sock = Socket(path, session)
    assert await sock.connect()
    for frame in frames:
        kind, data = frame
        # Straight to the application (send_to refuses empty frames, which clients can send).
        await sock.comm.send_input({"type": "websocket.receive", kind: data})
        counts["sent"] += 1
        refused = _refused(frame, allowed)
        counts["refused" if refused else "valid"] += 1
        code = await (_answer(sock) if refused else _drain(sock))
        if code is None:
            counts["error_frames"] += refused
            continue
        assert code in CLOSE_CODES, (code, kind, repr(data)[:200])
        counts["closed"] += 1
        # As a server does once the client has answered the close: the consumer's disconnect runs
        # (and gives back its socket lease).
        await sock.comm.send_input({"type": "websocket.disconnect", "code": code})
        await sock.comm.wait()
        sock = Socket(path, session)
        assert await sock.connect(), "a fresh socket is refused after the sweep closed one"
    await sock.close()
    return counts


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()} {r.exc_text or ''}"[:500] for r in errors]


async def _still_answers(path: str, session: Any) -> None:
    """After the sweep, a fresh socket on the same session still gets its message acknowledged."""
    fresh = Socket(path, session)
    assert await fresh.connect()
    client_id = str(uuid.uuid4())
    await fresh.send({"type": "message", "client_id": client_id, "body": "still there?"})
    await fresh.recv_until("ack", timeout=10, client_id=client_id)
    await fresh.close()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_generated_frames_to_the_widget(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    frames = draw(FRAMES, COUNTS["customer"])
    session = await sync_to_async(visitor_session)()
    counts = await _sweep("/ws/chat/", session, frames, protocol.CUSTOMER_FRAMES)
    print("widget:", counts)
    assert counts["sent"] == COUNTS["customer"] and counts["refused"] > COUNTS["customer"] // 2
    await _still_answers("/ws/chat/", session)
    _no_errors_logged(caplog)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_generated_frames_to_the_agent_conversation(
    caplog: pytest.LogCaptureFixture, agent: Any, agent_conversation: Any
) -> None:
    caplog.set_level(logging.ERROR)
    frames = draw(FRAMES, COUNTS["agent"])
    session = await sync_to_async(login_session)(agent)
    path = f"/ws/agent/conversations/{agent_conversation}/"
    counts = await _sweep(path, session, frames, protocol.AGENT_FRAMES)
    print("agent conversation:", counts)
    assert counts["sent"] == COUNTS["agent"] and counts["refused"] > COUNTS["agent"] // 2
    await _still_answers(path, session)
    _no_errors_logged(caplog)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_generated_frames_to_the_queue(caplog: pytest.LogCaptureFixture, agent: Any) -> None:
    caplog.set_level(logging.ERROR)
    frames = draw(FRAMES, COUNTS["queue"])
    session = await sync_to_async(login_session)(agent)
    counts = await _sweep("/ws/agent/queue/", session, frames, protocol.QUEUE_FRAMES)
    print("queue:", counts)
    assert counts == {**counts, "sent": COUNTS["queue"], "refused": COUNTS["queue"], "valid": 0}
    fresh = Socket("/ws/agent/queue/", session)
    assert await fresh.connect()
    assert (await fresh.recv())["type"] == "queue"
    await fresh.close()
    _no_errors_logged(caplog)


INVALID_UTF8 = [b"\xff\xfe", b"\xc3\x28", b'{"type":"message","body":"\xed\xa0\x80"}', b"\xf8\x88\x80\x80\x80"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_invalid_utf8_text_frames_close_the_socket_and_the_server_keeps_answering() -> None:
    """The server (uvicorn) closes a text frame that is not UTF-8 with 1007 before the app sees it."""
    session = visitor_session()
    with asgi_server() as base:
        url = base.replace("http://", "ws://") + "/ws/chat/"
        headers = {"Origin": base, "Cookie": f"sessionid={session}"}
        for data in INVALID_UTF8:
            with connect(url, additional_headers=headers, open_timeout=10) as ws:
                protocol.validate_server_frame(json.loads(ws.recv(timeout=10)))
                ws.send(data, text=True)
                with pytest.raises(Exception):  # noqa: B017, PT011 (ConnectionClosed; its code below)
                    while True:
                        ws.recv(timeout=10)
                assert ws.close_code in CLOSE_CODES, ws.close_code
        with connect(url, additional_headers=headers, open_timeout=10) as ws:
            ws.recv(timeout=10)
            client_id = str(uuid.uuid4())
            ws.send(json.dumps({"type": "message", "client_id": client_id, "body": "still there?"}))
            while (frame := json.loads(ws.recv(timeout=10)))["type"] != "ack":
                protocol.validate_server_frame(frame)
            assert frame["client_id"] == client_id
