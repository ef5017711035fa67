"""conversations.redaction: what is found and how it is masked, on the vectors shared with the
widget's detector (redaction_vectors.json), and the promises of mask(): never longer, idempotent."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as settings_module
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from conversations.redaction import LABELS, MASK_CHAR, Kind, find, mask
from conversations.redaction.findings import ascii_digits

VECTORS_FILE = json.loads((Path(__file__).parent / "redaction_vectors.json").read_text())
VECTORS = VECTORS_FILE["vectors"]
POSITIVES = [v for v in VECTORS if v["kinds"]]
NEGATIVES = [v for v in VECTORS if not v["kinds"]]


def _id(vector: dict) -> str:
    return vector["text"][:40]


@pytest.mark.parametrize("vector", VECTORS, ids=_id)
def test_vector(vector: dict) -> None:
    masked = mask(vector["text"], region=vector.get("region", "US"))
    assert (masked.text, [str(kind) for kind in masked.kinds]) == (vector["masked"], vector["kinds"])


@pytest.mark.parametrize("vector", VECTORS, ids=_id)
def test_masking_is_idempotent_and_never_lengthens(vector: dict) -> None:
    region = vector.get("region", "US")
    once = mask(vector["text"], region=region).text
    assert len(once) <= len(vector["text"])
    assert find(once, region=region) == []
    assert mask(once, region=region).text == once


def test_the_vectors_cover_every_kind_and_the_browsers_set() -> None:
    assert {kind for v in POSITIVES for kind in v["kinds"]} == {str(kind) for kind in Kind}
    assert len(NEGATIVES) >= 60
    browser = set(VECTORS_FILE["browser_kinds"])
    assert browser == {"card", "iban", "ssn", "email", "password"}
    for vector in POSITIVES:
        if vector["browser"]:
            assert set(vector["kinds"]) <= browser, vector
    assert {kind for v in POSITIVES if v["browser"] for kind in v["kinds"]} == browser


def test_every_kind_has_a_label() -> None:
    assert set(LABELS) == set(Kind)
    assert LABELS[Kind.CARD] == "a card number" and LABELS[Kind.IBAN] == "an IBAN"


@pytest.mark.parametrize(
    ("text", "kind", "value", "masked"),
    [
        ("pay with 4111 1111 1111 1111 now", Kind.CARD, "4111 1111 1111 1111", "•••• •••• •••• 1111"),
        ("pay with 4111-1111-1111-1111", Kind.CARD, "4111-1111-1111-1111", "••••-••••-••••-1111"),
        ("iban DE89 3704 0044 0532 0130 00.", Kind.IBAN, "DE89 3704 0044 0532 0130 00", "DE•• •••• •••• •••• ••30 00"),
        ("mail jane@example.com!", Kind.EMAIL, "jane@example.com", "•••@example.com"),
        ("call (415) 555-2671", Kind.PHONE, "(415) 555-2671", "(•••) •••-••71"),
        ("my password is hunter2.", Kind.PASSWORD, "hunter2", "••••••"),
        ("PIN: 1234", Kind.PIN, "1234", "••••"),
        ("my ssn is 536-22-1234", Kind.SSN, "536-22-1234", "•••-••-••••"),
    ],
)
def test_the_span_is_the_value_and_the_mask_keeps_what_it_should(
    text: str, kind: Kind, value: str, masked: str
) -> None:
    (finding,) = find(text)
    assert (finding.kind, text[finding.start : finding.end], finding.masked) == (kind, value, masked)


def test_overlaps_go_to_the_most_specific_kind() -> None:
    assert [f.kind for f in find("my password is 4111 1111 1111 1111")] == [Kind.CARD]
    assert [f.kind for f in find("one-time password 445566")] == [Kind.OTP]
    assert [f.kind for f in find("SIN 123 456 782")] == [Kind.NATIONAL_ID]


def test_findings_come_in_order_without_overlaps() -> None:
    text = " ".join(v["text"] for v in POSITIVES)
    findings = find(text)
    assert len(findings) >= len(POSITIVES)
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))


def test_kinds_limits_what_is_masked() -> None:
    text = "card 4111 1111 1111 1111, mail jane@example.com"
    assert mask(text, kinds=["card"]).text == "card •••• •••• •••• 1111, mail jane@example.com"
    assert mask(text, kinds=["email"]).kinds == (Kind.EMAIL,)


def test_the_business_own_addresses_can_be_kept() -> None:
    text = "write to support@shop.example or to jane@example.com"
    assert mask(text, keep_domains=["SHOP.example"]).text == "write to support@shop.example or to •••@example.com"


def test_national_phone_formats_follow_the_region() -> None:
    assert find("ring 020 7946 0958", region="US") == []
    assert [f.kind for f in find("ring 020 7946 0958", region="GB")] == [Kind.PHONE]
    assert [f.kind for f in find("ring +44 20 7946 0958", region="US")] == [Kind.PHONE]


def test_empty_and_plain_text() -> None:
    assert find("") == []
    assert mask("Hello, where is my parcel?").text == "Hello, where is my parcel?"


def test_importing_needs_neither_django_nor_settings() -> None:
    code = "import sys, conversations.redaction as r; assert r.find('4111111111111111'); print('django' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={})
    assert done.stdout.strip() == "False"


# Whole messages made of vectors and filler, as a customer writes them.
_FILLER = ["Hello,", "thanks!", "order ORD-2024-001234", "on 2024-05-01", "$1,234.56", "at 10:30", "\n", "ok"]
_CARD_LIKE = [
    v["text"][f.start : f.end]
    for v in POSITIVES
    for f in find(v["text"], region=v.get("region", "US"))
    if f.kind in (Kind.CARD, Kind.IBAN, Kind.SSN)
]


# Negatives that hold one of those numbers where a label says it is no card ("ticket 4111…") are left out.
_PARTS = [
    v["text"] for v in VECTORS if "region" not in v and not (not v["kinds"] and any(c in v["text"] for c in _CARD_LIKE))
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PARTS + _FILLER), max_size=12))
def test_masking_whole_messages(parts: list[str]) -> None:
    text = " ".join(parts)
    masked = mask(text)
    assert len(masked.text) <= len(text)
    assert mask(masked.text).text == masked.text
    for value in _CARD_LIKE:
        # right after a masked four-digit PIN or code ("PIN •••• 4111 1111 …") a grouped card reads as
        # what a card's mask keeps (conversations.redaction.findings.past_kept_digits)
        if value in text and not re.search(rf"(?<!•)••••\W{re.escape(value)}", text):
            assert value not in masked.text
    assert masked.text.count(MASK_CHAR) >= text.count(MASK_CHAR)


# Card numbers as customers write them, among words and other numbers, from generated digits.
_PREFIXES = ["4", "51", "55", "2221", "34", "37", "6011", "3530", "36", "62", "6759"]
_LENGTHS = {"34": [15], "37": [15], "36": [14], "62": [16, 19], "6759": [16, 19], "4": [13, 16, 19]}
_SEPARATORS = ["", " ", "-", ".", "\n", "  ", " - ", "\u00a0", "\u3000"]
_WORDS = ["card", "order", "IMEI", "tracking", "iban", "ssn", "cvv", "exp", "pin", "code", "my", "is", "and", ":", "#"]
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def _card_number(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(_PREFIXES))
    length = draw(st.sampled_from(_LENGTHS.get(prefix, [16])))
    body = prefix + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length - len(prefix) - 1,
                                          max_size=length - len(prefix) - 1)))  # fmt: skip
    digits = body + luhn.calc_check_digit(body)
    separator = draw(st.sampled_from(_SEPARATORS))
    written = separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    return written.translate(_FULL_WIDTH) if draw(st.booleans()) and draw(st.booleans()) else written


_PART = st.one_of(
    _card_number(),
    st.sampled_from(_WORDS),
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    st.from_regex(r"[0-9]{2,4}([ \-./][0-9]{2,6}){1,4}", fullmatch=True),
    st.text(alphabet="ab •-/.\n0123456789", max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_PART, st.sampled_from(["", " ", "\n", ", "])), max_size=10), st.booleans())
def test_masking_leaves_no_card_and_is_idempotent(parts: list[tuple[str, str]], at_the_limit: bool) -> None:
    """Whatever the mix: masking twice is masking once; the masked text is never longer (so a
    message at the protocol's limit stays within it); and nothing the detector would call a card,
    13 to 19 digits passing Luhn however they are spaced, is left."""
    text = "".join(part + joiner for part, joiner in parts)
    if at_the_limit:  # padded to the protocol's limit, the numbers at its end
        text = ("x" * max(0, settings_module.CHAT_MAX_BODY_CHARS - len(text)) + text)[
            -settings_module.CHAT_MAX_BODY_CHARS :
        ]
    masked = mask(text)
    assert len(masked.text) <= len(text)
    if at_the_limit:
        assert len(masked.text) <= settings_module.CHAT_MAX_BODY_CHARS
    assert mask(masked.text).text == masked.text
    assert [f for f in find(masked.text) if f.kind == Kind.CARD] == []
    for finding in masked.findings:
        if finding.kind == Kind.CARD:
            digits = re.sub(r"\D", "", ascii_digits(text[finding.start : finding.end]))
            assert 13 <= len(digits) <= 19 and luhn.is_valid(digits)
