"""Recent re-authentication before sensitive actions (password, e-mail, second factor, exports,
decisions on deletions): a timestamp in the session, set by the re-authentication page."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

REAUTH_KEY = "reauth_at"


def next_url(request: HttpRequest) -> str:
    """Where to go back to: the form's `next`, if it is on this site; else the account's home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("accounts:home")


def reauth_redirect(request: HttpRequest) -> HttpResponse | None:
    """None if the user re-authenticated (password, and a code with MFA) within REAUTH_MAX_AGE;
    else a redirect to do so, coming back to the page the form was on (a POST can't be replayed)."""
    if time.time() - request.session.get(REAUTH_KEY, 0) <= settings.REAUTH_MAX_AGE:
        return None
    back = request.get_full_path() if request.method == "GET" else next_url(request)
    return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': back})}")


def recent_auth_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sensitive actions (password, second factor, roles) need a recent re-authentication."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return reauth_redirect(request) or view(request, *args, **kwargs)

    return wrapper
