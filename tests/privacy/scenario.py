"""A full conversation with a canary string in every personal field, written through the services."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from accounts.models import User
from conversations import services
from conversations.models import Conversation
from tests.factories import UserFactory


@dataclass
class Scenario:
    customer: User
    agent: User
    conversation: Conversation
    canaries: list[str]


def canary(tag: str) -> str:
    return f"CANARY{tag.upper()}{secrets.token_hex(6).upper()}"


def full_conversation(tag: str) -> Scenario:
    """Customer with names and e-mail, a bot answer, a hand-over, an agent's reply, an internal
    note, resolution: each personal value carries its own canary."""
    names = {part: canary(f"{tag}{part}") for part in ("first", "last", "mail", "agent", "said", "reply", "note")}
    customer = UserFactory(
        role=User.Role.CUSTOMER,
        first_name=names["first"],
        last_name=names["last"],
        email=f"{names['mail'].lower()}@example.com",
    )
    agent = UserFactory(role=User.Role.AGENT, first_name=names["agent"], email=f"{names['agent'].lower()}@bank.test")
    conversation = services.conversation_start(customer=customer)
    said = services.message_post(
        conversation_id=conversation.pk,
        sender="customer",
        body=f"My card 4111 1111 1111 1111 was stolen, I am {names['said']}",
        client_id=uuid.uuid4(),
    )
    services.bot_respond(conversation_id=conversation.pk, message=said.message)
    services.conversation_hand_over(conversation_id=conversation.pk)
    services.conversation_claim(conversation_id=conversation.pk, agent=agent)
    services.message_post(
        conversation_id=conversation.pk,
        sender="agent",
        body=f"Card blocked. Reference {names['reply']}",
        client_id=uuid.uuid4(),
        author=agent,
    )
    services.note_add(
        conversation_id=conversation.pk, author=agent, client_id=uuid.uuid4(), body=f"Diagnosis {names['note']}"
    )
    services.conversation_resolve(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    return Scenario(customer, agent, conversation, list(names.values()))
