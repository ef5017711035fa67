"""The client's address, as django-axes and anything else that limits by address should see it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.backends import user_by_email
from chatbot_site.proxies import Trusted
from vault.blind import blind_index


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; when that is one of TRUSTED_PROXIES, the last address in X-Forwarded-For that
    is not (entries further left are whatever the client sent: ignored). Without BEHIND_PROXY,
    X-Forwarded-For changes nothing. uvicorn applies the same rule to the ASGI scope's client
    (`--forwarded-allow-ips` from the same settings), so applying it twice changes nothing."""
    return Trusted(settings.TRUSTED_PROXIES).client(
        request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """What django-axes counts failures against: the account's username, whether the username
    or the e-mail address was typed (one counter per account, reset by a sign-in either way); for
    an address no account has, its blind index (the address itself is never stored)."""
    username = (credentials or {}).get("username") or (request.POST.get("username") if request else None)
    if username and "@" in username:
        user = user_by_email(username)
        return user.username if user is not None else f"email:{blind_index('email', username)[:32]}"
    return username


def limited(request: HttpRequest, *, group: str, key: str, rate: str) -> bool:
    """Count one try against `key` in `group` (django-ratelimit, in the shared cache); True once
    the tries in the window exceed `rate` ("3/h"). Keys are client addresses, account ids or an
    e-mail address's blind index: never an address itself."""
    from django_ratelimit.core import is_ratelimited

    return is_ratelimited(request, group=group, key=lambda _group, _request: key, rate=rate, increment=True)


def client_key(request: HttpRequest) -> str:
    """The client's address as a rate-limit key (one shared key when it cannot be told)."""
    return client_ip(request) or "unknown"
