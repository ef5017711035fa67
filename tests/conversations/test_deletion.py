"""A conversation deleted while an agent has it open: every way of deleting one (the visitor's
"Delete this chat", a data-subject deletion request, the retention purge) tells the agent's socket
why, after the commit, in an `ended` frame, and then closes it for good (4410). Over the real ASGI
application and the configured channel layer."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from conversations import deletion, services
from conversations.consumers import CLOSE_ENDED
from conversations.models import Conversation
from privacy import retention
from privacy.data_requests import lifecycle
from privacy.data_requests.deletion import deletion_execute
from privacy.models import DataRequest, RequestDetails
from tests.factories import UserFactory
from tests.wsclient import Socket, login_session, open_widget_conversation, visitor_session

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _claimed(customer: User | None, agent: User, session_key: str | None = None) -> uuid.UUID:
    """A conversation with an agent: a visitor's (their widget session's) or a customer's."""
    if session_key:
        conversation_id = open_widget_conversation(session_key)
    else:
        conversation_id = services.conversation_start(customer=customer).pk
    services.conversation_hand_over(conversation_id=conversation_id)
    services.conversation_claim(conversation_id=conversation_id, agent=agent)
    return conversation_id


async def _watching(agent: User, conversation_id: uuid.UUID) -> Socket:
    sock = Socket(f"/ws/agent/conversations/{conversation_id}/", await sync_to_async(login_session)(agent))
    assert await sock.connect()
    assert await sock.recv() == {"type": "status", "state": "agent"}
    return sock


async def _queue(user: User) -> Socket:
    sock = Socket("/ws/agent/queue/", await sync_to_async(login_session)(user))
    assert await sock.connect()
    assert (await sock.recv())["type"] == "queue"
    return sock


def _agent() -> User:
    return UserFactory(role="agent", first_name="Alex")


async def _ends(sock: Socket, reason: str) -> None:
    """The socket gets the ended frame (every frame checked against the schema), then closes."""
    assert await sock.recv_until("ended") == {"type": "ended", "reason": reason}
    assert await sock.closed_with() == CLOSE_ENDED


async def test_the_visitor_deleting_their_chat_ends_it_for_the_agent() -> None:
    agent = await sync_to_async(_agent)()
    session_key = await sync_to_async(visitor_session)()
    conversation_id = await sync_to_async(_claimed)(None, agent, session_key)
    watcher, queue = await _watching(agent, conversation_id), await _queue(agent)

    def delete_chat() -> int:
        client = Client()
        client.cookies["sessionid"] = session_key
        return client.post("/privacy/chat/delete/").status_code

    assert await sync_to_async(delete_chat)() == 200
    await _ends(watcher, "deleted_by_customer")
    assert not await sync_to_async(Conversation.objects.filter(pk=conversation_id).exists)()
    assert (await queue.recv_until("queue"))["conversations"] == []  # the queue refreshes too
    await queue.close()


async def test_a_deletion_request_ends_the_customers_conversations_for_the_agent() -> None:
    def setup() -> tuple[User, uuid.UUID, DataRequest]:
        agent, customer = _agent(), UserFactory(role="customer")
        conversation_id = _claimed(customer, agent)
        now = timezone.now()
        request = DataRequest.objects.create(
            kind=DataRequest.Kind.DELETION,
            status=DataRequest.Status.APPROVED,
            subject=customer,
            requested_at=now,
            verified_at=now,
            decided_at=now,
            due_at=lifecycle.due_date(now),
        )
        RequestDetails.objects.create(request=request, email="", reason="")
        return agent, conversation_id, request

    agent, conversation_id, request = await sync_to_async(setup)()
    watcher = await _watching(agent, conversation_id)
    done = await sync_to_async(deletion_execute)(request_id=request.pk)
    assert done is not None and done.status == DataRequest.Status.DONE
    await _ends(watcher, "deleted_by_request")


async def test_the_retention_purge_ends_it_for_the_agent(settings: Any) -> None:
    settings.RETENTION_DAYS = 30
    agent = await sync_to_async(_agent)()
    conversation_id = await sync_to_async(_claimed)(None, agent)
    watcher = await _watching(agent, conversation_id)
    old = timezone.now() - dt.timedelta(days=31)
    await sync_to_async(Conversation.objects.filter(pk=conversation_id).update)(last_message_at=old)
    run = await sync_to_async(retention.purge)()
    assert run.conversations == 1
    await _ends(watcher, "retention")


async def test_only_the_deleted_conversations_watchers_are_told_and_only_after_the_commit() -> None:
    agent = await sync_to_async(_agent)()
    gone, kept = await sync_to_async(lambda: (_claimed(None, agent), _claimed(None, agent)))()
    on_gone, on_kept = await _watching(agent, gone), await _watching(agent, kept)

    def rolled_back(call: Callable[[], object]) -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            call()
            raise RuntimeError("the caller's transaction fails after the deletion")

    await sync_to_async(rolled_back)(lambda: deletion.conversations_delete(ids=[gone], reason=deletion.RETENTION))
    assert await on_gone.nothing(0.5)  # rolled back: nothing happened, nobody is told
    assert await sync_to_async(Conversation.objects.filter(pk=gone).exists)()

    await sync_to_async(deletion.conversations_delete)(ids=[gone], reason=deletion.RETENTION)
    await _ends(on_gone, "retention")
    assert await on_kept.nothing(0.5)
    await on_kept.close()


async def test_an_unknown_reason_deletes_nothing() -> None:
    conversation = await sync_to_async(services.conversation_start)(customer=None)
    with pytest.raises(ValueError, match="unknown reason"):
        await sync_to_async(deletion.conversations_delete)(ids=[conversation.pk], reason="resolved")
    assert await sync_to_async(Conversation.objects.filter(pk=conversation.pk).exists)()


async def test_a_reconnect_after_the_deletion_is_refused_like_any_missing_conversation() -> None:
    agent = await sync_to_async(_agent)()
    conversation_id = await sync_to_async(_claimed)(None, agent)
    watcher = await _watching(agent, conversation_id)
    await sync_to_async(deletion.conversations_delete)(ids=[conversation_id], reason=deletion.DELETED_BY_CUSTOMER)
    await _ends(watcher, "deleted_by_customer")
    again = Socket(f"/ws/agent/conversations/{conversation_id}/", await sync_to_async(login_session)(agent))
    assert not await again.connect() and again.close_code == 4403
