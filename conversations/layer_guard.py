"""Sockets that survive their channel layer: when Redis fails under a socket (a lost connection,
a restart), the socket closes with CLOSE_LAYER_UNAVAILABLE instead of crashing its consumer, and so
do this process's other sockets, whose groups a restarted Redis has forgotten. Clients reconnect
(to any process) and resume from the last seq they have (docs/protocol.md)."""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import Any

from chatbot_site.realtime import LAYER_ERRORS, layer_watch

logger = logging.getLogger(__name__)

# The channel layer (Redis) failed under this socket: it closes so the client reconnects (to any
# process) and resumes from the last seq it has. Nothing stored is lost; live typing frames may be.
CLOSE_LAYER_UNAVAILABLE = 4503
_open_sockets: weakref.WeakSet[LayerGuard] = weakref.WeakSet()  # this process's accepted sockets


async def _close_all_for_layer() -> None:
    """Close every socket of this process with CLOSE_LAYER_UNAVAILABLE: they reconnect (joining
    their groups again) and resume."""
    for consumer in list(_open_sockets):
        await consumer.close_for_layer()


class LayerGuard:
    """Mixed into an AsyncWebsocketConsumer (before it)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as exc:
            # From group_add in connect(), a broadcast or the reader of this process's channels.
            logger.warning("channel layer unavailable, closing sockets: %s", type(exc).__name__)
            await self.close_for_layer()
            # One reader serves every socket of this process (channels_redis), so the others did
            # not see the error, and a restarted Redis has forgotten their groups: close them too.
            await _close_all_for_layer()
            with contextlib.suppress(*LAYER_ERRORS):
                await self.disconnect(CLOSE_LAYER_UNAVAILABLE)
        finally:
            _open_sockets.discard(self)

    async def close_for_layer(self) -> None:
        _open_sockets.discard(self)
        self._closing = True
        with contextlib.suppress(Exception):  # the client may be gone already
            if not getattr(self, "accepted", False):
                await self.base_send({"type": "websocket.accept"})
            await self.base_send({"type": "websocket.close", "code": CLOSE_LAYER_UNAVAILABLE})

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.accepted = True
        _open_sockets.add(self)
        layer_watch(_close_all_for_layer)  # a Redis restart that no read of this process saw
