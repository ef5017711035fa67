"""What customers overshare is masked before anything keeps it (conversations.masking): stored,
broadcast, drawn, answered, exported and logged only masked; agents' slips too."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import subprocess
import uuid
import zipfile
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.test import Client

from accounts.models import User
from conversations import masking, services
from conversations.models import InternalNote, Message
from privacy.models import DataRequest
from tests import servers
from tests.auth import reauthenticated, signed_in_client
from tests.factories import UserFactory
from tests.wsclient import Socket, async_login_session, async_visitor_session

pytestmark = pytest.mark.django_db(transaction=True)

# One of every kind, as customers write them; each value (short ones with the words around them,
# which a dump's other bytes could not hold by chance) must never be kept.
OVERSHARED = {
    "card": ("My card is 4111 1111 1111 1111, expires 09/29, cvv 737.", ["4111 1111 1111 1111", "expires 09/29", "cvv 737"]),
    "iban": ("IBAN GB82 WEST 1234 5698 7654 32 and my SSN is 536-22-1234.", ["GB82 WEST 1234 5698 7654 32", "536-22-1234"]),
    "ids": ("My BSN is 111222333, call me on (415) 555-0132 or mail jane.doe@example.org", ["111222333", "555-0132", "jane.doe"]),
    "secrets": ("my password is Tr0ub4dor&3x, my PIN is 4821 and the code 739104", ["Tr0ub4dor&3x", "PIN is 4821", "code 739104"]),
    "key": ("here is my key sk-live-9fQw2ZtR8xLpK3vB7nM1cD4e", ["sk-live-9fQw2ZtR8xLpK3vB7nM1cD4e"]),
}  # fmt: skip
ORIGINALS = [value for _, values in OVERSHARED.values() for value in values]


def _msg(body: str) -> dict[str, str]:
    return {"type": "message", "client_id": str(uuid.uuid4()), "body": body}


def _forms(value: str) -> list[bytes]:
    raw = value.encode()
    compact = re.sub(r"[\s-]", "", value).encode()
    return [raw, compact, raw.hex().encode(), base64.b64encode(raw)[:12]]


@pytest.mark.asyncio
async def test_a_card_number_is_masked_before_it_is_stored_broadcast_or_answered() -> None:
    session = await async_visitor_session()
    sock = Socket("/ws/chat/", session)
    assert await sock.connect()
    await sock.recv_until("status")
    frame = _msg("My card 4111-1111-1111-1111 was stolen, what do I do?")
    await sock.send(frame)
    assert (await sock.recv_until("ack"))["client_id"] == frame["client_id"]
    echo = await sock.recv_until("message", sender="customer")
    assert echo["body"] == "My card ••••-••••-••••-1111 was stolen, what do I do?"
    assert echo["masked"] == ["card"]
    assert "We removed a card number from this message" in echo["html"]
    bot = await sock.recv_until("message", sender="bot")
    assert "I removed a card number from your message" in bot["body"]
    assert settings.SECURE_CHANNEL_TEXT in bot["body"] and "4111" not in bot["body"]
    stored = await sync_to_async(lambda: Message.objects.get(sender="customer"))()
    assert stored.body == echo["body"] and stored.masked == ["card"]
    # A resend is the same (masked) message, acknowledged again.
    await sock.send(frame)
    assert (await sock.recv_until("ack"))["seq"] == stored.seq
    await sock.close()


def test_only_phone_numbers_and_addresses_leave_no_advice_from_the_bot() -> None:
    assert masking.secrets_advice(["phone", "email"]) == ""
    assert "a card number and a PIN" in masking.secrets_advice(["pin", "card", "phone"])


def test_agents_replies_and_notes_lose_a_customers_card_but_keep_contact_details() -> None:
    agent = UserFactory(role=User.Role.AGENT)
    conversation = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    reply = services.message_post(
        conversation_id=conversation.pk,
        sender="agent",
        body="I blocked 4111 1111 1111 1111. Call us on +1 415 555 0132 or write to help@example.org.",
        client_id=uuid.uuid4(),
        author=agent,
    ).message
    assert reply.body == "I blocked •••• •••• •••• 1111. Call us on +1 415 555 0132 or write to help@example.org."
    assert reply.masked == ["card"]
    note = services.note_add(
        conversation_id=conversation.pk, author=agent, client_id=uuid.uuid4(), body="Card 4111111111111111 frozen"
    )
    note = InternalNote.objects.get(pk=note.pk)
    assert "4111111111111111" not in note.body and note.masked == ["card"]


def test_what_the_widget_masked_is_recorded_only_when_the_text_holds_masks() -> None:
    conversation = services.conversation_start(customer=None)

    def post(body: str, masked: tuple[str, ...]) -> list[str]:
        return services.message_post(
            conversation_id=conversation.pk, sender="customer", body=body, client_id=uuid.uuid4(), masked=masked
        ).message.masked

    assert post("My card is •••• •••• •••• 1111", ("card", "shoe_size")) == ["card"]
    assert post("Nothing hidden here", ("card",)) == []
    assert post("•••• •••• •••• 1111 and 4000 0566 5566 5556", ("card", "iban")) == ["card", "iban"]


def test_the_policy_knobs_choose_the_kinds(settings: Any) -> None:
    settings.REDACTION_KINDS = ["card"]
    conversation = services.conversation_start(customer=None)
    message = services.message_post(
        conversation_id=conversation.pk,
        sender="customer",
        body="4111 1111 1111 1111, and mail me at jane@example.org",
        client_id=uuid.uuid4(),
    ).message
    assert message.body == "•••• •••• •••• 1111, and mail me at jane@example.org" and message.masked == ["card"]


def test_the_masking_policy_is_checked_at_start_up(settings: Any) -> None:
    from conversations.checks import redaction_policy

    settings.REDACTION_KINDS = ["card", "shoe_size"]
    settings.REDACTION_PHONE_REGION = "XX"
    assert [e.id for e in redaction_policy()] == ["conversations.E001", "conversations.E002"]


@pytest.mark.asyncio
async def test_nothing_overshared_reaches_a_database_redis_the_logs_or_an_export(
    caplog: pytest.LogCaptureFixture, eager_tasks: None, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    caplog.set_level(logging.DEBUG)
    customer = await sync_to_async(UserFactory)(role=User.Role.CUSTOMER, email="owner@example.com")
    agent = await sync_to_async(UserFactory)(role=User.Role.AGENT)
    sock = Socket("/ws/chat/", await async_login_session(customer))
    assert await sock.connect()
    await sock.recv_until("status")
    for body, _ in OVERSHARED.values():
        await sock.send(_msg(body))
        await sock.recv_until("ack")
    conversation_id = await sync_to_async(lambda: Message.objects.get(seq=2).conversation_id)()
    await sync_to_async(services.conversation_hand_over)(conversation_id=conversation_id)
    await sync_to_async(services.conversation_claim)(conversation_id=conversation_id, agent=agent)
    staff = Socket(f"/ws/agent/conversations/{conversation_id}/", await async_login_session(agent))
    assert await staff.connect()
    await staff.send(_msg(f"Repeating it: {OVERSHARED['card'][0]}"))
    await staff.recv_until("ack")
    await staff.send({"type": "note", "client_id": str(uuid.uuid4()), "body": OVERSHARED["secrets"][0]})
    await staff.recv_until("note")
    await sock.close()
    await staff.close()

    archive = await sync_to_async(_export, thread_sensitive=True)(customer)
    dumps = {alias: await sync_to_async(_dump)(alias) for alias in ("default", "keys")}
    places = {"export": archive, "logs": caplog.text.encode(), "redis": _redis_bytes(), **dumps}
    for value in ORIGINALS:
        for form in _forms(value):
            for where, data in places.items():
                assert form not in data, f"{value!r} found in {where}"
    kinds = await sync_to_async(
        lambda: sorted({k for m in Message.objects.all() for k in m.masked} | set(InternalNote.objects.get().masked))
    )()
    assert kinds == sorted(
        ["api_key", "card", "card_cvv", "card_expiry", "email", "iban", "national_id", "otp", "password", "phone", "pin", "ssn"]
    )  # fmt: skip


def _dump(alias: str) -> bytes:
    if connections[alias].vendor != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL (CI and make test use it)")
    return subprocess.run(
        ["pg_dump", "--data-only", servers.test_database_url(alias)], capture_output=True, check=True, timeout=120
    ).stdout


def _redis_bytes() -> bytes:
    """Every key and value in the Redis database the app uses (cache, limits, channel layer)."""
    if not settings.REDIS_URL:
        return b""
    client = redis.Redis.from_url(settings.REDIS_URL)
    out = []
    for key in client.scan_iter(count=1000):
        out.append(key)
        kind = client.type(key)
        if kind == b"string":
            out.append(client.get(key) or b"")
        elif kind == b"list":
            out += client.lrange(key, 0, -1)
        elif kind == b"zset":
            out += client.zrange(key, 0, -1)
        elif kind == b"hash":
            out += [b for pair in client.hgetall(key).items() for b in pair]
        elif kind == b"set":
            out += list(client.smembers(key))
    return b"\n".join(out)


def _export(customer: User) -> bytes:
    """The customer's own export (data.json and transcript.html), as they download it."""
    client = reauthenticated(signed_in_client(customer))
    response = client.post("/privacy/requests/new/", {"kind": "export"})
    assert response.status_code == 302
    request = DataRequest.objects.get(pk=response["Location"].split("/")[3])
    page = client.get(response["Location"]).content.decode()
    link = re.search(r'href="http://testserver(/privacy/exports/[^"]+)"', page).group(1)
    download = Client().post(link)
    assert download.status_code == 200, request.status
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    data = json.loads(archive.read("data.json"))
    removed = {k for c in data["conversations"] for m in c["messages"] for k in m["removed_before_storing"]}
    assert "card" in removed
    return download.content + archive.read("data.json") + archive.read("transcript.html")
