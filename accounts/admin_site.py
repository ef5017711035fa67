"""The admin site, chosen in INSTALLED_APPS through `accounts.apps.ConfidantAdminConfig`.

A module of its own: `accounts.admin` imports `django.contrib.auth.admin`, which registers on the
default site while it is being imported, so a site class defined there could not be loaded yet.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from .views import SignOutView


class ConfidantAdminSite(OTPAdminSite):
    """django-otp's admin site (verified sessions only), with sign-in, sign-out and password
    change sent to the site's own views so that their protections apply here too (lockout, the
    daily code cap, re-authentication, ending sessions everywhere)."""

    site_header = site_title = "Confidant administration"

    def __init__(self, name: str = "admin") -> None:
        # OTPAdminSite names itself "otpadmin"; the URLs (`admin:index`) keep Django's name.
        super().__init__(name)

    @login_not_required  # as Django's own: the page that sends anonymous visitors to sign in
    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Signed in but not let in (no admin rights, or no verified second factor): sending
            # them to sign in again would send them straight back here, for ever.
            raise PermissionDenied("The administration is for administrators with two-step sign-in.")
        return redirect_to_login(request.GET.get("next", reverse("admin:index")), reverse("accounts:login"))

    def logout(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return SignOutView.as_view()(request) if request.method == "POST" else redirect("admin:index")

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return redirect("accounts:password_change")
