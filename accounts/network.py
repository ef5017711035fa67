"""The client's address, as django-axes and anything else that limits by address should see it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind PROXY_COUNT trusted proxies the address the outermost of them
    appended to X-Forwarded-For (entries further left are whatever the client sent: ignored)."""
    if settings.PROXY_COUNT:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= settings.PROXY_COUNT:
            return hops[-settings.PROXY_COUNT]
        return None
    return request.META.get("REMOTE_ADDR")
