"""Every state change of a conversation. Persist first; broadcast only after commit.

Callers (views, consumers, the bot) authorize through the access helpers (conversations.access) before calling these.
Channel groups: `conv.<id>` (customer and staff watching it), `conv.<id>.staff` (internal notes),
`queue` (console queue pages).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.db import IntegrityError, connections, router, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.services import session_group
from audit.actions import Action
from audit.services import record
from chatbot_site.realtime import group_send_on_commit
from conversations import masking, protocol
from conversations.bot import intent, retrieval, safety
from conversations.models import Conversation, InternalNote, Message

if TYPE_CHECKING:
    from accounts.models import User

QUEUE_GROUP = "queue"

logger = logging.getLogger(__name__)


class ConversationError(Exception):
    """A request that is well-formed but not possible now; `code` goes into an error frame."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    return f"conv.{uuid.UUID(str(conversation_id)).hex}"


def staff_group(conversation_id: uuid.UUID | str) -> str:
    return f"{conversation_group(conversation_id)}.staff"


def message_fields(message: Message) -> dict[str, Any]:
    """A stored message as the data of a `message` frame (JSON-safe, for the channel layer);
    each socket adds the HTML for its viewer (protocol.message_frame, conversations.rendering)."""
    return {
        "seq": message.seq,
        "client_id": str(message.client_id) if message.client_id else None,
        "sender": message.sender,
        "body": message.body,
        "masked": list(message.masked),
        "at": message.created_at.isoformat(),
    }


def note_to_frame(note: InternalNote) -> dict[str, Any]:
    author = (note.author.get_full_name() or note.author.get_username()) if note.author else "(deleted user)"
    return protocol.note_frame(
        note_id=note.pk, client_id=note.client_id, author=author, body=note.body, masked=note.masked, at=note.created_at
    )


def _broadcast_message(message: Message) -> None:
    group_send_on_commit(
        conversation_group(message.conversation_id), {"type": "chat.message", "message": message_fields(message)}
    )


def _broadcast_state(conversation: Conversation) -> None:
    frame = protocol.status_frame(state=conversation.state)
    group_send_on_commit(conversation_group(conversation.pk), {"type": "chat.status", "frame": frame})
    group_send_on_commit(QUEUE_GROUP, {"type": "queue.changed"})


def _append(
    conversation: Conversation,
    *,
    sender: str,
    body: str,
    client_id: uuid.UUID | None = None,
    author: User | None = None,
) -> Message:
    """Add a message with the next seq. Call inside a transaction holding the conversation's
    row lock (see `_locked`)."""
    conversation.last_seq += 1
    conversation.last_message_at = timezone.now()
    conversation.save(update_fields=["last_seq", "last_message_at"])
    return _insert(conversation, sender=sender, body=body, client_id=client_id, author=author)


def _insert(
    conversation: Conversation,
    *,
    sender: str,
    body: str,
    client_id: uuid.UUID | None = None,
    author: User | None = None,
    masked: tuple[str, ...] = (),
) -> Message:
    """Store the message numbered `conversation.last_seq` (taken by `_append` or `_take_seq`, in
    this transaction) and broadcast it on commit."""
    message = Message.objects.create(
        conversation=conversation,
        seq=conversation.last_seq,
        client_id=client_id,
        sender=sender,
        author=author,
        body=body,
        masked=[str(kind) for kind in masked],
    )
    _broadcast_message(message)
    return message


def _locked(conversation_id: uuid.UUID | str) -> Conversation:
    try:
        return Conversation.objects.select_for_update().get(pk=conversation_id)
    except Conversation.DoesNotExist as exc:  # deleted meanwhile (retention, a deletion request)
        raise ConversationError("not_found", "This conversation no longer exists.") from exc


