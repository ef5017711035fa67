"""Customers sign up themselves, always as customers, and may turn on two-step sign-in."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts import roles
from accounts.models import AuthenticatorDevice, User
from tests.auth import current_code, signed_up_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-passphrase-7"


@pytest.mark.django_db(transaction=True)
def test_sign_up_makes_a_customer_whatever_else_is_posted(eager_tasks: None) -> None:
    data = {"username": "newcustomer", "email": "new@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = Client().post(
        "/accounts/signup/", {**data, "role": "supervisor", "is_staff": "on", "is_superuser": "on"}
    )
    assert response.url == "/accounts/signup/check-email/"
    user = User.objects.get(username="newcustomer")
    assert user.role == User.Role.CUSTOMER and not user.is_staff and not user.is_superuser
    client = signed_up_client("another", NEW_PASSWORD)
    assert client.get("/me/conversations/").status_code == 200


def test_weak_passwords_are_refused() -> None:
    response = Client().post(
        "/accounts/signup/",
        {"username": "x1", "email": "x1@example.com", "password1": "password", "password2": "password"},
    )
    assert response.status_code == 200 and not User.objects.filter(username="x1").exists()
    assert "too common" in response.content.decode() or "too short" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_customer_turns_two_step_sign_in_on_and_then_needs_it(eager_tasks: None) -> None:
    client = signed_up_client("newcustomer", NEW_PASSWORD)
    page = client.get("/accounts/mfa/setup/").content.decode()
    assert "totp-secret" in page
    device = AuthenticatorDevice.objects.get(user__username="newcustomer")
    response = client.post("/accounts/mfa/setup/", {"code": current_code(device.bin_key)})
    assert len(re.findall(r"<li><code>", response.content.decode())) == 10
    # A new sign-in now asks for a code before anything else.
    again = Client()
    again.post("/accounts/login/", {"username": "newcustomer", "password": NEW_PASSWORD})
    assert again.get("/me/conversations/").url.startswith("/accounts/mfa/verify/")
    # Turning it off needs a recent re-authentication, then removes the devices.
    response = client.post("/accounts/mfa/disable/")
    assert response.status_code == 302
    assert not AuthenticatorDevice.objects.filter(user__username="newcustomer").exists()


def test_staff_cannot_turn_it_off(agent: User) -> None:
    from tests.auth import signed_in_client

    client = signed_in_client(agent)
    client.get("/accounts/mfa/")
    assert client.post("/accounts/mfa/disable/").status_code in (302, 403)
    assert AuthenticatorDevice.objects.filter(user=agent).exists()


def test_create_staff_command_makes_a_staff_account(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import call_command

    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("create_staff", "nia", role="agent")
    user = User.objects.get(username="nia")
    assert user.role == User.Role.AGENT and user.check_password(NEW_PASSWORD) and roles.is_staff(user)
