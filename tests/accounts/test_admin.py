"""The Django admin goes through the site's own doors: its sign-in, password page and
re-authentication, and a password it sets ends that user's sessions."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import User
from tests.auth import reauthenticated, signed_in_client

pytestmark = pytest.mark.django_db


def test_admin_side_doors_go_through_the_sites_own_protections(agent: User, superuser: User) -> None:
    assert Client().get("/admin/login/?next=/admin/").url.startswith("/accounts/login/")
    admin_client, agent_client = signed_in_client(superuser), signed_in_client(agent)
    assert admin_client.get("/admin/password_change/").url == "/accounts/password/"
    url = f"/admin/accounts/user/{agent.pk}/password/"
    assert admin_client.get(url).url.startswith("/accounts/reauth/")
    reauthenticated(admin_client)
    new = "fresh-long-passphrase-91"
    response = admin_client.post(url, {"password1": new, "password2": new, "usable_password": "true"})
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=agent_client.cookies["sessionid"].value).exists()
