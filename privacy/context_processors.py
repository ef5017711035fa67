from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from privacy.access import may_handle_incidents, may_use_portal, may_view_trail
from privacy.oversight.alerts import open_alert_count


class Oversight:
    """The oversight links of the header (`{% if oversight.may_view %}`), and the open alerts'
    count shown beside them: counted only on pages of those who may see alerts."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def may_view(self) -> bool:
        return may_view_trail(self.user)

    @cached_property
    def may_handle_incidents(self) -> bool:
        return may_handle_incidents(self.user)

    @cached_property
    def open_alerts(self) -> int:
        return open_alert_count() if self.may_view else 0


def privacy(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "may_use_portal": may_use_portal(user),
        "business_name": settings.BUSINESS_NAME,
        "retention_days": settings.RETENTION_DAYS,
        "due_days": settings.PRIVACY_REQUEST_DUE_DAYS,
        "oversight": Oversight(user),
    }
