"""The e-mails of data requests, and the claim that sends a request's closing e-mail once.

Every e-mail goes to the request's address (its details); an account's request gets no bearer link
(its address was never verified), only news and the status page behind sign-in."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from chatbot_site import mail
from privacy.data_requests.links import export_link, status_url, verification_link
from privacy.models import DataRequest

Status = DataRequest.Status
Kind = DataRequest.Kind


def verification_send(*, request_id: Any) -> bool:
    """E-mail the confirmation link of an unverified request (run by Celery). False if there is
    nothing to send (already verified, expired or gone)."""
    request = DataRequest.objects.select_related("details").filter(pk=request_id, status=Status.UNVERIFIED).first()
    if request is None or not request.details.email:
        return False
    return request_mail(
        request,
        f"Confirm your request to {settings.BUSINESS_NAME}",
        "privacy/email/verify.txt",
        {"link": verification_link(request), "minutes": settings.PRIVACY_VERIFY_LINK_MINUTES},
    )


def denial_send(*, request_id: Any) -> None:
    """Tell the requester their deletion was declined, and why (run by Celery)."""
    request = DataRequest.objects.select_related("details").filter(pk=request_id, status=Status.DENIED).first()
    if request is None or not hasattr(request, "details"):
        return
    if not request.details.email:
        confirmation_skip(request)  # the status page (signed in) is the only way
        return
    confirmation_send(
        request, "Your deletion request was declined", "privacy/email/denied.txt", {"reason": request.details.reason}
    )


def export_link_send(*, request: DataRequest) -> None:
    """E-mail that the archive is ready, once (a retry after a mail failure sends it then). A
    visitor gets the download link; a customer who asked from their account is told to sign in
    for it (their account's address was never verified, so it gets no bearer link)."""
    if not request.details.email:
        confirmation_skip(request)  # the status page (signed in) is the only way
        return
    if request.verified_by == DataRequest.Verification.ACCOUNT:
        context = {"link": "", "days": settings.PRIVACY_EXPORT_LINK_DAYS}
    else:
        context = {"link": export_link(request), "days": settings.PRIVACY_EXPORT_LINK_DAYS}
    confirmation_send(request, "Your data is ready to download", "privacy/email/export_ready.txt", context)


def _status_url_for_mail(request: DataRequest) -> str:
    """A visitor's e-mails carry the bookmarkable status link. An account's address was never
    verified: its e-mails point to the status page behind sign-in (none once the account is gone)."""
    if request.verified_by != DataRequest.Verification.ACCOUNT:
        return status_url(request)
    if request.kind == Kind.DELETION and request.status == Status.DONE:
        return ""
    return settings.SITE_URL + reverse("privacy:request_status", kwargs={"request_id": request.pk})


def request_mail(request: DataRequest, subject: str, template: str, context: dict[str, Any]) -> bool:
    """Send one of our e-mails to the request's address (chatbot_site.mail.send: False if refused for
    good, MailTemporaryFailure if it may work later)."""
    body = render_to_string(
        template,
        {
            **context,
            "business_name": settings.BUSINESS_NAME,
            "request": request,
            "status_url": _status_url_for_mail(request),
        },
    )
    name = template.rsplit("/", 1)[-1]
    return mail.send(
        to=request.details.email, subject=subject, body=body, what=f"{name} e-mail of data request {request.pk}"
    )


def confirmation_skip(request: DataRequest) -> None:
    """No address to write to: the closing e-mail counts as handled, so nothing re-drives it."""
    DataRequest.objects.filter(pk=request.pk, confirmation_sent_at__isnull=True).update(
        confirmation_sent_at=timezone.now()
    )


CLAIM_STALE_AFTER = dt.timedelta(minutes=10)


@contextlib.contextmanager
def confirmation_claim(request: DataRequest) -> Iterator[bool]:
    """Claim the request's one closing e-mail: yields True to the one caller that should send it
    (two workers running the same task send it once). Marked sent when the block ends normally (a
    permanent refusal counts: there is nobody to send it to); un-claimed if it raises; a claim left
    by a worker that died is taken over after CLAIM_STALE_AFTER."""
    stamp = timezone.now()
    claimed = (
        DataRequest.objects.filter(pk=request.pk, confirmation_sent_at__isnull=True)
        .filter(Q(confirmation_claimed_at__isnull=True) | Q(confirmation_claimed_at__lt=stamp - CLAIM_STALE_AFTER))
        .update(confirmation_claimed_at=stamp)
    )
    if not claimed:
        yield False
        return
    mine = DataRequest.objects.filter(pk=request.pk, confirmation_claimed_at=stamp)  # not a successor's claim
    try:
        yield True
    except BaseException:
        mine.update(confirmation_claimed_at=None)
        raise
    # Should this update fail after the relay took the e-mail, the claim goes stale and the e-mail
    # is sent again: at least once, and once but for that.
    mine.update(confirmation_sent_at=timezone.now())


def confirmation_send(request: DataRequest, subject: str, template: str, context: dict[str, Any]) -> None:
    """Send the request's closing e-mail, unless another run has claimed or sent it."""
    with confirmation_claim(request) as mine:
        if mine:
            request_mail(request, subject, template, context)
