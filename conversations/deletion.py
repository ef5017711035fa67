"""Deleting conversations, and telling the staff who have one open that it has gone.

Every way a conversation is deleted comes here: the visitor's "Delete this chat", a data-subject
deletion request, the retention purge (privacy). Once the deletion commits, each conversation's
staff sockets get an `ended` frame saying why and close (conversations.consumers, 4410), and the
console queues refresh.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router

from chatbot_site.realtime import group_send_on_commit
from conversations import protocol
from conversations.models import Conversation, InternalNote, Message
from conversations.services import QUEUE_GROUP, staff_group

DELETED_BY_CUSTOMER, DELETED_BY_REQUEST, RETENTION = protocol.ENDED_REASONS


def _delete_where(model: type[models.Model], column: str, ids: list[Any]) -> int:
    """DELETE FROM model's table WHERE column IN ids: one statement, nothing loaded or signalled."""
    if not ids:
        return 0
    conn = connections[router.db_for_write(model)]
    field = model._meta.get_field(column)
    quote = conn.ops.quote_name
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(field.column)} IN ({placeholders})"  # noqa: S608
    with conn.cursor() as cursor:
        cursor.execute(
            sql,
            [
                field.target_field.get_db_prep_value(i, conn) if field.is_relation else field.get_db_prep_value(i, conn)
                for i in ids
            ],
        )
        return cursor.rowcount


def conversations_delete(*, ids: list[Any], reason: str) -> tuple[int, int, int]:
    """Delete these conversations with their messages and notes, in SQL (QuerySet.delete() would
    load and decrypt every row); returns how many messages, notes and conversations went. Call
    inside a transaction holding their row locks, and destroy their data keys once it commits.

    `reason` (one of protocol.ENDED_REASONS) is what the staff who have one of them open are told
    once the transaction commits: an `ended` frame on each conversation's staff group (one small
    group each, sent together), then one refresh of the console queues."""
    frame = protocol.ended_frame(reason=reason)  # an unknown reason fails before anything is deleted
    counts = (
        _delete_where(Message, "conversation", ids),
        _delete_where(InternalNote, "conversation", ids),
        _delete_where(Conversation, "id", ids),
    )
    if counts[2]:
        group_send_on_commit([staff_group(pk) for pk in ids], {"type": "chat.ended", "frame": frame})
        group_send_on_commit(QUEUE_GROUP, {"type": "queue.changed"})
    return counts
