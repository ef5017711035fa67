"""Staff actions in the admin that change who may do what, or who may sign in, each recorded once:
a user's groups and permissions, a group's permissions, a password set by an administrator,
accounts deleted, and lockouts lifted (django-axes' failed sign-ins, the daily code cap). Every
test drives the admin's own pages as the superuser."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import MfaFailure, User
from audit.actions import Action, Outcome
from audit.selectors import trail_verify
from conversations import services
from conversations.models import Conversation
from tests.audit.events import assert_no_canary, entries, only
from tests.auth import current_code, reauthenticated, signed_in_client, totp_device
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHANGE_USER = "accounts.change_user"
VIEW_ARTICLE = "conversations.view_knowledgearticle"


def _permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def admin(superuser: User) -> Client:
    return reauthenticated(signed_in_client(superuser))


@pytest.fixture
def leads(db: None) -> Group:
    group = Group.objects.create(name="Support leads")
    group.permissions.add(_permission(VIEW_ARTICLE))
    return group


def _user_form(admin: Client, user: User, *, groups: list[Group], permissions: list[Permission]) -> None:
    url = f"/admin/accounts/user/{user.pk}/change/"
    form = admin.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")}
    data.pop("password", None)
    data.update(
        last_login_0="",
        last_login_1="",
        date_joined_0="2026-01-01",
        date_joined_1="00:00:00",
        groups=[g.pk for g in groups],
        user_permissions=[p.pk for p in permissions],
    )
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


# --- groups and permissions ----------------------------------------------------------------------
def test_a_users_groups_and_permissions_changed_in_the_admin_are_recorded_by_name(
    agent: User, superuser: User, admin: Client, leads: Group
) -> None:
    _user_form(admin, agent, groups=[leads], permissions=[_permission(CHANGE_USER)])
    entry = only(Action.RIGHTS_CHANGED)
    assert (entry.actor_id, entry.actor_role, entry.object_type, entry.object_id, entry.outcome) == (
        superuser.pk,
        "superuser",
        "user",
        str(agent.pk),
        Outcome.OK,
    )
    assert entry.details == {"groups_added": "Support leads", "permissions_added": CHANGE_USER}
    assert list(agent.groups.all()) == [leads]
    # Saved again unchanged: nothing more.
    _user_form(admin, agent, groups=[leads], permissions=[_permission(CHANGE_USER)])
    assert len(entries(Action.RIGHTS_CHANGED)) == 1
    _user_form(admin, agent, groups=[], permissions=[_permission(CHANGE_USER), _permission(VIEW_ARTICLE)])
    removed = entries(Action.RIGHTS_CHANGED)[-1]
    assert removed.details == {"groups_removed": "Support leads", "permissions_added": VIEW_ARTICLE}
    assert len(entries(Action.RIGHTS_CHANGED)) == 2
    assert not agent.groups.exists()


def test_too_many_permissions_to_name_are_counted(agent: User, admin: Client) -> None:
    many = list(Permission.objects.filter(content_type__app_label__in=["accounts", "auth"]))
    assert len(",".join(f"accounts.{p.codename}" for p in many)) > 200
    _user_form(admin, agent, groups=[], permissions=many)
    assert only(Action.RIGHTS_CHANGED).details == {"permissions_added": len(many)}
    assert agent.user_permissions.count() == len(many)


def test_a_groups_permissions_changed_on_its_page_are_recorded_on_the_group(
    superuser: User, admin: Client, leads: Group
) -> None:
    url = f"/admin/auth/group/{leads.pk}/change/"
    response = admin.post(url, {"name": "Support leads", "permissions": [_permission(CHANGE_USER).pk]})
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = only(Action.RIGHTS_CHANGED)
    assert (entry.actor_id, entry.object_type, entry.object_id) == (superuser.pk, "group", str(leads.pk))
    assert entry.details == {"permissions_added": CHANGE_USER, "permissions_removed": VIEW_ARTICLE}
    # A rename changes nobody's rights.
    admin.post(url, {"name": "Leads", "permissions": [_permission(CHANGE_USER).pk]})
    assert len(entries(Action.RIGHTS_CHANGED)) == 1


def test_a_group_added_with_permissions_and_then_deleted_is_recorded(
    agent: User, superuser: User, admin: Client
) -> None:
    response = admin.post("/admin/auth/group/add/", {"name": "Auditors", "permissions": [_permission(CHANGE_USER).pk]})
    assert response.status_code == 302, response.context["adminform"].form.errors
    group = Group.objects.get(name="Auditors")
    assert only(Action.RIGHTS_CHANGED).details == {"permissions_added": CHANGE_USER}
    agent.groups.add(group)
    assert admin.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"}).status_code == 302
    deleted = entries(Action.RIGHTS_CHANGED)[-1]
    assert (deleted.actor_id, deleted.object_type, deleted.object_id) == (superuser.pk, "group", str(group.pk))
    assert deleted.details == {"deleted": True, "members": 1, "permissions_removed": CHANGE_USER}
    assert len(entries(Action.RIGHTS_CHANGED)) == 2


# --- passwords -----------------------------------------------------------------------------------
def test_an_administrator_setting_a_password_is_recorded_and_ends_the_users_sessions(
    agent: User, superuser: User, admin: Client
) -> None:
    elsewhere = signed_in_client(agent)
    password = "canary-set-by-admin-82k"
    response = admin.post(
        f"/admin/accounts/user/{agent.pk}/password/",
        {"password1": password, "password2": password, "usable_password": "true"},
    )
    assert response.status_code == 302
    entry = only(Action.PASSWORD_SET)
    assert (entry.actor_id, entry.actor_role, entry.object_type, entry.object_id, entry.details) == (
        superuser.pk,
        "superuser",
        "user",
        str(agent.pk),
        {},
    )
    agent.refresh_from_db()
    assert agent.check_password(password)
    assert not Session.objects.filter(session_key=elsewhere.session.session_key).exists()
    assert_no_canary(password)


def test_a_password_form_that_saves_nothing_records_nothing(agent: User, admin: Client) -> None:
    url = f"/admin/accounts/user/{agent.pk}/password/"
    mismatch = admin.post(
        url, {"password1": "canary-one-55x", "password2": "canary-two-55x", "usable_password": "true"}
    )
    assert mismatch.status_code == 200
    # "Disable password sign-in" chosen without its button: Django refuses, redirecting to the form.
    conflicting = admin.post(url, {"usable_password": "false"})
    assert (conflicting.status_code, conflicting.url) == (302, url)
    assert not entries(Action.PASSWORD_SET)
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD)


def test_turning_password_sign_in_off_is_a_password_set(agent: User, admin: Client) -> None:
    response = admin.post(
        f"/admin/accounts/user/{agent.pk}/password/", {"usable_password": "false", "unset-password": "1"}
    )
    assert response.status_code == 302
    assert only(Action.PASSWORD_SET).object_id == str(agent.pk)
    agent.refresh_from_db()
    assert not agent.has_usable_password()


# --- deleting accounts ---------------------------------------------------------------------------
def test_deleting_an_account_in_the_admin_is_recorded(agent: User, superuser: User, admin: Client) -> None:
    agent_id = agent.pk
    assert admin.post(f"/admin/accounts/user/{agent_id}/delete/", {"post": "yes"}).status_code == 302
    entry = only(Action.USER_DELETED)
    assert (entry.actor_id, entry.actor_role, entry.object_type, entry.object_id, entry.details) == (
        superuser.pk,
        "superuser",
        "user",
        str(agent_id),
        {},
    )
    assert not User.objects.filter(pk=agent_id).exists()


def test_deleting_accounts_from_the_list_records_each(customer: User, other_customer: User, admin: Client) -> None:
    ids = sorted([customer.pk, other_customer.pk])
    response = admin.post(
        "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    assert sorted(int(e.object_id) for e in entries(Action.USER_DELETED)) == ids
    assert not User.objects.filter(pk__in=ids).exists()
    assert trail_verify().intact


def test_an_account_with_a_conversation_on_legal_hold_is_not_deleted_from_the_admin(
    customer: User, other_customer: User, supervisor: User, admin: Client
) -> None:
    held = services.conversation_start(customer=customer)
    services.conversation_hold(conversation_id=held.pk, reason="Court order 17", by=supervisor)
    page = admin.get(f"/admin/accounts/user/{customer.pk}/delete/").content.decode()
    assert "legal hold" in page
    admin.post(f"/admin/accounts/user/{customer.pk}/delete/", {"post": "yes"})
    admin.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [customer.pk, other_customer.pk], "post": "yes"},
    )
    assert User.objects.filter(pk__in=[customer.pk, other_customer.pk]).count() == 2
    assert Conversation.objects.filter(pk=held.pk).exists()
    assert entries(Action.USER_DELETED) == []


# --- lifting lockouts ----------------------------------------------------------------------------
def _sign_in(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="203.0.113.9")


def test_deleting_a_lockout_lifts_it_and_is_recorded_on_the_account(
    customer: User, superuser: User, admin: Client, settings: Any
) -> None:
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(attacker, "customer", "canary-wrong-31z")
    assert _sign_in(Client(), "customer", PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username="customer")
    assert admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 302
    entry = only(Action.LOCKOUT_LIFTED)
    assert (entry.actor_id, entry.actor_role, entry.object_type, entry.object_id) == (
        superuser.pk,
        "superuser",
        "user",
        str(customer.pk),
    )
    assert entry.details == {"attempts": settings.AXES_FAILURE_LIMIT + 1}
    assert _sign_in(Client(), "customer", PASSWORD).status_code == 302
    assert_no_canary("203.0.113.9", "canary-wrong-31z")


def test_a_lockout_of_a_name_no_account_has_names_neither_name_nor_address(customer: User, admin: Client) -> None:
    _sign_in(Client(), "Ghost-Canary-Name", "canary-wrong-31z")
    _sign_in(Client(), "customer", "canary-wrong-31z")
    ids = list(AccessAttempt.objects.order_by("username").values_list("pk", flat=True))
    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    lifted = {(e.object_type, e.object_id): e.details for e in entries(Action.LOCKOUT_LIFTED)}
    assert lifted == {("address", ""): {"attempts": 1}, ("user", str(customer.pk)): {"attempts": 1}}
    assert not AccessAttempt.objects.exists()
    assert_no_canary("Ghost-Canary-Name", "203.0.113.9")


def test_deleting_wrong_code_records_lifts_the_daily_cap_and_is_recorded(
    agent: User, superuser: User, admin: Client, settings: Any
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.MFA_DAILY_FAILURE_CAP = 2
    device = totp_device(agent)
    client = signed_in_client(agent, verified=False)
    for _ in range(2):
        client.post("/accounts/mfa/verify/", {"code": "000000"})
    capped = client.post("/accounts/mfa/verify/", {"code": current_code(device.bin_key)})
    assert capped.status_code == 200 and "Too many wrong codes in the last 24 hours" in capped.content.decode()
    ids = list(MfaFailure.objects.filter(user=agent).values_list("pk", flat=True))
    assert len(ids) == 2
    response = admin.post(
        "/admin/accounts/mfafailure/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    entry = only(Action.LOCKOUT_LIFTED)
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.details) == (
        superuser.pk,
        "user",
        str(agent.pk),
        {"failed_codes": 2},
    )
    lifted = client.post("/accounts/mfa/verify/", {"code": current_code(device.bin_key)})
    assert lifted.status_code == 302 and "/mfa/verify/" not in lifted.url


def test_deleting_one_wrong_code_record_is_recorded(agent: User, admin: Client) -> None:
    other = UserFactory(username="someone")
    failure = MfaFailure.objects.create(user=agent)
    MfaFailure.objects.create(user=other)
    assert admin.post(f"/admin/accounts/mfafailure/{failure.pk}/delete/", {"post": "yes"}).status_code == 302
    entry = only(Action.LOCKOUT_LIFTED)
    assert (entry.object_id, entry.details) == (str(agent.pk), {"failed_codes": 1})
    assert MfaFailure.objects.filter(user=other).exists()
