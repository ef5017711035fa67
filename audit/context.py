"""Where the current request or socket comes from, for the entries it causes: set once by the
transport (AuditContextMiddleware for HTTP, the consumers for sockets), read by the recorder, so
that no service needs a client address in its signature. Nothing set (a job): no address."""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from collections.abc import Iterator

_client_address: contextvars.ContextVar[str] = contextvars.ContextVar("audit_client_address", default="")


def normalized(address: str | None) -> str:
    """An IP address in its one canonical spelling ("" when there is none or it is no address)."""
    try:
        return ipaddress.ip_address((address or "").strip()).compressed
    except ValueError:
        return ""


@contextlib.contextmanager
def client(address: str | None) -> Iterator[None]:
    """Entries recorded inside come from `address`."""
    token = _client_address.set(normalized(address))
    try:
        yield
    finally:
        _client_address.reset(token)


def bind_client(address: str | None) -> None:
    """Entries recorded from now on in this context (a socket's task) come from `address`."""
    _client_address.set(normalized(address))


def client_address() -> str:
    return _client_address.get()
