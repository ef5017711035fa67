"""Log records without one-time links: a logging filter that replaces the token in every path
that carries one (privacy request verification and status links, export downloads, e-mail
confirmation) and every query-string value, in the message and its arguments.

It sits on the handlers, not the loggers, so that it sees every record they print: uvicorn's
access log and its WebSocket lines (chatbot_site/uvicorn_logging.json, named by the Procfile's
`--log-config`), and everything Django and the apps log (LOGGING in settings), such as
"Not Found: /privacy/exports/…". Why a filter rather than an access log of our own: uvicorn keeps
its log format and its WebSocket lines, and the same filter covers Django's request logging.

It imports no Django (uvicorn loads it before the application). tests/chatbot_site/
test_logredact.py checks that every URL pattern with a `token` parameter is covered.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
_SEGMENT = r"[^/?#\s\"']+"
# Paths whose last segment is a one-time token (privacy/urls.py, accounts/urls.py).
_TOKEN_PATHS = re.compile(
    r"(/privacy/requests/" + _SEGMENT + r"/(?:verify|status)/"
    r"|/privacy/exports/" + _SEGMENT + r"/"
    r"|/accounts/email/confirm/" + _SEGMENT + r"/)" + _SEGMENT
)
_QUERY_VALUES = re.compile(r"([?&][^=&#\s\"']*=)[^&#\s\"']*")


def redact(text: str) -> str:
    """`text` with every token path segment and query value replaced."""
    text = _TOKEN_PATHS.sub(r"\1" + REDACTED, text)
    if "?" in text:
        text = _QUERY_VALUES.sub(r"\1" + REDACTED, text)
    return text


def _clean(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Rewrites the record in place (every handler after this one sees the redacted record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        return True
