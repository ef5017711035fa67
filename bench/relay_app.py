"""The bare Channels relay that bench/chat.py measures the product against: the floor of the chat
path on the same stack (uvicorn with the Procfile's flags, Channels, the product's encrypted
channels_redis layer), without the product's work (sessions, limits, database, rendering).

    uvicorn bench.relay_app:application   (bench/chat.py starts it; never routed in the product)

It speaks the minimal frames of docs/protocol.md: a socket on /ws/chat/?conversation=<id> gets a
`status` frame; on a `message` frame it answers `ack` {client_id, seq} and group_sends a `message`
frame with that seq to the conversation's group. An agent socket on
/ws/agent/conversations/<id>/ joins the same group. `seq` counts per socket (the bench has one
customer socket per conversation), where the product counts per conversation in its database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

import django

django.setup()  # CHANNEL_LAYERS exactly as the product's settings build it

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path


def _group(conversation: str) -> str:
    return f"relay.{conversation}"[:90]


class _Relay(AsyncWebsocketConsumer):
    conversation = ""

    async def join(self, conversation: str) -> None:
        self.conversation = conversation
        self.seq = 0
        await self.channel_layer.group_add(_group(conversation), self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "status", "state": "agent"}))

    async def disconnect(self, code: int) -> None:
        if self.conversation:
            await self.channel_layer.group_discard(_group(self.conversation), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or frame.get("type") != "message":
            return  # the bench sends only messages (and a handoff, which the relay ignores)
        self.seq += 1
        at = dt.datetime.now(dt.UTC).isoformat()
        await self.send(text_data=json.dumps({"type": "ack", "client_id": frame["client_id"], "seq": self.seq}))
        message = {
            "type": "message",
            "seq": self.seq,
            "client_id": frame["client_id"],
            "sender": self.sender,
            "body": frame.get("body", ""),
            "at": at,
        }
        await self.channel_layer.group_send(_group(self.conversation), {"type": "chat.message", "message": message})

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event["message"], ensure_ascii=False))


class CustomerRelay(_Relay):
    sender = "customer"

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        await self.join(query.get("conversation", [self.channel_name])[0])


class AgentRelay(_Relay):
    sender = "agent"

    async def connect(self) -> None:
        await self.join(self.scope["url_route"]["kwargs"]["conversation_id"])


async def _http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Any HTTP request: 200, so that the harness can tell the server is up."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"relay"})


application = ProtocolTypeRouter(
    {
        "http": _http,
        "websocket": URLRouter(
            [
                path("ws/chat/", CustomerRelay.as_asgi()),
                path("ws/agent/conversations/<str:conversation_id>/", AgentRelay.as_asgi()),
            ]
        ),
    }
)
