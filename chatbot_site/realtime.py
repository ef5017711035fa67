"""The one way services tell sockets about a change: a channel-group event sent after commit."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from redis.exceptions import RedisError

# What a channel layer raises when its service fails (channels_redis: redis-py's errors; a socket
# that could not connect: OSError). A consumer closes its socket on these rather than crash.
LAYER_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

logger = logging.getLogger(__name__)


def group_send_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send `event` to `group` once the current transaction commits (at once outside one), so no
    socket hears of a change that was rolled back. robust: the data is committed whatever happens
    to the send; a failure is logged, and clients catch up (chat: `resume`)."""

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(group, event)
        except LAYER_ERRORS as exc:  # Redis down: the sockets close (4503) and resume
            logger.warning("a broadcast was lost, the channel layer failed: %s", type(exc).__name__)

    transaction.on_commit(send, robust=True)


# How often each process asks its channel layer's Redis who it is (a few bytes; cheap).
LAYER_CHECK_EVERY = 2.0
_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = weakref.WeakKeyDictionary()


def layer_watch(on_lost: Callable[[], Awaitable[None]]) -> None:
    """Call `on_lost` whenever this process's channel layer (Redis) restarts, fails over or cannot
    be reached. Its groups live in Redis: after a restart every socket of this process has silently
    left its groups (a reconnect of the layer's own connections hides the restart), and only
    closing them, so that clients reconnect, join again and resume, brings them back. One watch per
    event loop; none for a layer without a server (in memory)."""
    loop = asyncio.get_running_loop()
    task = _watches.get(loop)
    if task is None or task.done():
        _watches[loop] = loop.create_task(_watch(on_lost))


async def _server_id() -> str | None:
    layer = get_channel_layer()
    if not hasattr(layer, "connection"):  # not channels_redis: nothing to restart under us
        return None
    info = await layer.connection(0).info("server")
    return str(info.get("run_id"))


async def _watch(on_lost: Callable[[], Awaitable[None]]) -> None:
    known: str | None = None
    while True:
        try:
            current = await _server_id()
        except LAYER_ERRORS:
            current = "unreachable"
        if current is None:
            return
        if known is not None and current != known:
            logger.warning("the channel layer's Redis restarted or was unreachable: closing this process's sockets")
            await on_lost()
        known = current
        await asyncio.sleep(LAYER_CHECK_EVERY)
