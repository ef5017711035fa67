"""Writing the trail: `record` (every app's services call it) and `trail_prune` (the retention
job). Both hold the chain's lock until their transaction commits, so entries from every thread and
process chain in one order, without gaps or forks: record last in a transaction, never at the start
of a long one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
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
def _chain_locked(*, savepoint: bool = False) -> Iterator[None]:
    """A transaction in which this is the only writer of the chain until it commits. PostgreSQL:
    a transaction-level advisory lock. SQLite: its transactions are IMMEDIATE (settings), so
    writers are already one at a time."""
    database = _database()
    # No savepoint inside a caller's transaction: a failure here fails the caller's whole
    # transaction anyway (its action must not commit without its entry), and a savepoint is two
    # more round trips on every entry.
    with transaction.atomic(using=database, savepoint=savepoint):
        connection = connections[database]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        elif connection.vendor != "sqlite":
            raise NotImplementedError(f"the audit chain has no writer lock for {connection.vendor}")
        yield


def trail_held() -> AbstractContextManager[None]:
    """A transaction in which the trail stands still: no entry is added or pruned by anyone else
    until it commits. For a caller that reads entries and must find them all still there when it
    commits (attaching entries to an incident, while the retention job may prune)."""
    return _chain_locked(savepoint=True)  # its caller may raise its own errors and go on


def _head() -> tuple[int, str]:
    """The last entry's seq and MAC; after a pruning of everything, the last checkpoint's. (In SQL:
    it runs for every entry, and the ORM's compiling cost more than the query.)"""
    with connections[_database()].cursor() as cursor:
        cursor.execute(f"SELECT seq, mac FROM {Entry._meta.db_table} ORDER BY seq DESC LIMIT 1")  # noqa: S608
        last = cursor.fetchone()
    if last is not None:
        return int(last[0]), str(last[1])
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


def trail_prune(*, now: datetime | None = None, keep_from: Callable[[], int | None] = lambda: None) -> int:
    """Remove the entries older than AUDIT_RETENTION_DAYS, oldest first, in batches of
    _PRUNE_BATCH, each in its own short transaction behind its own signed checkpoint (the chain's
    lock is held a batch at a time, so recording never waits long), and record the pruning.
    Never removes the newest entry (the chain's head) nor any entry from the seq `keep_from()`
    returns on (the caller's evidence still in use: entries attached to open incidents; asked
    again for each batch, under the lock). Returns how many were removed. Idempotent. A batch that
    fails leaves the ones before it pruned and recorded."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    pruned, through, kept_from = 0, 0, None
    try:
        while batch := _prune_batch(now=now, cutoff=cutoff, keep_from=keep_from):
            pruned, through, kept_from = pruned + batch[0], batch[1], batch[2]
    finally:
        if pruned:
            details = {"entries": pruned, "through_seq": through}
            if kept_from is not None:
                details["kept_from_seq"] = kept_from
            record(Action.TRAIL_PRUNED, details=details)
            logger.info("audit trail pruned: %d entries through #%d", pruned, through)
    held = keep_from()
    if held is not None and Entry.objects.filter(seq__gte=held, at__lt=cutoff).exists():
        logger.warning(
            "audit entries from #%d on are past AUDIT_RETENTION_DAYS but kept: open incidents or alerts point at them",
            held,
        )
    return pruned


def _prune_batch(
    *, now: datetime, cutoff: datetime, keep_from: Callable[[], int | None]
) -> tuple[int, int, int | None] | None:
    """One batch of trail_prune: (entries removed, the last one's seq, the keep_from it kept),
    or None when done."""
    database = _database()
    with _chain_locked():
        keep = keep_from()
        old = Entry.objects.filter(at__lt=cutoff)
        head = Entry.objects.order_by("-seq").values_list("seq", flat=True).first()
        if head is not None:
            old = old.filter(seq__lt=head)
        if keep is not None:
            old = old.filter(seq__lt=keep)
        seqs = list(old.order_by("seq").values_list("seq", flat=True)[:_PRUNE_BATCH])
        first = Entry.objects.order_by("seq").values_list("seq", flat=True).first()
        # Only ever the start of the chain, up to the first entry that must stay (a clock that
        # went back can leave a newer entry among older ones: the pruning stops there).
        count = next((i for i, seq in enumerate(seqs) if seq != first + i), len(seqs)) if seqs else 0
        if count == 0:
            return None
        last, mac = Entry.objects.filter(seq=first + count - 1).values_list("seq", "mac").get()
        Checkpoint(
            seq=last,
            mac=mac,
            pruned=count,
            at=now,
            signature=chain.checkpoint_signature(settings.AUDIT_KEY, seq=last, mac=mac, pruned=count, at=now),
        ).save(using=database)
        connection = connections[database]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The trigger that refuses deletes lets this transaction's own pruning through.
                cursor.execute("SET LOCAL confidant.audit_prune = 'on'")
            cursor.execute(f"DELETE FROM {Entry._meta.db_table} WHERE seq BETWEEN %s AND %s", [first, last])  # noqa: S608
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL confidant.audit_prune = 'off'")
    return count, last, keep
