"""The chat's limits over real uvicorn processes on PostgreSQL and Redis: one session's count is
shared by two processes, and uvicorn refuses frames over the app's limit before inflating them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conversations import limits, protocol
from conversations.models import Message
from tests.servers import asgi_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _visitor_cookie(base: str) -> str:
    with urllib.request.urlopen(f"{base}/chat/", timeout=10) as response:  # noqa: S310
        return SimpleCookie(response.headers["Set-Cookie"])["sessionid"].value


def _ws(base: str, session_key: str, **options: Any) -> Any:
    return connect(
        base.replace("http://", "ws://") + "/ws/chat/",
        additional_headers={"Origin": base, "Cookie": f"sessionid={session_key}"},
        open_timeout=10,
        **options,
    )


def _next(ws: Any, *kinds: str) -> dict[str, Any]:
    while True:
        frame = json.loads(ws.recv(timeout=10))
        protocol.validate_server_frame(frame)
        if frame["type"] in kinds:
            return frame


def _closed_with(ws: Any) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=10)
    return closed.value.rcvd.code


def test_one_sessions_limits_are_shared_by_two_processes(requires_redis: None, requires_postgres: None) -> None:
    env = {"CHAT_MESSAGE_RATE_PER_SESSION": "4/h", "CHAT_SOCKETS_PER_SESSION": "2"}
    with ExitStack() as stack:
        server_a = stack.enter_context(asgi_server(extra_env=env))
        server_b = stack.enter_context(asgi_server(extra_env=env))
        session = _visitor_cookie(server_a)
        on_a = stack.enter_context(_ws(server_a, session))
        on_b = stack.enter_context(_ws(server_b, session))
        # Sockets: one on each process fills the session's two places; a third on either is refused.
        third = stack.enter_context(_ws(server_a, session))
        assert _closed_with(third) == limits.CLOSE_TOO_MANY_SOCKETS
        # Messages: two through each process use the session's four; the fifth is refused on both.
        answers = []
        for ws in (on_a, on_b, on_a, on_b, on_b, on_a):
            ws.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "body": "hello"}))
            answers.append(_next(ws, "ack", "error").get("code", "ack"))
        assert answers == ["ack"] * 4 + ["rate_limited"] * 2
    assert Message.objects.filter(sender="customer").count() == 4


def test_uvicorn_refuses_frames_over_the_apps_limit_even_compressed(requires_redis: None) -> None:
    limit = settings.CHAT_MAX_FRAME_BYTES
    with asgi_server() as server:
        session = _visitor_cookie(server)
        with _ws(server, session) as ws:  # permessage-deflate on, as browsers have it
            _next(ws, "status")
            ws.send("x" * (limit - 10))  # within the limit: the app answers it
            assert _next(ws, "error")["code"] == "bad_json"
            ws.send(" " * (limit * 16))  # compresses to a few KiB, inflates past the limit
            assert _closed_with(ws) == 1009
        with _ws(server, session, compression=None) as ws:
            _next(ws, "status")
            ws.send("x" * (limit + 1))
            assert _closed_with(ws) == 1009


def test_the_widget_page_refuses_new_sessions_over_the_limit(requires_redis: None) -> None:
    with asgi_server(extra_env={"CHAT_NEW_SESSIONS_PER_ADDRESS": "1/h"}) as server:
        _visitor_cookie(server)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _visitor_cookie(server)
        assert refused.value.code == 429 and int(refused.value.headers["Retry-After"]) > 0
