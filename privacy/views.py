"""The privacy portal (notice, requests, status, downloads), the widget's "delete this chat", and
the privacy officer's queue. Access is decided in privacy.access: the portal, the signed links
and the widget's page are public (`login_not_required`); the officer's views admit privacy officers
only (accounts.access.role_required; the second factor is accounts.middleware's)."""

from __future__ import annotations

import datetime as dt

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.timesince import timesince
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods

from accounts import network, roles
from accounts.access import NotFound, role_required
from accounts.models import User
from accounts.reauth import reauth_redirect
from conversations import masking
from conversations.access import widget_conversation_access, widget_conversation_delete_access
from privacy.access import (
    data_request_access,
    data_request_status_access,
    may_decide,
    may_download_export_from_status,
    may_see_denial_reason,
    may_use_portal,
)
from privacy.data_requests import deletion, export, lifecycle, links, selectors, storage
from privacy.forms import AccountRequestForm, DecisionForm, VisitorRequestForm
from privacy.models import DataRequest
from vault.blind import blind_index


@login_not_required
def notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice, written from live configuration so it cannot drift."""
    return render(
        request,
        "privacy/notice.html",
        {
            "version": settings.PRIVACY_NOTICE_VERSION,
            "transcript_roles": [User.Role.AGENT.label, User.Role.SUPERVISOR.label],
            "verify_minutes": settings.PRIVACY_VERIFY_LINK_MINUTES,
            "export_days": settings.PRIVACY_EXPORT_LINK_DAYS,
            "due_days": settings.PRIVACY_REQUEST_DUE_DAYS,
            "auto_approve": settings.PRIVACY_AUTO_APPROVE_DELETION,
            "masked_kinds": masking.policy_labels(),
            "secure_channel": settings.SECURE_CHANNEL_TEXT,
            "controller_name": settings.PRIVACY_CONTROLLER_NAME,
            "controller_contact": settings.PRIVACY_CONTROLLER_CONTACT,
            "dpo_contact": settings.PRIVACY_DPO_CONTACT,
            "privacy_contact": settings.PRIVACY_DPO_CONTACT or settings.PRIVACY_CONTROLLER_CONTACT,
            "purposes": settings.PRIVACY_PURPOSES,
            "processors": settings.PRIVACY_PROCESSORS,
            "authority": settings.PRIVACY_SUPERVISORY_AUTHORITY,
            "audit_days": settings.AUDIT_RETENTION_DAYS,
            "backup_days": settings.BACKUP_RETENTION_DAYS,
            "session_lifetime": _lifetime(settings.SESSION_COOKIE_AGE),
        },
    )


def _lifetime(seconds: int) -> str:
    """A duration in words ("2 weeks", "12 hours")."""
    now = timezone.now()
    return timesince(now - dt.timedelta(seconds=seconds), now)


def _limited(request: HttpRequest, email: str) -> bool:
    """Per client address and per e-mail address (as its keyed hash): both counted on every try."""
    by_ip = network.limited(
        request, group="privacy-request-ip", key=network.client_key(request), rate=settings.PRIVACY_REQUEST_RATE_PER_IP
    )
    by_address = network.limited(
        request,
        group="privacy-request-address",
        key=blind_index("email", email) or "",
        rate=settings.PRIVACY_REQUEST_RATE_PER_ADDRESS,
    )
    return by_ip or by_address


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    """Ask for a copy or the deletion of one's data: signed-in customers after re-entering their
    password; visitors by confirming a link sent to their address."""
    user = request.user
    if not may_use_portal(user):
        return render(request, "privacy/request_staff.html", status=403)
    if user.is_authenticated:
        form = AccountRequestForm(
            request.POST if request.method == "POST" else None, initial={"kind": request.GET.get("kind")}
        )
        if request.method == "POST" and form.is_valid():
            if (back := reauth_redirect(request)) is not None:
                return back
            if network.limited(
                request,
                group="privacy-request-account",
                key=str(user.pk),
                rate=settings.PRIVACY_REQUEST_RATE_PER_ADDRESS,
            ):
                return render(request, "privacy/rate_limited.html", status=429)
            earlier_chat = widget_conversation_delete_access(user, request.session)
            data_request = lifecycle.data_request_open_for_account(
                kind=form.cleaned_data["kind"],
                user=user,
                session_key=request.session.session_key,
                conversation_id=earlier_chat.pk if earlier_chat else None,
            )
            if _deletion_underway(data_request):
                logout(request)  # the account and its sessions are going; this page must not need them
                return render(request, "privacy/deletion_underway.html")
            return redirect("privacy:request_status", request_id=data_request.pk)
        return render(
            request,
            "privacy/request_new.html",
            {
                "form": form,
                "account": True,
                "history": selectors.requests_of_user(user=user),
                "reauth_needed": reauth_redirect(request) is not None,
            },
        )
    form = VisitorRequestForm(
        request.POST if request.method == "POST" else None, initial={"kind": request.GET.get("kind")}
    )
    if request.method == "POST" and form.is_valid():
        if _limited(request, form.cleaned_data["email"]):
            return render(request, "privacy/rate_limited.html", status=429)
        if not request.session.session_key:
            request.session.save()
        conversation = widget_conversation_access(user, request.session)
        lifecycle.data_request_open(
            kind=form.cleaned_data["kind"],
            email=form.cleaned_data["email"],
            session_key=request.session.session_key,
            conversation_id=conversation.pk if conversation else None,
        )
        return redirect("privacy:request_sent")
    return render(request, "privacy/request_new.html", {"form": form, "account": False})


def _deletion_underway(data_request: DataRequest) -> bool:
    """Approved automatically: the worker may already be deleting this browser's session."""
    return data_request.kind == DataRequest.Kind.DELETION and data_request.status in (
        DataRequest.Status.APPROVED,
        DataRequest.Status.DONE,
    )


