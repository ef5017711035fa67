"""The chain's arithmetic, pure: the canonical bytes of an entry, its MAC over them and the MAC
before it, and a pruning checkpoint's signature. Changing any of this breaks every stored chain:
a new format needs a new version tag, verified side by side with the old."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64  # what the first entry chains to
_ENTRY_TAG = b"confidant-audit-entry-v1\x00"
_CHECKPOINT_TAG = b"confidant-audit-checkpoint-v1\x00"

Details = dict[str, str | int | bool | None]


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_role: str,
    action: str,
    object_type: str,
    object_id: str,
    client_address: str,
    outcome: str,
    details: Details,
) -> bytes:
    fields: list[Any] = [
        seq,
        _stamp(at),
        actor_id,
        actor_role,
        action,
        object_type,
        object_id,
        client_address,
        outcome,
        details,
    ]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_mac(key: bytes, prev_mac: str, body: bytes) -> str:
    return hmac.new(key, _ENTRY_TAG + prev_mac.encode() + b"\x00" + body, hashlib.sha256).hexdigest()


def checkpoint_signature(key: bytes, *, seq: int, mac: str, pruned: int, at: datetime) -> str:
    body = json.dumps([seq, mac, pruned, _stamp(at)], separators=(",", ":")).encode()
    return hmac.new(key, _CHECKPOINT_TAG + body, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
