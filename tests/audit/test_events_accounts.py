"""Accounts in the audit trail, each event recorded once by the flow that causes it: signing in
(and failing, and being locked out), the second factor (failing, enrolling, resetting, backup
codes), and changes to who may do what (the admin, create_staff, activation)."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import AuthenticatorDevice, User
from audit.actions import Action, Outcome
from audit.selectors import trail_verify
from tests.audit.events import assert_no_canary, entries, only
from tests.auth import current_code, reauthenticated, signed_in_client, signed_up_client, totp_device
from tests.factories import PASSWORD, UserFactory
from vault.blind import blind_index

pytestmark = pytest.mark.django_db

ADDRESS = "canary.person@example.org"
TYPED = "Ghost-Canary-Name"
WRONG = "canary-wrong-password-77"


@pytest.fixture
def person(db: None) -> User:
    """A customer with an e-mail address (the canary the trail must never hold)."""
    return UserFactory(username="canaryperson", email=ADDRESS)


def _sign_in(client: Client, username: str, password: str, ip: str = "203.0.113.5") -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- signing in --------------------------------------------------------------------------------
def test_a_sign_in_is_recorded_once_with_the_client_address(person: User) -> None:
    assert _sign_in(Client(), ADDRESS, PASSWORD).status_code == 302
    entry = only(Action.SIGNIN_SUCCEEDED)
    assert (entry.actor_id, entry.actor_role, entry.object_type, entry.object_id) == (
        person.pk,
        "customer",
        "user",
        str(person.pk),
    )
    assert (entry.outcome, entry.client_address) == (Outcome.OK, "203.0.113.5")
    assert not entries(Action.SIGNIN_FAILED)
    assert_no_canary(ADDRESS, PASSWORD, "canaryperson")


def test_a_failed_sign_in_names_the_account_if_there_is_one(person: User) -> None:
    _sign_in(Client(), ADDRESS, WRONG)
    entry = only(Action.SIGNIN_FAILED)
    assert (entry.actor_id, entry.actor_role, entry.outcome) == (None, "system", Outcome.FAILED)
    assert (entry.object_type, entry.object_id) == ("user", str(person.pk))
    assert entry.details == {"step": "sign_in", "by": "email"}
    assert not entries(Action.SIGNIN_SUCCEEDED)
    assert_no_canary(ADDRESS, WRONG, "canaryperson")


@pytest.mark.parametrize("typed", [TYPED, "nobody.canary@example.net"])
def test_a_failed_sign_in_for_no_account_keeps_the_name_as_a_blind_index_only(typed: str, person: User) -> None:
    _sign_in(Client(), typed, WRONG)
    entry = only(Action.SIGNIN_FAILED)
    assert (entry.actor_id, entry.object_type, entry.object_id) == (None, "", "")
    assert entry.details["typed_index"] == blind_index("email", typed)
    assert_no_canary(typed, WRONG)


def test_a_lockout_is_recorded_once_and_attempts_during_it_as_refused(person: User, settings: Any) -> None:
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(attacker, "canaryperson", WRONG)
    lockout = only(Action.LOCKED_OUT)
    assert (lockout.actor_id, lockout.object_id, lockout.client_address) == (None, str(person.pk), "203.0.113.5")
    assert lockout.details["failures"] == settings.AXES_FAILURE_LIMIT
    failed = entries(Action.SIGNIN_FAILED)
    assert [e.outcome for e in failed] == [Outcome.FAILED] * settings.AXES_FAILURE_LIMIT
    # Even the right password is refused now: one more failure, refused, and no second lockout.
    assert _sign_in(attacker, "canaryperson", PASSWORD).status_code == 429
    assert entries(Action.SIGNIN_FAILED)[-1].outcome == Outcome.DENIED
    assert len(entries(Action.LOCKED_OUT)) == 1 and not entries(Action.SIGNIN_SUCCEEDED)
    assert_no_canary(ADDRESS, WRONG, PASSWORD, "canaryperson")
    assert trail_verify().intact


def test_a_wrong_password_at_re_authentication_is_a_failed_sign_in(person: User) -> None:
    client = signed_in_client(person)
    client.post("/accounts/reauth/", {"password": WRONG})
    entry = only(Action.SIGNIN_FAILED)
    assert (entry.object_id, entry.details["step"], entry.outcome) == (str(person.pk), "reauth", Outcome.FAILED)
    assert_no_canary(ADDRESS, WRONG)


# --- the second factor -------------------------------------------------------------------------
def test_wrong_codes_at_verification_are_recorded_as_totp_or_backup_code(agent: User, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    totp_device(agent)
    client = signed_in_client(agent, verified=False)
    for code in ("000000", "abcde-fghij"):
        client.post("/accounts/mfa/verify/?next=/console/", {"code": code, "next": "/console/"})
    failed = entries(Action.SECOND_FACTOR_FAILED)
    assert [(e.actor_id, e.actor_role, e.object_id, e.outcome) for e in failed] == [
        (agent.pk, "agent", str(agent.pk), Outcome.FAILED)
    ] * 2
    assert [e.details for e in failed] == [
        {"step": "verify", "code": "totp"},
        {"step": "verify", "code": "backup_code"},
    ]
    assert_no_canary("000000", "abcde-fghij")


def test_a_wrong_code_at_re_authentication_is_recorded(agent: User) -> None:
    client = signed_in_client(agent)
    client.post("/accounts/reauth/", {"password": PASSWORD, "code": "000000"})
    entry = only(Action.SECOND_FACTOR_FAILED)
    assert (entry.actor_id, entry.details["step"], entry.outcome) == (agent.pk, "reauth", Outcome.FAILED)
    assert not entries(Action.SIGNIN_FAILED)


def test_codes_refused_past_the_daily_cap_are_recorded_as_refused(agent: User, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.MFA_DAILY_FAILURE_CAP = 1
    totp_device(agent)
    client = signed_in_client(agent, verified=False)
    for _ in range(2):
        client.post("/accounts/mfa/verify/", {"code": "000000"})
    assert [(e.outcome, e.details.get("refused")) for e in entries(Action.SECOND_FACTOR_FAILED)] == [
        (Outcome.FAILED, None),
        (Outcome.DENIED, "daily_cap"),
    ]


def test_enrollment_records_the_factor_and_its_backup_codes_once(agent: User, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client = signed_in_client(agent, verified=False)
    client.get("/accounts/mfa/setup/")
    device = AuthenticatorDevice.objects.get(user=agent, confirmed=False)
    done = client.post("/accounts/mfa/setup/", {"code": current_code(device.bin_key), "next": "/console/"})
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    enrolled, made = only(Action.MFA_ENROLLED), only(Action.BACKUP_CODES_MADE)
    for entry in (enrolled, made):
        assert (entry.actor_id, entry.actor_role, entry.object_id) == (agent.pk, "agent", str(agent.pk))
    assert made.details == {"count": 10}
    assert_no_canary(*codes)


def test_new_backup_codes_are_recorded(agent: User) -> None:
    client = reauthenticated(signed_in_client(agent))
    client.post("/accounts/mfa/backup-codes/")
    entry = only(Action.BACKUP_CODES_MADE)
    assert (entry.actor_id, entry.object_id) == (agent.pk, str(agent.pk))


def test_a_customer_turning_their_second_factor_off_is_a_reset_by_themselves(customer: User) -> None:
    totp_device(customer)
    client = reauthenticated(signed_in_client(customer))
    assert client.post("/accounts/mfa/disable/").status_code == 302
    entry = only(Action.MFA_RESET)
    assert (entry.actor_id, entry.actor_role, entry.object_id) == (customer.pk, "customer", str(customer.pk))


def test_an_administrator_removing_someones_authenticator_is_a_reset_by_them(agent: User, superuser: User) -> None:
    device = totp_device(agent)
    admin = reauthenticated(signed_in_client(superuser))
    url = f"/admin/accounts/authenticatordevice/{device.pk}/delete/"
    assert admin.post(url, {"post": "yes"}).status_code == 302
    entry = only(Action.MFA_RESET)
    assert (entry.actor_id, entry.actor_role, entry.object_id) == (superuser.pk, "superuser", str(agent.pk))
    assert not AuthenticatorDevice.objects.filter(user=agent).exists()


# --- who may do what -----------------------------------------------------------------------------
def _admin_change(admin: Client, user: User, **changes: Any) -> None:
    url = f"/admin/accounts/user/{user.pk}/change/"
    form = admin.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")}
    data.pop("password", None)
    data.update(last_login_0="", last_login_1="", date_joined_0="2026-01-01", date_joined_1="00:00:00", **changes)
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_the_admin_records_role_rights_and_active_changes_by_whom(agent: User, superuser: User) -> None:
    admin = reauthenticated(signed_in_client(superuser))
    _admin_change(admin, agent, role=User.Role.SUPERVISOR, is_staff=True)
    role, rights = only(Action.ROLE_CHANGED), only(Action.RIGHTS_CHANGED)
    for entry in (role, rights):
        assert (entry.actor_id, entry.actor_role, entry.object_id) == (superuser.pk, "superuser", str(agent.pk))
    assert role.details == {"from": "agent", "to": "supervisor"}
    assert rights.details == {"is_staff_from": False, "is_staff_to": True}
    assert not entries(Action.ACTIVE_CHANGED)
    _admin_change(admin, agent, is_active=False)
    active = only(Action.ACTIVE_CHANGED)
    assert (active.actor_id, active.details) == (superuser.pk, {"from": True, "to": False})
    assert len(entries(Action.ROLE_CHANGED)) == 1 and len(entries(Action.RIGHTS_CHANGED)) == 1


def test_a_save_that_changes_no_access_records_nothing(agent: User, superuser: User) -> None:
    admin = reauthenticated(signed_in_client(superuser))
    _admin_change(admin, agent, first_name="Renamed")
    assert not entries(Action.ROLE_CHANGED) and not entries(Action.RIGHTS_CHANGED)
    assert not entries(Action.ACTIVE_CHANGED)


def test_an_account_added_in_the_admin_records_its_role(superuser: User) -> None:
    admin = reauthenticated(signed_in_client(superuser))
    password = "canary-admin-set-91x"
    response = admin.post(
        "/admin/accounts/user/add/",
        {
            "username": "newagent",
            "password1": password,
            "password2": password,
            "usable_password": "true",
            "role": "agent",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    new = User.objects.get(username="newagent")
    entry = only(Action.ROLE_CHANGED)
    assert (entry.actor_id, entry.object_id, entry.details) == (superuser.pk, str(new.pk), {"from": "", "to": "agent"})
    assert_no_canary(password)


def test_create_staff_records_the_role_and_rights_it_gives(db: None) -> None:
    password = "canary-staff-pass-53q"
    with mock.patch("getpass.getpass", return_value=password):
        call_command("create_staff", "morgan2", role="supervisor", stdout=mock.Mock())
    user = User.objects.get(username="morgan2")
    role, rights = only(Action.ROLE_CHANGED), only(Action.RIGHTS_CHANGED)
    assert (role.actor_id, role.actor_role, role.object_id) == (None, "system", str(user.pk))
    assert role.details == {"from": "", "to": "supervisor"}
    assert rights.details == {"is_staff_from": False, "is_staff_to": True}
    assert_no_canary(password)


@pytest.mark.django_db(transaction=True)  # the e-mail with the link goes once the sign-up commits
def test_activating_a_sign_up_from_its_link_is_recorded(eager_tasks: None) -> None:
    signed_up_client("canaryjo", "tulip-quartz-ledger-64", email="jo.canary@example.com")
    user = User.objects.get(username="canaryjo")
    entry = only(Action.ACTIVE_CHANGED)
    assert (entry.actor_id, entry.object_id, entry.details) == (user.pk, str(user.pk), {"from": False, "to": True})
    assert only(Action.SIGNIN_SUCCEEDED).actor_id == user.pk
    assert_no_canary("jo.canary@example.com", "tulip-quartz-ledger-64")
