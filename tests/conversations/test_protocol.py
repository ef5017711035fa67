"""The server frames are defined once (protocol.SERVER_FRAMES): the builders, the tests' check of
every emitted frame and docs/protocol.md all follow that one table."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest

from conversations import protocol

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
AT = dt.datetime(2025, 11, 30, 16, 33, tzinfo=dt.UTC)


def _built() -> dict[str, dict]:
    item = protocol.queue_item(
        conversation_id=uuid.uuid4(), state="waiting", waiting_since=AT, last_message_at=None, assigned_to=None
    )
    return {
        "message": protocol.message_frame(
            seq=1, client_id=None, sender="bot", body="Hi", masked=[], at=AT, html='<li class="msg msg-bot">Hi</li>'
        ),
        "ack": protocol.ack_frame(client_id=uuid.uuid4(), seq=2),
        "status": protocol.status_frame(state="waiting"),
        "typing": protocol.typing_frame(sender="agent"),
        "error": protocol.error_frame(code="rate_limited", detail="Too many.", retry_after=12),
        "resumed": protocol.resumed_frame(through_seq=0, more=False),
        "note": protocol.note_frame(note_id=1, client_id=uuid.uuid4(), author="Alex", body="n", masked=["card"], at=AT),
        "queue": protocol.queue_frame(conversations=[item]),
        "ended": protocol.ended_frame(reason="retention"),
    }


def test_every_server_frame_type_has_a_builder_whose_frames_match_the_schema() -> None:
    built = _built()
    assert set(built) == set(protocol.SERVER_FRAMES)
    for kind, frame in built.items():
        protocol.validate_server_frame(frame)
        assert set(frame) == {"type", *protocol.SERVER_FRAMES[kind]}, kind


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ({"type": "status", "state": "waiting", "extra": 1}, "fields"),
        ({"type": "status"}, "fields"),
        ({"type": "status", "state": "sleeping"}, "bad 'state'"),
        ({"type": "nope"}, "unknown"),
        ({"type": "queue", "conversations": [{"id": str(uuid.uuid4())}]}, "bad 'conversations'"),
    ],
)
def test_frames_off_the_schema_are_refused(frame: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        protocol.validate_server_frame(frame)


def test_an_ended_frame_names_one_of_the_known_reasons() -> None:
    with pytest.raises(ValueError, match="unknown reason"):
        protocol.ended_frame(reason="resolved")
    with pytest.raises(ValueError, match="bad 'reason'"):
        protocol.validate_server_frame({"type": "ended", "reason": "whatever"})


def _documented_server_frames() -> dict[str, set[str]]:
    text = DOCS.read_text()
    section = text[text.index("## Server → client") : text.index("### Error codes")]
    frames = {}
    for example in re.findall(r"^\| `(\{.*?\})` \|", section, flags=re.M):
        kind = re.search(r'"type":"(\w+)"', example).group(1)
        # Top-level field names only: the queue's items are checked separately.
        top = re.sub(r"\[\{.*\}\]", "[]", example)
        frames[kind] = set(re.findall(r'"(\w+)":', top)) - {"type"}
    return frames


def test_docs_list_the_same_server_frames_and_fields() -> None:
    assert _documented_server_frames() == {kind: set(fields) for kind, fields in protocol.SERVER_FRAMES.items()}


def test_docs_list_the_same_queue_item_fields() -> None:
    queue_row = next(line for line in DOCS.read_text().splitlines() if '"type":"queue"' in line)
    item = re.search(r"\[(\{.*?\})\]", queue_row).group(1)
    assert set(re.findall(r'"(\w+)":', item)) == set(protocol.QUEUE_ITEM)
