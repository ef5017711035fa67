"""Who someone is to the business, as predicates: the one place where roles are read. Access
helpers (accounts.access, conversations.access, privacy.access) build on these."""

from __future__ import annotations

from typing import Any

from accounts.models import User


def is_console_user(user: Any) -> bool:
    """May this principal use the agent console at all (agents and supervisors)?"""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role in (User.Role.AGENT, User.Role.SUPERVISOR))
    )


def is_supervisor(user: Any) -> bool:
    return is_console_user(user) and (user.is_superuser or user.role == User.Role.SUPERVISOR)


def is_privacy_officer(user: Any) -> bool:
    """May this principal handle data-subject requests (the officer's queue)?"""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role == User.Role.PRIVACY_OFFICER)
    )
