"""The bot's knowledge-base search at 2,000 articles: index build, one search, and the lookup path.

    CONFIDANT_DEV_ENV=1 .venv/bin/python bench/kb_search.py [--articles 2000] [--queries 300]

Generates a retail bank's help centre deterministically (titles, sample questions and answers
from fixed vocabularies and a seeded random generator) in memory, builds the retrieval index over
it, and times, in the same run:
- the index build (what every process does at start and after each change to the articles);
- one search through scikit-learn's full pipeline (`Pipeline.transform` + `linear_kernel`), the
  way search ran before issue 13, against `retrieval`'s direct transform over the fitted
  vectorizers; the scores of both are compared on every query;
- `retrieval.search()` with the articles in the database: the version check and the search, as
  the bot calls it per message (median and p99).
Prints the times and the ratio old/new (target: search p99 well under 100 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.db import transaction  # noqa: E402
from sklearn.metrics.pairwise import linear_kernel  # noqa: E402

from conversations.bot import retrieval  # noqa: E402
from conversations.models import KnowledgeArticle  # noqa: E402

PRODUCTS = [
    "debit card", "credit card", "savings account", "current account", "joint account", "mortgage",
    "personal loan", "car loan", "overdraft", "business account", "student account", "ISA",
    "mobile app", "online banking", "standing order", "direct debit", "international transfer",
    "cheque", "PIN", "statement", "travel money", "contactless payment", "Apple Pay", "Google Pay",
    "savings pot", "fixed-rate bond", "pension", "insurance policy", "cash machine", "branch visit",
    "phone banking", "paper statement", "account alert", "payee", "recurring payment", "cashback",
    "rewards points", "credit limit", "interest rate", "home insurance",
]  # fmt: skip
TASKS = [
    ("Open a {p}", ["how do I open a {p}", "apply for a {p}", "can I get a {p}", "sign up for a {p}"]),
    ("Close your {p}", ["close my {p}", "cancel my {p}", "I want to end my {p}", "shut down {p}"]),
    ("Fees for a {p}", ["how much does a {p} cost", "{p} charges", "is the {p} free", "monthly fee {p}"]),
    ("Change the limit on your {p}", ["increase {p} limit", "lower my {p} limit", "{p} maximum"]),
    ("Report a problem with your {p}", ["{p} not working", "something wrong with my {p}", "{p} error"]),
    ("Update details on your {p}", ["change address on {p}", "update my {p} details", "rename {p}"]),
    ("Check the balance of your {p}", ["what's my {p} balance", "how much is in my {p}", "{p} balance"]),
    ("Set up a {p} abroad", ["use my {p} overseas", "{p} when travelling", "{p} in another country"]),
    ("Eligibility for a {p}", ["can I have a {p}", "who can apply for {p}", "{p} requirements"]),
    ("Documents for a {p}", ["what ID do I need for {p}", "{p} paperwork", "proof of address {p}"]),
]
AUDIENCES = ["", " for students", " for businesses", " for joint holders", " for new customers"]
STEPS = [
    "Open the app and go to {area}.", "Choose {p} from the list.", "Confirm with your fingerprint or passcode.",
    "Check the details and tap Continue.", "We send a confirmation by e-mail within {n} working days.",
    "You can also call us on 0800 123 4567, open 8:00 to 20:00.", "Visit any branch with photo ID.",
    "Fees are listed under {area} > Pricing.", "Changes take effect from the next statement.",
    "If anything looks wrong, freeze your card first and then contact us.",
]  # fmt: skip
AREAS = ["Accounts", "Cards", "Payments", "Settings", "Help", "Profile", "Savings", "Loans"]


def generate(n: int, *, seed: int = 13) -> list[dict[str, str]]:
    """`n` distinct help articles, the same for the same `n` and `seed`."""
    rng = random.Random(seed)
    combos = [(p, t, a) for a in AUDIENCES for t in TASKS for p in PRODUCTS]
    rng.shuffle(combos)
    if n > len(combos):
        raise SystemExit(f"at most {len(combos)} distinct articles")
    articles = []
    for product, (title, questions), audience in combos[:n]:
        asked = rng.sample(questions, k=min(3, len(questions)))
        steps = rng.sample(STEPS, k=4)
        answer = " ".join(s.format(p=product, area=rng.choice(AREAS), n=rng.randint(1, 10)) for s in steps)
        articles.append(
            {
                "title": (title.format(p=product) + audience)[:200],
                "questions": "\n".join(q.format(p=product) + audience for q in asked),
                "answer": answer,
            }
        )
    return articles


def queries(articles: list[dict[str, str]], n: int, *, seed: int = 7) -> list[str]:
    """Customer-like queries: an article's question reworded, with a typo now and then, and some
    off-topic ones."""
    rng = random.Random(seed)
    off_topic = ["what is the meaning of life", "tell me a joke", "do you sell pizza", "asdfgh", "hello?"]
    out = []
    for i in range(n):
        if i % 10 == 0:
            out.append(off_topic[(i // 10) % len(off_topic)])
            continue
        question = rng.choice(rng.choice(articles)["questions"].splitlines())
        words = question.split()
        if rng.random() < 0.3 and words:  # a typo: two letters swapped
            w = rng.randrange(len(words))
            if len(words[w]) > 3:
                k = rng.randrange(len(words[w]) - 1)
                words[w] = words[w][:k] + words[w][k + 1] + words[w][k] + words[w][k + 2 :]
        out.append(("please " if rng.random() < 0.3 else "") + " ".join(words) + rng.choice(["", "?", " thanks"]))
    return out


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def _p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = generate(args.articles)
    asked = queries(data, args.queries)
    unsaved = [KnowledgeArticle(pk=i + 1, **a) for i, a in enumerate(data)]

    builds = [_timed(retrieval._Index, unsaved)[0] for _ in range(args.rounds)]
    index = retrieval._Index(unsaved)
    for q in asked[:20]:  # warm up
        index.search(q)

    def pipeline_search(text: str) -> tuple[int, float]:
        scores = linear_kernel(index.vectorizer.transform([text]), index.matrix).ravel()
        return int(scores.argmax()), float(scores.max())

    old, new, worst = [], [], 0.0
    for q in asked:  # interleaved, so drift in the machine hits both alike
        t_old, (best_old, score_old) = _timed(pipeline_search, q)
        t_new, match = _timed(index.search, q)
        old.append(t_old)
        new.append(t_new)
        assert match is not None and index.articles[best_old][0] == match.article_id, q
        worst = max(worst, abs(score_old - match.score))
    full = np.asarray(linear_kernel(index.vectorizer.transform(asked), index.matrix))
    direct = np.vstack([index.scores(q) for q in asked])
    worst = max(worst, float(np.abs(full - direct).max()))

    # The lookup path with the articles in the database: version check + search, per message.
    with transaction.atomic():
        KnowledgeArticle.objects.bulk_create(KnowledgeArticle(**a) for a in data)
        retrieval.index_invalidate()
        first, _ = _timed(retrieval.search, "warm up: builds the index")
        lookups = [_timed(retrieval.search, q)[0] for q in asked]
        transaction.set_rollback(True)
    retrieval.index_invalidate()

    b, o, n = statistics.median(builds), statistics.median(old), statistics.median(new)
    print(f"{args.articles} generated articles, {len(asked)} queries; index of {index.matrix.shape[1]} features")
    print(
        f"index build: {b * 1000:.0f} ms (median of {args.rounds}); first lookup after a change: {first * 1000:.0f} ms"
    )
    print(f"search, full sklearn pipeline: median {o * 1000:.2f} ms, p99 {_p99(old) * 1000:.2f} ms")
    print(f"search, direct transform:      median {n * 1000:.2f} ms, p99 {_p99(new) * 1000:.2f} ms")
    print(f"ratio pipeline/direct (median): {o / n:.1f}; largest score difference {worst:.2e}")
    print(
        f"retrieval.search() per message (version check + search): median {statistics.median(lookups) * 1000:.2f} ms,"
        f" p99 {_p99(lookups) * 1000:.2f} ms (target p99 < 100 ms)"
    )


if __name__ == "__main__":
    main()
