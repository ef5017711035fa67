"""Helpers for driving the real ASGI application with channels' WebsocketCommunicator."""

from __future__ import annotations

import json
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore

from chatbot_site.asgi import application
from conversations import protocol
from tests.auth import signed_in_client

ORIGIN = "http://127.0.0.1"


def visitor_session() -> str:
    """A session like the one GET /chat/ gives a visitor."""
    store = SessionStore()
    store["widget"] = True
    store.create()
    return store.session_key


def open_widget_conversation(session_key: str) -> uuid.UUID:
    """What a visitor's first message (or call for a person) does: open the conversation of
    their widget session (nothing is kept before). Its open sockets follow it (`chat.started`)."""
    from django.contrib.auth import get_user_model

    from conversations import services
    from conversations.access import widget_conversation_access, widget_conversation_owner

    store = SessionStore(session_key=session_key)
    user_id = store.get("_auth_user_id")
    user = get_user_model().objects.get(pk=user_id) if user_id else None
    if (existing := widget_conversation_access(user, store)) is not None:
        return existing.pk
    started = services.widget_conversation_start(session=store, customer=widget_conversation_owner(user))
    return (started or widget_conversation_access(user, store)).pk


async def async_open_widget_conversation(session_key: str) -> uuid.UUID:
    return await sync_to_async(open_widget_conversation)(session_key)


def login_session(user: Any, *, verified: bool = True) -> str:
    """A signed-in session; staff sessions have passed the second factor unless verified=False."""
    return signed_in_client(user, verified=verified).cookies["sessionid"].value


class Socket:
    """A WebsocketCommunicator that checks every server frame against the protocol schema."""

    def __init__(self, path: str, session_key: str | None, *, origin: str = ORIGIN, client: str = "127.0.0.1") -> None:
        # A browser's handshake: Origin, and the Host it connects to (the site's own origin).
        headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1")]
        if session_key:
            headers.append((b"cookie", f"sessionid={session_key}".encode()))
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        # The peer's address, as uvicorn puts it in the scope (the communicator leaves it out);
        # the application reads the scope only once the test's loop runs it.
        self.comm.scope["client"] = [client, 50000]
        self.session_key = session_key
        self.connected = False
        self.close_code: int | None = None
        self._first: str | None = None

    async def connect(self) -> bool:
        """True if the server accepted and kept the socket. A refusal is either a rejected
        handshake (bad Origin) or an accept followed at once by close code 4403."""
        self.connected, self.close_code = await self.comm.connect(timeout=10)
        if not self.connected:
            return False
        first = await self.comm.receive_output(timeout=5)
        if first["type"] == "websocket.close":
            self.connected, self.close_code = False, first.get("code")
            return False
        self._first = first["text"]
        return True

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def send_bytes(self, data: bytes) -> None:
        await self.comm.send_to(bytes_data=data)

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        text, self._first = self._first, None
        frame = json.loads(text if text is not None else await self.comm.receive_from(timeout=timeout))
        protocol.validate_server_frame(frame)
        return frame

    async def recv_until(self, kind: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """Receive frames until one of this type (and these field values) arrives."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def nothing(self, timeout: float = 0.3) -> bool:
        return self._first is None and await self.comm.receive_nothing(timeout=timeout)

    async def closed_with(self, timeout: float = 5) -> int | None:
        """Wait for the server to close the socket; return its close code."""
        while True:
            output = await self.comm.receive_output(timeout=timeout)
            if output["type"] == "websocket.close":
                self.connected = False
                return output.get("code")

    async def close(self) -> None:
        if self.connected:
            await self.comm.disconnect()
            self.connected = False


async_visitor_session = sync_to_async(visitor_session)
async_login_session = sync_to_async(login_session)
