"""Reads that matter. Callers authorize first (conversations.access); these only query, except
the staff reads of personal data at the end, which record themselves in the audit trail."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.access import NotFound
from audit.actions import Action, Outcome
from audit.selectors import has_done
from audit.services import record
from conversations import protocol
from conversations.access import conversations_visible_to_staff, staff_conversation_access
from conversations.models import Conversation, InternalNote, Message

if TYPE_CHECKING:
    from accounts.models import User


def messages_of(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.order_by("seq")


def messages_after(*, conversation_id: uuid.UUID | str, after_seq: int, limit: int | None = None) -> list[Message]:
    return list(Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq).order_by("seq")[:limit])


def notes_of(*, conversation_id: uuid.UUID | str) -> list[InternalNote]:
    return list(InternalNote.objects.filter(conversation_id=conversation_id).select_related("author"))


def conversations_of_customer(*, customer: User) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(customer=customer).annotate(message_count=Count("messages")).order_by("-created_at")
    )


# The queue lists at most this many waiting conversations (the longest-waiting) and this many of
# the user's own: rendering every row of a long queue cost ~1 ms each (0.9 s for 1,000 waiting).
QUEUE_LIMIT = 50
# What a queue or history row shows: no other column is read, so none is decrypted.
_ROW_FIELDS = ("id", "state", "customer", "assigned_agent__username", "waiting_since", "last_message_at")


def queue_for(*, user: User) -> list[Conversation]:
    """The console queue: waiting conversations (longest-waiting first), then the ones this
    user is handling; at most QUEUE_LIMIT of each."""
    visible = conversations_visible_to_staff(user).select_related("assigned_agent").only(*_ROW_FIELDS)
    waiting = visible.filter(state=Conversation.State.WAITING).order_by("waiting_since", "id")
    mine = visible.filter(state=Conversation.State.AGENT, assigned_agent=user).order_by("-last_message_at", "-id")
    return [*waiting[:QUEUE_LIMIT], *mine[:QUEUE_LIMIT]]


def queue_items(*, user: User) -> list[dict[str, Any]]:
    """The queue as plain metadata for the queue socket: never message content."""
    return [
        protocol.queue_item(
            conversation_id=c.pk,
            state=c.state,
            waiting_since=c.waiting_since,
            last_message_at=c.last_message_at,
            assigned_to=c.assigned_agent.get_username() if c.assigned_agent else None,
        )
        for c in queue_for(user=user)
    ]


HISTORY_PAGE_SIZE = 25
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class HistoryPage:
    """One page of the history and the cursors of its neighbours (None: no such page)."""

    conversations: list[Conversation]
    newer: str | None
    older: str | None


def _cursor(direction: str, conversation: Conversation) -> str:
    """`direction` ("older"/"newer") than this row, as the page's URL carries it."""
    micros = (conversation.last_message_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"{direction}.{micros}.{conversation.pk}"


def _parse_cursor(cursor: str) -> tuple[str, dt.datetime, uuid.UUID] | None:
    try:
        direction, micros, pk = cursor.split(".")
        if direction not in ("older", "newer"):
            return None
        return direction, _EPOCH + dt.timedelta(microseconds=int(micros)), uuid.UUID(pk)
    except (ValueError, OverflowError):
        return None


def history_page(
    *,
    user: User,
    state: str = "",
    agent_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    cursor: str = "",
    size: int = HISTORY_PAGE_SIZE,
) -> HistoryPage:
    """A page of the conversations this console user may see, newest activity first, after
    `cursor` (a page's `newer` or `older`; anything else is the first page). Keyset pagination:
    no count and no offset, so a page costs the same at any depth and any number of conversations.
    Conversations where the customer never wrote (only the bot's greeting) are left out; dates
    are days in the current time zone."""
    qs = (
        conversations_visible_to_staff(user)
        .filter(last_seq__gt=1, last_message_at__isnull=False)
        .select_related("assigned_agent")
        .only(*_ROW_FIELDS)
    )
    if state:
        qs = qs.filter(state=state)
    if agent_id:
        qs = qs.filter(assigned_agent_id=agent_id)
    # Ranges on the column itself (not on its date), so that its index applies.
    if since:
        qs = qs.filter(last_message_at__gte=_day_start(since))
    if until:
        qs = qs.filter(last_message_at__lt=_day_start(until + dt.timedelta(days=1)))
    position = _parse_cursor(cursor)
    if position is None:
        rows = list(qs.order_by("-last_message_at", "-id")[: size + 1])
        return HistoryPage(rows[:size], None, _cursor("older", rows[size - 1]) if len(rows) > size else None)
    direction, at, pk = position
    if direction == "older":
        qs = qs.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=pk), last_message_at__lte=at)
        rows = list(qs.order_by("-last_message_at", "-id")[: size + 1])
        more, rows = len(rows) > size, rows[:size]
        return HistoryPage(
            rows,
            _cursor("newer", rows[0]) if rows else None,
            _cursor("older", rows[-1]) if more else None,
        )
    qs = qs.filter(Q(last_message_at__gt=at) | Q(last_message_at=at, id__gt=pk), last_message_at__gte=at)
    rows = list(qs.order_by("last_message_at", "id")[: size + 1])
    more, rows = len(rows) > size, rows[:size][::-1]
    return HistoryPage(
        rows,
        _cursor("newer", rows[0]) if more else None,
        _cursor("older", rows[-1]) if rows else None,
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- staff reads, recorded in the audit trail ------------------------------------------------
# What counts as one "open" of a transcript: each console page load, and each staff socket's
# connection (the socket then receives every message as it comes: resumes and broadcasts on that
# socket are the same open and add no entry). A page and the socket it opens are two entries.


def transcript_open(*, viewer: User, conversation_id: Any) -> Conversation:
    """The conversation whose transcript this console user opens (a page load, a socket's
    connection): records TRANSCRIPT_OPENED. Precondition: `viewer` is a console user (the
    console's views and sockets check that first). When access refuses (conversations.access:
    missing and forbidden alike), records the refusal, with the requested id only if it is a
    well-formed one (a forged id's text never goes in), and raises NotFound."""
    try:
        conversation = staff_conversation_access(viewer, conversation_id)
    except NotFound:
        try:
            requested: tuple[str, str] | None = ("conversation", str(uuid.UUID(str(conversation_id))))
        except ValueError:
            requested = None
        record(
            Action.TRANSCRIPT_OPENED,
            actor=viewer,
            obj=requested or ("conversation", ""),
            outcome=Outcome.DENIED,
            details={} if requested else {"malformed_id": True},
        )
        raise
    record(Action.TRANSCRIPT_OPENED, actor=viewer, obj=conversation)
    return conversation


def conversation_deleted_for(*, viewer: User, conversation_id: Any) -> bool:
    """Whether to tell this console user that this conversation was deleted: it no longer exists
    and they had opened it (the trail holds their TRANSCRIPT_OPENED). Anyone else learns nothing:
    for them a deleted id looks like one that never existed, or that they may not see."""
    try:
        pk = uuid.UUID(str(conversation_id))
    except ValueError:
        return False
    return not Conversation.objects.filter(pk=pk).exists() and has_done(
        actor_id=viewer.pk, action=Action.TRANSCRIPT_OPENED, object_type="conversation", object_id=str(pk)
    )


def notes_read(*, viewer: User, conversation_id: uuid.UUID | str, record_read: bool = True) -> list[InternalNote]:
    """The internal notes of a conversation, recording NOTE_READ when there are any to read and
    `record_read` (a socket records its first delivery of notes only). Callers authorize first."""
    notes = notes_of(conversation_id=conversation_id)
    if notes and record_read:
        record(
            Action.NOTE_READ, actor=viewer, obj=("conversation", str(conversation_id)), details={"notes": len(notes)}
        )
    return notes


def history_search(
    *,
    viewer: User,
    state: str = "",
    agent_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    cursor: str = "",
) -> HistoryPage:
    """`history_page`, recording HISTORY_SEARCHED with the filters used (values already parsed:
    a state, an agent's id, days; the history has no free-text search) and how many rows it shows."""
    page = history_page(user=viewer, state=state, agent_id=agent_id, since=since, until=until, cursor=cursor)
    position = _parse_cursor(cursor)
    details: dict[str, Any] = {"page": position[0] if position else "first", "rows": len(page.conversations)}
    if state:
        details["state"] = state
    if agent_id:
        details["agent_id"] = agent_id
    if since:
        details["since"] = since.isoformat()
    if until:
        details["until"] = until.isoformat()
    record(Action.HISTORY_SEARCHED, actor=viewer, details=details)
    return page
