from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts import factors, roles, services

# What a staff member may reach before passing the second factor.
MFA_EXEMPT_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/mfa/setup/",
    "/accounts/mfa/verify/",
    "/static/",
)
MFA_EXEMPT_PATHS = frozenset({"/privacy/"})  # the privacy notice


class AccessMiddleware:
    """The second factor and the staff idle timeout, global for every HTTP request (django-otp's
    OTPMiddleware runs first and sets `request.user.is_verified()`):

    - a staff session (accounts.roles.is_staff) past its idle timeout or lifetime is ended;
    - a staff account, or a customer who turned two-step sign-in on, reaches nothing but sign-in,
      sign-out and the second-factor pages until the session has passed a second factor.

    Sign-in itself is Django's LoginRequiredMiddleware (every view not marked
    `login_not_required`); role areas are per view (accounts.access.role_required).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and roles.is_staff(user)
            and not services.staff_session_touch(user=user, session_key=request.session.session_key)
        ):
            logout(request)
            messages.info(request, "You were signed out after a period of inactivity. Please sign in again.")
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        # Decided once per request; the menus (accounts.context_processors) read it too.
        request.mfa_pending = user.is_authenticated and not user.is_verified() and factors.required_for(user)
        if (
            request.mfa_pending
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and request.path not in MFA_EXEMPT_PATHS
        ):
            target = "accounts:mfa_verify" if factors.has_confirmed_device(user) else "accounts:mfa_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