def _take_seq(conversation_id: uuid.UUID | str) -> Conversation:
    """Lock the conversation's row and take its next seq in one statement (UPDATE ... RETURNING:
    `_locked` and `_append`'s save in one), returning the row as it is now. Call inside a
    transaction; the chat path's messages are numbered this way."""
    alias = router.db_for_write(Conversation)
    conn = connections[alias]
    quote = conn.ops.quote_name
    meta = Conversation._meta
    seq, at = quote(meta.get_field("last_seq").column), quote(meta.get_field("last_message_at").column)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {seq} = {seq} + 1, {at} = %s WHERE {quote(meta.pk.column)} = %s "  # noqa: S608
        f"RETURNING {', '.join(quote(field.column) for field in meta.concrete_fields)}"
    )
    try:
        pk = meta.pk.get_db_prep_value(uuid.UUID(str(conversation_id)), conn)
    except ValueError as exc:
        raise ConversationError("not_found", "This conversation no longer exists.") from exc
    now = meta.get_field("last_message_at").get_db_prep_value(timezone.now(), conn)
    rows = list(Conversation.objects.db_manager(alias).raw(sql, [now, pk]))
    if not rows:  # deleted meanwhile (retention, a deletion request)
        raise ConversationError("not_found", "This conversation no longer exists.")
    return rows[0]


def greeting_text() -> str:
    return (
        f"Hi! I'm {settings.BUSINESS_NAME}'s automated assistant: a bot, not a person. "
        'I answer from our help articles. Ask for a human at any time (type "agent" or press '
        f'"Talk to a person"). How we handle what you write here: {reverse("privacy:notice")}'
    )


GREETING_SEQ = 1  # the greeting is every conversation's first message


def greeting_fields(at: dt.datetime) -> dict[str, Any]:
    """The greeting as a `message` frame's data (message_fields), shown before it is stored."""
    return {
        "seq": GREETING_SEQ,
        "client_id": None,
        "sender": Message.Sender.BOT,
        "body": greeting_text(),
        "masked": [],
        "at": at.isoformat(),
    }


def conversation_start(*, customer: User | None, greeted_at: dt.datetime | None = None) -> Conversation:
    """Open a conversation with the bot; its first message discloses the bot and the notice
    (`greeted_at`: when the greeting was shown, if it was shown before the conversation opened)."""
    now = timezone.now()
    greeted_at = greeted_at or now
    with transaction.atomic():
        conversation = Conversation.objects.create(
            customer=customer,
            notice_version=settings.PRIVACY_NOTICE_VERSION,
            notice_shown_at=greeted_at,
            last_seq=GREETING_SEQ,
            last_message_at=now,
        )
        _insert(conversation, sender=Message.Sender.BOT, body=greeting_text())
    return conversation


def widget_conversation_start(
    *, session: SessionBase, customer: User | None, greeted_at: dt.datetime | None = None
) -> Conversation | None:
    """Give a widget session its conversation, once, when its visitor first writes (or asks for a
    person): a visitor who only looks keeps nothing here. Two tabs writing at the same moment
    must not each open one: holds the session's row lock while it checks and creates. Returns the
    conversation it opened, after telling the session's other sockets (`chat.started`); None when
    another connection had opened one (now in `session`)."""
    with transaction.atomic():
        if not list(Session.objects.select_for_update().filter(session_key=session.session_key)):
            raise ConversationError("session_ended", "This chat session has ended. Reload the page to start again.")
        # The session as stored now (a socket's copy may be hours old: a re-authentication made
        # since must stay); the socket's copy learns the conversation without being saved.
        fresh = session.__class__(session_key=session.session_key)
        existing = fresh.get("conversation_id")
        if (
            existing
            and existing != session.get("conversation_id")
            and Conversation.objects.filter(pk=existing, customer=customer).exists()
        ):
            session["conversation_id"] = existing
            return None
        conversation = conversation_start(customer=customer, greeted_at=greeted_at)
        fresh["conversation_id"] = session["conversation_id"] = str(conversation.pk)
        fresh.save()
        session.modified = False
        group_send_on_commit(
            session_group(session.session_key), {"type": "chat.started", "conversation_id": str(conversation.pk)}
        )
    return conversation


