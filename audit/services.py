"""Writing the trail: `record` (every app's services call it) and `trail_prune` (the retention
job). Both hold the chain's lock until their transaction commits, so entries from every thread and
process chain in one order, without gaps or forks: record last in a transaction, never at the start
of a long one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.dispatch import Signal
from django.utils import timezone

from audit import chain
from audit.actions import Action, Outcome
from audit.context import client_address
from audit.models import Checkpoint, Entry

logger = logging.getLogger(__name__)

# Sent after the transaction that recorded an entry commits (robust: a failing receiver never undoes
# or breaks the recorded action); the privacy app's alert rules listen. Argument: entry.
recorded = Signal()

# pg_advisory_xact_lock key of the chain (any constant the project uses for nothing else).
_CHAIN_LOCK = 0x61756469745F6368  # "audit_ch"
_PRUNE_BATCH = 5000


def _database() -> str:
    return router.db_for_write(Entry)


@contextmanager
def _chain_locked() -> Iterator[None]:
    """A transaction in which this is the only writer of the chain until it commits. PostgreSQL:
    a transaction-level advisory lock. SQLite: its transactions are IMMEDIATE (settings), so
    writers are already one at a time."""
    database = _database()
    with transaction.atomic(using=database):
        connection = connections[database]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        elif connection.vendor != "sqlite":
            raise NotImplementedError(f"the audit chain has no writer lock for {connection.vendor}")
        yield


def _head() -> tuple[int, str]:
    """The last entry's seq and MAC; after a pruning of everything, the last checkpoint's."""
    last = Entry.objects.order_by("-seq").values_list("seq", "mac").first()
    if last is not None:
        return last
    checkpoint = Checkpoint.objects.order_by("-seq").values_list("seq", "mac").first()
    return checkpoint if checkpoint is not None else (0, chain.GENESIS)


def _role(actor: Any) -> str:
    """The actor's role at the time, as recorded (accounts.roles decides what a role may do)."""
    if actor is None:
        return "system"
    if getattr(actor, "is_superuser", False):
        return "superuser"
    return str(getattr(actor, "role", "") or "")


def _object(obj: Any) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        kind, pk = obj
        return str(kind), str(pk)
    return obj._meta.label_lower.split(".")[-1], str(obj.pk)


def _checked(details: dict[str, Any] | None) -> chain.Details:
    """Only flat values that need no interpretation: ids, counts, kinds, blind indexes."""
    out: chain.Details = {}
    for key, value in (details or {}).items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str | int | bool)):
            raise TypeError(f"audit details hold flat str/int/bool values, not {key!r}: {type(value).__name__}")
        if isinstance(value, str) and len(value) > 200:
            raise ValueError(f"audit detail {key!r} is too long to be an id or a kind")
        out[key] = value
    return out


def record(
    action: Action | str,
    *,
    actor: Any = None,
    obj: Any = None,
    outcome: Outcome | str = Outcome.OK,
    details: dict[str, Any] | None = None,
) -> Entry:
    """Append one entry: `actor` did `action` to `obj` (a model instance or a (type, id) pair) with
    `outcome`, from the client address of the current request or socket (audit.context). Never
    pass message text or a personal value in `details`: an e-mail address goes in as its blind
    index. Joins the caller's transaction (the entry exists only if the action committed), holding
    the chain's lock until it commits: call it last."""
    action = Action(action)
    outcome = Outcome(outcome)
    object_type, object_id = _object(obj)
    fields = {
        "actor_id": getattr(actor, "pk", None),
        "actor_role": _role(actor),
        "action": action.value,
        "object_type": object_type,
        "object_id": object_id,
        "client_address": client_address(),
        "outcome": outcome.value,
        "details": _checked(details),
    }
    with _chain_locked():
        seq, prev_mac = _head()
        seq += 1
        at = timezone.now()
        mac = chain.entry_mac(settings.AUDIT_KEY, prev_mac, chain.canonical(seq=seq, at=at, **fields))
        entry = Entry(seq=seq, at=at, prev_mac=prev_mac, mac=mac, **fields)
        entry.save(using=_database())
        transaction.on_commit(lambda: recorded.send(sender=Entry, entry=entry), using=_database(), robust=True)
    return entry


def trail_prune(*, now: datetime | None = None) -> int:
    """Remove the entries older than AUDIT_RETENTION_DAYS, leaving a signed checkpoint the chain
    continues from (verification still starts at an entry it can prove), and record the pruning.
    Returns how many were removed. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    database = _database()
    with _chain_locked():
        last = Entry.objects.filter(at__lt=cutoff).order_by("-seq").values_list("seq", "mac").first()
        if last is None:
            return 0
        seq, mac = last
        first = Entry.objects.order_by("seq").values_list("seq", flat=True).first() or seq
        pruned = seq - first + 1
        Checkpoint(
            seq=seq,
            mac=mac,
            pruned=pruned,
            at=now,
            signature=chain.checkpoint_signature(settings.AUDIT_KEY, seq=seq, mac=mac, pruned=pruned, at=now),
        ).save(using=database)
        connection = connections[database]
        table = Entry._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The trigger that refuses deletes lets this transaction's own pruning through.
                cursor.execute("SET LOCAL confidant.audit_prune = 'on'")
            low = first
            while low <= seq:
                high = min(seq, low + _PRUNE_BATCH - 1)
                cursor.execute(f"DELETE FROM {table} WHERE seq BETWEEN %s AND %s", [low, high])  # noqa: S608
                low = high + 1
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL confidant.audit_prune = 'off'")
    record(Action.TRAIL_PRUNED, details={"entries": pruned, "through_seq": seq})
    logger.info("audit trail pruned: %d entries through #%d", pruned, seq)
    return pruned
