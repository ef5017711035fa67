"""Knowledge-base retrieval with TF-IDF (scikit-learn) and cosine similarity.

The index is built once per process and rebuilt when articles change (checked with one
aggregate query per lookup), so every ASGI process answers from the same articles.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import snowballstemmer
from django.conf import settings
from django.db.models import Count, Max
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.preprocessing import Normalizer

from conversations.models import KnowledgeArticle


@dataclass(frozen=True)
class Match:
    article_id: int
    title: str
    answer: str
    score: float


_WORD = re.compile(r"[\w']+")
_stemmer = snowballstemmer.stemmer("english")


def _stems(text: str) -> list[str]:
    """Lower-cased word stems without stop words: "crashing" and "crashed" both become "crash"."""
    return _stemmer.stemWords([w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS])


def _stem_bigrams(text: str) -> list[str]:
    stems = _stems(text)
    return stems + [f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False)]


def _without_stop_words(text: str) -> str:
    return " ".join(_stems(text))


class _Index:
    def __init__(self, articles: list[KnowledgeArticle]) -> None:
        self.articles = [(a.pk, a.title, a.answer) for a in articles]
        self.vectorizer: Pipeline | None = None
        self.matrix: Any = None
        if articles:
            # Titles and sample questions say what an article is about; weigh them above the answer.
            docs = [f"{a.title} {a.title} {a.questions} {a.questions} {a.answer}" for a in articles]
            # Words catch the topic; character n-grams within words catch other forms of the same
            # word ("crashing"/"crashed") and typos. Each part is normalised, then the sum again.
            self.vectorizer = make_pipeline(
                make_union(
                    TfidfVectorizer(analyzer=_stem_bigrams, sublinear_tf=True, strip_accents="unicode"),
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(4, 5),
                        sublinear_tf=True,
                        strip_accents="unicode",
                        preprocessor=_without_stop_words,
                    ),
                ),
                Normalizer(),
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
