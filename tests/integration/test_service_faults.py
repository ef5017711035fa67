"""Services failing under the app: PostgreSQL restarted under two ASGI processes (requests fail
cleanly while it is down, and work again without restarting the app), and a Celery worker killed
mid-task (the task runs once when a worker comes back)."""

from __future__ import annotations

import json
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
import redis
from django.conf import settings

from privacy.models import DataRequest, RequestDetails
from tests.integration.chat_clients import ChatClient, pump_until, visitor_cookie
from tests.integration.private_services import postgres_server
from tests.servers import ROOT, asgi_server, celery_worker, server_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VISIBILITY = 3  # seconds: the broker's visibility timeout for the workers of the worker test


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_postgres_restart_fails_requests_cleanly_and_the_app_recovers_without_a_restart(
    requires_redis: None,
) -> None:
    with ExitStack() as stack:
        pg = stack.enter_context(postgres_server())
        urls = {"DATABASE_URL": f"{pg.url}/confidant", "KEYS_DATABASE_URL": f"{pg.url}/confidant_keys"}
        for name in ("confidant", "confidant_keys"):
            subprocess.run(["createdb", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", name], check=True)  # noqa: S603, S607
        env = server_env(**urls)
        for database in ("default", "keys"):
            subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", "migrate", "--noinput", "--database", database],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        extra = {**urls, "DATABASE_POOL_TIMEOUT": "3"}
        servers = [stack.enter_context(asgi_server(extra_env=extra)) for _ in range(2)]
        customer = ChatClient(servers, "/ws/chat/", visitor_cookie(servers[0]))
        customer.open()
        before = customer.post("before the restart")
        pump_until([customer], lambda: before in customer.acked, what="the first ack")

        pg.stop()
        # While it is down: every page is a 500 page, within the pool's timeout (no hang) …
        for base in servers:
            assert _status(f"{base}/chat/") == 500
        # … and a frame gets an error frame, the socket staying open.
        during = customer.post("while the database is down")
        error = _next_frame(customer, "error")
        assert error["code"] == "internal"

        pg.start()
        for base in servers:
            wait_for(lambda base=base: _status(f"{base}/chat/") == 200, what="the app to use the database again")
        customer.ws.send(json.dumps({"type": "message", "client_id": during, "body": "while the database is down"}))
        pump_until([customer], lambda: during in customer.acked, what="the resent message's ack")
        assert customer.close_codes == []
        customer.close()
        with _private_database(f"{pg.url}/confidant") as rows:
            bodies = [body for sender, body in rows if sender == "customer"]
        assert bodies == ["before the restart", "while the database is down"]


def _next_frame(client: ChatClient, kind: str) -> dict[str, Any]:
    while True:
        frame = client._read(timeout=60)
        assert frame is not None, f"no {kind} frame"
        if frame["type"] == kind:
            return frame


@contextmanager
def _private_database(url: str) -> Iterator[list[tuple[str, str]]]:
    """The messages stored in the private database (bodies are encrypted: read through a server
    process's settings)."""
    script = (
        "import django, json; django.setup(); from conversations.models import Message; "
        "print(json.dumps(list(Message.objects.order_by('seq').values_list('sender', 'body'))))"
    )
    env = server_env(DATABASE_URL=url, KEYS_DATABASE_URL=f"{url}_keys", DJANGO_SETTINGS_MODULE="chatbot_site.settings")
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    yield [tuple(row) for row in json.loads(out.strip().splitlines()[-1])]


class _Sink(socketserver.ThreadingTCPServer):
    """A mail relay: answers SMTP and keeps each message, except that while `stall` is set it
    accepts a connection and says nothing (a worker sending through it is stuck mid-task)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.messages: list[str] = []


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _Sink

    def handle(self) -> None:
        if self.server.stall.is_set():
            self.server.stalled.set()
            self.server.release.wait(120)
            return
        self.wfile.write(b"220 sink\r\n")
        data: list[str] | None = None
        for raw in self.rfile:
            line = raw.decode(errors="replace").rstrip("\r\n")
            if data is not None:
                if line == ".":
                    self.server.messages.append("\n".join(data))
                    data = None
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line)
            elif line.upper().startswith("DATA"):
                data = []
                self.wfile.write(b"354 go on\r\n")
            elif line.upper().startswith("QUIT"):
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_a_worker_killed_mid_task_runs_the_task_once_when_it_comes_back(requires_redis: None) -> None:
    from privacy.tasks import verification_send

    request = DataRequest.objects.create(kind="deletion", status=DataRequest.Status.UNVERIFIED)
    RequestDetails.objects.create(request=request, email="once@example.com", reason="")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    sink = _Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    worker_env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.server_address[1]}",
        "EMAIL_TIMEOUT": "120",  # so the stalled send is still stalled when the worker is killed
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    }
    try:
        sink.stall.set()
        with celery_worker(queue=queue, extra_env=worker_env) as worker:
            verification_send.apply_async(args=[str(request.pk)], queue=queue)
            wait_for(sink.stalled.is_set, what="the task to be mid-send")
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        sink.stall.clear()
        sink.release.set()
        assert sink.messages == [] and _unacked(broker, request.pk)  # taken, never acknowledged
        # A worker restores what has been unacknowledged for longer than the visibility timeout
        # when it starts polling (then only every few polls): start it once that is so.
        wait_for(
            lambda: time.time() - _unacked_since(broker, request.pk) > VISIBILITY + 0.5,
            what="the visibility timeout to pass",
        )
        with celery_worker(queue=queue, extra_env=worker_env):
            wait_for(lambda: sink.messages, timeout=90, what="the task to run again")
            # Done for good: acknowledged, nothing left to redeliver.
            wait_for(lambda: not _unacked(broker, request.pk) and broker.llen(queue) == 0, what="the acknowledgement")
        assert len(sink.messages) == 1
        assert "Confirm your request" in sink.messages[0] and "once@example.com" in sink.messages[0]
    finally:
        sink.release.set()
        sink.shutdown()
        sink.server_close()


def _unacked_since(broker: redis.Redis, request_id: Any) -> float:
    """When the message of this request's task was taken (the broker's unacked index)."""
    tag = next(tag for tag, value in broker.hgetall("unacked").items() if str(request_id).encode() in value)
    return float(broker.zscore("unacked_index", tag))


def _unacked(broker: redis.Redis, request_id: Any) -> bool:
    """Whether the broker holds a taken, unacknowledged message of this request's task."""
    return any(str(request_id).encode() in value for value in broker.hvals("unacked"))
