"""The WebSocket frames, parsed and validated in one place. docs/protocol.md describes them.

Client frames are parsed by `parse()`, which returns a typed frame or raises `ProtocolError`
(the consumer turns it into an `error` frame and keeps the connection). Server frames are built
by the `*_frame` functions; `validate_server_frame()` checks one against its schema (tests run
every frame the server emits through it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

SENDERS = ("customer", "bot", "agent", "system")
STATES = ("bot", "waiting", "agent", "resolved")
# Why a conversation ended under the staff watching it (an `ended` frame): who deleted it.
ENDED_REASONS = ("deleted_by_customer", "deleted_by_request", "retention")


class ProtocolError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class MessageFrame:
    client_id: uuid.UUID
    body: str
    # The kinds the widget masked at the customer's choice before sending (its warning's "Send
    # masked"): the server cannot find them in the masked text, and records them to say so.
    masked: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoteFrame:
    client_id: uuid.UUID
    body: str


@dataclass(frozen=True)
class ResumeFrame:
    after_seq: int


@dataclass(frozen=True)
class HandoffFrame:
    pass


@dataclass(frozen=True)
class TypingFrame:
    pass


ClientFrame = MessageFrame | NoteFrame | ResumeFrame | HandoffFrame | TypingFrame

CUSTOMER_FRAMES = frozenset({"message", "resume", "handoff", "typing"})
AGENT_FRAMES = frozenset({"message", "resume", "typing", "note"})
QUEUE_FRAMES: frozenset[str] = frozenset()


def _require(obj: dict[str, Any], key: str) -> Any:
    if key not in obj:
        raise ProtocolError("missing_field", f"The frame needs a '{key}' field.")
    return obj[key]


def _client_id(obj: dict[str, Any]) -> uuid.UUID:
    raw = _require(obj, "client_id")
    if not isinstance(raw, str):
        raise ProtocolError("invalid_field", "'client_id' must be a UUID string.")
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise ProtocolError("invalid_field", "'client_id' must be a UUID string.") from exc


def _body(obj: dict[str, Any]) -> str:
    body = _require(obj, "body")
    if not isinstance(body, str):
        raise ProtocolError("invalid_field", "'body' must be a string.")
    if not body.strip():
        raise ProtocolError("invalid_field", "'body' must not be empty.")
    if len(body) > settings.CHAT_MAX_BODY_CHARS:
        raise ProtocolError(
            "too_long", f"'body' is {len(body)} characters; the limit is {settings.CHAT_MAX_BODY_CHARS}."
        )
    if "\x00" in body:
        raise ProtocolError("invalid_field", "'body' must not contain NUL characters.")
    try:
        body.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. "\ud800"
        raise ProtocolError("invalid_field", "'body' must be valid Unicode text.") from exc
    return body


MAX_CLAIMED_KINDS = 12


def _kinds(obj: dict[str, Any]) -> tuple[str, ...]:
    """An optional list of masked kinds' names; which names exist is conversations.masking's call."""
    kinds = obj.get("masked", [])
    if (
        not isinstance(kinds, list)
        or len(kinds) > MAX_CLAIMED_KINDS
        or not all(isinstance(k, str) and re.fullmatch(r"[a-z_]{1,20}", k) for k in kinds)
    ):
        raise ProtocolError("invalid_field", "'masked' must be a list of the kinds masked, such as [\"card\"].")
    return tuple(sorted(set(kinds)))


def parse(text_data: str | None, bytes_data: bytes | None = None, *, allowed: frozenset[str]) -> ClientFrame:
    """Parse one client frame. `allowed` is the set of frame types this socket accepts."""
    if text_data is None:
        raise ProtocolError("binary_not_supported", "Frames must be JSON text, not binary.")
    if len(text_data.encode("utf-8", "surrogatepass")) > settings.CHAT_MAX_FRAME_BYTES:
        raise ProtocolError("frame_too_large", f"Frames are limited to {settings.CHAT_MAX_FRAME_BYTES} bytes.")
    try:
        obj = json.loads(text_data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", "The frame is not valid JSON.") from exc
    if not isinstance(obj, dict):
        raise ProtocolError("bad_frame", "A frame must be a JSON object.")
    kind = obj.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("missing_field", "The frame needs a 'type' field.")
    if kind not in allowed:
        raise ProtocolError("unknown_type", f"Frame type '{kind[:40]}' is not accepted here.")
    if kind == "message":
        return MessageFrame(client_id=_client_id(obj), body=_body(obj), masked=_kinds(obj))
    if kind == "note":
        return NoteFrame(client_id=_client_id(obj), body=_body(obj))
    if kind == "resume":
        after = _require(obj, "after_seq")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ProtocolError("invalid_field", "'after_seq' must be a non-negative integer.")
        return ResumeFrame(after_seq=after)
    if kind == "handoff":
        return HandoffFrame()
    if kind == "typing":
        return TypingFrame()
    raise ProtocolError("unknown_type", f"Frame type '{kind[:40]}' is not accepted here.")


# --- server frames -------------------------------------------------------------------------
# One definition of every server frame: its type, its fields and what each field may hold. The
# builders below can only make frames with exactly these fields (`_build`), and the tests check
# every frame the server emits against the same table (`validate_server_frame`), so the two
# cannot drift apart. docs/protocol.md lists the same frames (a test compares them).

Check = Callable[[Any], bool]


def _is_iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_label(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _is_kinds(value: Any) -> bool:
    return isinstance(value, list) and all(_is_label(kind) for kind in value)


def _matches(schema: dict[str, Check], obj: Any) -> bool:
    return isinstance(obj, dict) and set(obj) == set(schema) and all(check(obj[k]) for k, check in schema.items())


# One conversation in a `queue` frame: metadata only, never message content.
QUEUE_ITEM: dict[str, Check] = {
    "id": _is_uuid,
    "state": lambda v: v in STATES,
    "waiting_since": _optional(_is_iso),
    "last_message_at": _optional(_is_iso),
    "assigned_to": _optional(_is_text),
}

SERVER_FRAMES: dict[str, dict[str, Check]] = {
    "message": {
        "seq": _is_seq,
        "client_id": _optional(_is_uuid),
        "sender": lambda v: v in SENDERS,
        "body": _is_text,
        # The kinds of what was masked out of the body before it was stored ("card", …), or [].
        "masked": _is_kinds,
        "at": _is_iso,
        # The message as this socket's viewer sees it, rendered by the server's one message
        # template (conversations.rendering): clients insert it rather than drawing their own.
        "html": _is_label,
    },
    "ack": {"client_id": _is_uuid, "seq": _is_seq},
    "status": {"state": lambda v: v in STATES},
    "typing": {"sender": lambda v: v in ("customer", "agent")},
    # `retry_after`: seconds until a limit lets the frame through (`rate_limited`), else null.
    "error": {"code": _is_label, "detail": _is_label, "retry_after": _optional(_is_count)},
    # Ends the replay of one `resume`: `more` when another page follows (ask with a new `resume`).
    "resumed": {"through_seq": _is_count, "more": lambda v: isinstance(v, bool)},
    "note": {
        "id": _is_seq,
        "client_id": _is_uuid,
        "author": _is_text,
        "body": _is_text,
        "masked": _is_kinds,
        "at": _is_iso,
    },
    "queue": {"conversations": lambda v: isinstance(v, list) and all(_matches(QUEUE_ITEM, i) for i in v)},
    # Agent socket only: the conversation was deleted; the socket closes next (4410).
    "ended": {"reason": lambda v: v in ENDED_REASONS},
}


def _fields(schema: dict[str, Check], what: str, fields: dict[str, Any]) -> dict[str, Any]:
    if set(fields) != set(schema):
        raise TypeError(f"{what} needs the fields {sorted(schema)}, got {sorted(fields)}")
    return fields


def _build(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **_fields(SERVER_FRAMES[kind], f"a {kind} frame", fields)}


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def message_frame(
    *,
    seq: int,
    client_id: uuid.UUID | str | None,
    sender: str,
    body: str,
    masked: list[str],
    at: dt.datetime | str,
    html: str,
) -> dict[str, Any]:
    return _build(
        "message",
        seq=seq,
        client_id=str(client_id) if client_id else None,
        sender=sender,
        body=body,
        masked=list(masked),
        at=at if isinstance(at, str) else _iso(at),
        html=html,
    )


def ack_frame(*, client_id: uuid.UUID, seq: int) -> dict[str, Any]:
    return _build("ack", client_id=str(client_id), seq=seq)


def status_frame(*, state: str) -> dict[str, Any]:
    return _build("status", state=state)


def typing_frame(*, sender: str) -> dict[str, Any]:
    return _build("typing", sender=sender)


def error_frame(*, code: str, detail: str, retry_after: int | None = None) -> dict[str, Any]:
    return _build("error", code=code, detail=detail, retry_after=retry_after)


def resumed_frame(*, through_seq: int, more: bool) -> dict[str, Any]:
    return _build("resumed", through_seq=through_seq, more=more)


def note_frame(
    *, note_id: int, client_id: uuid.UUID, author: str, body: str, masked: list[str], at: dt.datetime
) -> dict[str, Any]:
    return _build(
        "note", id=note_id, client_id=str(client_id), author=author, body=body, masked=list(masked), at=_iso(at)
    )


def queue_item(
    *,
    conversation_id: uuid.UUID,
    state: str,
    waiting_since: dt.datetime | None,
    last_message_at: dt.datetime | None,
    assigned_to: str | None,
) -> dict[str, Any]:
    return _fields(
        QUEUE_ITEM,
        "a queue item",
        {
            "id": str(conversation_id),
            "state": state,
            "waiting_since": _iso(waiting_since),
            "last_message_at": _iso(last_message_at),
            "assigned_to": assigned_to,
        },
    )


def queue_frame(*, conversations: list[dict[str, Any]]) -> dict[str, Any]:
    return _build("queue", conversations=conversations)


def ended_frame(*, reason: str) -> dict[str, Any]:
    if reason not in ENDED_REASONS:
        raise ValueError(f"unknown reason for an ended frame: {reason!r}")
    return _build("ended", reason=reason)


def validate_server_frame(frame: Any) -> None:
    """Raise ValueError unless `frame` matches its server-frame schema exactly."""
    if not isinstance(frame, dict) or frame.get("type") not in SERVER_FRAMES:
        raise ValueError(f"unknown server frame: {frame!r}")
    schema = SERVER_FRAMES[frame["type"]]
    if set(frame) != {"type", *schema}:
        raise ValueError(f"{frame['type']} frame has fields {sorted(frame)}, expected {sorted(['type', *schema])}")
    for key, check in schema.items():
        if not check(frame[key]):
            raise ValueError(f"{frame['type']} frame: bad {key!r}: {frame[key]!r}")
