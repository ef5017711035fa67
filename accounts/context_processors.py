from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def account(request: HttpRequest) -> dict[str, object]:
    """`mfa_pending`: signed in with a password, second step still to do (menus stay hidden), as
    accounts.middleware.AccessMiddleware decided it for this request."""
    return {
        "mfa_pending": getattr(request, "mfa_pending", False),
        "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
