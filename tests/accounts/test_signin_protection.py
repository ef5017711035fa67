"""Password lockout (django-axes, also behind a proxy and on the re-authentication page), staff
idle timeout and session lifetime."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts import services
from accounts.models import User, UserSession
from accounts.network import client_ip
from tests.auth import signed_in_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _attempt(client: Client, username: str, password: str, ip: str, **headers: str) -> object:
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def _attempt_through_proxy(client: Client, password: str, forwarded_for: str) -> int:
    """Signing in as "customer" through the one proxy (10.0.0.2), which forwards `forwarded_for`."""
    return _attempt(client, "customer", password, "10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for).status_code


def test_repeated_wrong_passwords_lock_that_username_from_that_address_only(customer: object, settings: object) -> None:
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _attempt(attacker, "customer", "wrong-password", "203.0.113.9")
    assert response.status_code == 429 and "Sign-in paused" in response.content.decode()
    # Even the right password is refused from there now...
    assert _attempt(attacker, "customer", PASSWORD, "203.0.113.9").status_code == 429
    # ...but the customer, elsewhere, still signs in: a stranger cannot lock them out.
    assert _attempt(Client(), "customer", PASSWORD, "198.51.100.7").status_code == 302


def test_behind_a_proxy_the_lockout_follows_the_address_the_proxy_saw(customer: User, settings: object) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]  # BEHIND_PROXY=1 TRUSTED_PROXIES=10.0.0.0/24
    assert client_ip(
        RequestFactory().get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    ) == ("203.0.113.9")
    attacker = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        # Whatever the attacker writes into the header, the proxy appends the real address last.
        _attempt_through_proxy(attacker, "wrong-password", f"198.18.0.{i}, 203.0.113.9")
    assert _attempt_through_proxy(attacker, PASSWORD, "203.0.113.9") == 429
    assert _attempt_through_proxy(Client(), PASSWORD, "198.51.100.7") == 302  # the customer, from home


def test_without_a_proxy_x_forwarded_for_changes_nothing(customer: User, settings: object) -> None:
    assert settings.TRUSTED_PROXIES == []
    attacker = Client()
    for i in range(settings.AXES_FAILURE_LIMIT + 3):
        # Each try claims a new address; the lockout still counts them all against 127.0.0.1.
        _attempt(attacker, "customer", "wrong-password", "127.0.0.1", HTTP_X_FORWARDED_FOR=f"198.18.0.{i}")
    assert _attempt(attacker, "customer", PASSWORD, "127.0.0.1", HTTP_X_FORWARDED_FOR="198.18.1.1").status_code == 429


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("10.0.0.2", "", "10.0.0.2"),  # a trusted proxy that sent no header: the proxy itself
        ("10.0.0.2", "10.0.0.3, 10.0.0.1", "10.0.0.3"),  # only proxies: the leftmost
        ("10.0.0.2", "203.0.113.9, not-an-address", None),  # a header passed through: unknown
        ("10.0.0.2", "\x00;DROP, , ,", None),
        ("203.0.113.9", "10.0.0.1", "203.0.113.9"),  # not from a proxy: the header is ignored
        ("10.0.0.2", "198.51.100.7, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
    ],
)
def test_the_client_behind_trusted_proxies_garbage_included(
    settings: object, peer: str, forwarded_for: str, expected: str | None
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded_for, REMOTE_ADDR=peer)
    assert client_ip(request) == expected


def test_guessing_on_the_reauthentication_page_is_locked_out_too(customer: User, settings: object) -> None:
    client = signed_in_client(customer)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/reauth/?next=/accounts/password/", {"password": "wrong-password"})
    response = client.post("/accounts/reauth/?next=/accounts/password/", {"password": PASSWORD})
    assert response.status_code == 429


def test_a_lockout_ends_after_the_cool_off(customer: object, settings: object) -> None:
    from axes.models import AccessAttempt

    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "customer", "wrong-password", "203.0.113.9")
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert _attempt(client, "customer", PASSWORD, "203.0.113.9").status_code == 302


def test_idle_staff_sessions_end_on_the_next_request(agent: object, settings: object) -> None:
    client = signed_in_client(agent)
    assert client.get("/console/").status_code == 200
    UserSession.objects.update(last_seen=timezone.now() - dt.timedelta(seconds=settings.STAFF_IDLE_TIMEOUT + 1))
    response = client.get("/console/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert not Session.objects.exists()


def test_active_staff_sessions_still_end_after_their_lifetime(agent: object, settings: object) -> None:
    client = signed_in_client(agent)
    UserSession.objects.update(created_at=timezone.now() - dt.timedelta(seconds=settings.STAFF_SESSION_LIFETIME + 1))
    assert client.get("/console/").status_code == 302


def test_customers_have_no_staff_idle_timeout(customer: object, settings: object) -> None:
    client = signed_in_client(customer)
    UserSession.objects.update(last_seen=timezone.now() - dt.timedelta(seconds=settings.STAFF_IDLE_TIMEOUT + 1))
    assert client.get("/me/conversations/").status_code == 200


def test_the_beat_job_ends_idle_staff_sessions_only(agent: object, customer: object, settings: object) -> None:
    idle_agent, busy_agent, idle_customer = signed_in_client(agent), signed_in_client(agent), signed_in_client(customer)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.STAFF_IDLE_TIMEOUT + 5)
    for client in (idle_agent, idle_customer):
        UserSession.objects.filter(session_key=client.cookies["sessionid"].value).update(last_seen=long_ago)
    assert services.sessions_end_inactive_staff() == 1
    alive = set(Session.objects.values_list("session_key", flat=True))
    assert idle_agent.cookies["sessionid"].value not in alive
    assert {busy_agent.cookies["sessionid"].value, idle_customer.cookies["sessionid"].value} <= alive


@pytest.mark.parametrize("username", ["a" * 255, "a" * 300, "é" * 1000])
def test_an_overlong_username_is_refused_by_the_form_not_a_server_error(username: str) -> None:
    """django-axes records a failed sign-in's username in a 255-character column: found by the
    form sweep (tests/security/test_fuzz_forms.py) as a 500 on PostgreSQL."""
    response = Client().post("/accounts/login/", {"username": username, "password": "wrong password"})
    assert response.status_code == 200 and response.context["form"].errors