@login_not_required
def request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/request_sent.html", {"minutes": settings.PRIVACY_VERIFY_LINK_MINUTES})


def _signed_in(request: HttpRequest) -> User | None:
    """Who opened a public link, for the audit trail: the account signed in, if any."""
    return request.user if request.user.is_authenticated else None


def _refused(request: HttpRequest, exc: links.LinkRefused) -> HttpResponse:
    title, detail = links.LINK_REFUSALS[exc.reason]
    return render(
        request,
        "privacy/link_refused.html",
        {"title": title, "detail": detail, "reason": exc.reason},
        status=410 if exc.reason in ("expired", "used", "downloaded", "closed") else 400,
    )


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def request_verify(request: HttpRequest, request_id: str, token: str) -> HttpResponse:
    """GET shows a button (mail scanners that open links must not use them up); POST confirms."""
    try:
        if request.method == "GET":
            data_request = links.verify_link_check(request_id, token)
            return render(request, "privacy/verify_confirm.html", {"data_request": data_request})
        data_request = lifecycle.data_request_verify(request_id=request_id, token=token, by=_signed_in(request))
    except links.LinkRefused as exc:
        return _refused(request, exc)
    if _deletion_underway(data_request):
        return render(request, "privacy/deletion_underway.html")  # the session is being deleted
    # The bookmarkable status page: a visitor's deletion ends this browser's session.
    return redirect(links.status_path(data_request))


@never_cache
@login_not_required
def request_status_link(request: HttpRequest, request_id: str, token: str) -> HttpResponse:
    """The status link from our e-mails and the confirmation page: bookmarkable, and it works in
    any browser, even once a deletion has ended the session that asked."""
    try:
        data_request = links.status_link_check(request_id, token)
    except links.LinkRefused as exc:
        return _refused(request, exc)
    return _status_page(request, data_request, bookmark=True)


@never_cache
def request_status(request: HttpRequest, request_id: str) -> HttpResponse:
    try:
        data_request = data_request_status_access(request.user, request_id)
    except NotFound as exc:
        raise Http404("No such request.") from exc
    return _status_page(request, data_request, bookmark=False)


