"""How the oversight pages name the people in the trail: staff by username and role (the business's
own accounts, not customer data), everyone else by id only."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from accounts.roles import RECORDED_ROLE_LABELS, staff_q

_STAFF_ROLES = {str(role) for role in User.STAFF_ROLES} | {"superuser"}


def staff_choices() -> list[tuple[int, str]]:
    """Every staff account (active or not: the trail outlives them), for the person filter."""
    rows = User.objects.filter(staff_q()).order_by("username").values_list("pk", "username", "role", "is_superuser")
    return [(pk, f"{name} ({RECORDED_ROLE_LABELS['superuser' if su else role]})") for pk, name, role, su in rows]


def person_labels(actors: Iterable[tuple[int | None, str]]) -> dict[tuple[int | None, str], str]:
    """A label for each (user id, role at the time) an entry holds: "username (Role)" for staff,
    "user #id (Customer)" for anyone else (customers are shown by id only), the role alone without
    a user (a job: "System"). One query, whatever the number of entries."""
    actors = set(actors)
    staff_ids = {pk for pk, role in actors if pk is not None and role in _STAFF_ROLES}
    names = dict(User.objects.filter(pk__in=staff_ids).values_list("pk", "username")) if staff_ids else {}
    labels = {}
    for pk, role in actors:
        role_label = RECORDED_ROLE_LABELS.get(role, role or "no role")
        if pk is None:
            labels[(pk, role)] = role_label if role else "System"
        elif pk in names and role in _STAFF_ROLES:
            labels[(pk, role)] = f"{names[pk]} ({role_label})"
        else:
            labels[(pk, role)] = f"user #{pk} ({role_label})"
    return labels


def person_label(user_id: int | None, role: str) -> str:
    return person_labels([(user_id, role)])[(user_id, role)]


def current_labels(user_ids: Iterable[int | None]) -> dict[int, str]:
    """Labels of these users as they are now (an alert's subject): staff "username (Role)",
    anyone else "user #id (Role)", in one query."""
    ids = {pk for pk in user_ids if pk is not None}
    rows = User.objects.filter(pk__in=ids).values_list("pk", "role", "is_superuser") if ids else []
    roles = {pk: ("superuser" if su else role) for pk, role, su in rows}
    labels = person_labels((pk, roles.get(pk, "")) for pk in ids)
    return {pk: labels[(pk, roles.get(pk, ""))] for pk in ids}
