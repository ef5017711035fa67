"""Staff actions in the admin that change who may do what, each recorded once: a user's groups
and permissions, a group's permissions. Every test drives the admin's own pages as the
superuser."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import User
from audit.actions import Action, Outcome
from tests.audit.events import entries, only
from tests.auth import reauthenticated, signed_in_client

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
