"""Knowledge-base retrieval with TF-IDF (scikit-learn) and cosine similarity.

The index is built once per process and rebuilt at the first lookup after the published articles
change. A lookup asks no database query while nothing changed: saving or deleting an article
(signals, so the admin too) bumps a version token in the shared cache (Redis), which every
process compares with its index's token. Bulk changes that send no signals (`QuerySet.update`,
`bulk_create`, raw SQL) must call `index_invalidate()`. With a cache that is not shared between
processes (embedded mode's in-memory cache) the version is read from the database instead, one
aggregate query per lookup, so a change made by another process (`seed_demo`) is still seen.

A search transforms the query through the fitted vectorizers' analyzers, vocabularies and idf
weights directly: the same numbers as `Pipeline.transform` + `linear_kernel`, without
scikit-learn's per-call input validation.
"""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import snowballstemmer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
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
# A snowballstemmer stemmer keeps the word it works on in its own attributes: one at a time.
_stemmer = snowballstemmer.stemmer("english")
_stemmer_lock = threading.Lock()


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """The pure-Python stemmer costs ~80 µs a word and articles repeat their words: stem each once."""
    with _stemmer_lock:
        return _stemmer.stemWord(word)


def _stems(text: str) -> list[str]:
    """Lower-cased word stems without stop words: "crashing" and "crashed" both become "crash"."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


def _stem_bigrams(text: str) -> list[str]:
    stems = _stems(text)
    return stems + [f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False)]


def _without_stop_words(text: str) -> str:
    return " ".join(_stems(text))


class _Index:
    def __init__(self, articles: list[KnowledgeArticle], *, version: Any = None) -> None:
        self.version = version
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
            # What `transform` does, part by part: features (the fitted analyzer, which is also
            # what fit used), their columns, and idf weights; each part's columns follow the last.
            self._parts = []
            offset = 0
            for _, part in self.vectorizer.steps[0][1].transformer_list:
                self._parts.append((part.build_analyzer(), part.vocabulary_, part.idf_, offset))
                offset += len(part.vocabulary_)
            # Articles by feature: a query's scores are the weighted sum of its features' rows.
            self._by_feature = self.matrix.T.tocsr()

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The query's columns and weights: sublinear tf × idf, l2-normalised per part, then whole."""
        columns, weights = [], []
        for analyze, vocabulary, idf, offset in self._parts:
            counts = Counter(f for f in analyze(text) if f in vocabulary)
            if not counts:
                continue
            cols = np.fromiter((vocabulary[f] for f in counts), dtype=np.intp, count=len(counts))
            w = (np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1.0) * idf[cols]
            columns.append(cols + offset)
            weights.append(w / np.sqrt(np.dot(w, w)))
        if not columns:
            return np.empty(0, dtype=np.intp), np.empty(0)
        w = np.concatenate(weights)
        return np.concatenate(columns), w / np.sqrt(np.dot(w, w))

    def scores(self, text: str) -> np.ndarray:
        """Cosine similarity of `text` to every article, in `articles` order."""
        columns, weights = self._vector(text)
        if not len(columns):
            return np.zeros(len(self.articles))
        return self._by_feature[columns].T @ weights

    def search(self, text: str) -> Match | None:
        if self.vectorizer is None:
            return None
        scores = self.scores(text)
        best = int(scores.argmax())
        pk, title, answer = self.articles[best]
        return Match(article_id=pk, title=title, answer=answer, score=float(scores[best]))


# --- which articles the index was built from ----------------------------------------------------
_VERSION_KEY = "conversations.bot.index-version"


def _shared_cache() -> bool:
    return not settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def _version_bump() -> None:
    cache.set(_VERSION_KEY, uuid.uuid4().hex, timeout=None)


def index_invalidate() -> None:
    """Make every process rebuild its index at its next lookup. Called on each article's save and
    delete (signals below); call it after changing articles in bulk without signals.

    Bumps at once (this transaction's own lookups see the change) and again after the commit
    (another process that rebuilt in between read the rows from before the commit)."""
    _version_bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_version_bump)


def _version() -> Any:
    if not _shared_cache():
        published = KnowledgeArticle.objects.filter(is_published=True)
        return tuple(published.aggregate(n=Count("id"), changed=Max("updated_at")).values())
    version = cache.get(_VERSION_KEY)
    if version is None:  # first start, or the cache was emptied: whatever was built before is unknown
        cache.add(_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(_VERSION_KEY)
    return version


_lock = threading.Lock()
_current: list[_Index] = []


def _index() -> _Index:
    version = _version()  # read before the articles: a change after it bumps it again
    if _current and _current[0].version == version:
        return _current[0]
    with _lock:
        if not _current or _current[0].version != version:
            articles = list(KnowledgeArticle.objects.filter(is_published=True).order_by("pk"))
            _current[:] = [_Index(articles, version=version)]
        return _current[0]


def index_build() -> None:
    """Build the index now if it is missing or stale: a process's first widget socket asks for it
    in the background, so that its first customer's answer does not wait for the build."""
    _index()


def article_changed(**kwargs: Any) -> None:
    """Receiver of KnowledgeArticle's post_save and post_delete (connected in apps.py)."""
    index_invalidate()


def search(text: str) -> Match | None:
    """The best-matching published article, whatever its score."""
    return _index().search(text)


def best_match(text: str) -> Match | None:
    """The best article if the bot is confident enough to answer with it, else None."""
    match = search(text)
    if match is None or match.score < settings.BOT_CONFIDENCE_THRESHOLD:
        return None
    return match
