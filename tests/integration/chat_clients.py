"""A chat client that behaves like static/js/socket.js and the widget: it reconnects when its socket
closes (to any of the servers it knows, as a load balancer would send it), resumes after the last
`seq` it has, and resends every message not yet acknowledged with the same client_id. Used by the
fault tests to tell whether a fault lost or duplicated anything."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from http.cookies import SimpleCookie
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from conversations import protocol
from conversations.consumers import CLOSE_UNAUTHORIZED
from conversations.models import Conversation, Message

RECONNECT_FOR = 90.0  # seconds a client keeps trying before the test fails


def visitor_cookie(base: str) -> str:
    with urllib.request.urlopen(f"{base}/chat/", timeout=10) as response:  # noqa: S310
        return SimpleCookie(response.headers["Set-Cookie"])["sessionid"].value


class ChatClient:
    def __init__(self, servers: list[str], path: str, session_key: str) -> None:
        self.servers, self.path, self.session_key = servers, path, session_key
        self.seen: dict[int, dict[str, Any]] = {}  # seq → message frame
        self.duplicates: list[int] = []
        self.unacked: dict[str, str] = {}  # client_id → body
        self.acked: dict[str, int] = {}  # client_id → seq
        self.close_codes: list[int | None] = []
        self.ws: ClientConnection | None = None
        self.status: str | None = None
        self._next = 0

    def open(self) -> None:
        """Connect to the first server that accepts, then resume and resend what is pending."""
        deadline = time.monotonic() + RECONNECT_FOR
        while True:
            base = self.servers[self._next % len(self.servers)]
            try:
                self.ws = connect(
                    base.replace("http://", "ws://") + self.path,
                    additional_headers={"Origin": base, "Cookie": f"sessionid={self.session_key}"},
                    open_timeout=5,
                )
                first = self._read(timeout=10)  # the status frame, or a close
                assert first is not None and first["type"] == "status", first
                break
            except (OSError, InvalidHandshake, InvalidStatus, ConnectionClosed, TimeoutError) as exc:
                self._closed(exc)
                assert time.monotonic() < deadline, f"could not reconnect: {self.close_codes[-5:]}"
                self._next += 1  # another server, as a balancer would after a failed attempt
                time.sleep(0.2)
        self.ws.send(json.dumps({"type": "resume", "after_seq": max(self.seen, default=0)}))
        for client_id, body in self.unacked.items():
            self.ws.send(json.dumps({"type": "message", "client_id": client_id, "body": body}))

    def _closed(self, exc: BaseException) -> None:
        if isinstance(exc, ConnectionClosed):
            code = exc.rcvd.code if exc.rcvd else None
            assert code != CLOSE_UNAUTHORIZED, "the server refused a client it should have let back in"
            self.close_codes.append(code)
        else:
            self.close_codes.append(None)
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def _read(self, timeout: float) -> dict[str, Any] | None:
        assert self.ws is not None
        try:
            frame = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        protocol.validate_server_frame(frame)
        if frame["type"] == "message":
            if frame["seq"] in self.seen:
                self.duplicates.append(frame["seq"])  # a resume may repeat what arrived live: fine
            self.seen[frame["seq"]] = frame
        elif frame["type"] == "ack":
            self.unacked.pop(frame["client_id"], None)
            self.acked[frame["client_id"]] = frame["seq"]
        elif frame["type"] == "status":
            self.status = frame["state"]
        return frame

    def pump(self, timeout: float = 0.2) -> None:
        """Read what has arrived; reconnect (and resume) if the socket closed."""
        try:
            if self.ws is None:
                self.open()
            while self._read(timeout) is not None:
                timeout = 0.01
        except (ConnectionClosed, OSError) as exc:
            self._closed(exc)
            self.open()

    def post(self, body: str) -> str:
        client_id = str(uuid.uuid4())
        self.unacked[client_id] = body
        try:
            assert self.ws is not None
            self.ws.send(json.dumps({"type": "message", "client_id": client_id, "body": body}))
        except (ConnectionClosed, OSError, AssertionError):
            pass  # resent after the reconnect
        return client_id

    def report(self) -> str:
        return f"{self.path} holds {sorted(self.seen)}, closed with {self.close_codes}"

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


def pump_until(clients: list[ChatClient], done: Any, *, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what() if callable(what) else what}"
        for client in clients:
            client.pump()


def converse_through(customer: ChatClient, agent: ChatClient, fault: Any, *, before: int = 5, after: int = 5) -> None:
    """Both sides post `before` messages, then `fault()` happens, then `after` more each; returns
    once every message is acknowledged and both sides hold every stored message."""
    for i in range(before):
        customer.post(f"customer {i}")
        agent.post(f"agent {i}")
        customer.pump()
        agent.pump()
    fault()
    for i in range(before, before + after):
        customer.post(f"customer {i}")
        agent.post(f"agent {i}")
        customer.pump()
        agent.pump()
    pump_until([customer, agent], lambda: not customer.unacked and not agent.unacked, what="every ack")


def assert_nothing_lost_or_duplicated(
    conversation: Conversation, customer: ChatClient, agent: ChatClient, *, per_side: int
) -> None:
    """The database holds each posted message once, in one unbroken run of seq numbers, and both
    clients hold exactly those messages."""
    rows = list(Message.objects.filter(conversation=conversation).order_by("seq").values("seq", "sender", "body"))
    seqs = [row["seq"] for row in rows]
    assert seqs == list(range(1, len(rows) + 1)), seqs
    posted = sorted(row["body"] for row in rows if row["sender"] in ("customer", "agent"))
    expected = sorted([f"customer {i}" for i in range(per_side)] + [f"agent {i}" for i in range(per_side)])
    assert posted == expected
    pump_until(
        [customer, agent],
        lambda: set(customer.seen) >= set(seqs) and set(agent.seen) >= set(seqs),
        what=lambda: f"every message (of {len(seqs)}) on both sides: {customer.report()}; {agent.report()}",
        timeout=30,
    )
    for client in (customer, agent):
        assert sorted(client.seen) == seqs
        assert {seq: client.seen[seq]["body"] for seq in seqs} == {row["seq"]: row["body"] for row in rows}
    assert sorted(customer.acked.values()) == sorted(row["seq"] for row in rows if row["sender"] == "customer"), (
        "an ack named another message's seq"
    )
