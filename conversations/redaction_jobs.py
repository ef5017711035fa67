"""Masking what was stored before masking existed (or under an older policy): every message and
internal note, walked by primary key in batches, counted by kind and, on request, rewritten masked
(`manage.py redact --scan-stored [--apply]`).

Resuming is rerunning: masked text has nothing left to mask (conversations.redaction promises
idempotence), so a run after an interruption reads everything again but rewrites only what is
still unmasked. Nothing derived from a body needs refreshing: no index of message text exists
(vault's blind indexes cover customers' e-mail addresses only).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from conversations.masking import mask_for
from conversations.models import Conversation, InternalNote, Message
from vault.envelope import UnreadableText

Stored = Message | InternalNote
_FIELDS: dict[type[Stored], tuple[str, ...]] = {
    Message: ("id", "conversation_id", "sender", "body", "masked"),
    InternalNote: ("id", "conversation_id", "body", "masked"),
}


@dataclass
class StoredRedaction:
    rows: int = 0  # messages and notes read
    with_findings: int = 0  # of those, how many hold something to mask
    rewritten: int = 0  # how many were rewritten masked (with apply)
    unreadable: int = 0  # rows no configured key opens: left as they are
    held: int = 0  # rows of conversations on legal hold: kept as they are (with apply)
    kinds: Counter[str] = field(default_factory=Counter)  # what was found, by kind (never the values)


def stored_rows_count() -> int:
    """How many rows a run reads (for a progress bar)."""
    return Message.objects.count() + InternalNote.objects.count()


def _sender(row: Stored) -> str:
    """Whose policy applies: notes are staff text."""
    return row.sender if isinstance(row, Message) else Message.Sender.AGENT


def stored_text_redact(
    *, apply: bool, batch_size: int = 500, progress: Callable[[int], object] = lambda n: None
) -> StoredRedaction:
    """Mask stored messages, then internal notes, as conversations.masking would mask them now.
    Without `apply`, only count. With it, rewrite each conversation's rows under that
    conversation's row lock, the lock message_post takes, so a message posted meanwhile (already
    masked by message_post) and a re-keying (`rotate_encryption_keys --data`) wait their turn."""
    result = StoredRedaction()
    for model in (Message, InternalNote):
        last_pk = 0
        while batch := list(model.objects.filter(pk__gt=last_pk).order_by("pk").only(*_FIELDS[model])[:batch_size]):
            last_pk = batch[-1].pk
            pending: defaultdict[uuid.UUID, list[int]] = defaultdict(list)
            for row in batch:
                if isinstance(row.body, UnreadableText):
                    result.unreadable += 1
                    continue
                if findings := mask_for(_sender(row), row.body).findings:
                    result.with_findings += 1
                    result.kinds.update(finding.kind.value for finding in findings)
                    pending[row.conversation_id].append(row.pk)
            if apply:
                for conversation_id, pks in pending.items():
                    if (changed := _rewrite(model, conversation_id, pks)) is None:
                        result.held += len(pks)
                    else:
                        result.rewritten += changed
            result.rows += len(batch)
            progress(len(batch))
    return result


def _rewrite(model: type[Stored], conversation_id: uuid.UUID, pks: list[int]) -> int | None:
    """Rewrite these rows of one conversation masked; how many changed. The rows are read again
    under the lock: another run may have masked them, or the conversation may be gone. None for a
    conversation on legal hold: it is kept as it is while the hold lasts."""
    changed = 0
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
        if conversation is None:  # deleted meanwhile (retention, a deletion request)
            return 0
        if conversation.legal_hold:
            return None
        for row in model.objects.filter(pk__in=pks, conversation=conversation).order_by("pk"):
            if isinstance(row.body, UnreadableText):
                continue
            masked = mask_for(_sender(row), row.body)
            if not masked.findings:
                continue
            row.conversation = conversation  # its data key as of the lock, for the field to encrypt under
            row.body = masked.text
            row.masked = sorted({*row.masked, *(kind.value for kind in masked.kinds)})
            row.save(update_fields=["body", "masked"])
            changed += 1
    return changed
