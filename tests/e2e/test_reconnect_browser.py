"""The widget in Chromium through a Redis restart: static/js/socket.js reconnects on the server's
4503 close, the widget resumes, and live frames flow again (a bot answer is a broadcast, so it
arrives only on a socket that joined its group again)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from conversations.models import Message
from tests.e2e.conftest import chromium
from tests.integration.private_services import redis_server
from tests.servers import asgi_server, server_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_widget_reconnects_after_a_redis_restart_and_talks_live_again(chromium_path: str) -> None:
    with redis_server() as redis:
        env = {"REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url}
        with asgi_server(extra_env=env) as base, chromium(chromium_path) as browser:
            visitor = browser.new_context(viewport={"width": 420, "height": 760}).new_page()
            sockets: list[object] = []
            visitor.on("websocket", lambda ws: sockets.append(ws))
            visitor.goto(f"{base}/chat/")
            expect(visitor.locator("#chat[data-connected]")).to_have_count(1)
            visitor.fill("#body", "Before the restart")
            visitor.keyboard.press("Enter")
            expect(visitor.locator(".msg-bot")).to_have_count(2)  # the greeting and an answer

            redis.restart()
            # The server closes the socket (4503); the page opens a new one by itself.
            deadline = time.monotonic() + 30
            while len(sockets) < 2:
                assert time.monotonic() < deadline, "the widget did not reconnect"
                visitor.wait_for_timeout(100)
            expect(visitor.locator("#chat[data-connected]")).to_have_count(1)
            visitor.fill("#body", "After the restart")
            visitor.keyboard.press("Enter")
            expect(visitor.locator(".msg-bot")).to_have_count(3, timeout=15000)
            assert visitor.locator(".msg-customer .msg-body").all_inner_texts() == [
                "Before the restart",
                "After the restart",
            ]
            assert "Traceback" not in server_log(base).read_text(errors="replace")
    assert list(Message.objects.filter(sender="customer").values_list("body", flat=True).order_by("seq")) == [
        "Before the restart",
        "After the restart",
    ]
