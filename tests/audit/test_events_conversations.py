"""The conversation events in the audit trail, caused through the real pages and sockets: one
entry per event, with its actor, role, object, outcome and client address, and never the text of a
message, a note or a hold's reason."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db.models import Max

from accounts.models import User
from audit.actions import Action, Outcome
from audit.context import bind_client, client_address
from audit.models import Entry
from chatbot_site.realtime import db_call
from conversations import services
from tests.auth import signed_in_client
from tests.factories import conversation_waiting, conversation_with
from tests.wsclient import Socket, login_session

ADDRESS = "198.51.100.7"  # the test client's REMOTE_ADDR
MESSAGE = "canary-message-5e1f"
NOTE = "canary-note-77ab"
REASON = "canary-reason-c0de"


def _head() -> int:
    return Entry.objects.aggregate(seq=Max("seq"))["seq"] or 0


def _after(seq: int, *actions: Action) -> list[Entry]:
    entries = Entry.objects.filter(seq__gt=seq).order_by("seq")
    return list(entries.filter(action__in=actions) if actions else entries)


def _assert_no_canary() -> None:
    """No entry holds a message's, a note's or a reason's text, in any field."""
    for entry in Entry.objects.all():
        text = json.dumps([entry.object_type, entry.object_id, entry.details, entry.client_address])
        for canary in (MESSAGE, NOTE, REASON):
            assert canary not in text, entry


def _one(entries: list[Entry], *, actor: User, role: str, obj: tuple[str, str], outcome: str, address: str) -> Entry:
    assert len(entries) == 1, [(e.action, e.object_id, e.outcome) for e in entries]
    entry = entries[0]
    assert (entry.actor_id, entry.actor_role) == (actor.pk, role)
    assert (entry.object_type, entry.object_id) == obj
    assert (entry.outcome, entry.client_address) == (outcome, address)
    return entry


def _assigned_with_texts(agent: User) -> Any:
    """A conversation in which the customer wrote MESSAGE, claimed by `agent`, with a note NOTE."""
    conversation = conversation_with(None, MESSAGE)
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    services.note_add(conversation_id=conversation.pk, author=agent, client_id=uuid.uuid4(), body=NOTE)
    return conversation


