"""Reads of data requests: the officer's queue, a user's requests, and what is held about a subject."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User, UserSession
from audit.actions import Action
from audit.services import record
from conversations.models import Conversation, InternalNote, Message
from privacy.models import DataRequest

Status = DataRequest.Status


def address_has_account(request: DataRequest) -> bool:
    """Does a customer account use the address this request was confirmed for? Shown only to the
    browser that confirmed it (the mailbox's owner), so it tells nobody else anything."""
    details = getattr(request, "details", None)
    if request.verified_by != DataRequest.Verification.EMAIL or details is None or not details.email_index:
        return False
    return User.objects.filter(email_index=details.email_index, role=User.Role.CUSTOMER).exists()


# --- what is held -----------------------------------------------------------------------------
def subject_conversations(request: DataRequest) -> QuerySet[Conversation]:
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
    conversations = subject_conversations(request)
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


def officer_request_open(*, officer: User, request: DataRequest) -> None:
    """Record that an officer was shown a request's page, which shows its subject's details (the
    address, masked; the reason given; what is held): CUSTOMER_OPENED on the request, with the
    subject's account id when there is one. Call when the page is about to be shown (the caller
    authorized through privacy.access)."""
    details = {"subject_id": request.subject_id} if request.subject_id is not None else {}
    record(Action.CUSTOMER_OPENED, actor=officer, obj=request, details=details)
