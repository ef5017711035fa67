from __future__ import annotations

import uuid

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User
from conversations import services
from conversations.models import Conversation, KnowledgeArticle, Message

PASSWORD = "correct-horse-battery-9"
# Hashed once per test run with the real hasher: hashing per user would cost ~0.3 s each.
_PASSWORD_HASH = make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    role = User.Role.CUSTOMER
    password = _PASSWORD_HASH


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeArticle

    title = factory.Sequence(lambda n: f"Article {n}")
    questions = ""
    answer = factory.Faker("paragraph")


def conversation_with(customer: User | None, *texts: str) -> Conversation:
    """A conversation (the bot's greeting first) in which the customer, or a visitor when
    `customer` is None, has said each of `texts`."""
    conversation = services.conversation_start(customer=customer)
    for text in texts:
        services.message_post(
            conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, body=text, client_id=uuid.uuid4()
        )
    return conversation


def conversation_waiting(customer: User | None = None) -> Conversation:
    """A conversation handed over to the agents' queue, claimed by nobody yet."""
    conversation = services.conversation_start(customer=customer)
    services.conversation_hand_over(conversation_id=conversation.pk)
    return conversation


def conversation_assigned(agent: User, customer: User | None = None) -> Conversation:
    """A conversation handed over and claimed by `agent`."""
    conversation = conversation_waiting(customer)
    return services.conversation_claim(conversation_id=conversation.pk, agent=agent)
