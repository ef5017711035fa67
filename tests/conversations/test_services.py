from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from conversations import deletion, services
from conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db


def _post(
    conversation: Conversation, body: str, sender: str = "customer", author: object = None
) -> services.PostResult:
    return services.message_post(
        conversation_id=conversation.pk, sender=sender, body=body, client_id=uuid.uuid4(), author=author
    )


def test_start_records_the_notice_shown_and_discloses_the_bot(settings: object) -> None:
    conversation = services.conversation_start(customer=None)
    assert conversation.notice_version == settings.PRIVACY_NOTICE_VERSION and conversation.notice_shown_at
    greeting = conversation.messages.get()
    assert greeting.seq == 1 and greeting.sender == "bot" and "automated" in greeting.body


def test_full_ticket_lifecycle(agent: object) -> None:
    conversation = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.state == "waiting" and conversation.waiting_since
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    conversation.refresh_from_db()
    assert conversation.state == "agent" and conversation.assigned_agent == agent
    _post(conversation, "hello", sender="agent", author=agent)
    services.conversation_resolve(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.state == "resolved" and conversation.resolved_at
    # The customer writes again: reopened into the queue.
    result = _post(conversation, "one more thing")
    conversation.refresh_from_db()
    assert result.state == conversation.state == "waiting" and conversation.assigned_agent is None
    bodies = list(conversation.messages.values_list("sender", flat=True))
    assert bodies == ["bot", "system", "system", "agent", "system", "customer", "system"]


def test_second_agent_cannot_take_a_claimed_conversation(
    agent: object, other_agent: object, supervisor: object
) -> None:
    conversation = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    with pytest.raises(services.ConversationError) as exc:
        services.conversation_claim(conversation_id=conversation.pk, agent=other_agent)
    assert exc.value.code == "already_claimed"
    # A supervisor may take it over.
    services.conversation_claim(conversation_id=conversation.pk, agent=supervisor, take_over=True)
    conversation.refresh_from_db()
    assert conversation.assigned_agent == supervisor


def test_agent_cannot_write_to_a_conversation_that_is_not_with_an_agent(agent: object) -> None:
    conversation = services.conversation_start(customer=None)
    with pytest.raises(services.ConversationError):
        _post(conversation, "hi", sender="agent", author=agent)


def test_client_id_reused_by_another_sender_is_refused(agent: object) -> None:
    conversation = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    client_id = uuid.uuid4()
    services.message_post(conversation_id=conversation.pk, sender="customer", body="mine", client_id=client_id)
    with pytest.raises(services.ConversationError):
        services.message_post(
            conversation_id=conversation.pk, sender="agent", body="hijack", client_id=client_id, author=agent
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_get_distinct_consecutive_seqs() -> None:
    conversation = services.conversation_start(customer=None)
    services.conversation_hand_over(conversation_id=conversation.pk)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                _post(conversation, f"writer {n} message {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = list(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 2 + 40


def test_notes_are_idempotent_and_separate_from_messages(agent: object) -> None:
    conversation = services.conversation_start(customer=None)
    client_id = uuid.uuid4()
    first = services.note_add(conversation_id=conversation.pk, author=agent, client_id=client_id, body="note")
    again = services.note_add(conversation_id=conversation.pk, author=agent, client_id=client_id, body="note")
    assert first.pk == again.pk
    assert conversation.messages.count() == 1


def test_conversations_delete_removes_messages_notes_and_conversations_in_sql(agent: object) -> None:
    from conversations.models import InternalNote

    gone, kept = services.conversation_start(customer=None), services.conversation_start(customer=None)
    _post(gone, "hello")
    services.note_add(conversation_id=gone.pk, author=agent, client_id=uuid.uuid4(), body="a note")
    messages_gone = Message.objects.filter(conversation=gone).count()
    messages_kept = Message.objects.filter(conversation=kept).count()
    assert messages_gone >= 2  # the greeting and "hello"

    assert deletion.conversations_delete(ids=[gone.pk], reason=deletion.RETENTION) == (messages_gone, 1, 1)
    assert not Conversation.objects.filter(pk=gone.pk).exists()
    assert not Message.objects.filter(conversation_id=gone.pk).exists()
    assert not InternalNote.objects.filter(conversation_id=gone.pk).exists()
    assert Message.objects.filter(conversation=kept).count() == messages_kept
    assert deletion.conversations_delete(ids=[], reason=deletion.RETENTION) == (0, 0, 0)


def test_conversations_held_unlink_keeps_held_conversations_without_their_customer(customer: object) -> None:
    held, other = services.conversation_start(customer=customer), services.conversation_start(customer=customer)
    Conversation.objects.filter(pk=held.pk).update(legal_hold=True)

    assert services.conversations_held_unlink(customer=customer) == 1
    held.refresh_from_db()
    other.refresh_from_db()
    assert held.customer_id is None and other.customer_id == customer.pk
