from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import access, addresses, network, roles, services
from accounts.forms import EmailAddressForm, SignInForm, SignUpForm
from accounts.reauth import REAUTH_KEY, reauth_redirect, recent_auth_required
from vault.blind import blind_index


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.sign_in_complete(user=self.request.user, session_key=self.request.session.session_key)
        if not roles.is_staff(self.request.user):
            # The password was just given: that is a recent re-authentication. (Staff get theirs
            # when they pass the second factor.)
            self.request.session[REAUTH_KEY] = time.time()
        return response


@method_decorator(login_not_required, name="dispatch")
class SignOutView(auth_views.LogoutView):
    """Signing out ends every session of the user, and closes their sockets everywhere. Public: a
    sign-out button left open in a stale tab just leads to the sign-in page."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        if user is not None:
            services.sessions_end(user=user)
            messages.info(request, "You have been signed out everywhere.")
        return response


@method_decorator([login_required, recent_auth_required], name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Needs a recent re-authentication; ends every other session of the user."""

    success_url = "/accounts/password/done/"

    def form_valid(self, form: Any) -> HttpResponse:
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # keeps this session, under a new key
        services.session_moved(request=self.request, old_key=old_key)
        services.sessions_end(user=self.request.user, keep_session_key=self.request.session.session_key)
        return response


@login_not_required
def sign_up(request: HttpRequest) -> HttpResponse:
    """The answer to a valid form is the same whether or not the username or the address is
    taken: the e-mail tells the address's owner what happened (addresses.customer_sign_up)."""
    if request.user.is_authenticated:
        return redirect("accounts:home")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if network.limited(
            request, group="sign-up-ip", key=network.client_key(request), rate=settings.PRIVACY_REQUEST_RATE_PER_IP
        ):
            return render(request, "accounts/sign_up_limited.html", status=429)
        address = form.cleaned_data["email"]
        addresses.customer_sign_up(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            email=address,
            notify=_address_may_be_mailed(request, address),
        )
        return redirect("accounts:sign_up_check_email")
    return render(request, "accounts/sign_up.html", {"form": form})


@login_not_required
@require_http_methods(["GET"])
def sign_up_check_email(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:home")
    return render(request, "accounts/sign_up_check_email.html", {"minutes": settings.PRIVACY_VERIFY_LINK_MINUTES})


def _address_may_be_mailed(request: HttpRequest, address: str) -> bool:
    """An address gets a confirmation e-mail at most PRIVACY_REQUEST_RATE_PER_ADDRESS times an hour,
    from sign-up and the "E-mail" page together. Past that, the account or change is made all the
    same (the answer must not differ), but no e-mail goes."""
    return not network.limited(
        request,
        group="sign-up-address",
        key=blind_index("email", address) or "",
        rate=settings.PRIVACY_REQUEST_RATE_PER_ADDRESS,
    )


EMAIL_LINK_PAGES = {
    "damaged": ("This link is damaged", "Open it again from the e-mail, or copy the whole address."),
    "expired": ("This link has expired", "Links in our e-mails work for a limited time: ask for a new one."),
    "used": ("This link has already been used", "The address was confirmed, or replaced by a newer one."),
    "taken": ("This address is taken", "Another account confirmed this address first."),
}


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def email_confirm(request: HttpRequest, user_id: int, token: str) -> HttpResponse:
    """Confirming an address takes both: the mailbox (the link) and the account (signed in as it),
    so nobody can put their address on an account that is not theirs, nor someone else's address
    on their own. GET shows a button (mail scanners must not use the link up); POST confirms.
    A sign-up's activation link is the same link: the mailbox proves the address, and the account
    is then proved as always, by its password at sign-in (a link alone never signs anyone in)."""
    try:
        account = addresses.email_link_check(user_id=user_id, token=token)
        if addresses.awaiting_activation(account):
            # The mailbox is all a sign-up has to show; the password is then asked at sign-in.
            if request.method == "GET":
                return render(request, "accounts/email_confirm.html", {"account": account, "activate": True})
            addresses.email_confirm(user_id=user_id, token=token)
            messages.success(request, "Your account is active: sign in with your username or address.")
            return redirect("accounts:login")
        if not access.is_own_account(request.user, account):
            return render(request, "accounts/email_confirm.html", {"account": account, "sign_in": True})
        if request.method == "GET":
            return render(request, "accounts/email_confirm.html", {"account": account, "confirm": True})
        addresses.email_confirm(user_id=user_id, token=token)
    except addresses.EmailLinkRefused as exc:
        title, detail = EMAIL_LINK_PAGES[exc.reason]
        return render(
            request, "accounts/email_confirm.html", {"title": title, "detail": detail, "reason": exc.reason}, status=410
        )
    return render(
        request,
        "accounts/email_confirm.html",
        {"title": "Address confirmed", "detail": "You can now sign in with it, and we will write to it."},
    )


@never_cache
@access.role_required(roles.is_customer, hidden=True)
@require_http_methods(["GET", "POST"])
def email_address(request: HttpRequest) -> HttpResponse:
    """A customer sets their address, or asks for a new confirmation link (a fresh password first)."""
    form = EmailAddressForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if (back := reauth_redirect(request)) is not None:
            return back
        address = form.cleaned_data["email"]
        if network.limited(
            request, group="email-change-user", key=str(request.user.pk), rate=settings.PRIVACY_REQUEST_RATE_PER_ADDRESS
        ):
            return render(request, "accounts/sign_up_limited.html", status=429)
        addresses.email_change_start(
            user=request.user, address=address, notify=_address_may_be_mailed(request, address)
        )
        messages.info(request, "We sent a link to that address: open it, signed in as you are now, to confirm it.")
        return redirect("accounts:email_address")
    return render(
        request, "accounts/email_address.html", {"form": form, "reauth_needed": reauth_redirect(request) is not None}
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if (page := access.landing_page(request.user)) is not None:
        return redirect(page)
    return render(request, "accounts/home.html")
