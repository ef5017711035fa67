"""Holes found in review: lockout behind a proxy, admin side doors, customers' optional factor on
the chat socket, guessing on the re-authentication page, revived sessions, odd input."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import services
from accounts.models import User
from tests.auth import signed_in_client, totp_device
from tests.factories import PASSWORD, UserFactory
from tests.wsclient import Socket, login_session


def _behind_proxy(settings: object) -> None:
    settings.PROXY_COUNT = 1  # BEHIND_PROXY=1 with one proxy


def _login(client: Client, password: str, forwarded_for: str) -> int:
    return client.post(
        "/accounts/login/",
        {"username": "customer", "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded_for,
    ).status_code


@pytest.mark.django_db
def test_behind_a_proxy_the_lockout_follows_the_address_the_proxy_saw(customer: User, settings: object) -> None:
    _behind_proxy(settings)
    from django.test import RequestFactory

    from accounts.network import client_ip

    assert client_ip(RequestFactory().get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")) == "203.0.113.9"
    _behind_proxy(settings)
    attacker = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        # Whatever the attacker writes into the header, the proxy appends the real address last.
        _login(attacker, "wrong-password", f"198.18.0.{i}, 203.0.113.9")
    assert _login(attacker, PASSWORD, "203.0.113.9") == 429
    assert _login(Client(), PASSWORD, "198.51.100.7") == 302  # the customer, from home


@pytest.mark.django_db
def test_guessing_on_the_reauthentication_page_is_locked_out_too(customer: User, settings: object) -> None:
    client = signed_in_client(customer)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/reauth/?next=/accounts/password/", {"password": "wrong-password"})
    response = client.post("/accounts/reauth/?next=/accounts/password/", {"password": PASSWORD})
    assert response.status_code == 429


@pytest.mark.django_db
def test_admin_side_doors_go_through_the_sites_own_protections(agent: User) -> None:
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert Client().get("/admin/login/?next=/admin/").url.startswith("/accounts/login/")
    admin_client, agent_client = signed_in_client(root), signed_in_client(agent)
    assert admin_client.get("/admin/password_change/").url == "/accounts/password/"
    url = f"/admin/accounts/user/{agent.pk}/password/"
    assert admin_client.get(url).url.startswith("/accounts/reauth/")
    session = admin_client.session
    session["reauth_at"] = time.time()
    session.save()
    new = "fresh-long-passphrase-91"
    response = admin_client.post(url, {"password1": new, "password2": new, "usable_password": "true"})
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=agent_client.cookies["sessionid"].value).exists()


@pytest.mark.django_db
def test_an_ended_session_is_not_revived(agent: User) -> None:
    client = signed_in_client(agent)
    key = client.cookies["sessionid"].value
    services.sessions_end(user=agent)
    assert not services.staff_session_active(user=agent, session_key=key)


@pytest.mark.django_db
def test_odd_agent_ids_get_a_clear_404_not_a_crash(agent: User, supervisor: User) -> None:
    from conversations import services as chat

    conversation = chat.conversation_start(customer=None)
    chat.conversation_hand_over(conversation_id=conversation.pk)
    for value in ("²", "-1", "1e3", "", "9" * 30):
        response = signed_in_client(supervisor).post(
            f"/console/conversations/{conversation.pk}/assign/", {"agent": value}
        )
        assert response.status_code == 404, value


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_customer_with_two_step_on_needs_it_for_the_chat_socket_too() -> None:
    customer = await sync_to_async(UserFactory)(username="c2")
    await sync_to_async(totp_device)(customer)
    password_only = await sync_to_async(login_session)(customer, verified=False)
    sock = Socket("/ws/chat/", password_only)
    assert not await sock.connect() and sock.close_code == 4403
    verified = await sync_to_async(login_session)(customer)
    assert await Socket("/ws/chat/", verified).connect()
