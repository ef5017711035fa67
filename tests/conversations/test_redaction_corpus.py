"""conversations.redaction on a labelled corpus of customer messages (tests/data/redaction_corpus.jsonl):
recall and precision per kind. Each line: `text`, the expected `findings` (kind and the exact
substring found), and the business's phone `region` when not US. Positives come in the formats
customers write (spaces, dashes, dots, line breaks, full-width digits, numbers run into words);
negatives are the numbers that must stay (orders, invoices, tracking, IMEIs, dates, amounts).

`pytest -s` prints the table; a failure carries it in its message.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from conversations.redaction import Kind, find

CORPUS_FILE = Path(__file__).resolve().parent.parent / "data" / "redaction_corpus.jsonl"
CORPUS = [json.loads(line) for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
MIN_RECALL = {Kind.CARD: 0.99, Kind.IBAN: 0.99, Kind.SSN: 0.99}
MIN_PRECISION_OVERALL = 0.95


def _score() -> tuple[dict[str, Counter[str]], list[str]]:
    """Per kind: true positives (kind and exact substring), false negatives, false positives; and
    what went wrong, message by message."""
    counts: dict[str, Counter[str]] = {kind.value: Counter() for kind in Kind}
    misses = []
    for number, record in enumerate(CORPUS, 1):
        text = record["text"]
        expected = Counter((f["kind"], f["value"]) for f in record["findings"])
        found = Counter((f.kind.value, text[f.start : f.end]) for f in find(text, region=record.get("region", "US")))
        for (kind, _), n in (expected & found).items():
            counts[kind]["tp"] += n
        for (kind, value), n in (expected - found).items():
            counts[kind]["fn"] += n
            misses.append(f"line {number}: missed {kind} {value!r} in {text!r}")
        for (kind, value), n in (found - expected).items():
            counts[kind]["fp"] += n
            misses.append(f"line {number}: wrongly found {kind} {value!r} in {text!r}")
    return counts, misses


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _table(counts: dict[str, Counter[str]]) -> str:
    rows = [f"{'kind':<12} {'expected':>8} {'found':>6} {'recall':>7} {'precision':>9}"]
    total: Counter[str] = Counter()
    for kind, c in counts.items():
        total += c
        rows.append(
            f"{kind:<12} {c['tp'] + c['fn']:>8} {c['tp'] + c['fp']:>6} "
            f"{_ratio(c['tp'], c['tp'] + c['fn']):>7.3f} {_ratio(c['tp'], c['tp'] + c['fp']):>9.3f}"
        )
    rows.append(
        f"{'all':<12} {total['tp'] + total['fn']:>8} {total['tp'] + total['fp']:>6} "
        f"{_ratio(total['tp'], total['tp'] + total['fn']):>7.3f} {_ratio(total['tp'], total['tp'] + total['fp']):>9.3f}"
    )
    negatives = sum(1 for record in CORPUS if not record["findings"])
    rows.append(f"({len(CORPUS)} messages, {negatives} of them hard negatives)")
    return "\n".join(rows)


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    assert len(CORPUS) >= 300
    assert sum(1 for record in CORPUS if not record["findings"]) >= 100
    assert {f["kind"] for record in CORPUS for f in record["findings"]} == {kind.value for kind in Kind}
    for record in CORPUS:
        for finding in record["findings"]:
            assert finding["value"] in record["text"], record


def test_recall_and_precision_per_kind() -> None:
    counts, misses = _score()
    table = _table(counts)
    print("\n" + table)  # noqa: T201 (the report `pytest -s` shows)
    failures = [
        f"recall of {kind} {_ratio(counts[kind]['tp'], counts[kind]['tp'] + counts[kind]['fn']):.3f} < {floor}"
        for kind, floor in MIN_RECALL.items()
        if _ratio(counts[kind]["tp"], counts[kind]["tp"] + counts[kind]["fn"]) < floor
    ]
    total = sum(counts.values(), Counter())
    if (precision := _ratio(total["tp"], total["tp"] + total["fp"])) < MIN_PRECISION_OVERALL:
        failures.append(f"overall precision {precision:.3f} < {MIN_PRECISION_OVERALL}")
    assert not failures, "\n".join([*failures, table, *misses])
