"""Who accessed a customer's conversations, as the customer is shown it ("who read my data"):
roles, actions and times from the audit trail, never a name or an id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from accounts.roles import RECORDED_ROLE_LABELS
from audit.actions import Action
from audit.selectors import reads_of


@dataclass(frozen=True)
class Access:
    """One line: `role` did `action` `times` times, from `first` to `last` (one local day)."""

    role: str
    action: str
    first: dt.datetime
    last: dt.datetime
    times: int = 1


def _collapsed(reads: list[tuple[str, str, dt.datetime]]) -> list[Access]:
    """Runs of the same role and action on the same local day become one line (an agent reloading
    a transcript ten times is one fact to the customer), newest first like `reads`."""
    lines: list[Access] = []
    for role, action, at in reads:
        label, verb = RECORDED_ROLE_LABELS.get(role, "Staff"), Action(action).label
        last = lines[-1] if lines else None
        if last and (last.role, last.action) == (label, verb) and _day(last.first) == _day(at):
            lines[-1] = Access(label, verb, first=at, last=last.last, times=last.times + 1)
        else:
            lines.append(Access(label, verb, first=at, last=at))
    return lines


def _day(at: dt.datetime) -> dt.date:
    return timezone.localtime(at).date()


def accesses_of(*, conversation_ids: Iterable[object]) -> dict[str, list[Access]]:
    """For each conversation (by str(pk)), the staff accesses its customer is shown, newest first.
    One query whatever the number of conversations. Precondition: the caller has decided that the
    viewer is the customer of every one of them (conversations.access)."""
    return {
        pk: _collapsed(reads) for pk, reads in reads_of(object_type="conversation", object_ids=conversation_ids).items()
    }
