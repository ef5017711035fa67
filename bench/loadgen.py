"""The chat benchmark's load generator: real sockets (`websockets` asyncio client), the real
protocol, an open-loop schedule. Used by bench/chat.py, in its one asyncio process.

Open loop: message i is due at t0 + i / rate, whatever happened to the earlier ones, and every
latency counts from that due time, not from when the send happened, so a server (or a client)
that falls behind shows as latency instead of slowing the load down (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State


def visitor_cookie(base: str) -> str:
    """A widget session, as a browser gets it: GET /chat/ and keep the cookie."""
    with urllib.request.urlopen(f"{base}/chat/", timeout=30) as response:
        return SimpleCookie(response.headers["Set-Cookie"])["sessionid"].value


async def visitor_cookies(base: str, count: int, *, parallel: int = 8) -> list[str]:
    gate = asyncio.Semaphore(parallel)

    async def one() -> str:
        async with gate:
            return await asyncio.to_thread(visitor_cookie, base)

    return list(await asyncio.gather(*(one() for _ in range(count))))


@dataclass
class Sent:
    due: float
    socket: int
    ack: float | None = None
    seq: int | None = None
    echo: float | None = None
    agent: float | None = None
    body: str = ""
    client_id: str = ""


@dataclass
class Tracker:
    """What every socket of one load saw, by client_id and by seq."""

    sent: dict[str, Sent] = field(default_factory=dict)
    bot: dict[tuple[int, int], float] = field(default_factory=dict)  # (socket, seq) → arrival
    duplicates: int = 0
    out_of_order: int = 0
    errors: list[str] = field(default_factory=list)
    resent: int = 0  # messages sent again after a `busy` or `rate_limited` error, as browsers do


TRY_AGAIN_LATER = 1013
REFUSALS = 10
RETRY_AFTER = 2.0  # seconds


class Socket:
    """One client socket: reads every frame, checks seq order, and times our messages."""

    def __init__(self, index: int, url: str, headers: dict[str, str], *, agent: bool = False) -> None:
        self.index, self.url, self.headers, self.agent = index, url, headers, agent
        self.ws: ClientConnection | None = None
        self.tracker = Tracker()
        self.seen: set[int] = set()
        self.top = 0
        self.states: asyncio.Queue[str] = asyncio.Queue()
        self.reader: asyncio.Task[None] | None = None
        self.refused = 0  # handshakes closed with 1013 ("try again later") before this one stayed open

    async def open(self) -> None:
        """Connect; a server too busy for a new socket closes it with 1013, and the client tries
        again after a while, as the widget's does (up to REFUSALS times)."""
        while True:
            self.ws = await connect(self.url, additional_headers=self.headers, open_timeout=60, max_size=2**20)
            try:
                first = json.loads(await asyncio.wait_for(self.ws.recv(), 60))
                break
            except ConnectionClosed as exc:
                if exc.rcvd is None or exc.rcvd.code != TRY_AGAIN_LATER or self.refused >= REFUSALS:
                    raise
                self.refused += 1
                await asyncio.sleep(RETRY_AFTER)
        if first.get("type") != "status":
            raise RuntimeError(f"expected a status frame, got {first}")
        self.reader = asyncio.create_task(self._read())

    @property
    def is_open(self) -> bool:
        return self.ws is not None and self.ws.state is State.OPEN

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        if self.ws:
            await self.ws.close()

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))

    async def _read(self) -> None:
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        async for raw in self.ws:
            now = loop.time()
            frame = json.loads(raw)
            kind = frame.get("type")
            tracker = self.tracker
            if kind == "message":
                seq = frame["seq"]
                if seq in self.seen:
                    tracker.duplicates += 1
                elif seq < self.top:
                    tracker.out_of_order += 1
                self.seen.add(seq)
                self.top = max(self.top, seq)
                sent = tracker.sent.get(frame.get("client_id") or "")
                if sent is not None:
                    if self.agent:
                        sent.agent = sent.agent or now
                    elif sent.socket == self.index:
                        sent.echo = sent.echo or now
                elif frame.get("sender") == "bot":
                    tracker.bot[(self.index, seq)] = now
            elif kind == "ack":
                sent = tracker.sent.get(frame["client_id"])
                if sent is not None and sent.ack is None:
                    sent.ack, sent.seq = now, frame["seq"]
            elif kind == "status":
                self.states.put_nowait(frame["state"])
            elif kind == "error":
                tracker.errors.append(frame.get("code", "?"))
                if frame.get("code") in ("busy", "rate_limited"):
                    # As static/js/chatlink.js: wait retry_after, then resend what is unacknowledged
                    # (same client_id: stored once). Its latency still counts from the due time.
                    loop.call_later(float(frame.get("retry_after") or 1), self._resend_pending)

    def _resend_pending(self) -> None:
        if not self.is_open:
            return
        for sent in list(self.tracker.sent.values()):
            if sent.socket == self.index and sent.ack is None and sent.client_id:
                self.tracker.resent += 1
                frame = {"type": "message", "client_id": sent.client_id, "body": sent.body}
                asyncio.ensure_future(self.send(frame))