@dataclass(frozen=True)
class PostResult:
    message: Message
    created: bool
    state: str


def message_post(
    *,
    conversation_id: uuid.UUID | str,
    sender: str,
    body: str,
    client_id: uuid.UUID,
    author: User | None = None,
    masked: tuple[str, ...] = (),
) -> PostResult:
    """Store a customer's or agent's message once per client_id and broadcast it on commit.

    What the sender overshared is masked out first (conversations.masking): the original is
    never stored, broadcast or answered (`masked`: what the widget masked already, at the
    customer's choice). A resend (same client_id) stores nothing and returns the
    original. A customer writing to a resolved conversation reopens it into the waiting queue. An
    agent may write only while the conversation is with an agent. Four statements: the resend check, then one transaction
    taking the seq (and the row lock) and storing the message (and an agent's first reply: its time, for the dashboard).
    """
    if (existing := _posted(conversation_id, client_id, sender=sender, author=author)) is not None:
        return existing
    masked = masking.mask_for(sender, body, claimed=masked)  # before the row lock: it needs no row
    try:
        with transaction.atomic():
            conversation = _take_seq(conversation_id)
            if sender == Message.Sender.AGENT and conversation.state != Conversation.State.AGENT:
                raise ConversationError("not_active", "Claim the conversation before replying.")
            message = _insert(
                conversation, sender=sender, body=masked.text, client_id=client_id, author=author, masked=masked.kinds
            )
            if sender == Message.Sender.AGENT and conversation.first_response_at is None:
                conversation.first_response_at = message.created_at
                conversation.save(update_fields=["first_response_at"])
            if sender == Message.Sender.CUSTOMER and conversation.state == Conversation.State.RESOLVED:
                _to_waiting(
                    conversation, note="You wrote again, so the conversation is open again. An agent will join shortly."
                )
    except IntegrityError:
        # The same client_id stored meanwhile by another connection (a resend racing the original,
        # which held the row lock): that one stands.
        if (existing := _posted(conversation_id, client_id, sender=sender, author=author)) is None:
            raise
        return existing
    return PostResult(message=message, created=True, state=conversation.state)


def _posted(
    conversation_id: uuid.UUID | str, client_id: uuid.UUID, *, sender: str, author: User | None
) -> PostResult | None:
    """The message already stored under this client_id, as a resend's result; None if there is none."""
    existing = (
        Message.objects.select_related("conversation")
        .filter(conversation_id=conversation_id, client_id=client_id)
        .first()
    )
    if existing is None:
        return None
    if existing.sender != sender or existing.author_id != (author.pk if author else None):
        raise ConversationError("duplicate_client_id", "This client_id was already used for another message.")
    return PostResult(message=existing, created=False, state=existing.conversation.state)


def _to_waiting(conversation: Conversation, *, note: str) -> None:
    conversation.state = Conversation.State.WAITING
    conversation.waiting_since = timezone.now()
    conversation.handed_over_at = conversation.handed_over_at or conversation.waiting_since
    conversation.assigned_agent = None
    conversation.resolved_at = None
    conversation.save(update_fields=["state", "waiting_since", "handed_over_at", "assigned_agent", "resolved_at"])
    _append(conversation, sender=Message.Sender.SYSTEM, body=note)
    _broadcast_state(conversation)


def conversation_hand_over(*, conversation_id: uuid.UUID | str) -> Conversation:
    """Hand the conversation from the bot to the human queue. Asking twice changes nothing."""
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.state in (Conversation.State.BOT, Conversation.State.RESOLVED):
            _to_waiting(conversation, note="Connecting you with a person. An agent will join shortly.")
    return conversation


