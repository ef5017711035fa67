"""Knowledge-base retrieval with TF-IDF (scikit-learn) and cosine similarity.

The index is built once per process and rebuilt when articles change (checked with one
aggregate query per lookup), so every ASGI process answers from the same articles.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from conversations.models import KnowledgeArticle


@dataclass(frozen=True)
class Match:
    article_id: int
    title: str
    answer: str
    score: float


class _Index:
    def __init__(self, articles: list[KnowledgeArticle]) -> None:
        self.articles = [(a.pk, a.title, a.answer) for a in articles]
        self.vectorizer: TfidfVectorizer | None = None
        self.matrix: Any = None
        if articles:
            # Titles and sample questions say what an article is about; weigh them above the answer.
            docs = [f"{a.title} {a.title} {a.questions} {a.questions} {a.answer}" for a in articles]
            self.vectorizer = TfidfVectorizer(
                stop_words="english", ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode"
            )
            self.matrix = self.vectorizer.fit_transform(docs)

    def search(self, text: str) -> Match | None:
        if self.vectorizer is None:
            return None
        scores = linear_kernel(self.vectorizer.transform([text]), self.matrix).ravel()
        best = int(scores.argmax())
        pk, title, answer = self.articles[best]
        return Match(article_id=pk, title=title, answer=answer, score=float(scores[best]))


_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "index": None}


def _index() -> _Index:
    published = KnowledgeArticle.objects.filter(is_published=True)
    version = tuple(published.aggregate(n=Count("id"), changed=Max("updated_at")).values())
    with _lock:
        if _cache["version"] != version:
            _cache["index"] = _Index(list(published.order_by("pk")))
            _cache["version"] = version
        return _cache["index"]


def search(text: str) -> Match | None:
    """The best-matching published article, whatever its score."""
    return _index().search(text)


def best_match(text: str) -> Match | None:
    """The best article if the bot is confident enough to answer with it, else None."""
    match = search(text)
    if match is None or match.score < settings.BOT_CONFIDENCE_THRESHOLD:
        return None
    return match
