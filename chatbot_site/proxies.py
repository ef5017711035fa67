"""Which peers may tell us the client's address: one setting read by Django and by the uvicorn
command line alike, so that the two never disagree.

Without BEHIND_PROXY nobody is trusted: the client is the TCP peer, and X-Forwarded-For and
X-Forwarded-Proto change nothing. With BEHIND_PROXY=1 the proxies are the addresses or networks in
TRUSTED_PROXIES (default: this host, 127.0.0.1 and ::1, for a proxy on the same machine). The
client is then found the way uvicorn and nginx's `real_ip_recursive` find it: from the right of
X-Forwarded-For, the first address that is not a trusted proxy.

This module imports no Django: the Procfile runs `python -m chatbot_site.proxies`, which prints
uvicorn's options (`--forwarded-allow-ips=…`, or `--no-proxy-headers` without a proxy).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}
SAME_HOST = ["127.0.0.1", "::1"]


class ProxyConfigError(ValueError):
    pass


def trusted_proxies(environ: Mapping[str, str]) -> list[str]:
    """The trusted proxies' addresses or networks (validated), empty without BEHIND_PROXY."""
    flag = environ.get("BEHIND_PROXY", "").strip().lower()
    if flag not in _TRUE | _FALSE:
        raise ProxyConfigError(f"BEHIND_PROXY must be 1 or 0, not {flag!r}.")
    if "PROXY_COUNT" in environ:
        raise ProxyConfigError(
            "PROXY_COUNT is no longer read: set TRUSTED_PROXIES to your proxies' addresses (docs/operations.md)."
        )
    raw = [item.strip() for item in environ.get("TRUSTED_PROXIES", "").split(",") if item.strip()]
    if flag in _FALSE:
        if raw:
            raise ProxyConfigError("TRUSTED_PROXIES is set but BEHIND_PROXY is not: set BEHIND_PROXY=1 as well.")
        return []
    for item in raw:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ProxyConfigError(f"TRUSTED_PROXIES: {item!r} is not an IP address or network.") from exc
    return raw or list(SAME_HOST)


class Trusted:
    """Membership test over addresses and networks."""

    def __init__(self, proxies: list[str]) -> None:
        self.networks = [ipaddress.ip_network(p, strict=False) for p in proxies]

    def __contains__(self, host: object) -> bool:
        if not isinstance(host, str) or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host.strip().strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: str) -> str | None:
        """The client's address given the TCP peer and the X-Forwarded-For header."""
        if peer not in self:
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in self:
                # What a trusted proxy appended is an address; anything else means it passed the
                # client's header through: no address can be told.
                return hop if _is_address(hop) else None
        return hops[0] if hops else peer


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def uvicorn_options(environ: Mapping[str, str]) -> list[str]:
    proxies = trusted_proxies(environ)
    if not proxies:
        return ["--no-proxy-headers", "--forwarded-allow-ips="]
    return ["--proxy-headers", f"--forwarded-allow-ips={','.join(proxies)}"]


if __name__ == "__main__":
    if os.environ.get("CONFIDANT_ENV_FILE"):  # read as chatbot_site.settings reads it
        import environ

        environ.Env.read_env(os.environ["CONFIDANT_ENV_FILE"])
    try:
        print(" ".join(uvicorn_options(os.environ)))
    except ProxyConfigError as exc:
        # Nothing trusted is the safe side; the app's settings refuse to start on the same error.
        print("--no-proxy-headers --forwarded-allow-ips=")
        print(f"chatbot_site.proxies: {exc}", file=sys.stderr)
