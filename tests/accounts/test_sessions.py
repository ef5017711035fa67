"""Signing out, changing a password, a role or disabling an account ends the user's sessions and
closes their sockets."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import services
from accounts.models import User
from tests.auth import current_code, reauthenticated, signed_in_client, totp_device
from tests.factories import PASSWORD
from tests.wsclient import Socket, login_session


def _alive(client: Client) -> bool:
    return Session.objects.filter(session_key=client.cookies["sessionid"].value).exists()


@pytest.mark.django_db
def test_signing_out_ends_every_session_of_the_user(agent: User, other_agent: User) -> None:
    laptop, phone, colleague = signed_in_client(agent), signed_in_client(agent), signed_in_client(other_agent)
    laptop.post("/accounts/logout/")
    assert not _alive(phone) and phone.get("/console/").status_code == 302
    assert _alive(colleague)


@pytest.mark.django_db
def test_password_change_needs_recent_reauth_and_ends_the_other_sessions(customer: User) -> None:
    here = Client()
    here.post("/accounts/login/", {"username": "customer", "password": PASSWORD})
    elsewhere = signed_in_client(customer)
    response = here.get("/accounts/password/")
    assert response.status_code == 200  # signing in just now counts as recent
    new = "another-long-passphrase-42"
    response = here.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.url == "/accounts/password/done/"
    assert here.get("/me/conversations/").status_code == 200
    assert not _alive(elsewhere)


@pytest.mark.django_db
def test_staff_password_change_asks_for_password_and_code_first(agent: User, settings: object) -> None:
    settings.REAUTH_MAX_AGE = 0
    client = signed_in_client(agent)
    response = client.get("/accounts/password/")
    assert response.url == "/accounts/reauth/?next=%2Faccounts%2Fpassword%2F"
    settings.REAUTH_MAX_AGE = 300
    key = totp_device(agent).bin_key
    response = client.post(response.url, {"password": PASSWORD, "code": current_code(key)})
    assert response.url == "/accounts/password/"


@pytest.mark.django_db
def test_an_admin_changing_a_role_ends_that_users_sessions_and_cannot_change_their_own(
    agent: User, superuser: User
) -> None:
    admin_client, agent_client = signed_in_client(superuser), signed_in_client(agent)
    assert admin_client.get(f"/admin/accounts/user/{agent.pk}/change/").url.startswith("/accounts/reauth/")
    reauthenticated(admin_client)
    page = admin_client.get(f"/admin/accounts/user/{agent.pk}/change/")
    form = page.context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions", "password")
    }
    data.update(
        role=User.Role.SUPERVISOR,
        last_login_0="",
        last_login_1="",
        date_joined_0="2026-01-01",
        date_joined_1="00:00:00",
    )
    response = admin_client.post(f"/admin/accounts/user/{agent.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert agent.role == User.Role.SUPERVISOR and not _alive(agent_client)
    own = admin_client.get(f"/admin/accounts/user/{superuser.pk}/change/")
    assert "role" not in own.context["adminform"].form.fields
    assert "is_superuser" not in own.context["adminform"].form.fields


@pytest.mark.django_db
def test_an_ended_session_is_not_revived(agent: User) -> None:
    client = signed_in_client(agent)
    key = client.cookies["sessionid"].value
    services.sessions_end(user=agent)
    assert not services.staff_session_touch(user=agent, session_key=key)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["sign_out", "disable", "role"])
async def test_open_sockets_close_when_the_user_signs_out_is_disabled_or_changes_role(change: str, agent: User) -> None:
    sock = Socket("/ws/agent/queue/", await sync_to_async(login_session)(agent))
    assert await sock.connect()
    await sock.recv()
    if change == "sign_out":
        await sync_to_async(services.sessions_end)(user=agent)
    else:
        setattr(agent, *(("is_active", False) if change == "disable" else ("role", User.Role.CUSTOMER)))
        await sync_to_async(agent.save)()
        await sync_to_async(services.user_access_change)(user=agent, fields={"is_active", "role"})
    assert await sock.closed_with() == 4403
