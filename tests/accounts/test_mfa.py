"""Two-step sign-in for staff: enrollment, verification, backup codes, caps, enforcement."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from accounts import mfa
from accounts.models import AuthenticatorDevice, BackupCode
from tests.auth import current_code, signed_in_client, totp_device
from tests.factories import PASSWORD
from tests.wsclient import Socket, login_session

pytestmark = pytest.mark.django_db


def _password_only(user: object) -> Client:
    return signed_in_client(user, verified=False)


def _verify(client: Client, code: str, next_url: str = "/console/") -> object:
    return client.post(f"/accounts/mfa/verify/?next={next_url}", {"code": code, "next": next_url})


@pytest.mark.parametrize("persona", ["agent", "supervisor", "privacy_officer"])
@pytest.mark.parametrize("url", ["/console/", "/chat/", "/accounts/", "/admin/", "/me/conversations/"])
def test_staff_without_a_second_factor_reach_only_enrollment(
    request: pytest.FixtureRequest, persona: str, url: str
) -> None:
    client = _password_only(request.getfixturevalue(persona))
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/mfa/setup/?next=")


def test_superusers_need_it_too_and_the_admin_refuses_unverified_sessions(superuser: object) -> None:
    assert _password_only(superuser).get("/admin/").url.startswith("/accounts/mfa/setup/")
    assert signed_in_client(superuser).get("/admin/").status_code == 200


def test_customers_are_not_asked(customer: object) -> None:
    assert _password_only(customer).get("/me/conversations/").status_code == 200


def test_enrollment_shows_qr_and_key_then_ten_backup_codes_once(agent: object, settings: object) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp backs off after a failure; not under test here
    client = _password_only(agent)
    page = client.get("/accounts/mfa/setup/").content.decode()
    assert "<svg" in page
    secret = re.search(r'id="totp-secret"><code>([A-Z2-7 ]+)</code>', page).group(1)
    device = AuthenticatorDevice.objects.get(user=agent, confirmed=False)
    assert secret.replace(" ", "") == mfa.totp_secret_text(device).replace(" ", "")
    wrong = client.post("/accounts/mfa/setup/", {"code": "000000"})
    assert "not valid" in wrong.content.decode()
    done = client.post("/accounts/mfa/setup/", {"code": current_code(device.bin_key), "next": "/console/"})
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "no-store" in done.headers["Cache-Control"]
    assert BackupCode.objects.filter(device__user=agent).count() == 10
    assert all(code not in b.code_hash for b in BackupCode.objects.all() for code in codes)
    assert client.get("/console/").status_code == 200
    # Enrolled: the setup page no longer offers a new key.
    assert client.get("/accounts/mfa/setup/").url == "/accounts/mfa/"


def test_verification_rotates_the_session_and_a_code_works_once(agent: object) -> None:
    key = totp_device(agent).bin_key
    client = _password_only(agent)
    before = client.cookies["sessionid"].value
    code = current_code(key)
    assert _verify(client, code).url == "/console/"
    assert client.cookies["sessionid"].value != before
    assert client.get("/console/").status_code == 200
    # The same code, in another sign-in: refused.
    again = _password_only(agent)
    assert "not valid" in _verify(again, code).content.decode()


def test_backup_code_works_once(agent: object) -> None:
    totp_device(agent)
    codes = mfa.backup_codes_regenerate(user=agent)
    first = _password_only(agent)
    assert _verify(first, codes[3].upper().replace("-", " ")).url == "/console/"
    second = _password_only(agent)
    assert "not valid" in _verify(second, codes[3]).content.decode()
    assert mfa.backup_codes_left(user=agent) == 9


def test_new_backup_codes_need_recent_reauthentication_and_replace_the_old(agent: object, settings: object) -> None:
    key = totp_device(agent).bin_key
    old = mfa.backup_codes_regenerate(user=agent)
    client = _password_only(agent)
    _verify(client, current_code(key, offset_steps=-1))
    settings.REAUTH_MAX_AGE = 0
    response = client.post("/accounts/mfa/backup-codes/", {"next": "/accounts/mfa/"})
    assert response.url.startswith("/accounts/reauth/")
    settings.REAUTH_MAX_AGE = 300
    bad = client.post("/accounts/reauth/?next=/accounts/mfa/", {"password": "wrong", "code": current_code(key)})
    assert "not right" in bad.content.decode()
    ok = client.post("/accounts/reauth/?next=/accounts/mfa/", {"password": PASSWORD, "code": current_code(key)})
    assert ok.url == "/accounts/mfa/"
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", client.post("/accounts/mfa/backup-codes/").content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert mfa.verify(user=agent, token=old[0]) is None


def test_wrong_codes_are_capped_per_day(agent: object, settings: object) -> None:
    settings.MFA_DAILY_FAILURE_CAP = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    key = totp_device(agent).bin_key
    client = _password_only(agent)
    for _ in range(3):
        _verify(client, "123456")
    locked = _verify(client, current_code(key))
    assert "Too many wrong codes in the last 24 hours" in locked.content.decode()
    assert client.get("/console/").status_code == 302


def test_next_cannot_send_people_off_site(agent: object) -> None:
    key = totp_device(agent).bin_key
    response = _verify(_password_only(agent), current_code(key), next_url="https://evil.example/")
    assert response.url == "/accounts/"


def test_after_a_wrong_code_django_otp_backs_off(agent: object) -> None:
    key = totp_device(agent).bin_key
    client = _password_only(agent)
    _verify(client, "123456")
    page = _verify(client, current_code(key)).content.decode()
    assert "Too many wrong codes in a row. Wait" in page
    from accounts.models import MfaFailure

    assert MfaFailure.objects.filter(user=agent).count() == 1  # the throttled try is not counted


def test_a_customer_with_two_step_on_reauthenticates_with_password_and_code(customer: object) -> None:
    key = totp_device(customer).bin_key
    client = signed_in_client(customer)
    page = client.get("/accounts/reauth/?next=/accounts/mfa/").content.decode()
    assert 'id="id_code"' in page
    response = client.post("/accounts/reauth/?next=/accounts/mfa/", {"password": PASSWORD, "code": current_code(key)})
    assert response.url == "/accounts/mfa/"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_customer_with_two_step_on_needs_it_for_the_chat_socket_too(customer: object) -> None:
    await sync_to_async(totp_device)(customer)
    password_only = await sync_to_async(login_session)(customer, verified=False)
    sock = Socket("/ws/chat/", password_only)
    assert not await sock.connect() and sock.close_code == 4403
    verified = await sync_to_async(login_session)(customer)
    assert await Socket("/ws/chat/", verified).connect()
