"""Data-subject requests: a copy of one's data (export) or its erasure (deletion).

The life of a request:
1. opened from the portal's form: by a visitor, for an e-mail address (`data_request_open`), then
   confirmed from a signed link sent there, valid for PRIVACY_VERIFY_LINK_MAX_AGE and once
   (`data_request_verify`); or by a signed-in customer who re-authenticated moments ago
   (`data_request_open_for_account`), verified at once. The form answers the same whatever the
   address, and the same work is done for known and unknown addresses (no account enumeration).
   A link proves control of a mailbox, not of an account (sign-up does not verify addresses):
   a visitor's request covers the chat of the browser that asked; an account's data is reached
   only by signing in to it.
2. received: due PRIVACY_REQUEST_DUE_DAYS later. An export is built at once (`export_build`); a
   deletion waits for a privacy officer (`deletion_review_start`, `deletion_approve`,
   `deletion_deny`), unless PRIVACY_AUTO_APPROVE_DELETION.
3. carried out by Celery (`deletion_execute`, `export_build`), idempotently: a task run twice, or
   after a crash, finishes the work and does nothing twice.

What a deletion removes, and what it keeps, is listed in `deletion_execute`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User, UserSession
from accounts.network import lockout_username
from accounts.services import session_group, user_group
from chatbot_site import mail
from chatbot_site.jobs import enqueue, enqueue_on_commit
from chatbot_site.realtime import group_send_on_commit
from conversations.models import Conversation, InternalNote, Message
from privacy import access as privacy_access
from privacy.models import DataRequest, DeletionRecord, RequestDetails
from privacy.retention import conversations_delete
from vault.blind import normalize_email
from vault.datakeys import data_key_cipher, data_keys_destroy

logger = logging.getLogger(__name__)

Status = DataRequest.Status
Kind = DataRequest.Kind


class RequestError(Exception):
    """A request cannot move as asked (already decided, not open, …); `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- signed links ---------------------------------------------------------------------------
class LinkRefused(Exception):
    """A link that must not be honoured; `reason` is one of LINK_REFUSALS' keys."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _address_tag(details: RequestDetails) -> str:
    return (details.email_index or "")[:16]


def _link_token(request: DataRequest, salt: str) -> str:
    return signing.dumps({"r": str(request.pk), "a": _address_tag(request.details)}, salt=salt)


def _link_check(request_id: Any, token: str, salt: str, max_age: int | None) -> DataRequest:
    """The request the link names, if its signature, age and request/address binding hold."""
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkRefused("expired") from exc
    except signing.BadSignature as exc:
        raise LinkRefused("damaged") from exc
    if not isinstance(payload, dict) or payload.get("r") != str(request_id):
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
    request = _link_check(request_id, token, _VERIFY_SALT, settings.PRIVACY_VERIFY_LINK_MAX_AGE)
    if request.status == Status.EXPIRED:
        raise LinkRefused("expired")
    if request.status != Status.UNVERIFIED:
        raise LinkRefused("used")
    return request


def export_link_check(request_id: Any, token: str) -> DataRequest:
    request = _link_check(request_id, token, _EXPORT_SALT, settings.PRIVACY_EXPORT_LINK_MAX_AGE)
    if request.kind != Kind.EXPORT or request.export_ready_at is None:
        raise LinkRefused("other")
    if request.export_downloaded_at is not None:
        raise LinkRefused("downloaded")
    if not export_path(request).exists():
        raise LinkRefused("expired")
    return request


def status_link_check(request_id: Any, token: str) -> DataRequest:
    try:
        payload = signing.loads(token, salt=_STATUS_SALT)
    except signing.BadSignature as exc:
        raise LinkRefused("damaged") from exc
    if not isinstance(payload, dict) or payload.get("r") != str(request_id):
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
    token = signing.dumps({"r": str(request.pk)}, salt=_STATUS_SALT)
    return reverse("privacy:request_status_link", kwargs={"request_id": request.pk, "token": token})


def status_url(request: DataRequest) -> str:
    return settings.SITE_URL + status_path(request)


# --- opening and verifying --------------------------------------------------------------------
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
    if not privacy_access.may_open_account_request(user):
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
        _received(request, via=DataRequest.Verification.ACCOUNT)
    return request


def verification_send(*, request_id: Any) -> bool:
    """E-mail the confirmation link of an unverified request (run by Celery). False if there is
    nothing to send (already verified, expired or gone)."""
    request = DataRequest.objects.select_related("details").filter(pk=request_id, status=Status.UNVERIFIED).first()
    if request is None or not request.details.email:
        return False
    link = _url("privacy:request_verify", request, _link_token(request, _VERIFY_SALT))
    return _mail(
        request,
        f"Confirm your request to {settings.CONFIDANT_BUSINESS_NAME}",
        "privacy/email/verify.txt",
        {"link": link, "minutes": settings.PRIVACY_VERIFY_LINK_MAX_AGE // 60},
    )


def data_request_verify(*, request_id: Any, token: str) -> DataRequest:
    """Honour a confirmation link once: the request is received and its clock starts. Raises
    LinkRefused (damaged, expired, used, other)."""
    with transaction.atomic():
        verify_link_check(request_id, token)  # a clear reason first, without a lock
        request = DataRequest.objects.select_for_update(of=("self",)).select_related("details").get(pk=request_id)
        if request.status != Status.UNVERIFIED:
            raise LinkRefused("used")
        # No account is bound here: sign-up does not verify addresses, so the mailbox's owner need
        # not be the account's. The status page tells them to sign in for an account's data.
        _received(request, via=DataRequest.Verification.EMAIL)
    return request


def _received(request: DataRequest, *, via: str) -> None:
    now = timezone.now()
    request.status, request.verified_by, request.verified_at, request.due_at = Status.RECEIVED, via, now, due_date(now)
    request.counts = subject_inventory(request)
    request.save(update_fields=["status", "verified_by", "verified_at", "due_at", "subject", "counts"])
    if request.kind == Kind.EXPORT:
        enqueue_on_commit("privacy.tasks.export_build", str(request.pk))
    elif settings.PRIVACY_AUTO_APPROVE_DELETION:
        _approve(request, officer=None, reason="Approved automatically (PRIVACY_AUTO_APPROVE_DELETION).")


STUCK_AFTER = dt.timedelta(minutes=15)


def data_requests_redrive(*, now: dt.datetime | None = None) -> int:
    """Queue again the step of every request still waiting on a worker STUCK_AFTER after it was due
    (a task lost with its worker, or out of retries while the relay or database was down)."""
    cutoff = (now or timezone.now()) - STUCK_AFTER
    deletions = DataRequest.objects.filter(kind=Kind.DELETION).filter(
        Q(status=Status.APPROVED, decided_at__lt=cutoff)
        | Q(status=Status.DONE, completed_at__lt=cutoff, details__isnull=False)  # confirmation pending
    )
    exports = DataRequest.objects.filter(kind=Kind.EXPORT).filter(
        Q(status=Status.RECEIVED, verified_at__lt=cutoff)
        | Q(status=Status.DONE, export_ready_at__lt=cutoff, confirmation_sent_at__isnull=True, details__isnull=False)
    )
    denials = DataRequest.objects.filter(
        status=Status.DENIED, decided_at__lt=cutoff, confirmation_sent_at__isnull=True, details__isnull=False
    )
    ids = [("privacy.tasks.deletion_execute", pk) for pk in deletions.values_list("pk", flat=True)]
    ids += [("privacy.tasks.export_build", pk) for pk in exports.values_list("pk", flat=True)]
    ids += [("privacy.tasks.deletion_denied_notify", pk) for pk in denials.values_list("pk", flat=True)]
    for task_name, pk in ids:
        logger.warning("data request %s is still waiting for %s: queued again", pk, task_name)
        enqueue(task_name, str(pk))
    return len(ids)


def data_requests_expire_unverified(*, now: dt.datetime | None = None) -> int:
    """Unconfirmed requests whose link has run out: forget who asked (their details are shredded)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.PRIVACY_VERIFY_LINK_MAX_AGE)
    with transaction.atomic():
        ids = list(
            DataRequest.objects.select_for_update()
            .filter(status=Status.UNVERIFIED, requested_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
        for details in RequestDetails.objects.filter(request_id__in=ids):
            details.delete()  # one by one: each destroys its data key on commit
        DataRequest.objects.filter(pk__in=ids).update(status=Status.EXPIRED)
    return len(ids)


def address_has_account(request: DataRequest) -> bool:
    """Does a customer account use the address this request was confirmed for? Shown only to the
    browser that confirmed it (the mailbox's owner), so it tells nobody else anything."""
    details = getattr(request, "details", None)
    if request.verified_by != DataRequest.Verification.EMAIL or details is None or not details.email_index:
        return False
    return User.objects.filter(email_index=details.email_index, role=User.Role.CUSTOMER).exists()


# --- what is held -----------------------------------------------------------------------------
def _subject_conversations(request: DataRequest) -> QuerySet[Conversation]:
    """The subject's conversations: their account's, and the requesting browser's chat if it
    belongs to no account (a visitor's is tied to nothing else)."""
    details = getattr(request, "details", None)
    visitor_ids = details.conversation_ids if details is not None else []
    q = Q(pk__in=visitor_ids, customer__isnull=True)
    if request.subject_id is not None:
        q |= Q(customer_id=request.subject_id)
    return Conversation.objects.filter(q)


def subject_inventory(request: DataRequest) -> dict[str, int]:
    """What exists about the subject, as counts (what an officer sees; never content)."""
    conversations = _subject_conversations(request)
    totals = conversations.aggregate(n=Count("pk"), on_hold=Count("pk", filter=Q(legal_hold=True)))
    ids = list(conversations.values_list("pk", flat=True))
    user_id = request.subject_id
    counts = {
        "account": int(user_id is not None),
        "conversations": totals["n"],
        "conversations_on_legal_hold": totals["on_hold"],
        "messages": Message.objects.filter(conversation_id__in=ids).count(),
        "internal_notes": InternalNote.objects.filter(conversation_id__in=ids).count(),
        "sessions": UserSession.objects.filter(user_id=user_id).count() if user_id else 0,
    }
    if user_id:
        from django_otp import devices_for_user

        counts["two_step_devices"] = sum(1 for _ in devices_for_user(User(pk=user_id), confirmed=None))
    return counts


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
        enqueue_on_commit("privacy.tasks.deletion_denied_notify", str(request.pk))
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


def denial_send(*, request_id: Any) -> None:
    """Tell the requester their deletion was declined, and why (run by Celery)."""
    request = DataRequest.objects.select_related("details").filter(pk=request_id, status=Status.DENIED).first()
    if request is None or not hasattr(request, "details"):
        return
    if not request.details.email:
        _nothing_to_send(request)  # the status page (signed in) is the only way
        return
    _send_once(
        request, "Your deletion request was declined", "privacy/email/denied.txt", {"reason": request.details.reason}
    )


# --- carrying out a deletion ------------------------------------------------------------------
@dataclasses.dataclass
class _Deleted:
    counts: dict[str, int]
    data_keys: list[Any]
    session_keys: list[str]
    user_id: int | None


def deletion_execute(*, request_id: Any) -> DataRequest | None:
    """Carry out an approved deletion (Celery runs it; safe to run again, and run again by the
    hourly tidy if it has not finished: a crash between the commit and the keys' destruction
    leaves them to data_keys_collect_orphans). Removes, for the subject:

    - main database: their conversations with every message and internal note (in SQL); their
      account row, which takes with it (by cascade) their two-step devices and backup codes, MFA
      failure records and session index; their browser sessions (django_session), the visitor's
      requesting session included; failed sign-in records (django-axes) under their username;
      their other data requests' details (addresses), theirs or for the same address;
    - keys database: the data keys of the account and of every conversation (crypto-shredding:
      copies in backups become unreadable), then this request's own key, once the confirmation is sent;
    - files: exports waiting for download (MEDIA_ROOT/exports);
    - live connections: their sockets are closed.

    Kept: this request's metadata (dates, counts) and a DeletionRecord with the address's keyed hash.
    Conversations on legal hold are kept, and the officer saw them counted before approving.
    """
    deleted: _Deleted | None = None
    peek = DataRequest.objects.select_related("details").filter(pk=request_id).first()
    with transaction.atomic():
        if peek is not None and hasattr(peek, "details"):
            # Every request this deletion may close, its own first in pk order with the rest: two
            # deletions for the same address then queue up instead of deadlocking.
            ids = [peek.pk, *DataRequest.objects.filter(_others_q(peek)).values_list("pk", flat=True)]
            list(
                DataRequest.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk").values_list("pk")
            )
        request = (
            DataRequest.objects.select_for_update(of=("self",)).select_related("details").filter(pk=request_id).first()
        )
        if request is None or request.kind != Kind.DELETION:
            return None
        if request.status == Status.APPROVED:
            deleted = _delete_subject(request)
            now = timezone.now()
            request.status, request.completed_at, request.counts = Status.DONE, now, deleted.counts
            request.save(update_fields=["status", "completed_at", "counts"])
            DeletionRecord.objects.create(
                request_id=request.pk,
                origin=DeletionRecord.Origin.REQUEST,
                email_index=request.details.email_index or "",
                requested_at=request.requested_at,
                verified_at=request.verified_at,
                approved_at=request.decided_at,
                completed_at=now,
                counts=deleted.counts,
            )
            for key in deleted.session_keys:
                group_send_on_commit(session_group(key), {"type": "session.ended"})
            if deleted.user_id is not None:
                group_send_on_commit(user_group(deleted.user_id), {"type": "session.ended"})
        elif request.status != Status.DONE:
            return request  # not approved (or denied): nothing to do
    if deleted is not None:
        data_keys_destroy(deleted.data_keys)
    _deletion_confirm(request)
    return request


def _delete_subject(request: DataRequest) -> _Deleted:
    """Call inside the transaction that locks the request."""
    from axes.models import AccessAttempt, AccessFailureLog

    details = request.details
    subject_conversations = _subject_conversations(request)
    held = subject_conversations.filter(legal_hold=True).count()
    conversations = list(
        subject_conversations.filter(legal_hold=False)
        .select_for_update()
        .order_by("pk")  # the same lock order as any other deletion: no deadlock
        .values_list("pk", "data_key_id")
    )
    messages, notes, deleted_conversations = conversations_delete([pk for pk, _ in conversations])
    session_keys = [details.session_key] if details.session_key else []
    counts = {"conversations": deleted_conversations, "messages": messages, "internal_notes": notes}
    if held:
        # Held conversations outlive the request (the hold is a legal duty); the requester is told.
        counts["conversations_kept_on_legal_hold"] = held
    # Before the account goes (its requests would lose their subject), after the chats have.
    counts["other_requests"] = _other_requests_close(request)
    user = User.objects.filter(pk=request.subject_id).first()
    if user is not None:
        session_keys += list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
        names = {user.username}
        if user.email:
            names.add(lockout_username(None, {"username": user.email}))
        counts["failed_sign_ins"] = AccessAttempt.objects.filter(username__in=names).delete()[0]
        AccessFailureLog.objects.filter(username__in=names).delete()
        Conversation.objects.filter(customer=user, legal_hold=True).update(customer=None)  # kept, unlinked
        counts["accounts"] = 1
        user.delete()  # cascades; its data key is destroyed on commit (vault.fields)
    counts["sessions"] = Session.objects.filter(session_key__in=session_keys).delete()[0]
    export_path(request).unlink(missing_ok=True)
    return _Deleted(counts, [key for _, key in conversations], session_keys, user.pk if user else None)


def _others_q(request: DataRequest) -> Q:
    """Requests a deletion may cover (see _other_requests_close)."""
    q = Q(subject_id=request.subject_id) if request.subject_id else Q(pk__in=[])
    if request.verified_by == DataRequest.Verification.EMAIL and request.details.email_index:
        q |= Q(subject__isnull=True, details__email_index=request.details.email_index)
    return q


def _other_requests_close(request: DataRequest) -> int:
    """The subject's other requests that this deletion has covered: their address, session and
    exports go, and open ones close as done. Call after the subject's data is deleted, in the same
    transaction. Covered means:

    - the same account's requests (the account is gone);
    - when this request's mailbox was proven by its link, visitor requests for the same address
      whose chats no longer exist (deleted now, or before). Never another account's requests, and
      never by an account's address, which sign-up does not verify.

    Returns how many."""
    others = list(
        DataRequest.objects.select_for_update(of=("self",))  # locked already by deletion_execute
        .filter(_others_q(request))
        .exclude(pk=request.pk)
        .select_related("details")
        .order_by("pk")
    )
    covered = 0
    now = timezone.now()
    for other in others:
        details = getattr(other, "details", None)
        if other.subject_id is None:
            chats = details.conversation_ids if details is not None else []
            if Conversation.objects.filter(pk__in=chats).exists():
                continue  # a chat this deletion did not remove (held, or not the same browser's)
        export_path(other).unlink(missing_ok=True)
        if details is not None:
            details.delete()  # its data key is destroyed on commit
        if other.status in (*DataRequest.OPEN, Status.UNVERIFIED):
            unbuilt_export = other.kind == Kind.EXPORT
            other.status, other.completed_at = Status.DONE, now
            # An export not made yet is superseded (its data is gone), not carried out.
            other.counts = {"superseded_by_deletion" if unbuilt_export else "covered_by_another_request": 1}
            other.save(update_fields=["status", "completed_at", "counts"])
        covered += 1
    return covered


def _deletion_confirm(request: DataRequest) -> None:
    """Send the confirmation (once), then forget the address: the details go, and their data key."""
    details = RequestDetails.objects.filter(request=request).first()
    if details is None:
        return
    request.details = details
    unsent = DataRequest.objects.filter(pk=request.pk, confirmation_sent_at__isnull=True).exists()
    if details.email and unsent:
        with _claimed_confirmation(request) as mine:
            if not mine:
                return  # another run is sending it; that run forgets the address afterwards
            _mail(request, "Your data has been deleted", "privacy/email/deleted.txt", {"counts": request.counts})
    details.delete()


def widget_conversation_delete(*, conversation: Conversation, session_key: str | None) -> DeletionRecord:
    """A visitor deletes the chat in their browser at once (it is tied to nothing else). Call
    only with the conversation conversation_access.access_widget_conversation_delete returned. Raises
    RequestError: "not_found" (gone meanwhile), "legal_hold" (kept for a legal obligation)."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            Conversation.objects.select_for_update()
            .filter(pk=conversation.pk, customer__isnull=True)
            .values_list("data_key_id", "legal_hold")
            .first()
        )
        if row is None:
            raise RequestError("not_found")
        if row[1]:
            raise RequestError("legal_hold")
        messages, notes, deleted = conversations_delete([conversation.pk])
        record = DeletionRecord.objects.create(
            origin=DeletionRecord.Origin.WIDGET,
            requested_at=now,
            completed_at=now,
            counts={"conversations": deleted, "messages": messages, "internal_notes": notes},
        )
        if session_key:
            group_send_on_commit(session_group(session_key), {"type": "session.ended"})
    data_keys_destroy([row[0]])
    return record


# --- exports ----------------------------------------------------------------------------------
def export_path(request: DataRequest) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / f"{request.pk}.bin"


def export_build(*, request_id: Any) -> DataRequest | None:
    """Build the subject's archive, store it encrypted under the request's data key, and send the
    download link (Celery runs it). Under the request's row lock: a duplicate delivery of the task
    waits, then finds it built; the e-mail goes once (privacy.requests._send_once)."""
    with transaction.atomic():
        request = (
            DataRequest.objects.select_for_update(of=("self",))
            .select_related("details", "subject")
            .filter(pk=request_id)
            .first()
        )
        if request is None or request.kind != Kind.EXPORT or not hasattr(request, "details"):
            return request
        if request.status == Status.RECEIVED:
            archive, counts = export_archive(request)
            path = export_path(request)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(data_key_cipher(request.details.encryption_key_id()).encrypt(archive))
            partial.replace(path)
            now = timezone.now()
            request.status, request.export_ready_at, request.completed_at, request.counts = (
                Status.DONE,
                now,
                now,
                counts,
            )
            request.save(update_fields=["status", "export_ready_at", "completed_at", "counts"])
        elif request.status != Status.DONE or request.export_downloaded_at is not None:
            return request
    # Built now, or before by a run whose e-mail failed: send it (once).
    export_link_send(request=request)
    return request


def export_link_send(*, request: DataRequest) -> None:
    """E-mail that the archive is ready, once (a retry after a mail failure sends it then). A
    visitor gets the download link; a customer who asked from their account is told to sign in
    for it (their account's address was never verified, so it gets no bearer link)."""
    if not request.details.email:
        _nothing_to_send(request)  # the status page (signed in) is the only way
        return
    if request.verified_by == DataRequest.Verification.ACCOUNT:
        context = {"link": "", "days": settings.PRIVACY_EXPORT_LINK_MAX_AGE // 86400}
    else:
        context = {"link": export_link(request), "days": settings.PRIVACY_EXPORT_LINK_MAX_AGE // 86400}
    _send_once(request, "Your data is ready to download", "privacy/email/export_ready.txt", context)


def export_link(request: DataRequest) -> str:
    """The signed, single-use download link (e-mailed to a visitor; on an account's status page)."""
    return _url("privacy:export_download", request, _link_token(request, _EXPORT_SALT))


NOTES_WITHHELD = (
    "Our staff wrote notes on this conversation. They may concern other people, so they are not "
    "included here; ask our privacy officer for them."
)


def export_archive(request: DataRequest) -> tuple[bytes, dict[str, int]]:
    """The zip: data.json (everything held about the subject) and transcript.html (the same,
    readable), both made from one read of each table."""
    from axes.models import AccessAttempt
    from django_otp import devices_for_user

    user = request.subject
    now = timezone.now()
    sessions = list(UserSession.objects.filter(user=user).order_by("created_at")) if user else []
    failed_sign_ins = (
        list(AccessAttempt.objects.filter(username=user.username).order_by("attempt_time")) if user else []
    )
    requests_made = list(
        DataRequest.objects.filter(Q(pk=request.pk) | (Q(subject=user) if user is not None else Q(pk__in=[]))).order_by(
            "requested_at"
        )
    )
    conversations = list(_subject_conversations(request).order_by("created_at"))
    ids = [c.pk for c in conversations]
    messages: dict[Any, list[Message]] = {pk: [] for pk in ids}
    for message in Message.objects.filter(conversation_id__in=ids).order_by("conversation_id", "seq"):
        messages[message.conversation_id].append(message)
    notes: dict[Any, list[InternalNote]] = {pk: [] for pk in ids}
    for note in InternalNote.objects.filter(conversation_id__in=ids):
        notes[note.conversation_id].append(note)
    with_notes = privacy_access.export_includes_staff_notes()
    data: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "controller": settings.CONFIDANT_BUSINESS_NAME,
        "request": {
            "id": str(request.pk),
            "requested_at": request.requested_at.isoformat(),
            "email_given": request.details.email or None,
        },
        "account": None,
        "conversations": [
            {
                "id": str(c.pk),
                "started_at": c.created_at.isoformat(),
                "last_message_at": c.last_message_at.isoformat() if c.last_message_at else None,
                "state": c.get_state_display(),
                "privacy_notice_version_shown": c.notice_version,
                "privacy_notice_shown_at": c.notice_shown_at.isoformat() if c.notice_shown_at else None,
                "messages": [
                    {"seq": m.seq, "sender": m.sender, "sent_at": m.created_at.isoformat(), "text": m.body}
                    for m in messages[c.pk]
                ],
                "on_legal_hold": c.legal_hold,
                "staff_notes": (
                    [{"written_at": n.created_at.isoformat(), "text": n.body} for n in notes[c.pk]]
                    if with_notes
                    else {"count": len(notes[c.pk]), "content": NOTES_WITHHELD}
                ),
            }
            for c in conversations
        ],
        "data_requests": [
            {
                "kind": r.kind,
                "status": r.status,
                "requested_at": r.requested_at.isoformat(),
                "received_at": r.verified_at.isoformat() if r.verified_at else None,
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
            }
            for r in requests_made
        ],
    }
    if user is not None:
        data["account"] = {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "email_waiting_for_confirmation": user.pending_email or None,
            "joined_at": user.date_joined.isoformat(),
            "last_sign_in_at": user.last_login.isoformat() if user.last_login else None,
            "sessions": [
                {"started_at": s.created_at.isoformat(), "last_seen_at": s.last_seen.isoformat()} for s in sessions
            ],
            "two_step_devices": [
                {"kind": type(d).__name__, "name": d.name, "confirmed": d.confirmed}
                for d in devices_for_user(user, confirmed=None)
            ],
            "failed_sign_ins": [
                {"at": a.attempt_time.isoformat(), "ip_address": a.ip_address, "browser": a.user_agent}
                for a in failed_sign_ins
            ],
        }
    counts = {
        "conversations": len(conversations),
        "messages": sum(len(v) for v in messages.values()),
        "staff_notes": sum(len(v) for v in notes.values()),
        "account": int(user is not None),
    }
    html = render_to_string(
        "privacy/export_transcript.html",
        {
            "data": data,
            "user": user,
            "sessions": sessions,
            "failed_sign_ins": failed_sign_ins,
            "conversations": [(c, messages[c.pk], notes[c.pk]) for c in conversations],
            "with_notes": with_notes,
            "notes_withheld": NOTES_WITHHELD,
            "requests_made": requests_made,
            "generated_at": now,
        },
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("transcript.html", html)
    return buffer.getvalue(), counts


def export_download(*, request_id: Any, token: str) -> bytes:
    """The archive, once: the link is spent and the file deleted before the bytes are returned.
    Raises LinkRefused."""
    with transaction.atomic():
        request = export_link_check(request_id, token)
        spent = DataRequest.objects.filter(pk=request.pk, export_downloaded_at__isnull=True).update(
            export_downloaded_at=timezone.now()
        )
        if not spent:
            raise LinkRefused("downloaded")
        path = export_path(request)
        archive = data_key_cipher(request.details.encryption_key_id()).decrypt(path.read_bytes())
    path.unlink(missing_ok=True)
    return archive


def exports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete archives nobody downloaded in time."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.PRIVACY_EXPORT_LINK_MAX_AGE)
    expired = DataRequest.objects.filter(
        kind=Kind.EXPORT, export_ready_at__lt=cutoff, export_downloaded_at__isnull=True
    )
    removed = 0
    for request in expired:
        path = export_path(request)
        if path.exists():
            path.unlink()
            removed += 1
    return removed


# How long a closed request keeps who asked (its details), and why:
CONFIRMATION_GRACE = dt.timedelta(days=2)  # a deletion's confirmation e-mail, retried meanwhile


def data_requests_forget_closed(*, now: dt.datetime | None = None) -> int:
    """Shred the details (address, session, reason) of requests that no longer need them: exports
    downloaded or past their link, deletions whose confirmation could not be sent within
    CONFIRMATION_GRACE, denials RETENTION_DAYS after the decision (the requester could still
    come back about it)."""
    now = now or timezone.now()
    export_cutoff = now - dt.timedelta(seconds=settings.PRIVACY_EXPORT_LINK_MAX_AGE)
    closed = RequestDetails.objects.filter(
        Q(request__kind=Kind.EXPORT, request__export_downloaded_at__isnull=False)
        | Q(request__kind=Kind.EXPORT, request__export_ready_at__lt=export_cutoff)
        | Q(
            request__kind=Kind.DELETION, request__status=Status.DONE, request__completed_at__lt=now - CONFIRMATION_GRACE
        )
        | Q(request__status=Status.DENIED, request__decided_at__lt=now - dt.timedelta(days=settings.RETENTION_DAYS))
    ).select_related("request")
    forgotten = 0
    for details in closed:
        export_path(details.request).unlink(missing_ok=True)
        details.delete()  # its data key is destroyed on commit
        forgotten += 1
    return forgotten


# --- e-mail -----------------------------------------------------------------------------------
def _status_url_for_mail(request: DataRequest) -> str:
    """A visitor's e-mails carry the bookmarkable status link. An account's address was never
    verified: its e-mails point to the status page behind sign-in (none once the account is gone)."""
    if request.verified_by != DataRequest.Verification.ACCOUNT:
        return status_url(request)
    if request.kind == Kind.DELETION and request.status == Status.DONE:
        return ""
    return settings.SITE_URL + reverse("privacy:request_status", kwargs={"request_id": request.pk})


def _mail(request: DataRequest, subject: str, template: str, context: dict[str, Any]) -> bool:
    """Send one of our e-mails to the request's address (chatbot_site.mail.send: False if refused for
    good, MailTemporaryFailure if it may work later)."""
    body = render_to_string(
        template,
        {
            **context,
            "business_name": settings.CONFIDANT_BUSINESS_NAME,
            "request": request,
            "status_url": _status_url_for_mail(request),
        },
    )
    name = template.rsplit("/", 1)[-1]
    return mail.send(
        to=request.details.email, subject=subject, body=body, what=f"{name} e-mail of data request {request.pk}"
    )


def _nothing_to_send(request: DataRequest) -> None:
    """No address to write to: the closing e-mail counts as handled, so nothing re-drives it."""
    DataRequest.objects.filter(pk=request.pk, confirmation_sent_at__isnull=True).update(
        confirmation_sent_at=timezone.now()
    )


CLAIM_STALE_AFTER = dt.timedelta(minutes=10)


@contextlib.contextmanager
def _claimed_confirmation(request: DataRequest) -> Iterator[bool]:
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


def _send_once(request: DataRequest, subject: str, template: str, context: dict[str, Any]) -> None:
    with _claimed_confirmation(request) as mine:
        if mine:
            _mail(request, subject, template, context)


# --- reads ------------------------------------------------------------------------------------
def officer_queue(*, now: dt.datetime | None = None) -> list[DataRequest]:
    """Open requests, overdue first, then by due date; then the last 50 closed."""
    now = now or timezone.now()
    open_ = list(DataRequest.objects.filter(status__in=DataRequest.OPEN).order_by("due_at", "requested_at"))
    open_.sort(key=lambda r: (not r.is_overdue(now), r.due_at))
    return open_


def officer_recent_closed(*, limit: int = 50) -> list[DataRequest]:
    return list(
        DataRequest.objects.filter(status__in=(Status.DONE, Status.DENIED)).order_by("-completed_at", "-decided_at")[
            :limit
        ]
    )


def requests_of_user(*, user: User) -> list[DataRequest]:
    return list(DataRequest.objects.filter(subject=user).order_by("-requested_at"))


def masked_email(address: str) -> str:
    """d•••@example.com: enough for an officer to tell requests apart, not to read the address."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else ""
