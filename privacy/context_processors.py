from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def privacy(request: HttpRequest) -> dict[str, object]:
    return {
        "business_name": settings.BUSINESS_NAME,
        "retention_days": settings.RETENTION_DAYS,
        "due_days": settings.PRIVACY_REQUEST_DUE_DAYS,
    }