# --- pages ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_console_page_records_one_opening_and_one_reading_of_the_notes(agent: User) -> None:
    conversation = _assigned_with_texts(agent)
    head = _head()
    response = signed_in_client(agent).get(f"/console/conversations/{conversation.pk}/", REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200 and MESSAGE in response.text and NOTE in response.text
    obj = ("conversation", str(conversation.pk))
    _one(_after(head, Action.TRANSCRIPT_OPENED), actor=agent, role="agent", obj=obj, outcome="ok", address=ADDRESS)
    note_read = _one(_after(head, Action.NOTE_READ), actor=agent, role="agent", obj=obj, outcome="ok", address=ADDRESS)
    assert note_read.details == {"notes": 1}
    assert len(_after(head)) == 2
    _assert_no_canary()


@pytest.mark.django_db
def test_a_conversation_without_notes_records_no_reading_of_notes(supervisor: User) -> None:
    conversation = conversation_with(None, MESSAGE)
    head = _head()
    assert signed_in_client(supervisor).get(f"/console/conversations/{conversation.pk}/").status_code == 200
    assert [e.action for e in _after(head)] == [Action.TRANSCRIPT_OPENED]
    assert _after(head)[0].actor_role == "supervisor"


@pytest.mark.django_db
def test_a_conversation_refused_is_recorded_as_denied_with_a_well_formed_id_only(
    agent: User, other_agent: User
) -> None:
    theirs = _assigned_with_texts(agent)
    missing = uuid.uuid4()
    client = signed_in_client(other_agent)
    head = _head()
    for target in (theirs.pk, missing):
        assert client.get(f"/console/conversations/{target}/", REMOTE_ADDR=ADDRESS).status_code == 404
    forged = "not-a-uuid-<script>"
    assert client.get(f"/console/conversations/{forged}/", REMOTE_ADDR=ADDRESS).status_code == 404
    entries = _after(head)
    assert [(e.action, e.outcome, e.object_id) for e in entries] == [
        (Action.TRANSCRIPT_OPENED, Outcome.DENIED, str(theirs.pk)),
        (Action.TRANSCRIPT_OPENED, Outcome.DENIED, str(missing)),
        (Action.TRANSCRIPT_OPENED, Outcome.DENIED, ""),
    ]
    assert all(e.actor_id == other_agent.pk and e.client_address == ADDRESS for e in entries)
    assert entries[2].details == {"malformed_id": True}
    assert not Entry.objects.filter(object_id__contains="script").exists()
    assert not any("script" in json.dumps(e.details) for e in entries)
    _assert_no_canary()


@pytest.mark.django_db
def test_the_history_records_its_filters_never_raw_input(supervisor: User, agent: User) -> None:
    _assigned_with_texts(agent)
    head = _head()
    client = signed_in_client(supervisor)
    query = f"?state=agent&agent={agent.pk}&since=2020-01-02&until=not-a-date-{MESSAGE}"
    assert client.get(f"/console/history/{query}", REMOTE_ADDR=ADDRESS).status_code == 200
    assert client.get("/console/history/?state=bogus", REMOTE_ADDR=ADDRESS).status_code == 200
    filtered, plain = _after(head)
    for entry in (filtered, plain):
        assert (entry.action, entry.actor_id, entry.actor_role) == (
            Action.HISTORY_SEARCHED,
            supervisor.pk,
            "supervisor",
        )
        assert (entry.outcome, entry.client_address, entry.object_type) == ("ok", ADDRESS, "")
    assert filtered.details == {
        "page": "first",
        "rows": 1,
        "state": "agent",
        "agent_id": agent.pk,
        "since": "2020-01-02",
    }
    assert plain.details == {"page": "first", "rows": 1}
    _assert_no_canary()


@pytest.mark.django_db
def test_claim_assign_resolve_and_legal_holds_are_recorded_once_each(
    agent: User, other_agent: User, supervisor: User
) -> None:
    conversation = conversation_waiting()
    conv = f"/console/conversations/{conversation.pk}"
    obj = ("conversation", str(conversation.pk))
    head = _head()
    assert signed_in_client(agent).post(f"{conv}/claim/", REMOTE_ADDR=ADDRESS).status_code == 302
    boss = signed_in_client(supervisor)
    assert boss.post(f"{conv}/assign/", {"agent": other_agent.pk}, REMOTE_ADDR=ADDRESS).status_code == 302
    assert boss.post(f"{conv}/hold/", {"reason": REASON}, REMOTE_ADDR=ADDRESS).status_code == 302
    assert boss.post(f"{conv}/hold/", {"action": "release"}, REMOTE_ADDR=ADDRESS).status_code == 302
    assert boss.post(f"{conv}/hold/", {"action": "release"}, REMOTE_ADDR=ADDRESS).status_code == 302  # no hold
    assert boss.post(f"{conv}/resolve/", REMOTE_ADDR=ADDRESS).status_code == 302
    assert boss.post(f"{conv}/resolve/", REMOTE_ADDR=ADDRESS).status_code == 302  # already resolved

    def one(action: Action, actor: User) -> Entry:
        role = "agent" if actor.role == User.Role.AGENT else "supervisor"
        return _one(_after(head, action), actor=actor, role=role, obj=obj, outcome="ok", address=ADDRESS)

    assert one(Action.CONVERSATION_CLAIMED, agent).details == {"from_agent": None, "to_agent": agent.pk}
    assert one(Action.CONVERSATION_REASSIGNED, supervisor).details == {
        "from_agent": agent.pk,
        "to_agent": other_agent.pk,
    }
    assert one(Action.LEGAL_HOLD_SET, supervisor).details == {}
    one(Action.LEGAL_HOLD_LIFTED, supervisor)
    one(Action.CONVERSATION_RESOLVED, supervisor)
    assert len(_after(head)) == 5
    _assert_no_canary()


@pytest.mark.django_db
def test_a_claim_that_loses_the_race_records_nothing(agent: User, other_agent: User) -> None:
    conversation = conversation_waiting()
    services.conversation_claim(conversation_id=conversation.pk, agent=other_agent)
    head = _head()
    signed_in_client(agent).post(f"/console/conversations/{conversation.pk}/claim/")
    assert _after(head) == []


# --- sockets -------------------------------------------------------------------------------------
def _socket_world(agent: User) -> tuple[str, str]:
    conversation = _assigned_with_texts(agent)
    return str(conversation.pk), login_session(agent)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_staff_socket_records_one_opening_per_connection_and_notes_once(agent: User) -> None:
    conversation_id, session = await sync_to_async(_socket_world)(agent)
    obj = ("conversation", conversation_id)
    head = await sync_to_async(_head)()
    sock = Socket(f"/ws/agent/conversations/{conversation_id}/", session)
    assert await sock.connect()
    for _ in range(3):  # the console resumes after every reconnect of its link: one reading
        await sock.send({"type": "resume", "after_seq": 0})
        await sock.recv_until("note")
    await sock.send({"type": "note", "client_id": str(uuid.uuid4()), "body": f"second {NOTE}"})
    await sock.recv_until("note", body=f"second {NOTE}")
    await sock.close()

    def check() -> None:
        kw = {"actor": agent, "role": "agent", "obj": obj, "outcome": "ok", "address": "127.0.0.1"}
        _one(_after(head, Action.TRANSCRIPT_OPENED), **kw)
        assert _one(_after(head, Action.NOTE_READ), **kw).details == {"notes": 1}
        written = _one(_after(head, Action.NOTE_WRITTEN), **kw)
        assert written.details["note_id"] != 0
        assert len(_after(head)) == 3
        _assert_no_canary()

    await sync_to_async(check)()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_note_resent_over_the_socket_is_recorded_once(agent: User) -> None:
    conversation_id, session = await sync_to_async(_socket_world)(agent)
    head = await sync_to_async(_head)()
    sock = Socket(f"/ws/agent/conversations/{conversation_id}/", session)
    assert await sock.connect()
    frame = {"type": "note", "client_id": str(uuid.uuid4()), "body": NOTE}
    for _ in range(2):
        await sock.send(frame)
        await sock.recv_until("note")
    await sock.close()
    written = await sync_to_async(_after)(head, Action.NOTE_WRITTEN)
    assert len(written) == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_refused_staff_socket_records_the_denial_from_its_client(agent: User, other_agent: User) -> None:
    conversation_id, _ = await sync_to_async(_socket_world)(agent)
    session = await sync_to_async(login_session)(other_agent)
    head = await sync_to_async(_head)()
    sock = Socket(f"/ws/agent/conversations/{conversation_id}/", session, client="203.0.113.9")
    assert not await sock.connect() and sock.close_code == 4403
    forged = Socket("/ws/agent/conversations/forged%3Cscript%3E/", session)
    assert not await forged.connect()
    entries = await sync_to_async(_after)(head)
    assert [(e.action, e.outcome, e.object_id, e.client_address, e.actor_id) for e in entries] == [
        (Action.TRANSCRIPT_OPENED, Outcome.DENIED, conversation_id, "203.0.113.9", other_agent.pk),
        (Action.TRANSCRIPT_OPENED, Outcome.DENIED, "", "127.0.0.1", other_agent.pk),
    ]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_customer_on_the_staff_socket_records_nothing(agent: User, customer: User) -> None:
    """Not a staff member asking: refused before any conversation is looked at."""
    conversation_id, _ = await sync_to_async(_socket_world)(agent)
    session = await sync_to_async(login_session)(customer)
    head = await sync_to_async(_head)()
    assert not await Socket(f"/ws/agent/conversations/{conversation_id}/", session).connect()
    assert await sync_to_async(_after)(head) == []


@pytest.mark.asyncio
async def test_the_bound_client_address_reaches_the_database_threads() -> None:
    """asgiref copies the caller's context into db_call's thread: what a consumer binds in
    connect() is what the recorder reads there."""
    bind_client("192.0.2.44")
    assert await db_call(client_address) == "192.0.2.44"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_widget_socket_binds_its_client_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer's socket causes no entry today; what it would record comes from its client."""
    from conversations import consumers
    from tests.wsclient import async_visitor_session

    seen: list[str] = []
    original = consumers._widget_conversation  # noqa: SLF001

    def spy(user: Any, session: Any) -> Any:
        seen.append(client_address())
        return original(user, session)

    monkeypatch.setattr(consumers, "_widget_conversation", spy)
    sock = Socket("/ws/chat/", await async_visitor_session(), client="2001:db8::1")
    assert await sock.connect()
    await sock.close()
    assert seen == ["2001:db8::1"]
