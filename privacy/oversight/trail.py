"""The trail viewer's reads: one filtered page (keyset by seq) and the CSV export, each recorded
in the trail itself (TRAIL_VIEWED, TRAIL_EXPORTED) with the filters used."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import QuerySet
from django.utils import timezone

from audit.actions import Action
from audit.models import Entry
from audit.selectors import trail
from audit.services import record
from privacy.oversight.people import person_labels

PAGE_SIZE = 50
EXPORT_BATCH = 2000
CSV_HEADER = ["seq", "time", "person", "role", "action", "object type", "object id", "address", "outcome", "details"]


@dataclass(frozen=True)
class TrailQuery:
    """The viewer's filters. `since` and `until` are days in the site's time zone, both included."""

    actor_id: int | None = None
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def entries(self, *, before_seq: int | None = None) -> QuerySet[Entry]:
        return trail(
            actor_id=self.actor_id,
            actions=[self.action] if self.action else (),
            object_type=self.object_type,
            object_id=self.object_id,
            since=_day_start(self.since) if self.since else None,
            until=_day_start(self.until + dt.timedelta(days=1)) if self.until else None,
            before_seq=before_seq,
        )

    def details(self) -> dict[str, Any]:
        """The filters in use, for the trail's own entry (ids, kinds and dates: no values)."""
        out: dict[str, Any] = {
            "actor_id": self.actor_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in out.items() if value not in (None, "")}


def object_types() -> list[str]:
    """The kinds of object entries name: every model's name (the recorder names instances so),
    and the kinds recorded without a model."""
    return sorted({model._meta.model_name for model in apps.get_models()} | {"address"})


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(frozen=True)
class Row:
    seq: int
    at: dt.datetime
    person: str
    role: str
    action: str
    action_label: str
    object_type: str
    object_id: str
    address: str
    outcome: str
    details: str


@dataclass(frozen=True)
class TrailPage:
    rows: list[Row]
    older: int | None  # the cursor (before_seq) of the next, older page; None on the last


_ACTION_LABELS = dict(Action.choices)


def rows_of(entries: list[Entry]) -> list[Row]:
    labels = person_labels((e.actor_id, e.actor_role) for e in entries)
    return [
        Row(
            seq=e.seq,
            at=e.at,
            person=labels[(e.actor_id, e.actor_role)],
            role=e.actor_role,
            action=e.action,
            action_label=_ACTION_LABELS.get(e.action, e.action),
            object_type=e.object_type,
            object_id=e.object_id,
            address=e.client_address,
            outcome=e.outcome,
            details=", ".join(f"{key}={value}" for key, value in sorted((e.details or {}).items())),
        )
        for e in entries
    ]


def trail_page(*, viewer: Any, query: TrailQuery, before_seq: int | None = None) -> TrailPage:
    """One page of the trail, newest first, and its TRAIL_VIEWED entry (recorded after the read,
    so a page does not list its own viewing). Two queries, whatever the size of the trail."""
    entries = list(query.entries(before_seq=before_seq).defer("prev_mac", "mac")[: PAGE_SIZE + 1])
    older = entries[PAGE_SIZE - 1].seq if len(entries) > PAGE_SIZE else None
    page = TrailPage(rows=rows_of(entries[:PAGE_SIZE]), older=older)
    details = query.details()
    if before_seq is not None:
        details["before_seq"] = before_seq
    record(Action.TRAIL_VIEWED, actor=viewer, details=details)
    return page


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def trail_export(*, viewer: Any, query: TrailQuery) -> Iterator[list[str]]:
    """Record the export (TRAIL_EXPORTED, with its filters) now, then yield the CSV's header and
    every matching entry, newest first, read in keyset batches (memory stays flat)."""
    record(Action.TRAIL_EXPORTED, actor=viewer, details=query.details())
    return _export_rows(query)


def _export_rows(query: TrailQuery) -> Iterator[list[str]]:
    yield CSV_HEADER
    before = None
    while True:
        batch = list(query.entries(before_seq=before).defer("prev_mac", "mac")[:EXPORT_BATCH])
        if not batch:
            return
        for row in rows_of(batch):
            yield [
                csv_cell(cell)
                for cell in (
                    row.seq,
                    row.at.isoformat(),
                    row.person,
                    row.role,
                    row.action,
                    row.object_type,
                    row.object_id,
                    row.address,
                    row.outcome,
                    row.details,
                )
            ]
        before = batch[-1].seq


def entries_by_seq(seqs: Any, *, viewer: Any, shown_on: tuple[str, int], limit: int = 500) -> list[Row]:
    """The entries with these seqs (a list, or a queryset of `seq` values), oldest first, as shown
    to `viewer` on an alert's or incident's page (`shown_on`: ("alert", id)): a read of the trail
    (it holds client addresses), recorded like the trail page's."""
    rows = rows_of(list(Entry.objects.filter(seq__in=seqs).order_by("seq").defer("prev_mac", "mac")[:limit]))
    record(Action.TRAIL_VIEWED, actor=viewer, obj=shown_on, details={"entries": len(rows)})
    return rows
