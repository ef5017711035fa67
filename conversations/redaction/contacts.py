"""Phone numbers (Google's libphonenumber matcher) and e-mail addresses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from phonenumbers import Leniency, PhoneNumberMatcher

from .findings import NOT_DIGITS, Finding, Kind, email, keep_last

_DATE = re.compile(r"\d{4}[\-/.]\d\d?[\-/.]\d\d?(?!\d)|(?<!\d)\d\d?[\-/.]\d\d?[\-/.]\d{2,4}")
_PLUS = ("+", "\uff0b")  # and the full-width plus typed with full-width digits
# Glued to a letter, a dash, a currency sign, a hash...: a reference or an amount.
_GLUED_BEFORE = frozenset("-_/#$€£¥.,@=&")
_REFERENCE_LABEL = re.compile(
    r"\b(?:order|invoice|inv|tracking|track|ref|reference|ticket|case|account|acct|booking|confirmation|receipt"
    r"|transaction|txn|sku|serial|policy|member|customer|client|claim|parcel|shipment|awb|imei|id)\b"
    r"\W{0,3}(?:n(?:o|r|um(?:ber)?)\b\.?|#|id\b|is\b)?\W{0,3}$"
)


def phones(text: str, low: str, runs: list[tuple[int, int]], region: str) -> Iterator[Finding]:
    """The matcher (tens of microseconds a call, a millisecond on a long run) only sees digit runs
    of 7 to 15 digits (E.164's most) that are neither dates nor glued to a reference: so a phone
    number run together with other digits ("415 555 2671 2024") is not found."""
    for start, end in runs:
        if not text[start].isdigit():  # a run's part after a finding
            start += len(text[start:end]) - len(text[start:end].lstrip(" \t\u00a0\u2009\u202f\u3000.-)/\r\n"))
        if start and (text[start - 1].isalnum() or text[start - 1] in _GLUED_BEFORE):
            continue  # the common case, decided cheaply
        if start and text[start - 1] == "(":
            start -= 1
        plus = text.rfind("+", max(0, start - 2), start)
        if plus < 0:
            plus = text.rfind(_PLUS[1], max(0, start - 2), start)
        start = plus if plus >= 0 and not text[plus + 1 : start].strip() else start
        before = text[start - 1] if start else " "
        if before.isalnum() or before in _GLUED_BEFORE:
            continue
        international = text[start] in _PLUS
        if not 7 <= len(text[start:end].translate(NOT_DIGITS)) <= 15 + international:
            continue
        if _DATE.search(text, start, end):
            continue
        if not international and _REFERENCE_LABEL.search(low, max(0, start - 32), start):
            continue
        for match in PhoneNumberMatcher(text[start:end], region, leniency=Leniency.VALID):
            yield Finding(
                Kind.PHONE, start + match.start, start + match.end, keep_last(match.raw_string, 2, digits_only=True)
            )


_LOCAL = re.compile(r"[\w.+%\-]{1,64}\Z")
_DOMAIN = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b")


def emails(text: str, keep_domains: Iterable[str] = ()) -> Iterator[Finding]:
    """E-mail addresses but those at `keep_domains` (the business's own, which agents give out)."""
    kept = {domain.lower() for domain in keep_domains}
    at = text.find("@")
    while at >= 0:
        local = _LOCAL.search(text, max(0, at - 64), at)
        domain = _DOMAIN.match(text, at + 1)
        if local and domain and domain.group().lower() not in kept:
            yield Finding(Kind.EMAIL, local.start(), domain.end(), email(text[local.start() : domain.end()]))
        at = text.find("@", at + 1)
