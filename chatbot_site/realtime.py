"""The one way services tell sockets about a change (a channel-group event sent after commit), and
the one way sockets call services (`db_call`: on a pool of threads, broadcasts sent from the loop)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import redis.asyncio
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.db import close_old_connections, transaction
from redis.exceptions import RedisError

# What a channel layer raises when its service fails: channels_redis, redis-py's errors; a socket to
# Redis that could not connect or was reset, the built-in ConnectionError. Not every OSError: a
# client that left mid-send raises uvicorn's ClientDisconnected (an OSError), which says nothing
# about Redis (taking it for a layer failure closed every socket of the process under load).
LAYER_ERRORS: tuple[type[BaseException], ...] = (RedisError, ConnectionError)

logger = logging.getLogger(__name__)


P = ParamSpec("P")
R = TypeVar("R")

# Set by db_call for the call it makes: the broadcasts that call's transactions committed, which
# db_call then sends from the event loop instead of blocking a database thread on Redis.
_outbox: contextvars.ContextVar[list[tuple[str, dict[str, Any]]] | None] = contextvars.ContextVar(
    "confidant_outbox", default=None
)


def group_send_on_commit(group: str | Sequence[str], event: dict[str, Any]) -> None:
    """Send `event` to `group` (or to each of several groups) once the current transaction
    commits (at once outside one), so no socket hears of a change that was rolled back. robust:
    the data is committed whatever happens to the send; a failure is logged, and clients catch up
    (chat: `resume`). Inside `db_call` the send waits for the call to return and happens on the
    event loop; outside, the sends of one call share one event loop and its connections."""
    events = [(group, event)] if isinstance(group, str) else [(g, event) for g in group]

    def send() -> None:
        outbox = _outbox.get()
        if outbox is not None:
            outbox.extend(events)
            return
        async_to_sync(broadcast)(events)

    transaction.on_commit(send, robust=True)


@functools.cache
def _db_executor() -> ThreadPoolExecutor:
    """One per process, as many threads as a database pool has connections: more would only wait."""
    return ThreadPoolExecutor(max_workers=settings.DATABASE_THREADS, thread_name_prefix="db")


_in_flight = 0  # db_call()s of this process started and not finished (running or waiting for a thread)
_waits = 0.0  # how long db_call()s lately waited for a database thread, in seconds (a moving average)
_waited_at = 0.0  # when the last one started (time.monotonic())


def busy() -> bool:
    """Whether this process has more database work waiting than it finishes soon: more calls
    waiting or running than settings.DATABASE_BACKLOG, or calls lately waiting longer than
    settings.DATABASE_BUSY_SECONDS for a thread. New work is then refused with a clear answer
    (`busy`, 1013) that clients retry later, rather than accepted into a queue whose waits would
    time their sockets out. A second without a call starting forgets the waits, so refusing
    cannot keep a process refusing."""
    if _in_flight >= settings.DATABASE_BACKLOG:
        return True
    return _waits > settings.DATABASE_BUSY_SECONDS and time.monotonic() - _waited_at < 1.0


async def db_call(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `func` (a service or selector: database work) from async code, concurrently with the
    other sockets' calls: on a pool of threads, each call with its own connection and transactions
    (channels' `database_sync_to_async` would queue every socket's call on one thread). Returns
    `func`'s result; the broadcasts its transactions committed are then sent from the event loop,
    in the order they were committed (also when `func` raised after a commit)."""
    global _in_flight
    outbox: list[tuple[str, dict[str, Any]]] = []
    token = _outbox.set(outbox)
    _in_flight += 1
    try:
        call = _closing(func, submitted=time.monotonic())
        return await sync_to_async(call, thread_sensitive=False, executor=_db_executor())(*args, **kwargs)
    finally:
        _in_flight -= 1
        _outbox.reset(token)
        await broadcast(outbox)


def _closing(func: Callable[P, R], *, submitted: float) -> Callable[P, R]:
    """`func`, noting how long it waited for a thread (busy()) and giving its thread's database
    connections back to the pool before and after (CONN_MAX_AGE is 0 with the pool). Django's own
    close_old_connections, not channels' wrapper of it, which channels' test communicators turn
    off: a pool's worth of threads would each keep a connection and starve the rest."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        global _waits, _waited_at
        _waited_at = time.monotonic()
        _waits = 0.9 * _waits + 0.1 * (_waited_at - submitted)
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return run


async def broadcast(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Send committed events to their groups; a failing layer (Redis down) loses them, logged:
    the sockets close (4503) and their clients resume."""
    layer = get_channel_layer()
    for group, event in events:
        try:
            await layer.group_send(group, event)
        except LAYER_ERRORS as exc:
            logger.warning("a broadcast was lost, the channel layer failed: %s", type(exc).__name__)
            return


class ChannelLayer(RedisChannelLayer):
    """channels_redis, with connection pools that wait for a free connection when all are in use.

    redis-py's pool raises at once when its `max_connections` (default 100) are busy: under load
    that failed 5,504 `group_discard`s in one bench run, leaving stale group members. Here a
    caller waits up to `pool_timeout` seconds for one of `max_connections`, then fails
    (LAYER_ERRORS: the socket closes with 4503 and its client resumes)."""

    def __init__(self, *args: Any, max_connections: int = 50, pool_timeout: float = 10.0, **kwargs: Any) -> None:
        self.max_connections, self.pool_timeout = max_connections, pool_timeout
        super().__init__(*args, **kwargs)

    def create_pool(self, index: int) -> redis.asyncio.ConnectionPool:
        host = dict(self.hosts[index])
        if "address" not in host:  # sentinels: channels_redis's own pool
            return super().create_pool(index)
        address = host.pop("address")
        return redis.asyncio.BlockingConnectionPool.from_url(
            address, max_connections=self.max_connections, timeout=self.pool_timeout, **host
        )

    async def _clean_receive_backup(self, index: int, channel: str) -> None:
        """channels_redis removes a received message from its backup queue in a task nobody awaits:
        a Redis that fails just then left "Task exception was never retrieved" and a traceback in
        the log. The message was delivered; at worst a restarted Redis redelivers it, and clients
        drop a seq they already have."""
        try:
            await super()._clean_receive_backup(index, channel)
        except LAYER_ERRORS as exc:
            logger.warning(
                "a received message stayed in its backup queue, the channel layer failed: %s", type(exc).__name__
            )


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
