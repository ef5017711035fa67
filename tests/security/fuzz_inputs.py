"""Hypothesis strategies for the hostile-input sweep (test_fuzz_frames, test_fuzz_forms), and a
way to draw a known number of examples from them with a fixed seed, so CI runs the same inputs
every time and the counts are known."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

# Every character, lone surrogates included (what a client can put in a JSON string with \ud800).
ANY_CHAR = st.characters(codec=None, categories=None)
TEXT = st.text(ANY_CHAR, max_size=40)
HUGE_TEXT = st.sampled_from([70_000, 5_000, 4_001]).flatmap(
    lambda n: st.sampled_from(["x", "é", "\x00", "😀", " ", "<", "\ud800"]).map(lambda c: c * n)
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**200)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4))
FIELD = JSON | HUGE_TEXT | st.uuids().map(str)
KINDS = st.sampled_from(["message", "note", "resume", "handoff", "typing", "error", "ack", "queue", ""]) | TEXT


def _frame_dict(kind: Any, fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, **fields}


FRAME_OBJECTS = st.builds(
    _frame_dict,
    KINDS | JSON,
    st.fixed_dictionaries(
        {}, optional={"client_id": FIELD, "body": FIELD, "after_seq": FIELD, "type2": JSON, "extra": JSON}
    ),
)


def _nested(depth: int, opener: str) -> str:
    if opener == "[":
        return "[" * depth + "1" + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


TEXT_FRAMES = (
    FRAME_OBJECTS.map(lambda f: json.dumps(f, ensure_ascii=False, allow_nan=True))
    | FRAME_OBJECTS.map(json.dumps)  # \\uXXXX escapes: lone surrogates reach the parser as such
    | JSON.map(json.dumps)  # any JSON value, mostly not an object
    | st.text(ANY_CHAR, max_size=200)  # not JSON at all
    | st.builds(_nested, st.sampled_from([100, 1_000, 20_000, 60_000]), st.sampled_from(["[", "{"]))
    | HUGE_TEXT  # over the frame limit, or just under it
    | HUGE_TEXT.map(lambda body: json.dumps({"type": "message", "client_id": "x", "body": body}))
)
BINARY_FRAMES = st.binary(max_size=300) | st.sampled_from([b"", b"\xff\xfe", b"\xc3\x28", b"{\x80}", b"x" * 70_000])
# A frame: ("text", str) or ("bytes", bytes).
FRAMES = TEXT_FRAMES.map(lambda t: ("text", t)) | BINARY_FRAMES.map(lambda b: ("bytes", b))


def draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` examples of `strategy`, the same ones on every run (derandomized)."""
    examples: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        examples.append(value)

    collect()
    return examples


def documented_close_codes() -> set[int]:
    """The close codes docs/protocol.md documents (`4403`, the server's `1007` and `1009`…), and
    1000, a normal close. 1011 (server error) is not one of them unless documented: that is the
    crash this sweep looks for."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    return {int(code) for code in re.findall(r"`(1\d{3}|4\d{3})`", text)} | {1000}
