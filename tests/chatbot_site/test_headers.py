"""Headers on every page: no-store (transcripts, personal data, links), X-Frame-Options DENY except
on the widget's pages (framed by WIDGET_EMBED_ORIGINS through CSP frame-ancestors), and a
Permissions-Policy."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.auth import signed_in_client

pytestmark = pytest.mark.django_db

ANONYMOUS = ["/privacy/", "/privacy/requests/new/", "/accounts/login/", "/accounts/signup/", "/no-such-page/"]
CUSTOMER = ["/accounts/", "/me/conversations/", "/accounts/email/", "/accounts/password/", "/privacy/requests/new/"]
STAFF = ["/console/", "/console/history/", "/accounts/mfa/"]
OFFICER = ["/privacy/officer/"]
FRAMED = ["/chat/", "/privacy/chat/delete/"]


def _framing(response: object) -> str:
    return next(d.strip() for d in response["Content-Security-Policy"].split(";") if "frame-ancestors" in d)


@pytest.mark.parametrize("path", ANONYMOUS)
def test_anonymous_pages(path: str) -> None:
    response = Client().get(path)
    assert response["X-Frame-Options"] == "DENY" and _framing(response) == "frame-ancestors 'none'"
    assert "no-store" in response["Cache-Control"] and "camera=()" in response["Permissions-Policy"]


@pytest.mark.parametrize(("persona", "paths"), [("customer", CUSTOMER), ("agent", STAFF), ("privacy_officer", OFFICER)])
def test_signed_in_pages_are_never_stored_nor_framed(
    persona: str, paths: list[str], request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    client = signed_in_client(user)
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 302), path
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], path
        assert response["X-Frame-Options"] == "DENY", path
        assert "geolocation=()" in response["Permissions-Policy"], path


@pytest.mark.parametrize("path", FRAMED)
def test_the_widget_pages_may_be_framed_by_the_csp_alone(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert _framing(response).startswith("frame-ancestors 'self'")
    assert "no-store" in response["Cache-Control"] and "camera=()" in response["Permissions-Policy"]


def test_static_files_keep_their_caching() -> None:
    response = Client().get("/static/js/chatlink.js")  # WhiteNoise answers before the app's middleware
    assert response.status_code == 200 and "no-store" not in response.get("Cache-Control", "")
