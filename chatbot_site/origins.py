"""The WebSocket Origin check: scheme, host and port must equal the site's own origin.

The site's origins are SITE_URL's and the one the handshake was made to (its scheme, `ws`/`wss`
read as `http`/`https`, with the Host header, when that host is in ALLOWED_HOSTS). Channels'
AllowedHostsOriginValidator compared the host name only, so a page on http:// or on another port
of the same host passed. The widget's sockets come from the widget page, which is served from this
site (WIDGET_EMBED_ORIGINS only lets other sites frame that page), so no other origin is needed.
A browser always sends Origin on a WebSocket handshake: one without it is refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case, the default port left out; None if not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or parts.query:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return None


def own_origins(scope: dict[str, Any]) -> set[str]:
    origins = {normalize(settings.SITE_URL)}
    host = _header(scope, b"host")
    if host:
        domain, _port = split_domain_port(host)
        if domain and validate_host(domain, settings.ALLOWED_HOSTS):
            scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
            origins.add(normalize(f"{scheme}://{host}"))
    origins.discard(None)
    return origins


def origin_allowed(scope: dict[str, Any]) -> bool:
    origin = _header(scope, b"origin")
    return origin is not None and normalize(origin) in own_origins(scope)


class SameOriginValidator:
    """ASGI middleware: a WebSocket handshake from any other origin is refused (HTTP 403)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
