from __future__ import annotations

import uuid

import pytest

from conversations import services
from conversations.bot import intent, retrieval
from conversations.models import Conversation, KnowledgeArticle
from demo.data import ARTICLES
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_articles() -> None:
    for article in ARTICLES:
        KnowledgeArticle.objects.create(**article)


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("I lost my card", "Lost or stolen card"),
        ("someone stole my wallet with my debit card", "Lost or stolen card"),
        ("what time do you open on saturday", "Opening hours"),
        ("how do I send money to another country", "International transfers"),
        ("I forgot my PIN", "Forgot my PIN"),
        ("can't log in to online banking", "Reset online banking password"),
        ("app keeps crashing", "App not working"),
        ("how do I add my card to apple pay", "Contactless and mobile payments"),
        ("I don't recognise a payment on my statement", "Report a suspicious transaction or fraud"),
        ("my husband died", "Power of attorney and bereavement"),
        ("Whats the intrest on savings?", "Savings accounts and interest rates"),
        ("I was charged twice for the same purchase", "Dispute a card payment"),
        ("How much cash can I take out per day?", "Payment limits"),
        ("My card is stuck in the cash machine", "Order a replacement card"),
    ],
)
def test_knowledge_base_questions_get_the_right_article(demo_articles: None, question: str, title: str) -> None:
    match = retrieval.best_match(question)
    assert match is not None and match.title == title


@pytest.mark.parametrize("question", ["what is the meaning of life", "tell me a joke", "do you sell pizza", "asdfgh"])
def test_off_topic_questions_fall_below_the_threshold(demo_articles: None, question: str) -> None:
    assert retrieval.best_match(question) is None


def test_unpublished_and_edited_articles_are_picked_up_without_restart() -> None:
    article = ArticleFactory(title="Parking", questions="where can I park", answer="Park behind the branch.")
    assert retrieval.best_match("where can I park my car").title == "Parking"
    article.is_published = False
    article.save(update_fields=["is_published", "updated_at"])
    assert retrieval.best_match("where can I park my car") is None
    assert retrieval.best_match("anything") is None  # an empty knowledge base answers nothing


@pytest.mark.parametrize(
    "text",
    ["agent", "I want a human", "can I talk to a person?", "Speak with someone please", "REAL PERSON", "operator!"],
)
def test_asking_for_a_human_is_recognised(text: str) -> None:
    assert intent.wants_human(text)


@pytest.mark.parametrize("text", ["I lost my card", "a person stole my card", "humanity", "my agenda"])
def test_ordinary_questions_are_not_handoffs(text: str) -> None:
    assert not intent.wants_human(text)


def _customer_says(conversation: Conversation, body: str) -> None:
    result = services.message_post(
        conversation_id=conversation.pk, sender="customer", body=body, client_id=uuid.uuid4()
    )
    services.bot_respond(conversation_id=conversation.pk, message=result.message)


def test_bot_answers_with_the_article_and_names_it(demo_articles: None) -> None:
    conversation = services.conversation_start(customer=None)
    _customer_says(conversation, "How do I pay in a cheque?")
    reply = conversation.messages.order_by("seq").last()
    assert reply.sender == "bot" and "photographing it in the app" in reply.body and "Cheques" in reply.body


def test_bot_says_it_does_not_know_and_offers_a_human(demo_articles: None) -> None:
    conversation = services.conversation_start(customer=None)
    _customer_says(conversation, "do you sell pizza")
    reply = conversation.messages.order_by("seq").last()
    assert "not sure" in reply.body and "person" in reply.body
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.BOT


def test_bot_hands_over_when_asked_and_stays_quiet_afterwards(demo_articles: None) -> None:
    conversation = services.conversation_start(customer=None)
    _customer_says(conversation, "let me talk to a human")
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.WAITING
    count = conversation.messages.count()
    _customer_says(conversation, "I lost my card")
    assert conversation.messages.count() == count + 1  # the customer's message only; no bot reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", "Hello!"),
        ("Hi there!", "Hello!"),
        ("thanks!", "welcome"),
        ("Thank you so much", "welcome"),
        ("hello, I lost my card", None),
        ("thanks but my card is still blocked and nobody helps", None),
    ],
)
def test_greetings_and_thanks_get_a_friendly_reply(text: str, expected: str | None) -> None:
    reply = intent.small_talk(text)
    assert (reply is None) if expected is None else (expected in reply)
