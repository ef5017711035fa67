"""Carrying out a deletion: the subject's conversations, account, sessions and other requests go,
through the services of the apps that own them (conversations.services, accounts.services)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services import account_erase, session_sockets_close, sessions_end_keys
from audit.actions import Action
from audit.services import record
from conversations.deletion import DELETED_BY_CUSTOMER, DELETED_BY_REQUEST, conversations_delete
from conversations.models import Conversation
from conversations.services import conversations_held_unlink
from privacy.data_requests.lifecycle import RequestError
from privacy.data_requests.notify import confirmation_claim, request_mail
from privacy.data_requests.selectors import subject_conversations
from privacy.data_requests.storage import export_path
from privacy.models import DataRequest, DeletionRecord, RequestDetails
from vault.datakeys import data_keys_destroy

Status = DataRequest.Status
Kind = DataRequest.Kind


@dataclasses.dataclass
class _Deleted:
    counts: dict[str, int]
    data_keys: list[Any]


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
            record(Action.REQUEST_EXECUTED, obj=request, details={"kind": request.kind, **deleted.counts})
        elif request.status != Status.DONE:
            return request  # not approved (or denied): nothing to do
    if deleted is not None:
        data_keys_destroy(deleted.data_keys)
    _deletion_confirm(request)
    return request


def _delete_subject(request: DataRequest) -> _Deleted:
    """Call inside the transaction that locks the request. The sockets of the sessions that end
    are closed once it commits (accounts.services)."""
    details = request.details
    conversations_of_subject = subject_conversations(request)
    held = conversations_of_subject.filter(legal_hold=True).count()
    conversations = list(
        conversations_of_subject.filter(legal_hold=False)
        .select_for_update()
        .order_by("pk")  # the same lock order as any other deletion: no deadlock
        .values_list("pk", "data_key_id")
    )
    messages, notes, deleted_conversations = conversations_delete(
        ids=[pk for pk, _ in conversations], reason=DELETED_BY_REQUEST
    )
    counts = {"conversations": deleted_conversations, "messages": messages, "internal_notes": notes}
    if held:
        # Held conversations outlive the request (the hold is a legal duty); the requester is told.
        counts["conversations_kept_on_legal_hold"] = held
    # Before the account goes (its requests would lose their subject), after the chats have.
    counts["other_requests"] = _other_requests_close(request)
    sessions = 0
    user = User.objects.filter(pk=request.subject_id).first()
    if user is not None:
        conversations_held_unlink(customer=user)  # kept, unlinked
        erased = account_erase(user=user)  # failed sign-ins, accounts, sessions
        sessions = erased.pop("sessions")
        counts.update(erased)
    if details.session_key:  # the requesting browser's (none left if it was the account's)
        sessions += sessions_end_keys(session_keys=[details.session_key])
    counts["sessions"] = sessions
    export_path(request).unlink(missing_ok=True)
    return _Deleted(counts, [key for _, key in conversations])


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
        with confirmation_claim(request) as mine:
            if not mine:
                return  # another run is sending it; that run forgets the address afterwards
            request_mail(request, "Your data has been deleted", "privacy/email/deleted.txt", {"counts": request.counts})
    details.delete()


def widget_conversation_delete(*, conversation: Conversation, session_key: str | None) -> DeletionRecord:
    """A visitor deletes the chat in their browser at once (it is tied to nothing else). Call
    only with the conversation widget_conversation_delete_access returned. Raises
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
        messages, notes, deleted = conversations_delete(ids=[conversation.pk], reason=DELETED_BY_CUSTOMER)
        record = DeletionRecord.objects.create(
            origin=DeletionRecord.Origin.WIDGET,
            requested_at=now,
            completed_at=now,
            counts={"conversations": deleted, "messages": messages, "internal_notes": notes},
        )
        if session_key:
            session_sockets_close(session_key=session_key)
    data_keys_destroy([row[0]])
    return record
