from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from privacy.access import may_use_portal


def privacy(request: HttpRequest) -> dict[str, object]:
    return {
        "may_use_portal": may_use_portal(getattr(request, "user", None)),
        "business_name": settings.BUSINESS_NAME,
        "retention_days": settings.RETENTION_DAYS,
        "due_days": settings.PRIVACY_REQUEST_DUE_DAYS,
    }
