"""Enrollment, verification and management of the second factor, and recent re-authentication."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts import factors, mfa, roles, services
from accounts.forms import CodeForm, ReauthForm
from accounts.reauth import REAUTH_KEY, next_url, reauth_redirect, recent_auth_required


def _passed_second_factor(request: HttpRequest, device: Any) -> None:
    otp_login(request, device)
    # django-otp does not cycle the session key; a verified session gets a new one.
    services.session_rotate(request=request)
    request.session[REAUTH_KEY] = time.time()


def _verify_or_error(form: CodeForm | ReauthForm, request: HttpRequest, **kwargs: Any) -> Any:
    """Check form.cleaned_data["code"]; on failure, add the reason to the form and return None."""
    try:
        device = mfa.verify(user=request.user, token=form.cleaned_data["code"], **kwargs)
    except mfa.MfaThrottled as exc:
        form.add_error("code", f"Too many wrong codes in a row. Wait {exc.seconds} seconds, then try the current code.")
        return None
    except mfa.MfaLocked:
        form.add_error(
            "code", "Too many wrong codes in the last 24 hours. Try again later, or ask an administrator to unlock it."
        )
        return None
    if device is None:
        form.add_error("code", "That code is not valid (or was already used). Try the current one.")
    return device


@never_cache
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enroll an authenticator app (QR code, with the key as text), then show backup codes once."""
    if factors.has_confirmed_device(request.user):
        return redirect("accounts:mfa_manage" if request.user.is_verified() else "accounts:mfa_verify")
    if not roles.is_staff(request.user) and (redirect_to_reauth := reauth_redirect(request)):
        # Adding a second factor to an existing account is sensitive: someone holding a stolen
        # session could lock the owner out. (Staff enroll right after signing in.)
        return redirect_to_reauth
    device = mfa.totp_pending_device(user=request.user)
    form = CodeForm(request.POST or None)
    form.fields["code"].widget.attrs["inputmode"] = "numeric"  # enrollment takes app codes only
    if (
        request.method == "POST"
        and form.is_valid()
        and _verify_or_error(form, request, devices=[device], step="enroll")
    ):
        mfa.totp_confirm(device=device)
        _passed_second_factor(request, device)
        codes = mfa.backup_codes_regenerate(user=request.user)
        after = next_url(request) if roles.is_staff(request.user) else reverse("accounts:mfa_manage")
        return render(request, "accounts/mfa_backup_codes.html", {"codes": codes, "next": after})
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "qr_svg": mark_safe(mfa.totp_qr_svg(device)),  # noqa: S308 - SVG geometry we generated
            "secret": mfa.totp_secret_text(device),
            "next": request.GET.get("next", ""),
        },
    )


@never_cache
@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified() or not factors.required_for(request.user):
        return redirect(next_url(request))
    if not factors.has_confirmed_device(request.user):
        return redirect(f"{reverse('accounts:mfa_setup')}?{urlencode({'next': next_url(request)})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and (device := _verify_or_error(form, request)):
        _passed_second_factor(request, device)
        return redirect(next_url(request))
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": request.GET.get("next", "")})


@never_cache
@login_required
def reauth(request: HttpRequest) -> HttpResponse:
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Through authenticate(), so django-axes counts and locks out wrong passwords here too.
        if authenticate(request, username=request.user.get_username(), password=form.cleaned_data["password"]) is None:
            form.add_error("password", "That password is not right.")
        elif factors.required_for(request.user):
            _verify_or_error(form, request, step="reauth")  # adds the reason to the form when the code fails
        if not form.errors:
            request.session[REAUTH_KEY] = time.time()
            return redirect(next_url(request))
    return render(
        request,
        "accounts/reauth.html",
        {"form": form, "next": request.GET.get("next", ""), "needs_code": factors.required_for(request.user)},
    )


@never_cache
@login_required
def mfa_manage(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/mfa_manage.html",
        {
            "enrolled": factors.has_confirmed_device(request.user),
            "codes_left": mfa.backup_codes_left(user=request.user),
        },
    )


@never_cache
@require_POST
@login_required
@recent_auth_required
def mfa_disable(request: HttpRequest) -> HttpResponse:
    """Customers may turn their optional second factor off again; staff may not."""
    if roles.is_staff(request.user):
        raise PermissionDenied("Staff accounts must keep two-step sign-in.")
    mfa.devices_remove(user=request.user, by=request.user)
    return redirect("accounts:mfa_manage")


@never_cache
@login_required
@recent_auth_required
def mfa_backup_codes_regenerate(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        # The codes are shown once, in the answer to the POST; a stray GET goes back to the page.
        return redirect("accounts:mfa_manage")
    codes = mfa.backup_codes_regenerate(user=request.user)
    return render(request, "accounts/mfa_backup_codes.html", {"codes": codes, "next": reverse("accounts:mfa_manage")})
