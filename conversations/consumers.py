"""WebSocket consumers: parse a frame, authorize, call one service, send.

A bad frame gets an `error` frame and the connection stays usable; an unexpected failure while
handling a frame is logged (never the frame's content) and answered with an `internal` error.
Authorization happens in connect() (an unauthorized socket is accepted and closed at once with
4403, so browsers see why), again for every staff frame, on state changes and, every RECHECK
seconds, on broadcasts; every socket of a user closes when their session ends (accounts.services).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from accounts import services as account_services
from accounts.access import NotFound, socket_staff_user
from audit.context import bind_client
from chatbot_site.realtime import LAYER_ERRORS, busy, db_call
from conversations import limits, protocol, rendering, selectors, services
from conversations.access import (
    may_open_widget_socket,
    staff_conversation_access,
    widget_conversation_access,
    widget_conversation_owner,
)
from conversations.bot import retrieval
from conversations.layer_guard import LayerGuard
from conversations.models import Conversation, Message

logger = logging.getLogger(__name__)

# An application close code (4000-4999), sent after accepting so that browsers see it (a refused
# handshake reaches them only as 1006) and stop reconnecting.
CLOSE_UNAUTHORIZED = 4403
CLOSE_ENDED = 4410  # the agent socket's conversation was deleted ("gone"), after an `ended` frame
TYPING_MIN_INTERVAL = 1.5  # seconds between relayed typing frames per connection
# The frames counted against the shared rates of conversations.limits: over a rate, a frame gets a
# `rate_limited` error and is not applied (the client resends it later, with the same client_id).
RATED = {protocol.MessageFrame: "message", protocol.NoteFrame: "message", protocol.ResumeFrame: "resume"}
RATED_DETAIL = {
    "message": "You are sending messages too fast. Try again in {} seconds.",
    "resume": "Too many requests for the conversation's history. Try again in {} seconds.",
}
RECHECK = 30.0  # seconds between access re-checks of a staff socket on broadcasts
# This process has more database work waiting than it can finish soon (chatbot_site.realtime.busy):
# a new socket is closed with 1013 ("try again later") and a message, note or resume gets a `busy`
# error, not applied; clients retry after a while (with the same client_id), as after rate_limited.
CLOSE_TRY_AGAIN_LATER = 1013
BUSY_RETRY_AFTER = 2  # seconds


class _ChatConsumer(LayerGuard, AsyncWebsocketConsumer):
    allowed_frames: frozenset[str] = frozenset()
    sender = ""
    customer_view = False  # whose labels the messages are drawn with (conversations.rendering)
    conversation_id: Any = None
    groups_joined: tuple[str, ...] = ()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every event, on the one thread that
        # thread-sensitive calls share, so even a relayed broadcast would queue behind other
        # sockets' database work. Every database call here goes through db_call, which closes
        # them around the call on its own thread: skip that hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except LAYER_ERRORS:
            # Tell the client at once: the consumer's exit (LayerGuard) first waits for its
            # channel reader to end, which channels_redis may take seconds to do.
            await self.close_for_layer()
            raise

    async def send_frame(self, frame: dict[str, Any]) -> None:
        try:
            await self.send(text_data=json.dumps(frame, ensure_ascii=False))
        except OSError:  # uvicorn's ClientDisconnected: the client left; what it missed, it resumes
            pass
        except RuntimeError:  # the socket was closed meanwhile (another frame's answer, a 4403): as above
            if not self.closing:
                raise

    @property
    def closing(self) -> bool:
        return getattr(self, "_closing", False)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self._closing = True
        await super().close(code=code, reason=reason)

    async def send_message(self, fields: dict[str, Any]) -> None:
        """Send a stored message (services.message_fields) with its HTML for this socket's viewer."""
        html = rendering.message_html(
            seq=fields["seq"],
            sender=fields["sender"],
            body=fields["body"],
            at=fields["at"],
            customer_view=self.customer_view,
            masked=fields["masked"],
        )
        await self.send_frame(protocol.message_frame(**fields, html=html))

    async def send_error(self, code: str, detail: str, retry_after: int | None = None) -> None:
        await self.send_frame(protocol.error_frame(code=code, detail=detail, retry_after=retry_after))

    async def deny(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def join_identity(self) -> None:
        """Listen for the end of this user's or this session's sign-in (accounts.services)."""
        user, session = self.scope.get("user"), self.scope.get("session")
        if user is not None and user.is_authenticated:
            await self.join(account_services.user_group(user.pk))
        if session is not None and session.session_key:
            await self.join(account_services.session_group(session.session_key))

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def chat_started(self, event: dict[str, Any]) -> None:
        """The session's widget opened its conversation: only the widget's sockets follow it."""

    async def join(self, *groups: str) -> None:
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = (*self.groups_joined, *groups)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        # The audit entries this socket causes come from its client (uvicorn applied the proxy
        # trust already). Every handler runs in this consumer's task, and db_call's threads copy
        # its context, so this one binding reaches them all.
        client = self.scope.get("client")
        bind_client(client[0] if client else None)
        # Before any database work: a session or address with too many sockets open is turned away.
        self.limits = limits.SocketLimits(self.scope, self.channel_name)
        if busy():
            await self.accept()
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if not await self.limits.open():
            await self.accept()
            await self.close(code=limits.CLOSE_TOO_MANY_SOCKETS)
            return
        await super().websocket_connect(message)

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.limits.close()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            await self.limits.renew()
            try:
                frame = protocol.parse(text_data, bytes_data, allowed=self.allowed_frames)
            except protocol.ProtocolError as exc:
                await self.send_error(exc.code, exc.detail)
                if await self.limits.invalid():
                    await self.close(code=limits.CLOSE_INVALID_FRAMES)
                return
            if type(frame) in RATED and busy():
                await self.send_error("busy", "We are very busy right now. Trying again shortly.", BUSY_RETRY_AFTER)
                return
            if (kind := RATED.get(type(frame))) and (wait := await self.limits.hit(kind)) is not None:
                await self.send_error("rate_limited", RATED_DETAIL[kind].format(wait), wait)
                return
            await self.handle(frame)
        except protocol.ProtocolError as exc:
            await self.send_error(exc.code, exc.detail)
        except services.ConversationError as exc:
            await self.send_error(exc.code, exc.detail)
        except NotFound:
            await self.send_error("not_found", "No such conversation.")
            await self.handle_denied()
        except LAYER_ERRORS:
            raise  # closes the socket with CLOSE_LAYER_UNAVAILABLE (__call__)
        except Exception:
            logger.exception("failed to handle a %s frame", self.__class__.__name__)
            await self.send_error("internal", "Something went wrong on our side. Please try again.")

    async def handle(self, frame: protocol.ClientFrame) -> None:
        raise NotImplementedError

    async def handle_denied(self) -> None:
        """What a refused frame does to the socket: customers' sockets stay open."""

    async def resume(self, after_seq: int) -> bool:
        """Replay one page of messages after `after_seq`, then say whether more follow."""
        page = settings.CHAT_RESUME_PAGE
        messages = await db_call(
            selectors.messages_after, conversation_id=self.conversation_id, after_seq=after_seq, limit=page + 1
        )
        for message in messages[:page]:
            await self.send_message(services.message_fields(message))
        through = messages[:page][-1].seq if messages else after_seq
        await self.send_frame(protocol.resumed_frame(through_seq=through, more=len(messages) > page))
        return len(messages) > page

    async def relay_typing(self) -> None:
        now = time.monotonic()
        if now - getattr(self, "_last_typing", 0.0) < TYPING_MIN_INTERVAL:
            return
        self._last_typing = now
        await self.channel_layer.group_send(
            services.conversation_group(self.conversation_id),
            {"type": "chat.typing", "frame": protocol.typing_frame(sender=self.sender), "origin": self.channel_name},
        )

    # Group events: each carries a ready server frame, except messages, which carry the data that
    # each socket draws for its own viewer.
    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_message(event["message"])

    async def chat_status(self, event: dict[str, Any]) -> None:
        await self.send_frame(event["frame"])

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event.get("origin") != self.channel_name:
            await self.send_frame(event["frame"])


def _widget_conversation(user: Any, session: Any) -> tuple[bool, Conversation | None]:
    """Whether this socket may open, and its widget session's conversation if it has one yet."""
    if not may_open_widget_socket(user, session):
        return False, None
    return True, widget_conversation_access(user, session)


def _widget_conversation_start(user: Any, session: Any, greeted_at: dt.datetime) -> Conversation:
    """The conversation the visitor's first message (or call for a person) opens; another tab's,
    if it opened one first (and, should that one be deleted at that moment, a new one)."""
    for _ in range(3):
        started = services.widget_conversation_start(
            session=session, customer=widget_conversation_owner(user), greeted_at=greeted_at
        )
        if (conversation := started or widget_conversation_access(user, session)) is not None:
            return conversation
    raise services.ConversationError("not_found", "This conversation no longer exists.")


def _staff_open(scope: dict[str, Any], conversation_id: Any) -> Conversation:
    """A console user opening this conversation on a socket: the transcript's opening is recorded
    (selectors.transcript_open, a refusal too). NotFound when they are not a verified console user
    (nothing recorded: no staff member asked) or may not see it."""
    user = socket_staff_user(scope.get("user"), scope.get("session"))
    return selectors.transcript_open(viewer=user, conversation_id=conversation_id)


def _staff_access(scope: dict[str, Any], conversation_id: Any, write: bool) -> tuple[Any, Conversation]:
    """Authorize a console user for this conversation as they are now, not at the handshake."""
    user = socket_staff_user(scope.get("user"), scope.get("session"))
    return user, staff_conversation_access(user, conversation_id, write=write)


class CustomerConsumer(_ChatConsumer):
    """/ws/chat/: the widget. The visitor's conversation is the one held in their session."""

    allowed_frames = protocol.CUSTOMER_FRAMES
    sender = Message.Sender.CUSTOMER
    customer_view = True

    async def connect(self) -> None:
        allowed, conversation = await db_call(_widget_conversation, self.scope.get("user"), self.scope.get("session"))
        if not allowed:
            await self.deny()
            return
        await self.join_identity()
        state = Conversation.State.BOT
        if conversation is not None:
            await self.joined(conversation.pk)
            state = conversation.state
        else:  # nothing is kept until the visitor writes: the greeting is shown unstored
            self.greeted_at = timezone.now()
        await self.accept()
        await self.send_frame(protocol.status_frame(state=state))
        if state == Conversation.State.BOT and not _index_warming:
            _index_warming.append(asyncio.ensure_future(_warm_index()))

    async def joined(self, conversation_id: Any) -> None:
        self.conversation_id = conversation_id
        await self.join(services.conversation_group(conversation_id))

    async def opened(self) -> None:
        """The visitor writes or asks for a person: their conversation is opened now if it was not."""
        if self.conversation_id is None:
            conversation = await db_call(
                _widget_conversation_start, self.scope.get("user"), self.scope.get("session"), self.greeted_at
            )
            if self.conversation_id is None:  # (chat_started may have come first)
                await self.joined(conversation.pk)

    async def chat_started(self, event: dict[str, Any]) -> None:
        """Another socket of this session opened the conversation: follow it, with what it has."""
        if self.conversation_id is None:
            await self.joined(event["conversation_id"])
            await self.resume(services.GREETING_SEQ)

    async def handle(self, frame: protocol.ClientFrame) -> None:
        if isinstance(frame, protocol.MessageFrame):
            await self.opened()
            result = await db_call(
                services.message_post,
                conversation_id=self.conversation_id,
                sender=self.sender,
                body=frame.body,
                client_id=frame.client_id,
                masked=frame.masked,
            )
            await self.send_frame(protocol.ack_frame(client_id=frame.client_id, seq=result.message.seq))
            if result.created and result.state == Conversation.State.BOT:
                self.bot_answer(result.message)
        elif isinstance(frame, protocol.ResumeFrame):
            await self.resume(frame.after_seq)
        elif isinstance(frame, protocol.HandoffFrame):
            await self.opened()
            await db_call(services.conversation_hand_over, conversation_id=self.conversation_id)
        elif isinstance(frame, protocol.TypingFrame) and self.conversation_id is not None:
            await self.relay_typing()

    async def resume(self, after_seq: int) -> bool:
        if self.conversation_id is not None:
            return await super().resume(after_seq)
        if after_seq < services.GREETING_SEQ:
            await self.send_message(services.greeting_fields(self.greeted_at))
        await self.send_frame(protocol.resumed_frame(through_seq=services.GREETING_SEQ, more=False))
        return False

    def bot_answer(self, message: Message) -> None:
        """Let the bot answer `message` once the customer has its ack and echo, off this socket's
        frame loop; its answers are stored in the order of the customer's messages."""
        previous = getattr(self, "_bot_task", None)
        self._bot_task = task = asyncio.create_task(self._bot_reply(message, previous))
        _bot_tasks.add(task)
        task.add_done_callback(_bot_tasks.discard)

    async def _bot_reply(self, message: Message, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        # The customer's message is stored and acknowledged; a failing bot must not look like a
        # failed send. Say so in the conversation's terms instead.
        try:
            await db_call(services.bot_respond, conversation_id=self.conversation_id, message=message)
        except Exception:
            logger.exception("the bot failed to answer")
            with contextlib.suppress(Exception):  # the socket may have closed meanwhile
                await self.send_error(
                    "bot_unavailable", "The assistant could not answer just now. Ask for a person, or try again."
                )


# The bot's answers being worked on, held here so that a closed socket does not lose its answer:
# the customer sees it when they come back (resume).
_bot_tasks: set[asyncio.Task[None]] = set()
# The knowledge-base index, built in the background when this process's first widget socket opens.
_index_warming: list[asyncio.Future[None]] = []


async def _warm_index() -> None:
    try:
        await db_call(retrieval.index_build)
    except Exception:  # the first answer builds it then
        logger.warning("could not build the knowledge-base index in advance", exc_info=True)


class AgentConversationConsumer(_ChatConsumer):
    """/ws/agent/conversations/<id>/: a console user working one conversation.

    Its connection is one opening of the transcript in the audit trail; what it sends later
    (resumes, broadcasts) is part of that opening. It records reading the notes once, on its first
    resume that sends any."""

    allowed_frames = protocol.AGENT_FRAMES
    sender = Message.Sender.AGENT
    notes_recorded = False

    async def connect(self) -> None:
        try:
            conversation = await db_call(_staff_open, self.scope, self.scope["url_route"]["kwargs"]["conversation_id"])
        except NotFound:
            await self.deny()
            return
        self.conversation_id = conversation.pk
        await self.join(services.conversation_group(conversation.pk), services.staff_group(conversation.pk))
        await self.join_identity()
        await self.accept()
        await self.send_frame(protocol.status_frame(state=conversation.state))

    async def access(self, *, write: bool = False) -> Any:
        user, _ = await db_call(_staff_access, self.scope, self.conversation_id, write)
        return user

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # A frame from the agent is activity: it keeps the staff session from idling out.
        active = await db_call(
            account_services.staff_session_touch, user=self.scope["user"], session_key=self.scope["session"].session_key
        )
        if not active:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        await super().receive(text_data, bytes_data)

    async def handle(self, frame: protocol.ClientFrame) -> None:
        if isinstance(frame, protocol.MessageFrame):
            user = await self.access(write=True)
            result = await db_call(
                services.message_post,
                conversation_id=self.conversation_id,
                sender=self.sender,
                body=frame.body,
                client_id=frame.client_id,
                author=user,
            )
            await self.send_frame(protocol.ack_frame(client_id=frame.client_id, seq=result.message.seq))
        elif isinstance(frame, protocol.NoteFrame):
            user = await self.access()
            await db_call(
                services.note_add,
                conversation_id=self.conversation_id,
                author=user,
                client_id=frame.client_id,
                body=frame.body,
            )
        elif isinstance(frame, protocol.ResumeFrame):
            user = await self.access()
            if await self.resume(frame.after_seq):
                return  # the notes follow the last page
            notes = await db_call(
                selectors.notes_read,
                viewer=user,
                conversation_id=self.conversation_id,
                record_read=not self.notes_recorded,
            )
            self.notes_recorded = self.notes_recorded or bool(notes)
            for note in notes:
                await self.send_frame(services.note_to_frame(note))
        elif isinstance(frame, protocol.TypingFrame):
            await self.access(write=True)
            await self.relay_typing()

    async def still_allowed(self, *, every: float = 0.0) -> bool:
        """Re-check access (at most every `every` seconds); close the socket when it is gone."""
        now = time.monotonic()
        if every and now - getattr(self, "_checked_at", 0.0) < every:
            return True
        self._checked_at = now
        try:
            await self.access()
        except NotFound:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return False
        return True

    async def handle_denied(self) -> None:
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def chat_status(self, event: dict[str, Any]) -> None:
        # Access follows the conversation's state (claimed by someone else, reopened): re-check
        # it whenever that changes, and stop listening when it is gone.
        await self.send_frame(event["frame"])
        await self.still_allowed()

    # Broadcasts are re-checked too (at most every RECHECK seconds), so a socket whose session
    # ended stops receiving even if the close event was lost (channel layers deliver at most once).
    async def chat_message(self, event: dict[str, Any]) -> None:
        if await self.still_allowed(every=RECHECK):
            await self.send_message(event["message"])

    async def chat_note(self, event: dict[str, Any]) -> None:
        if await self.still_allowed(every=RECHECK):
            await self.send_frame(event["frame"])

    async def chat_ended(self, event: dict[str, Any]) -> None:
        """The conversation was deleted (conversations.deletion): say why, and close for good."""
        await self.send_frame(event["frame"])
        await self.close(code=CLOSE_ENDED)


def _queue_items(scope: dict[str, Any]) -> list[dict[str, Any]] | None:
    try:
        user = socket_staff_user(scope.get("user"), scope.get("session"))
    except NotFound:
        return None
    return selectors.queue_items(user=user)


class QueueConsumer(_ChatConsumer):
    """/ws/agent/queue/: the console's live queue. Sends metadata snapshots, never content."""

    allowed_frames = protocol.QUEUE_FRAMES

    async def connect(self) -> None:
        items = await db_call(_queue_items, self.scope)
        if items is None:
            await self.deny()
            return
        await self.join(services.QUEUE_GROUP)
        await self.join_identity()
        await self.accept()
        await self.send_frame(protocol.queue_frame(conversations=items))

    async def send_snapshot(self) -> None:
        items = await db_call(_queue_items, self.scope)
        if items is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        await self.send_frame(protocol.queue_frame(conversations=items))

    async def queue_changed(self, event: dict[str, Any]) -> None:
        await self.send_snapshot()
