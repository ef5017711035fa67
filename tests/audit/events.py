"""Reading the trail in event tests: the entries of one action, and the check that no entry holds
a personal value the test typed (canaries)."""

from __future__ import annotations

import json

from audit.actions import Action
from audit.models import Entry


def entries(action: Action) -> list[Entry]:
    return list(Entry.objects.filter(action=action).order_by("seq"))


def only(action: Action) -> Entry:
    """The one entry of `action` (fails when there are none, or several)."""
    found = entries(action)
    assert len(found) == 1, [(e.seq, e.object_type, e.object_id, e.outcome, e.details) for e in found]
    return found[0]


def assert_no_canary(*canaries: str) -> None:
    """No entry's details, object or role hold any of these values (an address, a name as typed, a
    password), in any case."""
    for entry in Entry.objects.all():
        text = json.dumps([entry.details, entry.object_type, entry.object_id, entry.actor_role]).lower()
        for canary in canaries:
            assert canary.lower() not in text, (entry.action, canary)
