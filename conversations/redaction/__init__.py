"""PII and secrets in chat text: find them, mask them. Pure functions: no models, no I/O, no
settings (callers pass the business's phone region and the kinds to mask).

    find(text, *, region="US", kinds=None, keep_domains=()) -> list[Finding]
    mask(text, *, region="US", kinds=None, keep_domains=()) -> Masked

Not findings, on purpose: order, invoice, ticket and tracking numbers (UPS 1Z…, USPS 22 digits,
FedEx 12 digits), dates, times, amounts, versions, percentages, digit runs that fail their
scheme's check; UUIDs (ticket ids, not secrets); tokens inside URLs, unless their prefix names a
known key (sk-…, ghp_…, AKIA…); national IDs without a label saying which they are; nine bare
digits without an "SSN" label; e-mail addresses at `keep_domains`; a phone number run together
with other digits; a grouped card right after a mask ("cvv ••• 4111 1111 …": those first four
digits read as what a mask kept). Cards need Luhn, 13-19 digits, a network's prefix for that
length and a card's grouping (one block, fours, 4-6-5/4-6-4; a line break alone may split a
block or stand for the separator). A valid IBAN wins over a card-like stretch inside it. The browser's reduced
detector (cards with Luhn, IBAN, SSN, e-mail, "password") is tested on the same vectors:
tests/conversations/redaction_vectors.json.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from . import credentials, numbers
from .contacts import emails, phones
from .findings import (
    DIGIT_RUN,
    LABELS,
    MASK_CHAR,
    Finding,
    Kind,
    Labelled,
    Masked,
    lowered,
    past_kept_digits,
    touches_mask,
    without,
    word_positions,
)

__all__ = ["LABELS", "MASK_CHAR", "Finding", "Kind", "Masked", "find", "mask"]

# Where findings overlap, the most specific kind wins, then the longest span. An IBAN before a card:
# a valid IBAN can hold a Luhn-valid card-like stretch ("DE44 5001 0517 5407 3249 31").
_RANK = {kind: rank for rank, kind in enumerate([
    Kind.IBAN, Kind.CARD, Kind.SSN, Kind.NATIONAL_ID, Kind.API_KEY, Kind.EMAIL, Kind.CARD_EXPIRY,
    Kind.CARD_CVV, Kind.PIN, Kind.OTP, Kind.PASSWORD, Kind.PHONE,
])}  # fmt: skip
# The words of a text are found at C speed: one str.find per label word would cost more.
_PUNCTUATION_AS_SPACE = str.maketrans(dict.fromkeys(string.punctuation + "“”‘’«»–—…•·°", " "))
_LABELLED: dict[str, list[Labelled]] = {}
for _table in (numbers.LABELLED, credentials.LABELLED):
    for _word, _detectors in _table.items():
        _LABELLED.setdefault(_word, []).extend(_detectors)


def find(
    text: str, *, region: str = "US", kinds: Iterable[str] | None = None, keep_domains: Iterable[str] = ()
) -> list[Finding]:
    """The findings in `text`, in order, not overlapping. `region` is the ISO 3166 country whose
    national phone formats count (international +… forms count in every region); `kinds` limits
    the result (None: every kind)."""
    wanted = set(Kind) if kinds is None else {Kind(kind) for kind in kinds}
    low = lowered(text)
    runs = past_kept_digits(text, [m.span() for m in DIGIT_RUN.finditer(text)])
    found: list[Finding] = []
    for word in _LABELLED.keys() & set(low.translate(_PUNCTUATION_AS_SPACE).split()):
        for at in word_positions(low, word):
            for detect in _LABELLED[word]:
                found += detect(text, low, at)
    found += emails(text, keep_domains)
    found += credentials.api_keys(text)
    if runs:
        long_runs = [(start, end) for start, end in runs if end - start >= 7]
        found += numbers.cards(text, low, long_runs)
        found += numbers.masked_card_extras(text, low)
        found += numbers.ssns(text, long_runs)
        found += numbers.ibans(text, low, runs)
        if Kind.PHONE in wanted:  # in what is left of the runs, as it will be once the rest is masked
            found += phones(text, low, without(long_runs, sorted((f.start, f.end) for f in found)), region)
    chosen: list[Finding] = []
    for finding in sorted(found, key=lambda f: (_RANK[f.kind], f.start - f.end, f.start)):
        if touches_mask(text, finding.start, finding.end):
            continue
        if all(finding.end <= other.start or finding.start >= other.end for other in chosen):
            chosen.append(finding)
    return sorted((f for f in chosen if f.kind in wanted), key=lambda f: f.start)


def mask(
    text: str, *, region: str = "US", kinds: Iterable[str] | None = None, keep_domains: Iterable[str] = ()
) -> Masked:
    """`text` with every finding replaced by its masked form. Never longer than `text`; masking
    the result again changes nothing."""
    findings = find(text, region=region, kinds=kinds, keep_domains=keep_domains)
    parts, at = [], 0
    for finding in findings:
        parts += [text[at : finding.start], finding.masked]
        at = finding.end
    parts.append(text[at:])
    return Masked("".join(parts), tuple(sorted({f.kind for f in findings})), tuple(findings))
