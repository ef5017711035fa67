"""Reads of the privacy app that the layers below its services need: the audit entries the oversight pages still point at, which pruning must keep."""

from __future__ import annotations

from django.db.models import Min

from privacy.models import Alert, IncidentEntry


def evidence_in_use() -> int | None:
    """The lowest seq attached to an open incident or named by an open alert (None: none)."""
    incident = IncidentEntry.objects.filter(incident__closed_at__isnull=True).aggregate(low=Min("seq"))["low"]
    alert = min(
        (
            min(seqs)
            for seqs in Alert.objects.filter(acknowledged_at__isnull=True).values_list("entry_seqs", flat=True)
            if seqs
        ),
        default=None,
    )
    lows = [low for low in (incident, alert) if low is not None]
    return min(lows) if lows else None
