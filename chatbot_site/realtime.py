"""The one way services tell sockets about a change: a channel-group event sent after commit."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from redis.exceptions import RedisError

# What a channel layer raises when its service fails (channels_redis: redis-py's errors; a socket
# that could not connect: OSError). A consumer closes its socket on these rather than crash.
LAYER_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


def group_send_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send `event` to `group` once the current transaction commits (at once outside one), so no
    socket hears of a change that was rolled back. robust: the data is committed whatever happens
    to the send; a failure is logged, and clients catch up (chat: `resume`)."""

    def send() -> None:
        async_to_sync(get_channel_layer().group_send)(group, event)

    transaction.on_commit(send, robust=True)
