"""The bot never asks for a secret (conversations.bot.safety), and says what to do instead when
one was masked out of a customer's message."""

from __future__ import annotations

import uuid

import pytest

from conversations import masking, services
from conversations.admin import KnowledgeArticleForm
from conversations.bot import safety
from conversations.models import Conversation, KnowledgeArticle, Message
from conversations.redaction import Kind
from demo.data import ARTICLES

pytestmark = pytest.mark.django_db


def _ask(text: str) -> str:
    conversation = services.conversation_start(customer=None)
    posted = services.message_post(
        conversation_id=conversation.pk, sender="customer", body=text, client_id=uuid.uuid4()
    ).message
    reply = services.bot_respond(conversation_id=conversation.pk, message=posted)
    return reply.body if reply else ""


@pytest.mark.parametrize(
    "text",
    [
        "Please send me your card number so I can check.",
        "What is your password?",
        "Type the code we texted you here.",
        "To verify, confirm your PIN.",
        "We need your CVV to proceed.",
        "Reply with the one-time code.",
        "Could you give us your full card number?",
        "If you do not remember it, send us your password.",
        "Don't worry: just reply with your card number.",
        "Let us know your full card number.",
        "Reply with the 6-digit code we sent you.",
    ],
)
def test_a_request_for_a_secret_is_caught(text: str) -> None:
    assert safety.asks_for_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        "We will never ask for your PIN, full password or a code we texted you.",
        "Never share that code with anyone, including us.",
        "You can view your PIN in the app under Cards > Show PIN.",
        "Unlock it by entering the right PIN at one of our cash machines.",
        "Send us a photo of the receipt.",
        "Don't type your password here.",
    ],
)
def test_advice_about_secrets_is_not_a_request(text: str) -> None:
    assert safety.asks_for_secret(text) is None


def test_no_answer_over_the_whole_knowledge_base_asks_for_a_secret() -> None:
    for article in ARTICLES:
        KnowledgeArticle.objects.create(**article)
    answered = 0
    for article in KnowledgeArticle.objects.all():
        assert safety.asks_for_secret(article.answer) is None, article.title
        for question in filter(None, (q.strip() for q in article.questions.splitlines())):
            reply = _ask(question)
            assert safety.asks_for_secret(reply) is None, (question, reply)
            answered += article.answer in reply
    assert answered >= len(ARTICLES)  # the walk reached every article, not only the fallback
    # ...and everything else the bot or the system says.
    fixed = [
        services.greeting_text(),
        _ask("hello"),
        _ask("thanks"),
        _ask("zebra crossing quantum soup"),
        *(m.body for m in Message.objects.filter(sender="system")),
        *(masking.secrets_advice([kind]) for kind in masking.SECRETS),
        masking.secrets_advice(list(Kind)),
    ]
    for text in fixed:
        assert safety.asks_for_secret(text) is None, text


def test_a_masked_secret_gets_advice_and_the_answer_still_follows() -> None:
    for article in ARTICLES:
        KnowledgeArticle.objects.create(**article)
    reply = _ask("My card 4111 1111 1111 1111 was stolen, what should I do?")
    assert reply.startswith("I removed a card number from your message")
    assert "Freeze your card" in reply  # the question was still answered
    only_secret = _ask("my password is hunter2hunter2")
    assert only_secret.startswith("I removed a password from your message") and "not sure" not in only_secret
    assert "hunter2" not in only_secret
    plain = _ask("call me back on +1 415 555 0132")  # a phone number is not a secret: no lecture
    assert "I removed" not in plain


def test_an_article_asking_for_a_secret_is_refused_in_the_admin_and_never_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    asking = {
        "title": "Verify your identity",
        "questions": "how do I verify my identity",
        "answer": "Sure. Please send me your card number and PIN so I can check it.",
    }
    form = KnowledgeArticleForm(data={**asking, "is_published": True})
    assert not form.is_valid() and "never asks for passwords" in str(form.errors["answer"])
    KnowledgeArticle.objects.create(**asking)  # a bulk import bypasses the admin
    reply = _ask("how do I verify my identity")
    assert "card number and PIN" not in reply and reply.startswith(services.NO_ANSWER)
    assert "asks for a secret" in caplog.text
    assert Conversation.objects.count() == 1
