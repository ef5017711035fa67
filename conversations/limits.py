"""Flood limits of the chat sockets, shared by every web process (docs/protocol.md, "Limits").

Rates (messages, resumes, invalid frames per session and per client address) are fixed windows
counted the way django-ratelimit counts them (its window edges, `count > limit`). A socket's
windows are counted in Redis by one script in one round trip from the event loop (django-ratelimit
costs three round trips per window from a thread: 6 per message, the chat path's largest cost
after the database); without REDIS_URL, in django-ratelimit's windows in the one process's cache.
The widget page's new-session limit stays django-ratelimit's (`rate_hit`). Open sockets are
counted per session and per address as leases in a Redis sorted set (member: the socket's channel
name, score: when its lease ends): a socket takes one at connect, gives it back on disconnect and
renews it with its client's frames, so the sockets of a killed process stop counting when their
leases run out (CHAT_SOCKET_LEASE) instead of never. Keys hold hashes, never a session key or an
address.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import weakref
import zlib
from typing import Any

import redis.asyncio
from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from accounts.network import client_key

# Application close codes (docs/protocol.md). Clients reconnect after them, with backoff.
CLOSE_INVALID_FRAMES = 4400  # too many invalid frames from this session
CLOSE_TOO_MANY_SOCKETS = 4429  # this session or address has too many sockets open

_PREFIX = "limits:sockets:"
_RATE_PREFIX = "limits:rate:"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONNECTIONS = 20  # per process; a call holds one for one round trip, and waits when all are in use
_POOL_TIMEOUT = 10  # seconds a call waits for one before it fails as Redis being unreachable would


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def scope_address(scope: dict[str, Any]) -> str:
    """The socket's client address as accounts.network tells it (the same rule as for pages)."""
    request = HttpRequest()
    client = scope.get("client")
    if client:
        request.META["REMOTE_ADDR"] = client[0]
    for name, value in scope.get("headers", ()):
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        request.META[key] = value.decode("latin-1")
    return client_key(request)


def rate_hit(*, group: str, key: str, rate: str) -> int | None:
    """Count one event; the seconds until the window ends once the rate is exceeded, else None."""
    usage = get_usage(None, group=group, key=lambda _group, _request: key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


def _split_rate(rate: str) -> tuple[int, int]:
    """ "60/m" -> (60, 60), "20/10s" -> (20, 10): settings._rate checked the form at start-up."""
    count, per = rate.split("/")
    return int(count), int(per[:-1] or 1) * _PERIODS[per[-1]]


def _window_end(key: str, period: int, now: int) -> int:
    """The end of `key`'s current window: django-ratelimit's edges (jittered per key)."""
    if period == 1:
        return now
    edge = now - now % period + zlib.crc32(key.encode()) % period
    return edge + period if edge < now else edge


# One script: count one event in every window, each key expiring (ARGV: seconds) with its window.
_HIT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if counts[i] == 1 then redis.call('EXPIRE', key, tonumber(ARGV[i])) end
end
return counts
"""


async def windows_hit(windows: list[tuple[str, str]]) -> int | None:
    """Count one event in each (key, rate) window; the seconds until the last exceeded window
    ends once any is exceeded, else None."""
    if not settings.REDIS_URL:
        waits = [rate_hit(group="chat", key=key, rate=rate) for key, rate in windows]
        return max((w for w in waits if w), default=None)
    now = int(time.time())
    keys, ends, limits = [], [], []
    for key, rate in windows:
        limit, period = _split_rate(rate)
        end = _window_end(f"{key}:{period}", period, now)
        keys.append(f"{_RATE_PREFIX}{key}:{period}:{end}")
        ends.append(end)
        limits.append(limit)
    # Relative lifetimes (to the window's end, and a second more): Redis's clock need not be ours.
    counts = await _aredis().eval(_HIT, len(keys), *keys, *(end - now + 1 for end in ends))
    waits = [max(1, end - now) for count, end, limit in zip(counts, ends, limits, strict=True) if count > limit]
    return max(waits, default=None)


# --- socket leases ---------------------------------------------------------------------------
# One script so that checking every count and taking the leases is atomic across processes.
_TAKE = """
local now, ends, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if not redis.call('ZSCORE', key, member) and redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ends, member)
  redis.call('EXPIRE', key, math.ceil(ends - now) + 1)
