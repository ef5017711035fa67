"""What a finding is, how each kind is masked, and the text helpers the detectors share.

Masks keep separators and never make a value longer than it was, so a masked message is never
longer than the original (the protocol's length limit holds after masking), and they are made of
MASK_CHAR, which no detector matches, so masking masked text changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    CARD = "card"
    CARD_EXPIRY = "card_expiry"
    CARD_CVV = "card_cvv"
    IBAN = "iban"
    SSN = "ssn"
    NATIONAL_ID = "national_id"
    PHONE = "phone"
    EMAIL = "email"
    PASSWORD = "password"  # noqa: S105 (the name of a kind, not a secret)
    PIN = "pin"
    OTP = "otp"
    API_KEY = "api_key"


# For "We removed {label} from your message."
LABELS: dict[Kind, str] = {
    Kind.CARD: "a card number",
    Kind.CARD_EXPIRY: "a card expiry date",
    Kind.CARD_CVV: "a card security code",
    Kind.IBAN: "an IBAN",
    Kind.SSN: "a Social Security number",
    Kind.NATIONAL_ID: "a national ID number",
    Kind.PHONE: "a phone number",
    Kind.EMAIL: "an e-mail address",
    Kind.PASSWORD: "a password",
    Kind.PIN: "a PIN",
    Kind.OTP: "a one-time code",
    Kind.API_KEY: "an API key",
}

MASK_CHAR = "•"
SECRET_MASK = MASK_CHAR * 6


@dataclass(frozen=True, slots=True)
class Finding:
    """`text[start:end]` is the sensitive value (labels such as "cvv" or "password:" stay outside);
    `masked` replaces it; `detail` names the scheme where one was checked (e.g. "nl.bsn")."""

    kind: Kind
    start: int
    end: int
    masked: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Masked:
    text: str
    kinds: tuple[Kind, ...]  # sorted, each once
    findings: tuple[Finding, ...]  # spans in the original text, in order


def ascii_digits(value: str) -> str:
    """Full-width and other Unicode decimal digits as ASCII (python-stdnum reads ASCII only)."""
    if value.isascii():
        return value
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in value)


def keep_last(value: str, last: int, *, first: int = 0, digits_only: bool = False) -> str:
    """Every letter and digit (or every digit) masked but the first `first` and the last `last`;
    separators kept."""
    masks = str.isdecimal if digits_only else str.isalnum
    positions = [i for i, c in enumerate(value) if masks(c)]
    shown = set(positions[:first]) | set(positions[len(positions) - last :] if last else ())
    return "".join(c if i in shown or not masks(c) else MASK_CHAR for i, c in enumerate(value))


def secret(value: str) -> str:
    """A fixed-width mask (it hides the length of anything of six characters or more)."""
    return SECRET_MASK[: len(value)]


def email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    return MASK_CHAR * min(3, len(local)) + "@" + domain


# A stretch of digits and the separators written inside numbers (spaces, dots, dashes, slashes,
# brackets, line breaks, the ideographic space typed between full-width digits): every card, SSN
# and phone number lies inside one. Found once per text.
_SEPARATORS = " \t\u00a0\u2009\u202f\u3000.-()/\r\n"
DIGIT_RUN = re.compile(rf"\d(?:[\d{re.escape(_SEPARATORS)}]*\d)?")
NOT_DIGITS = str.maketrans("", "", _SEPARATORS)  # a run's digits: run.translate(NOT_DIGITS)

# A detector that starts where one of its label words is: (text, lowered text, the word's
# position) -> findings. Label words are found with str.find, far cheaper than a regex scan.
Labelled = Callable[[str, str, int], Iterator[Finding]]


def lowered(text: str) -> str:
    """`text.lower()` with every character at the same position (a few lower to two characters)."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def touches_mask(text: str, start: int, end: int) -> bool:
    """Whether a span starts with the digits a mask kept ("•••3 078-05-1120": at most four digits
    right after a bullet): those start no finding of their own, so masking masked text changes
    nothing. Anything else beside a bullet (a pasted list's "•4111111111111111", "•jo@x.org",
    "pin 4821•") is read as it is."""
    if text[start - 1 : start] != MASK_CHAR or not text[start : start + 1].isdigit():
        return False
    group = len(text[start:end]) - len(text[start:end].lstrip("0123456789"))
    return group <= 4


_KEPT_AFTER = re.compile(rf"{MASK_CHAR}\Z|(?<![{MASK_CHAR}]){MASK_CHAR}{{4}}[{re.escape(_SEPARATORS)}]{{1,3}}\Z")


def past_kept_digits(text: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs without the digits a mask kept: at most four digits right after a bullet ("••71",
    "•0005") or after a group of four bullets and a separator ("•••• 1111"), so that what
    follows them is read as it was before the masking. (The price: a grouped card typed right
    after a masked four-digit PIN, "PIN •••• 4111 1111 …", is not found.)"""
    if MASK_CHAR not in text:
        return runs
    kept = []
    for start, end in runs:
        if _KEPT_AFTER.search(text, max(0, start - 8), start):
            kept_digits = 0  # a mask keeps at most four, possibly across a separator ("•••0 203")
            while start < end:
                group = len(text[start:end]) - len(text[start:end].lstrip("0123456789"))
                if not group or kept_digits + group > 4:
                    break
                kept_digits += group
                start += group
                start += len(text[start:end]) - len(text[start:end].lstrip(_SEPARATORS))
        if start < end:
            kept.append((start, end))
    return kept


def without(runs: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of `runs` outside `spans` (both sorted)."""
    parts = []
    for start, end in runs:
        for span_start, span_end in spans:
            if span_start < end and span_end > start:
                if span_start > start:
                    parts.append((start, span_start))
                start = max(start, span_end)
        if start < end:
            parts.append((start, end))
    return parts


def _in_word(char: str) -> bool:
    return char.isalnum() or char == MASK_CHAR


def word_positions(low: str, word: str) -> Iterator[int]:
    """Where `word` stands as a whole word in `low` (a mask counts as part of a word)."""
    at = low.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not _in_word(low[at - 1])) and (end == len(low) or not _in_word(low[end])):
            yield at
        at = low.find(word, at + 1)
