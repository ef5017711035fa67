"""Django's own rights (groups and permissions) as the admin changes them, in the audit trail:
a user's groups and direct permissions, and a group's permissions. Group names and permission
codenames name no person, so the entries name them (a user's role and flags:
accounts.services.access_changes_record)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import User
from audit.actions import Action
from audit.services import record

# An audit detail holds at most 200 characters (audit.services): past it, a count instead.
_DETAIL_MAX = 200


def _label(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def _permission_labels(permissions: Iterable[Permission]) -> set[str]:
    ids = [p.pk for p in permissions]
    return {_label(p) for p in Permission.objects.filter(pk__in=ids).select_related("content_type")}


def _changes(key: str, before: set[str], after: set[str]) -> dict[str, Any]:
    """`<key>_added` and `<key>_removed`: the names, comma-joined (a count when too long to hold)."""
    out: dict[str, Any] = {}
    for change, names in (("added", after - before), ("removed", before - after)):
        if names:
            joined = ",".join(sorted(names))
            out[f"{key}_{change}"] = joined if len(joined) <= _DETAIL_MAX else len(names)
    return out


def user_rights_set_by_admin(
    *,
    user: User,
    groups: Iterable[Group] | None,
    permissions: Iterable[Permission] | None,
    by: User,
) -> None:
    """Give a saved `user` these groups and direct permissions (None: that one is not being
    edited, say read-only on the admin's form) and record what was added and removed as one
    RIGHTS_CHANGED; nothing when nothing changed. Ending their sessions is the caller's
    (accounts.services.user_save_by_admin does it for the same form)."""
    details: dict[str, Any] = {}
    with transaction.atomic():
        if groups is not None:
            groups = list(groups)
            before = set(user.groups.values_list("name", flat=True))
            user.groups.set(groups)
            details |= _changes("groups", before, {g.name for g in groups})
        if permissions is not None:
            permissions = list(permissions)
            before = _permission_labels(user.user_permissions.all())
            user.user_permissions.set(permissions)
            details |= _changes("permissions", before, _permission_labels(permissions))
        if details:
            record(Action.RIGHTS_CHANGED, actor=by, obj=user, details=details)


def group_permissions_set_by_admin(*, group: Group, permissions: Iterable[Permission], by: User) -> None:
    """Give a saved `group` these permissions (every member's rights change with them) and record
    what was added and removed as RIGHTS_CHANGED on the group; nothing when nothing changed."""
    permissions = list(permissions)
    with transaction.atomic():
        before = _permission_labels(group.permissions.all())
        group.permissions.set(permissions)
        details = _changes("permissions", before, _permission_labels(permissions))
        if details:
            record(Action.RIGHTS_CHANGED, actor=by, obj=group, details=details)


def groups_delete_by_admin(*, groups: Iterable[Group], by: User) -> None:
    """Delete these groups: their members lose the groups' permissions. Recorded as one
    RIGHTS_CHANGED per group (the permissions it took away, how many members it had)."""
    with transaction.atomic():
        deleted = []
        for group in groups:
            details = {
                "deleted": True,
                "members": group.user_set.count(),
                **_changes("permissions", _permission_labels(group.permissions.all()), set()),
            }
            deleted.append((group.pk, details))
            group.delete()
        for pk, details in deleted:
            record(Action.RIGHTS_CHANGED, actor=by, obj=("group", pk), details=details)