end
return 1
"""


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = weakref.WeakKeyDictionary()


def _aredis() -> redis.asyncio.Redis:
    """This event loop's client (an asyncio connection belongs to the loop that opened it)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=_CONNECTIONS, timeout=_POOL_TIMEOUT
        )
        client = _clients[loop] = redis.asyncio.Redis(connection_pool=pool)
    return client


class _MemoryLeases:
    """Embedded mode (one web process): the same leases in this process's memory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sets: dict[str, dict[str, float]] = {}

    def take(self, keys: list[str], limits: list[int], member: str, now: float, until: float) -> bool:
        with self.lock:
            for key, limit in zip(keys, limits, strict=True):
                live = {m: t for m, t in self.sets.get(key, {}).items() if t > now}
                self.sets[key] = live
                if member not in live and len(live) >= limit:
                    return False
            for key in keys:
                self.sets[key][member] = until
            return True

    def release(self, keys: list[str], member: str) -> None:
        with self.lock:
            for key in keys:
                self.sets.get(key, {}).pop(member, None)

    def clear(self) -> None:
        with self.lock:
            self.sets.clear()


memory_leases = _MemoryLeases()


async def leases_take(*, keys: list[str], limits: list[int], member: str, lease: float) -> bool:
    """Take (or renew) `member`'s lease in every key; False, taking none, if one is full."""
    now = time.time()
    if not settings.REDIS_URL:
        return memory_leases.take(keys, limits, member, now, now + lease)
    return bool(await _aredis().eval(_TAKE, len(keys), *keys, now, now + lease, member, *limits))


async def leases_release(*, keys: list[str], member: str) -> None:
    if not settings.REDIS_URL:
        memory_leases.release(keys, member)
        return
    async with _aredis().pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.zrem(key, member)
        await pipe.execute()


class SocketLimits:
    """The limits of one socket: its session's and its address's counts, its own lease."""

    def __init__(self, scope: dict[str, Any], channel_name: str) -> None:
        session = scope.get("session")
        self.session = _digest(session.session_key) if session is not None and session.session_key else None
        self.address = _digest(scope_address(scope))
        self.member = channel_name
        self.renewed = 0.0
        self.keys = [f"{_PREFIX}address:{self.address}"]
        self.limits = [settings.CHAT_SOCKETS_PER_ADDRESS]
        if self.session:
            self.keys.insert(0, f"{_PREFIX}session:{self.session}")
            self.limits.insert(0, settings.CHAT_SOCKETS_PER_SESSION)

    async def open(self) -> bool:
        """Take this socket's lease; False when its session or address has too many open."""
        self.renewed = time.monotonic()
        return await leases_take(
            keys=self.keys, limits=self.limits, member=self.member, lease=settings.CHAT_SOCKET_LEASE
        )

    async def close(self) -> None:
        await leases_release(keys=self.keys, member=self.member)

    async def renew(self) -> None:
        """A frame from the client: renew the lease (at most every tenth of it)."""
        if time.monotonic() - self.renewed > settings.CHAT_SOCKET_LEASE / 10:
            await self.open()

    async def hit(self, kind: str) -> int | None:
        """Count a "message" (messages and notes) or a "resume"; seconds to wait when over a limit."""
        per_session, per_address = {
            "message": (settings.CHAT_MESSAGE_RATE_PER_SESSION, settings.CHAT_MESSAGE_RATE_PER_ADDRESS),
            "resume": (settings.CHAT_RESUME_RATE_PER_SESSION, settings.CHAT_RESUME_RATE_PER_ADDRESS),
        }[kind]
        windows = [(f"{kind}:address:{self.address}", per_address)]
        if self.session:
            windows.append((f"{kind}:session:{self.session}", per_session))
        return await windows_hit(windows)

    async def invalid(self) -> bool:
        """Count an invalid frame; True when the session (or, without one, the address) is over."""
        key = f"invalid:session:{self.session}" if self.session else f"invalid:address:{self.address}"
        return await windows_hit([(key, settings.CHAT_INVALID_FRAME_RATE_PER_SESSION)]) is not None
