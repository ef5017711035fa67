"""Signing personas in for tests: staff get a confirmed authenticator and a verified session,
as they would after two-step sign-in."""

from __future__ import annotations

import re
import time
from typing import Any

from django.core import mail
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from accounts import factors, services
from accounts.models import AuthenticatorDevice
from accounts.reauth import REAUTH_KEY


def totp_device(user: Any) -> AuthenticatorDevice:
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
    return device or AuthenticatorDevice.objects.create(user=user, name="Test authenticator", confirmed=True)


def current_code(key: bytes, *, offset_steps: int = 0) -> str:
    """The TOTP code an authenticator app would show now (pure computation, no ORM)."""
    totp = TOTP(key)
    totp.time = time.time() + 30 * offset_steps
    return f"{totp.token():06d}"


def signed_in_client(user: Any, *, verified: bool = True) -> Client:
    client = Client()
    client.force_login(user)
    services.session_record(user=user, session_key=client.session.session_key)
    if verified and factors.required_for(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
        session.save()
    return client


def reauthenticated(client: Client) -> Client:
    """The client's session as if its user had just re-entered their password (and code) on the
    re-authentication page, which sensitive actions ask for first."""
    session = client.session
    session[REAUTH_KEY] = time.time()
    session.save()
    return client


def signed_up_client(username: str, password: str, *, email: str = "") -> Client:
    """A customer who signed up, activated the account from the e-mailed link, and signed in.
    Needs the `eager_tasks` fixture (the link comes by e-mail)."""
    email = email or f"{username}@example.com"
    client = Client()
    client.post(
        "/accounts/signup/", {"username": username, "email": email, "password1": password, "password2": password}
    )
    link = re.search(r"http://testserver(/accounts/email/confirm/\d+/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    client.post(link.group(1))
    assert client.post("/accounts/login/", {"username": username, "password": password}).status_code == 302
    return client
