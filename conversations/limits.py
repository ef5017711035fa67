"""Flood limits of the chat sockets, shared by every web process (docs/protocol.md, "Limits").

Rates (messages, resumes, invalid frames per session and per client address) are django-ratelimit
windows in the Django cache: Redis with REDIS_URL, the one process's memory without it. Open
sockets are counted per session and per address as leases in a Redis sorted set (member: the
socket's channel name, score: when its lease ends): a socket takes one at connect, gives it back
on disconnect and renews it with its client's frames, so the sockets of a killed process stop
counting when their leases run out (CHAT_SOCKET_LEASE) instead of never. Keys hold hashes, never
a session key or an address.
"""

from __future__ import annotations

import hashlib
import threading
import time
from functools import cache
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from accounts.network import client_key

# Application close codes (docs/protocol.md). Clients reconnect after them, with backoff.
CLOSE_INVALID_FRAMES = 4400  # too many invalid frames from this session
CLOSE_TOO_MANY_SOCKETS = 4429  # this session or address has too many sockets open

_PREFIX = "limits:sockets:"


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


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


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


def leases_take(*, keys: list[str], limits: list[int], member: str, lease: float) -> bool:
    """Take (or renew) `member`'s lease in every key; False, taking none, if one is full."""
    now = time.time()
    if not settings.REDIS_URL:
        return memory_leases.take(keys, limits, member, now, now + lease)
    return bool(_redis().eval(_TAKE, len(keys), *keys, now, now + lease, member, *limits))


def leases_release(*, keys: list[str], member: str) -> None:
    if not settings.REDIS_URL:
        memory_leases.release(keys, member)
        return
    pipe = _redis().pipeline()
    for key in keys:
        pipe.zrem(key, member)
    pipe.execute()


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

    def _lease(self) -> bool:
        self.renewed = time.monotonic()
        return leases_take(keys=self.keys, limits=self.limits, member=self.member, lease=settings.CHAT_SOCKET_LEASE)

    async def open(self) -> bool:
        """Take this socket's lease; False when its session or address has too many open."""
        return await sync_to_async(self._lease, thread_sensitive=False)()

    async def close(self) -> None:
        await sync_to_async(leases_release, thread_sensitive=False)(keys=self.keys, member=self.member)

    async def renew(self) -> None:
        """A frame from the client: renew the lease (at most every tenth of it)."""
        if time.monotonic() - self.renewed > settings.CHAT_SOCKET_LEASE / 10:
            await self.open()

    def _hits(self, kind: str) -> int | None:
        rates = {
            "message": (settings.CHAT_MESSAGE_RATE_PER_SESSION, settings.CHAT_MESSAGE_RATE_PER_ADDRESS),
            "resume": (settings.CHAT_RESUME_RATE_PER_SESSION, settings.CHAT_RESUME_RATE_PER_ADDRESS),
        }[kind]
        waits = [rate_hit(group=f"chat-{kind}-address", key=self.address, rate=rates[1])]
        if self.session:
            waits.append(rate_hit(group=f"chat-{kind}-session", key=self.session, rate=rates[0]))
        return max((w for w in waits if w), default=None)

    async def hit(self, kind: str) -> int | None:
        """Count a "message" (messages and notes) or a "resume"; seconds to wait when over a limit."""
        return await sync_to_async(self._hits, thread_sensitive=False)(kind)

    async def invalid(self) -> bool:
        """Count an invalid frame; True when the session (or, without one, the address) is over."""
        key = self.session or self.address
        wait = await sync_to_async(rate_hit, thread_sensitive=False)(
            group="chat-invalid", key=key, rate=settings.CHAT_INVALID_FRAME_RATE_PER_SESSION
        )
        return wait is not None
