from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts import roles


class Can:
    """What the signed-in principal may use, by name, for templates (`{% if can.use_console %}`):
    templates ask these and never read roles themselves. Each is computed on first use."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def use_console(self) -> bool:
        return roles.is_console_user(self.user)

    @cached_property
    def see_dashboard(self) -> bool:
        """The supervisor dashboard's link (the page itself asks conversations.access.may_see_dashboard,
        which is this predicate: accounts sits below conversations and cannot import it)."""
        return roles.is_supervisor(self.user)

    @cached_property
    def handle_data_requests(self) -> bool:
        return roles.is_privacy_officer(self.user)

    @cached_property
    def use_customer_pages(self) -> bool:
        """Their conversations, their data, their e-mail address."""
        return roles.is_customer(self.user)

    @cached_property
    def turn_off_mfa(self) -> bool:
        """Staff must keep their second factor; customers chose theirs and may turn it off."""
        return not roles.is_staff(self.user)


def account(request: HttpRequest) -> dict[str, object]:
    """`mfa_pending`: signed in with a password, second step still to do (menus stay hidden), as
    accounts.middleware.AccessMiddleware decided it for this request. `can`: named permissions."""
    return {
        "mfa_pending": getattr(request, "mfa_pending", False),
        "can": Can(getattr(request, "user", None)),
        "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
