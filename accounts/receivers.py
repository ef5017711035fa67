"""Sign-in failures and lockouts reach us as signals only: Django's `user_login_failed` (sent by
`authenticate()`, on the sign-in and the re-authentication page alike) and django-axes'
`user_locked_out`. These receivers are transport: they read the signal and call one service.

django-axes' own `user_login_failed` receiver runs first (axes precedes accounts in
INSTALLED_APPS, and receivers run in the order they were connected), so its verdict on the
attempt is on the request by the time ours runs: `axes_failures_since_start` counts this attempt,
and a count past AXES_FAILURE_LIMIT means the name was already locked out from this address."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed

from accounts import services


def _typed(credentials: dict[str, Any] | None) -> str:
    return str((credentials or {}).get("username") or "")


def _failures(request: Any) -> int:
    return int(getattr(request, "axes_failures_since_start", None) or 0)


def on_sign_in_failed(sender: Any, credentials: dict[str, Any] | None = None, request: Any = None, **_: Any) -> None:
    if request is None:
        return  # authenticate() called outside a request (a shell): no sign-in page involved
    step = "reauth" if getattr(request, "user", None) is not None and request.user.is_authenticated else "sign_in"
    services.sign_in_failed(
        identifier=_typed(credentials),
        step=step,
        refused_while_locked=_failures(request) > settings.AXES_FAILURE_LIMIT,
    )


def on_locked_out(sender: Any, request: Any = None, **_: Any) -> None:
    # axes says so again for every attempt while the lockout lasts: only its start is an event.
    if request is None or _failures(request) != settings.AXES_FAILURE_LIMIT:
        return
    services.sign_in_locked_out(
        identifier=_typed(getattr(request, "axes_credentials", None)), failures=_failures(request)
    )


def connect() -> None:
    user_login_failed.connect(on_sign_in_failed, dispatch_uid="accounts.audit.sign_in_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="accounts.audit.locked_out")
