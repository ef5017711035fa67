"""chatbot_site.logredact: every route that carries a one-time token is covered; records are
rewritten whatever their shape."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from chatbot_site.logredact import REDACTED, RedactSecrets, redact

TOKEN = "tok3n.ABC-def_123:xyz"


def _token_routes(patterns: list, namespace: str = "") -> list[tuple[str, list[str]]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += _token_routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            converters = getattr(pattern.pattern, "converters", {})
            if any(name in converters for name in ("token", "key", "signature")):
                found.append((f"{namespace}{pattern.name}", list(converters)))
    return found


def _sample(converters: list[str]) -> dict[str, object]:
    values = {"request_id": uuid.uuid4(), "user_id": 7, "token": TOKEN}
    return {name: values[name] for name in converters}


def test_every_route_with_a_token_is_redacted() -> None:
    routes = _token_routes(get_resolver().url_patterns)
    assert len(routes) >= 4  # verify, status, export download, e-mail confirmation
    for name, converters in routes:
        path = reverse(name, kwargs=_sample(converters))
        line = f'127.0.0.1:5000 - "GET {path}?next=/x HTTP/1.1" 200'
        assert TOKEN not in redact(line) and REDACTED in redact(line), name


@pytest.mark.parametrize(
    "text",
    [
        "/privacy/exports/abc/" + TOKEN + "/",
        "/privacy/requests/x/verify/" + TOKEN,
        "Not Found: /privacy/requests/x/status/" + TOKEN + "/",
        "/anything?token=" + TOKEN + "&b=2",
    ],
)
def test_redact(text: str) -> None:
    assert TOKEN not in redact(text)


@pytest.mark.parametrize(
    "args",
    [
        ("127.0.0.1:1", "GET", "/privacy/exports/a/" + TOKEN + "/", "1.1", 200),
        {"path": "/accounts/email/confirm/3/" + TOKEN + "/"},
        None,
        (b"/privacy/exports/a/bytes/", 1.5, None, object()),  # not text: left alone, no error
    ],
)
def test_the_filter_rewrites_any_record_shape(args: object) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", None, None)
    record.args = args
    record.msg = "Not Found: /privacy/requests/x/status/" + TOKEN + "/"
    assert RedactSecrets().filter(record) is True
    assert TOKEN not in record.msg and TOKEN not in repr(record.args)
