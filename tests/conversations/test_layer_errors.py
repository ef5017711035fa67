"""A channel layer that fails (Redis down, a dropped connection) under a socket: the socket closes
with CLOSE_LAYER_UNAVAILABLE (4503) instead of crashing the consumer, and the client may reconnect
and resume. The Redis restart itself is tests/integration/test_faults.py."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.layers import get_channel_layer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from conversations.layer_guard import CLOSE_LAYER_UNAVAILABLE
from tests.wsclient import Socket, async_login_session, async_open_widget_conversation, async_visitor_session

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _failing(error: BaseException) -> Any:
    async def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    return fail


async def test_a_layer_failing_at_connect_closes_with_the_documented_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_channel_layer(), "group_add", _failing(RedisConnectionError("Redis is down")))
    sock = Socket("/ws/chat/", await async_visitor_session())
    assert not await sock.connect()
    assert sock.close_code == CLOSE_LAYER_UNAVAILABLE


async def test_a_layer_read_timing_out_closes_an_open_socket_with_the_documented_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = get_channel_layer()
    failed = asyncio.Event()
    real_receive = layer.receive

    async def receive(channel: str) -> Any:
        if failed.is_set():
            raise RedisTimeoutError("Timeout reading from redis")
        return await real_receive(channel)

    monkeypatch.setattr(layer, "receive", receive)
    failed.set()
    sock = Socket("/ws/chat/", await async_visitor_session())
    # The reader fails as soon as the socket listens: accepted, then closed with the code.
    connected = await sock.connect()
    code = sock.close_code if not connected else await sock.closed_with()
    assert code == CLOSE_LAYER_UNAVAILABLE


async def test_a_failing_broadcast_from_a_frame_closes_with_the_documented_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = await async_visitor_session()
    await async_open_widget_conversation(session)  # typing goes nowhere before the first message
    sock = Socket("/ws/chat/", session)
    assert await sock.connect()
    assert (await sock.recv())["type"] == "status"
    monkeypatch.setattr(get_channel_layer(), "group_send", _failing(RedisConnectionError("Redis is down")))
    monkeypatch.setattr(get_channel_layer(), "group_discard", _failing(RedisConnectionError("Redis is down")))
    await sock.send({"type": "typing"})
    assert await sock.closed_with() == CLOSE_LAYER_UNAVAILABLE


async def test_a_failing_layer_closes_the_agent_queue_too(monkeypatch: pytest.MonkeyPatch, agent: Any) -> None:
    session = await async_login_session(agent)
    monkeypatch.setattr(get_channel_layer(), "group_add", _failing(ConnectionRefusedError("connection refused")))
    sock = Socket("/ws/agent/queue/", session)
    assert not await sock.connect()
    assert sock.close_code == CLOSE_LAYER_UNAVAILABLE


async def test_a_message_posted_while_broadcasts_fail_is_stored_and_acknowledged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sock = Socket("/ws/chat/", await async_visitor_session())
    assert await sock.connect()
    await sock.recv()
    monkeypatch.setattr(get_channel_layer(), "group_send", _failing(RedisConnectionError("Redis is down")))
    client_id = str(uuid.uuid4())
    await sock.send(json.dumps({"type": "message", "client_id": client_id, "body": "still here?"}))
    ack = await sock.recv_until("ack")
    assert ack["client_id"] == client_id and ack["seq"] >= 2
    await sock.close()
