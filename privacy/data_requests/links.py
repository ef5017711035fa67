"""Signed links of data requests: their tokens, their checks, and the URLs that carry them.

A link names its request and, but for the status link, the address it was sent to: it is spent once
the request's details (the address) are gone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from audit.actions import Action, Outcome
from audit.services import record
from chatbot_site.links import LinkRefused, link_open, link_token
from privacy.data_requests.storage import export_path
from privacy.models import DataRequest, RequestDetails

Status = DataRequest.Status
Kind = DataRequest.Kind


# What a refused link's page says, by LinkRefused.reason.
LINK_REFUSALS = {
    "damaged": (
        "This link is damaged",
        "The link is incomplete or has been altered. Open it again from the e-mail, or copy the whole address.",
    ),
    "expired": ("This link has expired", "Links in our e-mails work for a limited time. Please make a new request."),
    "used": ("This link has already been used", "Each link works once. Your request is safe: nothing was lost."),
    "closed": (
        "This request is closed",
        "It was carried out, or covered by another request of yours, so its links no longer work.",
    ),
    "downloaded": (
        "This copy has already been downloaded",
        "Each download link works once: after the download, the copy was deleted from our servers. "
        "Need it again? Make a new request.",
    ),
    "other": (
        "This link belongs to another request",
        "The link was issued for a different address or request than the one it was opened for.",
    ),
}
_VERIFY_SALT = "privacy.request.verify"
_EXPORT_SALT = "privacy.export.download"
_STATUS_SALT = "privacy.request.status"


# Refusals of a genuine link, checked against the request it names (a replay), recorded in the audit
# trail. A damaged, misdirected or expired link (its age is checked before what it names) names no
# request we can vouch for: recording the id in its URL would let anyone write any id there.
_RECORDED_REFUSALS = frozenset({"used", "downloaded", "closed"})


def link_refusal_record(action: Action, *, request_id: Any, refused: LinkRefused, by: Any = None) -> None:
    """Record a refused use of a request's link as `action` with outcome "denied" when the link
    was a real one for the request it names (call after the refusing transaction rolled back)."""
    if refused.reason in _RECORDED_REFUSALS:
        record(
            action,
            actor=by,
            obj=("datarequest", str(request_id)),
            outcome=Outcome.DENIED,
            details={"refused": refused.reason},
        )


def _address_tag(details: RequestDetails) -> str:
    return (details.email_index or "")[:16]


def _link_token(request: DataRequest, salt: str) -> str:
    return link_token({"r": str(request.pk), "a": _address_tag(request.details)}, purpose=salt)


def _link_check(request_id: Any, token: str, salt: str, max_age: int | None) -> DataRequest:
    """The request the link names, if its signature, age and request/address binding hold."""
    payload = link_open(token, purpose=salt, max_age=max_age)
    if payload.get("r") != str(request_id):
        raise LinkRefused("other")
    request = DataRequest.objects.select_related("details").filter(pk=request_id).first()
    if request is None:
        raise LinkRefused("other")
    details = getattr(request, "details", None)
    if details is None or payload.get("a") != _address_tag(details):
        # The details are deleted once a request is carried out or covered: such links are spent.
        raise LinkRefused("closed" if details is None else "other")
    return request


def verify_link_check(request_id: Any, token: str) -> DataRequest:
    request = _link_check(request_id, token, _VERIFY_SALT, settings.PRIVACY_VERIFY_LINK_MINUTES * 60)
    if request.status == Status.EXPIRED:
        raise LinkRefused("expired")
    if request.status != Status.UNVERIFIED:
        raise LinkRefused("used")
    return request


def export_link_check(request_id: Any, token: str) -> DataRequest:
    request = _link_check(request_id, token, _EXPORT_SALT, settings.PRIVACY_EXPORT_LINK_DAYS * 86400)
    if request.kind != Kind.EXPORT or request.export_ready_at is None:
        raise LinkRefused("other")
    if request.export_downloaded_at is not None:
        raise LinkRefused("downloaded")
    if not export_path(request).exists():
        raise LinkRefused("expired")
    return request


def status_link_check(request_id: Any, token: str) -> DataRequest:
    payload = link_open(token, purpose=_STATUS_SALT)
    if payload.get("r") != str(request_id):
        raise LinkRefused("other")
    request = DataRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise LinkRefused("other")
    return request


def _url(name: str, request: DataRequest, token: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"request_id": request.pk, "token": token})


def status_path(request: DataRequest) -> str:
    """A bookmarkable address of the request's status page. Binds nothing but the id (the address
    may be gone, and so may the browser session that asked): it shows only state, dates and counts."""
    token = link_token({"r": str(request.pk)}, purpose=_STATUS_SALT)
    return reverse("privacy:request_status_link", kwargs={"request_id": request.pk, "token": token})


def status_url(request: DataRequest) -> str:
    return settings.SITE_URL + status_path(request)


def verification_link(request: DataRequest) -> str:
    """The signed confirmation link e-mailed to a visitor (works once, for PRIVACY_VERIFY_LINK_MINUTES)."""
    return _url("privacy:request_verify", request, _link_token(request, _VERIFY_SALT))


def export_link(request: DataRequest) -> str:
    """The signed, single-use download link (e-mailed to a visitor; on an account's status page)."""
    return _url("privacy:export_download", request, _link_token(request, _EXPORT_SALT))
