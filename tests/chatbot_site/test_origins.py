"""The WebSocket Origin check compares scheme, host and port with the site's own origin."""

from __future__ import annotations

import pytest

from chatbot_site.origins import normalize
from tests.wsclient import Socket, async_visitor_session

pytestmark = pytest.mark.django_db(transaction=True)
async_test = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("http://127.0.0.1", True),  # the handshake's own origin (Host: 127.0.0.1, ws://)
        ("HTTP://127.0.0.1:80", True),  # the same origin, written differently
        ("https://127.0.0.1", False),  # wrong scheme
        ("http://127.0.0.1:8443", False),  # wrong port
        ("http://127.0.0.1.evil.example", False),
        ("http://localhost", False),  # an allowed host, but not the one connected to
        ("https://evil.example", False),
        ("null", False),
        ("", False),
        ("http://127.0.0.1/path", False),
        ("http://[::1", False),  # garbage
        ("http://127.0.0.1:99999", False),
        ("\x00\xff", False),
    ],
)
@async_test
async def test_only_the_sites_own_origin_may_open_a_socket(origin: str, accepted: bool) -> None:
    sock = Socket("/ws/chat/", await async_visitor_session(), origin=origin)
    assert await sock.connect() is accepted
    if accepted:
        await sock.close()


@async_test
async def test_site_url_is_an_origin_of_the_site(settings: object) -> None:
    settings.SITE_URL = "https://chat.example.com"
    sock = Socket("/ws/chat/", await async_visitor_session(), origin="https://chat.example.com:443")
    assert await sock.connect()
    await sock.close()
    sock = Socket("/ws/chat/", await async_visitor_session(), origin="http://chat.example.com")
    assert not await sock.connect()


def test_normalize() -> None:
    assert normalize("https://Chat.Example.com:443/") == "https://chat.example.com"
    assert normalize("http://[::1]:8000") == "http://[::1]:8000"
    assert normalize("ftp://example.com") is None
