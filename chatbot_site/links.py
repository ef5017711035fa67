"""Signed links in our e-mails, one mechanism for every app: a token signs a small payload (what
the link names, and a tag of the address it was sent to) under a salt per purpose. Opening one
tells a damaged link from an expired one; what it names is the caller's to check."""

from __future__ import annotations

from typing import Any

from django.core import signing


class LinkRefused(Exception):
    """A link that must not be honoured; `reason` is a short code ("damaged", "expired", "used", …)
    that the page explaining it is chosen by."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def link_token(payload: dict[str, Any], *, purpose: str) -> str:
    return signing.dumps(payload, salt=purpose)


def link_open(token: str, *, purpose: str, max_age: int | None = None) -> dict[str, Any]:
    """The payload of a token signed for `purpose` no longer than `max_age` seconds ago."""
    try:
        payload = signing.loads(token, salt=purpose, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkRefused("expired") from exc
    except signing.BadSignature as exc:
        raise LinkRefused("damaged") from exc
    if not isinstance(payload, dict):
        raise LinkRefused("damaged")
    return payload
