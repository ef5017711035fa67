"""Who someone is to the business, as predicates: the one place where roles are read. Access
helpers (accounts.access, conversations.access, privacy.access) and the templates' `can`
(accounts.context_processors) build on these; nothing else looks at `role`, `is_superuser` or
`is_staff` to decide.

Four notions, one definition each:

- `is_staff`: staff of the business, who must pass a second factor before reaching anything (and
  whose sessions have an idle timeout): every staff role, superusers, and anyone with Django's
  admin flag;
- `is_console_user`: agents and supervisors (and superusers): the console and its sockets;
- `is_privacy_officer`: privacy officers (and superusers): the data-request queue;
- `is_customer`: customers: their conversations, their data, their e-mail address.

Django's own `User.is_staff` flag means one thing here: "may open the admin" (which also demands a
verified second factor, `accounts.admin.ConfidantAdminSite`). It grants nothing else; anyone who
has it counts as staff for the second factor.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import User

CONSOLE_ROLES = frozenset({User.Role.AGENT, User.Role.SUPERVISOR})
# The roles the audit trail records (audit.services: a user's role, "superuser", or "system" for a
# job), as people read them.
RECORDED_ROLE_LABELS = {**dict(User.Role.choices), "superuser": "Administrator", "system": "System"}


def _signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_staff(user: Any) -> bool:
    """Staff of the business: must pass a second factor; sessions time out when idle."""
    return _signed_in(user) and (user.role in User.STAFF_ROLES or user.is_superuser or user.is_staff)


def staff_q(prefix: str = "") -> Q:
    """`is_staff` as a query on users (`prefix`: the path to the user, e.g. "user__"); the
    database rows it selects may include inactive users."""
    return (
        Q(**{f"{prefix}role__in": User.STAFF_ROLES})
        | Q(**{f"{prefix}is_superuser": True})
        | Q(**{f"{prefix}is_staff": True})
    )


def console_q(prefix: str = "") -> Q:
    """The console roles as a query on users (superusers aside: they are no agents to list)."""
    return Q(**{f"{prefix}role__in": CONSOLE_ROLES})


def is_console_user(user: Any) -> bool:
    """May this principal use the agent console at all (agents and supervisors)?"""
    return _signed_in(user) and (user.is_superuser or user.role in CONSOLE_ROLES)


def is_supervisor(user: Any) -> bool:
    return is_console_user(user) and (user.is_superuser or user.role == User.Role.SUPERVISOR)


def is_privacy_officer(user: Any) -> bool:
    """May this principal handle data-subject requests (the officer's queue)?"""
    return _signed_in(user) and (user.is_superuser or user.role == User.Role.PRIVACY_OFFICER)


def is_customer(user: Any) -> bool:
    """A customer account (never a superuser, whatever its role says)."""
    return _signed_in(user) and user.role == User.Role.CUSTOMER and not user.is_superuser
