"""manage.py redact: standard input masked to standard output with the findings on standard error;
stored messages and notes from before masking counted (--scan-stored) and rewritten (--apply)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import User
from conversations import services
from conversations.models import Conversation, InternalNote, Message

CARD, IBAN, EMAIL = "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "jane.doe@example.com"
ROOT = Path(__file__).resolve().parent.parent.parent


def _stored_unmasked(conversation: Conversation, body: str, *, sender: str = Message.Sender.CUSTOMER) -> Message:
    """A message as it was stored before masking existed: straight into the table, past message_post."""
    conversation.last_seq += 1
    conversation.save(update_fields=["last_seq"])
    return Message.objects.create(conversation=conversation, seq=conversation.last_seq, sender=sender, body=body)


def _ciphertexts(model: type[Message | InternalNote]) -> dict[int, bytes]:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, body FROM {table}")  # noqa: S608 (a model's own table name)
        return {pk: bytes(body) for pk, body in cursor.fetchall()}


def _redact(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("redact", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def old_data(db: None, agent: User) -> dict[str, Any]:
    conversation = services.conversation_start(customer=None)
    card = _stored_unmasked(conversation, f"my card is {CARD} exp 04/27, mail me at {EMAIL}")
    card.masked = ["phone"]  # what an older policy already took out stays listed
    card.save(update_fields=["masked"])
    clean = _stored_unmasked(conversation, "Where is my order ORD-2024-001234?")
    reply = _stored_unmasked(conversation, f"Write to {EMAIL}, card {CARD}?", sender=Message.Sender.AGENT)
    note = InternalNote.objects.create(
        conversation=conversation, author=agent, client_id=uuid.uuid4(), body=f"refund to IBAN {IBAN}"
    )
    return {"card": card, "clean": clean, "reply": reply, "note": note}


def test_scan_stored_counts_by_kind_and_changes_nothing(old_data: dict[str, Any]) -> None:
    before = _ciphertexts(Message), _ciphertexts(InternalNote)
    out, err = _redact("--scan-stored", "--batch-size", "2")
    assert "hold something to mask" in out
    assert "3 hold something to mask" in out  # the card message, the agent's reply, the note
    assert "card 2, card_expiry 1, email 1, iban 1." in out  # the agent's reply keeps its e-mail address
    assert "run again with --apply" in out
    assert (_ciphertexts(Message), _ciphertexts(InternalNote)) == before
    for value in (CARD, IBAN, EMAIL, "4111"):  # the progress bar shows counts, never content
        assert value not in out + err


def test_apply_rewrites_masked_under_the_conversation_and_a_rerun_changes_nothing(old_data: dict[str, Any]) -> None:
    clean_before = _ciphertexts(Message)[old_data["clean"].pk]
    out, _ = _redact("--scan-stored", "--apply", "--batch-size", "2")
    assert "Rewrote 3 masked." in out
    card = Message.objects.get(pk=old_data["card"].pk)
    assert card.body == "my card is •••• •••• •••• 1111 exp ••/••, mail me at •••@example.com"
    assert card.masked == ["card", "card_expiry", "email", "phone"]
    reply = Message.objects.get(pk=old_data["reply"].pk)
    assert reply.body == f"Write to {EMAIL}, card •••• •••• •••• 1111?"  # staff policy: contact details kept
    assert reply.masked == ["card"]
    note = InternalNote.objects.get(pk=old_data["note"].pk)
    assert note.body == "refund to IBAN DE•• •••• •••• •••• ••30 00"
    assert note.masked == ["iban"]
    assert _ciphertexts(Message)[old_data["clean"].pk] == clean_before  # nothing to mask: not rewritten

    before = _ciphertexts(Message), _ciphertexts(InternalNote)
    out, _ = _redact("--scan-stored", "--apply")
    assert "0 hold something to mask" in out and "Rewrote 0 masked." in out
    assert (_ciphertexts(Message), _ciphertexts(InternalNote)) == before


def test_apply_and_batch_size_are_checked(db: None) -> None:
    with pytest.raises(CommandError, match="--scan-stored"):
        _redact("--apply")
    with pytest.raises(CommandError, match="--batch-size"):
        _redact("--scan-stored", "--batch-size", "0")


def test_standard_input_is_masked_with_the_findings_as_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    text = f"card {CARD}\nmail {EMAIL}\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    out, err = _redact()
    assert out == "card •••• •••• •••• 1111\nmail •••@example.com\n"
    findings = [json.loads(line) for line in err.splitlines()]
    assert findings == [
        {"kind": "card", "start": 5, "end": 24, "masked": "•••• •••• •••• 1111"},
        {"kind": "email", "start": 30, "end": 50, "masked": "•••@example.com"},
    ]
    assert [text[f["start"] : f["end"]] for f in findings] == [CARD, EMAIL]
    assert CARD not in err and "jane.doe" not in err


def test_staff_policy_on_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"mail {EMAIL}, card {CARD}"))
    out, _ = _redact("--sender", "agent")
    assert out == f"mail {EMAIL}, card •••• •••• •••• 1111"


def test_as_a_shell_filter() -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "redact"],
        input=f"my ssn is 536-22-1234 and card {CARD}",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "my ssn is •••-••-•••• and card •••• •••• •••• 1111"
    assert [json.loads(line)["kind"] for line in done.stderr.splitlines()] == ["ssn", "card"]


def test_apply_keeps_conversations_on_legal_hold_as_they_are(db: None) -> None:
    held = services.conversation_start(customer=None)
    Conversation.objects.filter(pk=held.pk).update(legal_hold=True)
    held.refresh_from_db()
    message = _stored_unmasked(held, "card 4111 1111 1111 1111")
    out, _ = _redact("--scan-stored", "--apply")
    assert "1 rows of conversations on legal hold were kept" in out and "Rewrote 0 masked" in out
    assert Message.objects.get(pk=message.pk).body == "card 4111 1111 1111 1111"