def _status_page(request: HttpRequest, data_request: DataRequest, *, bookmark: bool) -> HttpResponse:
    download = None
    if (
        data_request.kind == DataRequest.Kind.EXPORT
        and data_request.export_ready_at
        and not data_request.export_downloaded_at
        and may_download_export_from_status(request.user, data_request)
        and storage.export_path(data_request).exists()
    ):
        download = links.export_link(data_request)
    reason = ""
    if (
        data_request.status == DataRequest.Status.DENIED
        and hasattr(data_request, "details")
        and may_see_denial_reason(request.user, data_request)
    ):
        reason = data_request.details.reason
    return render(
        request,
        "privacy/request_status.html",
        {
            "data_request": data_request,
            "download": download,
            "reason": reason,
            "address_has_account": selectors.address_has_account(data_request),
            "bookmark": bookmark,
        },
    )


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def export_download(request: HttpRequest, request_id: str, token: str) -> HttpResponse:
    """GET shows a button; POST hands over the archive, once."""
    try:
        if request.method == "GET":
            data_request = links.export_link_check(request_id, token)
            return render(request, "privacy/export_confirm.html", {"data_request": data_request})
        archive = export.export_download(request_id=request_id, token=token, by=_signed_in(request))
    except links.LinkRefused as exc:
        return _refused(request, exc)
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, f"{settings.BUSINESS_NAME} data.zip")
    return response


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
@csp_replace({"frame-ancestors": ["'self'", *settings.WIDGET_EMBED_ORIGINS]})  # inside the widget's frame
@xframe_options_exempt  # framed by WIDGET_EMBED_ORIGINS: the CSP above decides
def chat_delete(request: HttpRequest) -> HttpResponse:
    """The widget's "Delete this chat": the visitor chat this browser holds goes at once."""
    conversation = widget_conversation_delete_access(request.user, request.session)
    if request.method == "POST" and conversation is not None:
        try:
            deletion.widget_conversation_delete(conversation=conversation, session_key=request.session.session_key)
        except lifecycle.RequestError as exc:
            if exc.code == "legal_hold":
                return render(request, "privacy/chat_delete.html", {"conversation": conversation, "held": True})
            # not_found: deleted meanwhile, the outcome the visitor asked for
        request.session.pop("conversation_id", None)
        return render(request, "privacy/chat_deleted.html")

    return render(
        request,
        "privacy/chat_delete.html",
        {"conversation": conversation, "held": conversation is not None and conversation.legal_hold},
    )


# --- the privacy officer ------------------------------------------------------------------------
officer_only = role_required(roles.is_privacy_officer)


@never_cache
@officer_only
def officer_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "privacy/officer_queue.html",
        {"open_requests": selectors.officer_queue(), "closed": selectors.officer_recent_closed()},
    )


@never_cache
@officer_only
@require_http_methods(["GET", "POST"])
def officer_request(request: HttpRequest, request_id: str) -> HttpResponse:
    try:
        data_request = data_request_access(request.user, request_id)
    except NotFound as exc:
        raise Http404("No such request.") from exc
    if request.method == "POST" and request.POST.get("action") == "start_review":
        lifecycle.deletion_review_start(request=data_request, officer=request.user)
        return redirect("privacy:officer_request", request_id=data_request.pk)
    form = DecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if (back := reauth_redirect(request)) is not None:
            return back  # the form offers re-authentication first: nothing typed is lost here
        try:
            if form.cleaned_data["action"] == "approve":
                lifecycle.deletion_approve(
                    request_id=data_request.pk, officer=request.user, reason=form.cleaned_data["reason"]
                )
                flash.success(request, "Approved: the deletion is being carried out.")
            else:
                lifecycle.deletion_deny(
                    request_id=data_request.pk, officer=request.user, reason=form.cleaned_data["reason"]
                )
                flash.success(request, "Denied: the customer is told why by e-mail.")
        except lifecycle.RequestError as exc:
            flash.error(request, DECISION_ERRORS.get(exc.code, DECISION_ERRORS["already_decided"]))
        return redirect("privacy:officer_request", request_id=data_request.pk)
    details = getattr(data_request, "details", None)
    # While open: what exists now; once closed: what was found, deleted or exported.
    counts = selectors.subject_inventory(data_request) if data_request.is_open else data_request.counts
    selectors.officer_request_open(officer=request.user, request=data_request)
    return render(
        request,
        "privacy/officer_request.html",
        {
            "data_request": data_request,
            "form": form,
            "counts": [(name.replace("_", " ").capitalize(), value) for name, value in counts.items()],
            "on_hold": counts.get("conversations_on_legal_hold", 0) if data_request.is_open else 0,
            "can_decide": may_decide(request.user, data_request),
            "address": selectors.masked_email(details.email) if details else "",
            "reason": details.reason if details else "",
            "overdue": data_request.is_overdue(),
            "reauth_needed": reauth_redirect(request) is not None,
        },
    )


DECISION_ERRORS = {
    "not_found": "Only deletion requests are approved or denied; copies are sent without review.",
    "already_decided": "This request has already been decided.",
}
