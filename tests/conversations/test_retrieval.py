"""The bot's index: the same scores as scikit-learn's full pipeline, no query per lookup while
the articles are unchanged, and every change picked up (signals, bulk changes, other processes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from sklearn.metrics.pairwise import linear_kernel

from conversations.bot import retrieval
from conversations.models import KnowledgeArticle
from demo.data import ARTICLES
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

QUERIES = [
    "I lost my card",
    "someone stole my wallet with my debit card",
    "Whats the intrest on savings?",
    "app keeps crashing!!",
    "how do I add my card to apple pay",
    "Café près de la banque: ouvert le dimanche?",  # accents, another language
    "card card card card",  # repeated words: sublinear tf
    "asdfgh",  # nothing known: every score 0
    "",
    "a the of",  # stop words only
    "PIN",
]


def test_scores_are_the_full_pipelines() -> None:
    index = retrieval._Index([KnowledgeArticle(pk=i + 1, **a) for i, a in enumerate(ARTICLES)])
    expected = linear_kernel(index.vectorizer.transform(QUERIES), index.matrix)
    for query, row in zip(QUERIES, expected, strict=True):
        np.testing.assert_allclose(index.scores(query), row, rtol=0, atol=1e-12, err_msg=query)
        match = index.search(query)
        assert match.article_id == index.articles[int(row.argmax())][0]


def test_an_unchanged_knowledge_base_is_searched_without_a_query(
    requires_redis: None, django_assert_num_queries: Any
) -> None:
    ArticleFactory(title="Parking", questions="where can I park", answer="Park behind the branch.")
    assert retrieval.best_match("where can I park").title == "Parking"
    with django_assert_num_queries(0):
        assert retrieval.best_match("where can I park my car").title == "Parking"


def test_bulk_changes_are_picked_up_after_index_invalidate(requires_redis: None) -> None:
    article = ArticleFactory(title="Parking", questions="where can I park", answer="Park behind the branch.")
    assert retrieval.best_match("where can I park").title == "Parking"
    KnowledgeArticle.objects.filter(pk=article.pk).update(title="Car park")  # no signal
    assert retrieval.best_match("where can I park").title == "Parking"
    retrieval.index_invalidate()
    assert retrieval.best_match("where can I park").title == "Car park"


def test_another_processs_change_is_picked_up(requires_redis: None) -> None:
    """Another process's save bumps the shared version; this process has no signal of it."""
    article = ArticleFactory(title="Parking", questions="where can I park", answer="Park behind the branch.")
    assert retrieval.best_match("where can I park") is not None
    KnowledgeArticle.objects.filter(pk=article.pk).update(is_published=False)
    cache.set(retrieval._VERSION_KEY, "bumped by another process", timeout=None)
    assert retrieval.best_match("where can I park") is None


def test_an_emptied_cache_rebuilds_the_index(requires_redis: None) -> None:
    article = ArticleFactory(title="Parking", questions="where can I park", answer="Park behind the branch.")
    assert retrieval.best_match("where can I park") is not None
    KnowledgeArticle.objects.filter(pk=article.pk).update(is_published=False)
    cache.clear()
    assert retrieval.best_match("where can I park") is None


def test_deleting_an_article_removes_it() -> None:
    ArticleFactory(title="Parking", questions="where can I park", answer="Park behind the branch.")
    article = ArticleFactory(title="Opening hours", questions="when are you open", answer="9 to 5.")
    assert retrieval.best_match("when are you open").title == "Opening hours"
    article.delete()
    assert retrieval.best_match("when are you open") is None


def test_without_a_shared_cache_the_database_says_what_changed(settings: Any) -> None:
    """Embedded mode: the in-memory cache is this process's alone, so a change another process
    made (no signal here) is found in the database."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kb"}}
    article = ArticleFactory(title="Parking", questions="where can I park", answer="Park behind the branch.")
    assert retrieval.best_match("where can I park") is not None
    KnowledgeArticle.objects.filter(pk=article.pk).update(is_published=False)
    assert retrieval.best_match("where can I park") is None
