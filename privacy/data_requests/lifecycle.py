"""The state changes of a data request: opened, verified (received), in review, approved or denied.

Carrying a request out is `deletion` and `export`'s, queued by name once these commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.actions import Action
from audit.services import record
from chatbot_site.jobs import enqueue_on_commit
from privacy.access import may_open_account_request
from privacy.data_requests.links import LinkRefused, link_refusal_record, verify_link_check
from privacy.data_requests.selectors import subject_inventory
from privacy.models import DataRequest, RequestDetails
from vault.blind import normalize_email

Status = DataRequest.Status
Kind = DataRequest.Kind


class RequestError(Exception):
    """A request cannot move as asked (already decided, not open, …); `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def due_date(received_at: dt.datetime) -> dt.datetime:
    """When an answer is due: PRIVACY_REQUEST_DUE_DAYS after the request was received (verified)."""
    return received_at + dt.timedelta(days=settings.PRIVACY_REQUEST_DUE_DAYS)


def data_request_open(*, kind: str, email: str, session_key: str | None, conversation_id: Any | None) -> DataRequest:
    """A visitor's request for an address: stored unverified, and a confirmation link sent there.
    Known and unknown addresses take the same path (the account is looked up at verification)."""
    with transaction.atomic():
        request = DataRequest.objects.create(kind=kind)
        RequestDetails.objects.create(
            request=request,
            email=normalize_email(email),
            reason="",
            session_key=session_key or "",
            conversation_ids=[str(conversation_id)] if conversation_id else [],
        )
        enqueue_on_commit("privacy.tasks.verification_send", str(request.pk))
    return request


def data_request_open_for_account(
    *, kind: str, user: User, session_key: str | None = None, conversation_id: Any | None = None
) -> DataRequest:
    """A signed-in customer's request (the view demands a fresh re-authentication): verified at
    once. It also covers the visitor chat this browser had before signing in. An open request of
    the same kind is returned rather than duplicated."""
    if not may_open_account_request(user):
        raise RequestError("not_customer")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one at a time per account
        existing = DataRequest.objects.filter(subject=user, kind=kind, status__in=DataRequest.OPEN).first()
        if existing is not None:
            return existing
        request = DataRequest.objects.create(kind=kind, subject=user)
        RequestDetails.objects.create(
            request=request,
            email=user.email or "",
            reason="",
            session_key=session_key or "",
            conversation_ids=[str(conversation_id)] if conversation_id else [],
        )
        _received(request, via=DataRequest.Verification.ACCOUNT, by=user)
    return request


def data_request_verify(*, request_id: Any, token: str, by: User | None = None) -> DataRequest:
    """Honour a confirmation link once: the request is received and its clock starts. `by`: who
    opened it, if signed in (the audit trail's actor; it binds nothing). Raises LinkRefused
    (damaged, expired, used, other); a replayed or late link is recorded as refused."""
    try:
        with transaction.atomic():
            verify_link_check(request_id, token)  # a clear reason first, without a lock
            request = DataRequest.objects.select_for_update(of=("self",)).select_related("details").get(pk=request_id)
            if request.status != Status.UNVERIFIED:
                raise LinkRefused("used")
            # No account is bound here: sign-up does not verify addresses, so the mailbox's owner need
            # not be the account's. The status page tells them to sign in for an account's data.
            _received(request, via=DataRequest.Verification.EMAIL, by=by)
    except LinkRefused as exc:
        link_refusal_record(Action.REQUEST_VERIFIED, request_id=request_id, refused=exc, by=by)
        raise
    return request


def _received(request: DataRequest, *, via: str, by: User | None) -> None:
    now = timezone.now()
    request.status, request.verified_by, request.verified_at, request.due_at = Status.RECEIVED, via, now, due_date(now)
    request.counts = subject_inventory(request)
    request.save(update_fields=["status", "verified_by", "verified_at", "due_at", "subject", "counts"])
    record(Action.REQUEST_VERIFIED, actor=by, obj=request, details={"kind": request.kind, "via": via})
    if request.kind == Kind.EXPORT:
        enqueue_on_commit("privacy.tasks.export_build", str(request.pk))
    elif settings.PRIVACY_AUTO_APPROVE_DELETION:
        _approve(request, officer=None, reason="Approved automatically (PRIVACY_AUTO_APPROVE_DELETION).")


# --- the officer's decisions ------------------------------------------------------------------
def deletion_review_start(*, request: DataRequest, officer: User) -> None:
    """An officer starts reviewing a received request: the customer sees it is in review."""
    updated = DataRequest.objects.filter(pk=request.pk, kind=Kind.DELETION, status=Status.RECEIVED).update(
        status=Status.IN_REVIEW, review_started_at=timezone.now()
    )
    if updated:
        request.refresh_from_db(fields=["status", "review_started_at"])


def deletion_approve(*, request_id: Any, officer: User, reason: str = "") -> DataRequest:
    with transaction.atomic():
        request = _open_deletion_locked(request_id)
        _approve(request, officer=officer, reason=reason)
    return request


def deletion_deny(*, request_id: Any, officer: User, reason: str) -> DataRequest:
    """Refuse a deletion, with the reason the customer will read (required)."""
    if not reason.strip():
        raise RequestError("reason_required")
    with transaction.atomic():
        request = _open_deletion_locked(request_id)
        request.status, request.decided_at, request.decided_by = Status.DENIED, timezone.now(), officer
        request.save(update_fields=["status", "decided_at", "decided_by"])
        request.details.reason = reason.strip()
        request.details.save(update_fields=["reason"])
        enqueue_on_commit("privacy.tasks.denial_send", str(request.pk))
        record(Action.REQUEST_DENIED, actor=officer, obj=request, details={"kind": request.kind})
    return request


def _open_deletion_locked(request_id: Any) -> DataRequest:
    request = (
        DataRequest.objects.select_for_update(of=("self",)).select_related("details").filter(pk=request_id).first()
    )
    if request is None or request.kind != Kind.DELETION:
        raise RequestError("not_found")
    if request.status not in (Status.RECEIVED, Status.IN_REVIEW) or not hasattr(request, "details"):
        raise RequestError("already_decided")
    return request


def _approve(request: DataRequest, *, officer: User | None, reason: str) -> None:
    request.status, request.decided_at, request.decided_by = Status.APPROVED, timezone.now(), officer
    request.save(update_fields=["status", "decided_at", "decided_by"])
    request.details.reason = reason.strip()
    request.details.save(update_fields=["reason"])
    enqueue_on_commit("privacy.tasks.deletion_execute", str(request.pk))
    # No officer: PRIVACY_AUTO_APPROVE_DELETION approved it (the actor is the system).
    record(
        Action.REQUEST_APPROVED,
        actor=officer,
        obj=request,
        details={"kind": request.kind, "automatic": officer is None},
    )