async def open_all(sockets: list[Socket], *, parallel: int = 50) -> float:
    """Open every socket (at most `parallel` handshakes at once); seconds until all are up."""
    gate = asyncio.Semaphore(parallel)

    async def one(sock: Socket) -> None:
        async with gate:
            await sock.open()

    start = time.perf_counter()
    await asyncio.gather(*(one(s) for s in sockets))
    return time.perf_counter() - start


async def close_all(sockets: list[Socket], *, parallel: int = 50) -> None:
    """Close every socket, at most `parallel` at once (as clients leaving, not a mass drop)."""
    gate = asyncio.Semaphore(parallel)

    async def one(sock: Socket) -> None:
        async with gate:
            await sock.close()

    await asyncio.gather(*(one(s) for s in sockets), return_exceptions=True)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def summary(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": _pct(values, 50),
        "p99": _pct(values, 99),
        "max": max(values) if values else None,
        "mean": statistics.fmean(values) if values else None,
    }


async def load(
    customers: list[Socket],
    *,
    rate: float,
    seconds: float,
    body: Callable[[int], str],
    agents: list[Socket] | None = None,
    bot: bool = False,
    drain: float = 10.0,
    samples: int = 3000,
    until: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Send rate × seconds messages round-robin over `customers`, due at fixed times (or fewer: none
    is sent once `until` is set, when one is given); wait up to `drain` seconds after the last for
    its answers; return the figures (latencies in ms; `window`: the first and last due times, as
    Unix times)."""
    tracker = Tracker()
    for sock in [*customers, *(agents or [])]:
        sock.tracker = tracker  # one tracker, so an agent's socket finds the customer's message
    loop = asyncio.get_running_loop()
    total = max(1, int(rate * seconds))
    sends: set[asyncio.Task[None]] = set()
    lateness = 0.0
    t0 = loop.time() + (0.2 if until is None else 0.0)  # a load inside something else starts at once
    wall = time.time() - loop.time()
    for i in range(total):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if until is not None and until.is_set() and i:
            break
        lateness = max(lateness, loop.time() - due)
        sock = customers[i % len(customers)]
        client_id, text = str(uuid.uuid4()), body(i)
        tracker.sent[client_id] = Sent(due=due, socket=sock.index, body=text, client_id=client_id)
        task = asyncio.create_task(sock.send({"type": "message", "client_id": client_id, "body": text}))
        sends.add(task)
        task.add_done_callback(sends.discard)

    def answers() -> dict[str, float]:
        """The bot's answer to each message: a socket's answers come in the order of its messages
        (the bot answers after the ack, so another message may be numbered before the answer)."""
        mine: dict[int, list[Sent]] = {}
        for s in tracker.sent.values():
            if s.seq is not None:
                mine.setdefault(s.socket, []).append(s)
        found: dict[str, float] = {}
        for index, messages in mine.items():
            arrivals = [at for (sock, _), at in sorted(tracker.bot.items()) if sock == index]
            for message, at in zip(sorted(messages, key=lambda m: m.seq or 0), arrivals, strict=False):
                found[message.client_id] = at
        return found

    def complete(s: Sent, answered: dict[str, float]) -> bool:
        if s.ack is None or s.echo is None or (agents and s.agent is None):
            return False
        return not bot or s.client_id in answered

    deadline = loop.time() + drain
    while loop.time() < deadline:
        answered = answers() if bot else {}
        if all(complete(s, answered) for s in tracker.sent.values()):
            break
        await asyncio.sleep(0.05)
    sent = list(tracker.sent.values())
    answered = answers() if bot else {}

    def ms(values: list[float | None], due: list[float]) -> list[float]:
        return [(v - d) * 1000 for v, d in zip(values, due, strict=True) if v is not None]

    due = [s.due for s in sent]
    figures: dict[str, Any] = {
        "rate": rate,
        "seconds": seconds,
        "sockets": len(customers),
        "sent": len(sent),
        "lost": sum(not complete(s, answered) for s in sent),
        "duplicates": tracker.duplicates,
        "out_of_order": tracker.out_of_order,
        "errors": len(tracker.errors),
        "error_codes": sorted(set(tracker.errors)),
        "resent": tracker.resent,
        "max_send_lateness_ms": lateness * 1000,
        "window": [t0 + wall, max(s.due for s in sent) + wall],
    }
    series = {"ack": ms([s.ack for s in sent], due), "echo": ms([s.echo for s in sent], due)}
    if agents:
        series["agent"] = ms([s.agent for s in sent], due)
    if bot:
        series["bot"] = ms([answered.get(s.client_id) for s in sent], due)
    for name, values in series.items():
        figures[name] = summary(values)
        if samples:
            step = max(1, len(values) // samples)
            figures[f"{name}_samples"] = [round(v, 2) for v in values[::step]]
    return figures