def conversation_claim(*, conversation_id: uuid.UUID | str, agent: User, take_over: bool = False) -> Conversation:
    """Assign a waiting conversation to this agent (with take_over, also one that another agent
    has: the caller decides, conversations.access.may_take_over). Exactly one of two racing
    agents wins. Recorded as CONVERSATION_CLAIMED by the agent."""
    return _assign(conversation_id, agent=agent, allow_reassign=take_over, by=agent, action=Action.CONVERSATION_CLAIMED)


def conversation_assign(
    *, conversation_id: uuid.UUID | str, agent: User, allow_reassign: bool = False, by: User | None = None
) -> Conversation:
    """Give the conversation to `agent`: a waiting one, or with allow_reassign (a supervisor's
    decision, taken by the caller through conversations.access) one that is with another agent.
    Recorded as CONVERSATION_REASSIGNED by `by` (the supervisor)."""
    return _assign(
        conversation_id, agent=agent, allow_reassign=allow_reassign, by=by, action=Action.CONVERSATION_REASSIGNED
    )


def _assign(
    conversation_id: uuid.UUID | str, *, agent: User, allow_reassign: bool, by: User | None, action: Action
) -> Conversation:
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.assigned_agent_id == agent.pk and conversation.state == Conversation.State.AGENT:
            return conversation
        if conversation.state == Conversation.State.RESOLVED or (
            conversation.state == Conversation.State.AGENT and not allow_reassign
        ):
            raise ConversationError("already_claimed", "Another agent has already taken this conversation.")
        previous = conversation.assigned_agent_id
        conversation.state = Conversation.State.AGENT
        conversation.assigned_agent = agent
        conversation.waiting_since = None
        conversation.handed_over_at = conversation.handed_over_at or timezone.now()  # assigned from the bot
        conversation.save(update_fields=["state", "assigned_agent", "waiting_since", "handed_over_at"])
        name = agent.first_name or "An agent"
        _append(conversation, sender=Message.Sender.SYSTEM, body=f"{name} joined the conversation.")
        _broadcast_state(conversation)
        record(action, actor=by, obj=conversation, details={"from_agent": previous, "to_agent": agent.pk})
    return conversation


def conversation_resolve(*, conversation_id: uuid.UUID | str, by: User | None = None) -> Conversation:
    """Mark the conversation resolved (recorded as CONVERSATION_RESOLVED by `by`); resolving a
    resolved one changes and records nothing."""
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.state == Conversation.State.RESOLVED:
            return conversation
        conversation.state = Conversation.State.RESOLVED
        conversation.resolved_at = timezone.now()
        conversation.waiting_since = None
        conversation.save(update_fields=["state", "resolved_at", "waiting_since"])
        _append(
            conversation,
            sender=Message.Sender.SYSTEM,
            body="This conversation was marked resolved. Write again any time to reopen it.",
        )
        _broadcast_state(conversation)
        record(Action.CONVERSATION_RESOLVED, actor=by, obj=conversation)
    return conversation


def note_add(*, conversation_id: uuid.UUID | str, author: User, client_id: uuid.UUID, body: str) -> InternalNote:
    """Add an internal note (staff only), recorded as NOTE_WRITTEN (never its text). A resend with
    the same client_id is stored and recorded once."""
    masked = masking.mask_for(Message.Sender.AGENT, body)
    with transaction.atomic():
        conversation = _locked(conversation_id)
        note, created = InternalNote.objects.get_or_create(
            conversation=conversation,
            client_id=client_id,
            defaults={"author": author, "body": masked.text, "masked": [str(kind) for kind in masked.kinds]},
        )
        if not created and note.author_id != author.pk:
            raise ConversationError("duplicate_client_id", "This client_id was already used for another note.")
        group_send_on_commit(staff_group(conversation.pk), {"type": "chat.note", "frame": note_to_frame(note)})
        if created:
            record(Action.NOTE_WRITTEN, actor=author, obj=conversation, details={"note_id": note.pk})
    return note


