"""The retention purge: conversations whose last message is older than RETENTION_DAYS go, with
everything that refers to them, unless a supervisor put them on legal hold.

- Deletes in SQL, a bounded batch of conversations per transaction: memory and transaction size
  stay the same whatever the backlog, and no row is loaded into Python (only ids).
- Each batch locks its conversations and re-checks them (a conversation that got a new message
  meanwhile is spared), then deletes messages, notes and the conversations, and after the commit
  destroys their data keys (crypto-shredding: backups of them become unreadable too).
- Idempotent: a run killed at any point leaves whole batches done or not done; the next run
  finishes the work. Data keys left by a kill (or a failure) between commit and destruction are
  unreferenced: the run after an interrupted or failed one destroys them, as would the nightly
  collector.
- A conversation released from legal hold is kept for RELEASE_GRACE more, so a mistaken release
  can be undone.
- One run at a time (privacy.locks): a second one records itself as skipped and does nothing.
- Records a RetentionRun: cutoff, times, counts per kind, the kind of error; never content. Also
  prunes the audit trail past AUDIT_RETENTION_DAYS and records the run in it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.services import record, trail_prune
from conversations.deletion import RETENTION, conversations_delete
from conversations.models import Conversation, InternalNote, Message
from privacy import locks
from privacy.models import RetentionRun
from privacy.selectors import evidence_in_use
from vault import rotation
from vault.datakeys import data_keys_destroy

logger = logging.getLogger(__name__)
LOCK_NAME = "retention-purge"
# A batch also stops once its conversations hold this many messages (their last_seq), so a few
# very long transcripts do not make one huge transaction. A batch has at least one conversation.
MAX_MESSAGES_PER_BATCH = 50_000


def cutoff_for(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=settings.RETENTION_DAYS)


def _past(cutoff: dt.datetime) -> models.QuerySet[Conversation]:
    # Written so that the (legal_hold, last_message_at) index serves it; a conversation always has
    # a first message, so the created_at branch is for rows written before there was one.
    return Conversation.objects.filter(
        models.Q(last_message_at__lt=cutoff) | models.Q(last_message_at__isnull=True, created_at__lt=cutoff)
    )


RELEASE_GRACE = dt.timedelta(days=7)


def expired(cutoff: dt.datetime, now: dt.datetime | None = None) -> models.QuerySet[Conversation]:
    """Conversations the purge deletes: last message before the cutoff, not on legal hold, and
    not released from one in the last RELEASE_GRACE (a release by mistake can still be undone)."""
    released_after = (now or timezone.now()) - RELEASE_GRACE
    return _past(cutoff).filter(legal_hold=False).exclude(legal_hold_at__isnull=False, legal_hold_at__gt=released_after)


@dataclass
class Preview:
    cutoff: dt.datetime
    conversations: int
    messages: int
    notes: int
    held: int
    oldest: dt.datetime | None
    newest: dt.datetime | None


def preview(now: dt.datetime | None = None) -> Preview:
    """What a run now would delete (counts and dates only), changing nothing."""
    cutoff = cutoff_for(now)
    due = expired(cutoff, now)
    span = due.aggregate(
        oldest=models.Min(Coalesce("last_message_at", "created_at")),
        newest=models.Max(Coalesce("last_message_at", "created_at")),
    )
    return Preview(
        cutoff=cutoff,
        conversations=due.count(),
        messages=Message.objects.filter(conversation__in=due.values("pk")).count(),
        notes=InternalNote.objects.filter(conversation__in=due.values("pk")).count(),
        held=_past(cutoff).filter(legal_hold=True).count(),
        oldest=span["oldest"],
        newest=span["newest"],
    )


def _purge_batch(cutoff: dt.datetime, now: dt.datetime, batch_size: int, run: RetentionRun) -> int:
    """Delete up to `batch_size` expired conversations with all that refers to them; return how many."""
    with transaction.atomic():
        candidates = (
            expired(cutoff, now)
            .select_for_update(skip_locked=_skip_locked())
            .order_by("pk")
            .values_list("pk", "data_key_id", "last_seq")[:batch_size]
        )
        rows, messages_in_batch = [], 0
        for pk, key_id, last_seq in candidates:
            if rows and messages_in_batch + last_seq > MAX_MESSAGES_PER_BATCH:
                break  # the rest stays for the next batch
            rows.append((pk, key_id))
            messages_in_batch += last_seq
        if not rows:
            return 0
        messages, notes, deleted = conversations_delete(ids=[pk for pk, _ in rows], reason=RETENTION)
    # Counted once committed, so a failed batch is never reported as deleted.
    run.messages, run.notes, run.conversations = run.messages + messages, run.notes + notes, run.conversations + deleted
    run.data_keys += data_keys_destroy([key_id for _, key_id in rows])
    run.save(update_fields=["conversations", "messages", "notes", "data_keys"])
    return deleted


def _skip_locked() -> bool:
    return connections["default"].features.has_select_for_update_skip_locked


def _run_record(run: RetentionRun, audit_pruned: int) -> None:
    """The run in the audit trail. After a failed run, a failure to record it too (the database
    gone) is logged, never raised over the purge's own error."""
    try:
        record(
            Action.RETENTION_RUN,
            obj=run,
            outcome=Outcome.OK if run.status == RetentionRun.Status.DONE else Outcome.FAILED,
            details={
                "conversations": run.conversations,
                "messages": run.messages,
                "held": run.held,
                "audit_entries": audit_pruned,
                "error": run.error,
            },
        )
    except Exception:
        if run.status == RetentionRun.Status.DONE:
            raise
        logger.exception("the failed retention run %s could not be recorded in the audit trail", run.pk)


def purge(
    *,
    now: dt.datetime | None = None,
    batch_size: int = 1000,
    pause: float = 0.0,
    progress: Callable[[int], None] = lambda n: None,
) -> RetentionRun:
    """Run the purge now (the beat job calls this). Returns the run's record."""
    started = timezone.now()
    now = now or started
    cutoff = cutoff_for(now)
    with locks.exclusive(LOCK_NAME) as held:
        if not held:
            return RetentionRun.objects.create(
                status=RetentionRun.Status.SKIPPED, cutoff=cutoff, started_at=started, finished_at=timezone.now()
            )
        # Holding the lock, any run still marked running died (its lock went with its process).
        interrupted = RetentionRun.objects.filter(status=RetentionRun.Status.RUNNING).update(
            status=RetentionRun.Status.INTERRUPTED
        )
        previous = RetentionRun.objects.exclude(status=RetentionRun.Status.SKIPPED).order_by("-started_at").first()
        sweep = interrupted or (previous is not None and previous.status != RetentionRun.Status.DONE)
        run = RetentionRun.objects.create(cutoff=cutoff, started_at=started)
        audit_pruned = 0
        try:
            while deleted := _purge_batch(cutoff, now, batch_size, run):
                progress(deleted)
                if pause:
                    time.sleep(pause)
            if sweep:  # the last run may have stopped between a commit and destroying that batch's keys
                run.data_keys += rotation.data_keys_collect_orphans()
            run.held = _past(cutoff).filter(legal_hold=True).count()
            # The audit trail's own retention (AUDIT_RETENTION_DAYS), keeping what open incidents
            # and alerts still point at.
            audit_pruned = trail_prune(now=now, keep_from=evidence_in_use)
            run.status, run.finished_at = RetentionRun.Status.DONE, timezone.now()
        except Exception as exc:
            run.status, run.finished_at, run.error = RetentionRun.Status.FAILED, timezone.now(), type(exc).__name__
            raise
        finally:
            run.save()
            _run_record(run, audit_pruned)
    return run
