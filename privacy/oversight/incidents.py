"""Security incidents (GDPR Art. 33): opened by a privacy officer with the time of discovery, the
audit entries they concern attached by seq, closed with who was notified and when. Opening and
closing are recorded in the trail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.actions import Action
from audit.services import record, trail_held
from privacy.models import Incident, IncidentEntry
from privacy.oversight.trail import Row, TrailQuery, entries_by_seq
from vault.datakeys import data_ciphers_load

MAX_ATTACH = 1000  # entries attached in one go (narrow the filter for more)
SHOWN_ENTRIES = 500


class IncidentError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def incident_open(*, officer: Any, title: str, description: str, discovered_at: dt.datetime) -> Incident:
    """Open an incident discovered at `discovered_at` (not in the future): its notification
    deadline is 72 hours later."""
    if discovered_at > timezone.now():
        raise IncidentError("future")
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title,
            description=description,
            discovered_at=discovered_at,
            deadline=discovered_at + dt.timedelta(hours=Incident.NOTIFICATION_HOURS),
            opened_by=officer,
        )
        record(
            Action.INCIDENT_OPENED,
            actor=officer,
            obj=incident,
            details={"discovered_at": discovered_at.isoformat(), "deadline": incident.deadline.isoformat()},
        )
    return incident


def incident_attach(
    *, incident: Incident, officer: Any, query: TrailQuery, seq_from: int | None, seq_to: int | None
) -> int:
    """Attach the entries matching `query` between `seq_from` and `seq_to` (both included) to an
    open incident; returns how many were new. IncidentError("too_many") past MAX_ATTACH."""
    if not incident.is_open:
        raise IncidentError("closed")
    with trail_held():  # the retention job prunes nothing while the seqs are read and attached
        return _attach(incident=incident, officer=officer, query=query, seq_from=seq_from, seq_to=seq_to)


def _attach(*, incident: Incident, officer: Any, query: TrailQuery, seq_from: int | None, seq_to: int | None) -> int:
    entries = query.entries()
    if seq_from is not None:
        entries = entries.filter(seq__gte=seq_from)
    if seq_to is not None:
        entries = entries.filter(seq__lte=seq_to)
    seqs = list(entries.values_list("seq", flat=True)[: MAX_ATTACH + 1])
    if len(seqs) > MAX_ATTACH:
        raise IncidentError("too_many")
    with transaction.atomic():
        before = IncidentEntry.objects.filter(incident=incident).count()
        IncidentEntry.objects.bulk_create(
            [IncidentEntry(incident=incident, seq=seq, attached_by=officer) for seq in seqs], ignore_conflicts=True
        )
        added = IncidentEntry.objects.filter(incident=incident).count() - before
        if added:
            record(
                Action.INCIDENT_ENTRIES_ATTACHED,
                actor=officer,
                obj=incident,
                details={"entries": added, "from_seq": min(seqs), "to_seq": max(seqs)},
            )
    return added


def incident_close(*, incident: Incident, officer: Any, notified_party: str, notified_at: dt.datetime) -> Incident:
    """Close an open incident, noting whom the officer notified and when (not in the future)."""
    if notified_at > timezone.now():
        raise IncidentError("future")
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if not locked.is_open:
            raise IncidentError("closed")
        locked.closed_at = timezone.now()
        locked.closed_by = officer
        locked.notified_party = notified_party
        locked.notified_at = notified_at
        locked.save(update_fields=["closed_at", "closed_by", "notified_party", "notified_at"])
        record(
            Action.INCIDENT_CLOSED,
            actor=officer,
            obj=locked,
            details={
                "notified_at": notified_at.isoformat(),
                "within_deadline": notified_at <= locked.deadline,
                "entries": IncidentEntry.objects.filter(incident=locked).count(),
            },
        )
    return locked


@dataclass(frozen=True)
class Countdown:
    seconds: int  # left until the deadline; negative once past
    overdue: bool
    text: str


def _span(seconds: int) -> str:
    hours, rest = divmod(abs(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min"


def countdown(incident: Incident, *, now: dt.datetime | None = None) -> Countdown:
    """Time left to notify (the page's fallback when scripts are off, and the script's start)."""
    if not incident.is_open:
        late = incident.notified_at is not None and incident.notified_at > incident.deadline
        return Countdown(0, late, "notified late" if late else "notified within 72 hours")
    seconds = int((incident.deadline - (now or timezone.now())).total_seconds())
    if seconds < 0:
        return Countdown(seconds, True, f"overdue by {_span(seconds)}")
    return Countdown(seconds, False, f"{_span(seconds)} left")


def incidents_list() -> list[Incident]:
    """Open incidents, nearest deadline first, then the closed ones, newest first. The titles'
    data keys are fetched in one query."""
    incidents = list(
        Incident.objects.select_related("opened_by").order_by(F("closed_at").desc(nulls_first=True), "deadline")[:200]
    )
    data_ciphers_load({i.data_key_id for i in incidents if i.data_key_id})
    return incidents


def incident_entries(incident: Incident, *, viewer: Any) -> tuple[list[Row], int]:
    """The attached entries, oldest first (up to SHOWN_ENTRIES), and how many are attached."""
    attached = IncidentEntry.objects.filter(incident=incident)
    rows = entries_by_seq(
        attached.values("seq"), viewer=viewer, shown_on=("incident", incident.pk), limit=SHOWN_ENTRIES
    )
    return rows, attached.count()