NO_ANSWER = "I'm not sure I know the answer to that."


def _answer_from_knowledge_base(text: str) -> str:
    match = retrieval.best_match(text)
    if match is not None and safety.asks_for_secret(match.answer):  # however the article got in
        logger.warning("knowledge-base article %r asks for a secret: not used", match.title)
        match = None
    if match is None:
        return f'{NO_ANSWER} I can connect you with a person: type "agent" or press "Talk to a person".'

    return f"{match.answer}\n\n(From our help article \u201c{match.title}\u201d.)"


def bot_respond(*, conversation_id: uuid.UUID | str, message: Message) -> Message | None:
    """Answer a customer's message (just stored: `message_post`'s result, not read again) while
    the conversation is with the bot: hand over when the customer asks for a human, answer from
    the knowledge base when confident, else say so. When a secret was masked out of the message,
    say so first and where to go instead (SECURE_CHANNEL_TEXT); the answer follows when the rest
    of the message had a question the knowledge base knows. Nothing is stored once the
    conversation has left the bot meanwhile (an agent took it, the customer asked for one)."""
    if message.sender != Message.Sender.CUSTOMER:
        return None
    if intent.wants_human(message.body):
        conversation_hand_over(conversation_id=conversation_id)
        return None
    reply = intent.small_talk(message.body) or _answer_from_knowledge_base(message.body)
    if advice := masking.secrets_advice(message.masked):
        reply = advice if reply.startswith(NO_ANSWER) else f"{advice}\n\n{reply}"
    with transaction.atomic():
        conversation = _take_seq(conversation_id)
        if conversation.state != Conversation.State.BOT:
            transaction.set_rollback(True)  # gives the seq back
            return None
        return _insert(conversation, sender=Message.Sender.BOT, body=reply)


LEGAL_HOLD_REASON_MAX = 500


def conversation_hold(*, conversation_id: uuid.UUID | str, by: User, reason: str) -> Conversation:
    """Put a conversation on legal hold: the retention purge keeps it until it is released. The
    reason is stored encrypted, under the conversation's key (it may name the customer)."""
    reason = reason.strip()
    if not reason or len(reason) > LEGAL_HOLD_REASON_MAX:
        raise ConversationError("invalid", f"Give a reason of 1 to {LEGAL_HOLD_REASON_MAX} characters.")
    return _legal_hold_set(conversation_id, by=by, reason=reason)


def conversation_release(*, conversation_id: uuid.UUID | str, by: User) -> Conversation:
    """Lift a legal hold: the retention period applies again (after privacy.retention.RELEASE_GRACE)."""
    return _legal_hold_set(conversation_id, by=by, reason=None)


def _legal_hold_set(conversation_id: uuid.UUID | str, *, by: User, reason: str | None) -> Conversation:
    """Set (a reason) or lift (None) the hold, recorded as LEGAL_HOLD_SET (again when the reason
    changes) or LEGAL_HOLD_LIFTED (only when there was a hold); the reason never goes in the trail."""
    with transaction.atomic():
        conversation = _locked(conversation_id)
        was_held = conversation.legal_hold
        conversation.legal_hold, conversation.legal_hold_reason = reason is not None, reason
        conversation.legal_hold_by, conversation.legal_hold_at = by, timezone.now()
        conversation.save(update_fields=["legal_hold", "legal_hold_reason", "legal_hold_by", "legal_hold_at"])
        if reason is not None:
            record(Action.LEGAL_HOLD_SET, actor=by, obj=conversation)
        elif was_held:
            record(Action.LEGAL_HOLD_LIFTED, actor=by, obj=conversation)
    return conversation


def conversations_held_unlink(*, customer: User) -> int:
    """Unlink a customer whose account is being erased from their conversations on legal hold:
    those are kept (the hold is a legal duty), belonging to nobody. Returns how many."""
    return Conversation.objects.filter(customer=customer, legal_hold=True).update(customer=None)
