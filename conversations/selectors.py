"""Reads that matter. Callers authorize first (conversations.access); these only query."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import Count, QuerySet

from conversations import protocol
from conversations.access import conversations_visible_to_staff
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


def queue_for(*, user: User) -> list[Conversation]:
    """The console queue: waiting conversations (longest-waiting first), then the ones this
    user is handling."""
    visible = conversations_visible_to_staff(user).select_related("assigned_agent")
    waiting = visible.filter(state=Conversation.State.WAITING).order_by("waiting_since")
    mine = visible.filter(state=Conversation.State.AGENT, assigned_agent=user).order_by("-last_message_at")
    return [*waiting, *mine]


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


def history_for(
    *,
    user: User,
    state: str = "",
    agent_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Conversation]:
    """Past and present conversations this console user may see, newest activity first.
    Conversations where the customer never wrote (only the bot's greeting) are left out."""
    qs = (
        conversations_visible_to_staff(user)
        .filter(last_seq__gt=1)
        .select_related("assigned_agent", "customer")
        .order_by("-last_message_at")
    )
    if state:
        qs = qs.filter(state=state)
    if agent_id:
        qs = qs.filter(assigned_agent_id=agent_id)
    if since:
        qs = qs.filter(last_message_at__date__gte=since)
    if until:
        qs = qs.filter(last_message_at__date__lte=until)
    return qs
