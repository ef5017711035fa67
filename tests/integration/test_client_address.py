"""The client's address over a real uvicorn process started as the Procfile starts it: without a
proxy configured, X-Forwarded-For changes nothing (even FORWARDED_ALLOW_IPS=* in the environment,
which uvicorn alone would obey); behind a configured proxy, the address that proxy saw counts."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from accounts.models import User
from tests.factories import PASSWORD
from tests.servers import asgi_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _sign_in(base: str, username: str, password: str, forwarded_for: str | None) -> int:
    """One sign-in attempt as a browser makes it (CSRF cookie and token), with the header given."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with opener.open(urllib.request.Request(f"{base}/accounts/login/", headers=headers), timeout=10) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    request = urllib.request.Request(f"{base}/accounts/login/", data=data.encode(), headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_without_a_proxy_invented_addresses_do_not_escape_the_lockout(customer: User) -> None:
    with asgi_server(extra_env={"FORWARDED_ALLOW_IPS": "*"}) as base:
        for i in range(settings.AXES_FAILURE_LIMIT + 2):
            _sign_in(base, "customer", "wrong-password", f"198.18.0.{i}")
        # Locked out: the right password is refused, whatever address the request claims.
        assert _sign_in(base, "customer", PASSWORD, "198.18.9.9") == 429
        assert _sign_in(base, "customer", PASSWORD, None) == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_behind_a_configured_proxy_the_address_it_saw_counts(customer: User) -> None:
    with asgi_server(extra_env={"BEHIND_PROXY": "1", "TRUSTED_PROXIES": "127.0.0.1"}) as base:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            # The attacker's own header, then what the proxy appended: the proxy's view counts.
            _sign_in(base, "customer", "wrong-password", "198.18.0.1, 203.0.113.9")
        assert _sign_in(base, "customer", PASSWORD, "203.0.113.9") == 429
        # The customer, from another address, signs in.
        assert _sign_in(base, "customer", PASSWORD, "198.51.100.7") == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
