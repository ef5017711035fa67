"""Reading the trail: verification of the whole chain, the filtered pages of the trail viewer and
the reads of a customer's conversations (roles and times only)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from audit import chain
from audit.actions import CUSTOMER_VISIBLE, Outcome
from audit.models import Checkpoint, Entry

_VERIFY_BATCH = 2000
_FIELDS = (
    "id",
    "seq",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "client_address",
    "outcome",
    "details",
    "prev_mac",
    "mac",
)


@dataclass(frozen=True)
class Verdict:
    intact: bool
    checked: int  # entries verified
    head_seq: int  # the last entry's seq (0 for an empty chain)
    head_mac: str
    starts_at: int  # the first entry's seq (after pruning, the checkpoint's seq + 1)
    broken_seq: int | None = None  # the first entry that does not verify
    broken_id: int | None = None
    reason: str = ""


def _entries() -> Iterator[dict]:
    last = None
    while True:
        page = Entry.objects.order_by("seq")
        if last is not None:
            page = page.filter(seq__gt=last)
        rows = list(page.values(*_FIELDS)[:_VERIFY_BATCH])
        if not rows:
            return
        yield from rows
        last = rows[-1]["seq"]


def _mac_of(row: dict, prev_mac: str) -> str:
    body = chain.canonical(
        seq=row["seq"],
        at=row["at"],
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        client_address=row["client_address"],
        outcome=row["outcome"],
        details=row["details"],
    )
    return chain.entry_mac(settings.AUDIT_KEY, prev_mac, body)


def _start(first: dict | None) -> tuple[int, str, str]:
    """Where the chain must start (expected seq, prev MAC) given its first stored entry, or why it
    cannot: after pruning, a checkpoint signed with AUDIT_KEY that names the entry before it."""
    if first is None or first["seq"] == 1:
        return 1, chain.GENESIS, ""
    checkpoint = Checkpoint.objects.filter(seq=first["seq"] - 1).first()
    if checkpoint is None:
        return 1, chain.GENESIS, f"entries before #{first['seq']} were removed (no checkpoint accounts for them)"
    signature = chain.checkpoint_signature(
        settings.AUDIT_KEY, seq=checkpoint.seq, mac=checkpoint.mac, pruned=checkpoint.pruned, at=checkpoint.at
    )
    if not chain.same(signature, checkpoint.signature):
        return 1, chain.GENESIS, f"the checkpoint before #{first['seq']} is not signed with AUDIT_KEY"
    return checkpoint.seq + 1, checkpoint.mac, ""


def trail_verify(*, anchor: tuple[int, str] | None = None) -> Verdict:
    """Walk the chain from its start and name the first entry that breaks it: edited (its MAC does
    not match its fields), removed (a gap in seq), inserted or reordered (it does not chain to the
    entry before it). `anchor`: a (seq, mac) noted earlier (say from a previous run's head): the
    chain must still hold it, which catches the newest entries removed."""
    rows = _entries()
    first = next(rows, None)
    expected_seq, prev_mac, problem = _start(first)
    checked, head = 0, (0, chain.GENESIS)
    anchor_seen = anchor is None

    def broken(row: dict, reason: str) -> Verdict:
        return Verdict(False, checked, head[0], head[1], expected_seq, row["seq"], row["id"], reason)

    if first is None:
        if anchor is not None and anchor[0] > 0:
            return Verdict(
                False, 0, 0, chain.GENESIS, 0, anchor[0], None, f"entry #{anchor[0]} is gone: the trail is empty"
            )
        return Verdict(True, 0, 0, chain.GENESIS, 0)
    if problem:
        return broken(first, problem)
    starts_at = expected_seq
    for row in _iter_from(first, rows):
        if row["seq"] < expected_seq:
            return broken(row, f"entry #{row['seq']} appears twice or out of order (inserted or reordered)")
        if row["seq"] > expected_seq:
            return broken(row, f"entries #{expected_seq}–#{row['seq'] - 1} before it were removed")
        if not chain.same(row["prev_mac"], prev_mac):
            return broken(row, f"entry #{row['seq']} does not follow the entry before it (inserted or reordered)")
        if not chain.same(_mac_of(row, prev_mac), row["mac"]):
            return broken(row, f"entry #{row['seq']} was edited (its MAC does not match its contents)")
        if anchor is not None and row["seq"] == anchor[0]:
            if not chain.same(row["mac"], anchor[1]):
                return broken(row, f"entry #{row['seq']} is not the one anchored (rewritten from there on)")
            anchor_seen = True
        checked += 1
        head = (row["seq"], row["mac"])
        expected_seq, prev_mac = row["seq"] + 1, row["mac"]
    if anchor is not None and not anchor_seen:
        if anchor[0] >= starts_at:
            return Verdict(
                False,
                checked,
                head[0],
                head[1],
                starts_at,
                anchor[0],
                None,
                f"entry #{anchor[0]} is gone: the newest entries were removed (the chain ends at #{head[0]})",
            )
    return Verdict(True, checked, head[0], head[1], starts_at)


def _iter_from(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def trail(
    *,
    actor_id: int | None = None,
    actions: Iterable[str] = (),
    object_type: str = "",
    object_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
) -> QuerySet[Entry]:
    """The entries matching the filters, newest first; `before_seq` is the keyset cursor (the
    last seq of the previous page)."""
    entries = Entry.objects.order_by("-seq")
    if actor_id is not None:
        entries = entries.filter(actor_id=actor_id)
    if actions := list(actions):
        entries = entries.filter(action__in=actions)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    if before_seq is not None:
        entries = entries.filter(seq__lt=before_seq)
    return entries


def reads_of(
    *, object_type: str, object_ids: Iterable[str], limit: int = 2000
) -> dict[str, list[tuple[str, str, datetime]]]:
    """For each object, the staff accesses a customer is shown: (role, action, when), newest first;
    at most `limit` in all (the newest)."""
    ids = [str(i) for i in object_ids]
    out: dict[str, list[tuple[str, str, datetime]]] = {i: [] for i in ids}
    rows = (
        Entry.objects.filter(object_type=object_type, object_id__in=ids, action__in=CUSTOMER_VISIBLE, outcome="ok")
        .order_by("-seq")
        .values_list("object_id", "actor_role", "action", "at")[:limit]
    )
    for object_id, role, action, at in rows:
        out[object_id].append((role, action, at))
    return out


def has_done(*, actor_id: int, action: str, object_type: str, object_id: str) -> bool:
    """Whether the trail holds `action` done (successfully) by this actor on this object: what
    someone may be told about an object they once had, and only them."""
    return Entry.objects.filter(
        object_type=object_type, object_id=str(object_id), actor_id=actor_id, action=action, outcome=Outcome.OK
    ).exists()
