from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from accounts import mfa


def account(request: HttpRequest) -> dict[str, object]:
    """`mfa_pending`: signed in with a password, second step still to do (menus stay hidden)."""
    user = getattr(request, "user", None)
    pending = bool(user is not None and user.is_authenticated and not user.is_verified() and mfa.required_for(user))
    return {"mfa_pending": pending, "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)}
