"""Card numbers (with their expiry and security code), IBANs, US SSNs, labelled national IDs.

Every candidate passes its scheme's check from python-stdnum (Luhn, mod 97, the SSN's issued
ranges, each national ID's checksum) before it is a finding: order, invoice and tracking numbers,
dates and amounts fail those checks, or never reach them. Patterns run on the lowered text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.dk import cpr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.ie import pps
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer
from stdnum.us import itin, ssn

from .findings import MASK_CHAR, NOT_DIGITS, Finding, Kind, Labelled, ascii_digits, keep_last, touches_mask

_GROUP = re.compile(r"\d+")
# What a run holds if a card is written in it (see _groupings): one long block, or 4 then 4 or 6.
_CARDISH = re.compile(r"\d{13}|\d{4}\D{1,3}\d{4}|\d{4}\D{1,3}\d{6}")
# A label right before the number saying it is something else than a card.
_NOT_A_CARD = re.compile(
    r"\b(?:imei|meid|tracking|track|order|invoice|inv|ref|reference|ticket|case|awb|waybill|parcel|shipment"
    r"|consignment|serial|sku|isbn|ean|upc|gtin|iccid|sim)\b\W{0,3}(?:n(?:o|r|um(?:ber)?)\b\.?|#|id\b)?\W{0,3}$"
)
_EXPIRY = re.compile(r"(?<![\d/.\-])(?:0?[1-9]|1[0-2])\s?[/\-]\s?(?:20)?\d\d(?![\d/\-]|\.\d)")
# "charged $54.20 on 3/14": a date, not the card's expiry.
_ON_A_DATE = re.compile(r"\b(?:on|since|from|until|till|by|before|after|dated)\s+$")
_CVV = re.compile(
    r"\b(?:cvv2?|cvc2?|cvn|cid|csc|security\s+code|sec\.?\s+code|card\s+code)\b\W{0,3}(?:is\s+)?(\d{3,4})(?!\d)"
)
_BARE_CVV = re.compile(r"[\s,;]{1,3}(\d{3,4})(?!\d|[/.\-]\d)")
_NEAR = 48  # characters after (or before) a card in which its expiry and code are looked for


def _issuer_fits(d: str) -> bool:
    """The number's prefix is one a card network issues at this length (ISO/IEC 7812 IIN ranges)."""
    n, p2, p3, p4 = len(d), int(d[:2]), int(d[:3]), int(d[:4])
    if d[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):  # Diners Club
        return n >= 14
    if 3528 <= p4 <= 3589 or 2200 <= p4 <= 2204:  # JCB, Mir
        return n >= 16
    if d[0] in "56":  # Maestro, Discover, UnionPay, RuPay
        return True
    if p2 in (81, 82) or p4 == 9792:  # RuPay, Troy
        return n == 16
    return d[0] == "1" and n == 15  # UATP


def _groupings(sizes: list[int]) -> Iterator[tuple[int, int]]:
    """(first, last) groups written as a card is: one block, groups of four with a shorter last
    one, or Amex's and Diners' 4-6-5 and 4-6-4; so that dates, amounts and references next to
    each other are not read as one number."""
    for i, size in enumerate(sizes):
        if 13 <= size <= 19:
            yield i, i
        elif size == 4:
            if sizes[i + 1 : i + 3] in ([6, 5], [6, 4]):
                yield i, i + 2
            total, j = 4, i + 1
            while j < len(sizes) and total < 19 and (sizes[j] == 4 or 0 < sizes[j] < 4 and total >= 12):
                total += sizes[j]
                if 13 <= total <= 19:
                    yield i, j
                if sizes[j] != 4:
                    break
                j += 1


def _joined_at_line_breaks(run: str, groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The groups with those that only a line break separates made one: where a line ended is not
    where the number's groups are ("41111111\n11111111")."""
    joined = groups[:1]
    for start, end in groups[1:]:
        if run[joined[-1][1] : start].replace("\r", "") == "\n":
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _card_windows(run: str) -> Iterator[tuple[int, int]]:
    """Spans of consecutive digit groups of a run that make a valid card number, longest first. A
    line break between groups counts as whichever separator the others are ("4111-1111-\n1111-1111")."""
    groups = [m.span() for m in _GROUP.finditer(run)]
    readings = [groups]
    if "\n" in run and (joined := _joined_at_line_breaks(run, groups)) != groups:
        readings.append(joined)
    valid = set()
    for groups in readings:
        for i, j in _groupings([end - start for start, end in groups]):
            separators = {run[groups[k][1] : groups[k + 1][0]].replace("\r", "").replace("\n", "") for k in range(i, j)}
            digits = ascii_digits(run[groups[i][0] : groups[j][1]].translate(NOT_DIGITS))
            if len(separators - {""}) <= 1 and _issuer_fits(digits) and luhn.is_valid(digits):
                valid.add((groups[i][0], groups[j][1]))
    taken: list[tuple[int, int]] = []
    for start, end in sorted(valid, key=lambda span: span[0] - span[1]):
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
            yield start, end


def cards(text: str, low: str, runs: list[tuple[int, int]]) -> Iterator[Finding]:
    for run_start, run_end in runs:
        if run_end - run_start < 13 or not _CARDISH.search(text, run_start, run_end):
            continue
        for start, end in _card_windows(text[run_start:run_end]):
            start, end = run_start + start, run_start + end
            if _NOT_A_CARD.search(low, max(0, start - 40), start) or touches_mask(text, start, end):
                continue
            yield Finding(Kind.CARD, start, end, keep_last(text[start:end], 4))
            yield from _card_extras(low, start, end)


# A card as masked: 9 to 15 bullets (grouped or not) and the four digits kept.
_MASKED_CARD = re.compile(rf"(?<![\w{MASK_CHAR}])(?:{MASK_CHAR}[ \-]?){{9,15}}\d{{4}}(?!\d)")


def masked_card_extras(text: str, low: str) -> Iterator[Finding]:
    """The expiry and security code beside a card masked already (the widget's "Send masked"
    masks the number only): they are as much a secret next to `•••• •••• •••• 1111`."""
    if MASK_CHAR in text:
        for m in _MASKED_CARD.finditer(text):
            yield from _card_extras(low, m.start(), m.end(), bare_code=False)


def _card_extras(low: str, start: int, end: int, *, bare_code: bool = True) -> Iterator[Finding]:
    """The expiry and security code written next to a card number."""
    after = end
    expiry = _expiry(low, end, end + _NEAR) or _expiry(low, max(0, start - _NEAR), start)
    if expiry:
        yield Finding(Kind.CARD_EXPIRY, expiry.start(), expiry.end(), keep_last(expiry.group(), 0))
        after = max(after, expiry.end())
    code = _within(_CVV, low, end, after + _NEAR) or _within(_CVV, low, max(0, start - _NEAR), start)
    if code is None and (bare_code or after > end):  # a masked card: only right after its expiry
        code = _BARE_CVV.match(low, after)
    if code:
        yield Finding(Kind.CARD_CVV, code.start(1), code.end(1), keep_last(code.group(1), 0))


def _expiry(low: str, start: int, end: int) -> re.Match[str] | None:
    for m in _EXPIRY.finditer(low, start):  # not endpos: the window's end must not look like the text's
        if m.start() >= end:
            break
        if not _ON_A_DATE.search(low, max(0, m.start() - 8), m.start()):
            return m
    return None


def _within(pattern: re.Pattern[str], low: str, start: int, end: int) -> re.Match[str] | None:
    """The first match starting in [start, end), read in the whole text (see _expiry)."""
    m = pattern.search(low, start)
    return m if m is not None and m.start() < end else None


_CVV_LABELLED = re.compile(r"(?:cvv2?|cvc2?|cvn|csc)\W{0,3}(?:is\s+)?(\d{3,4})(?!\d)")


def _cvv(text: str, low: str, at: int) -> Iterator[Finding]:
    """ "CVV 123" is a card's code wherever it is written."""
    if code := _CVV_LABELLED.match(low, at):
        yield Finding(Kind.CARD_CVV, code.start(1), code.end(1), keep_last(code.group(1), 0))


_IBAN = re.compile(r"[a-z]{2}\d\d(?:(?:\r?\n|[ .\-])?[a-z0-9]){11,32}")
_PART = re.compile(r"[a-z0-9]+")


def _iban_valid(value: str) -> bool:
    return len(value) >= 15 and iban.is_valid(value.replace("\r", "").replace("\n", " "))


def ibans(text: str, low: str, runs: list[tuple[int, int]]) -> Iterator[Finding]:
    """IBANs, grouped (by spaces, dashes, dots, line breaks) or not, in any case, found from their
    check digits (a digit run right after two letters, which may follow the word "iban"); cut back
    at group boundaries, or where a word runs on from its digits, until valid (the words after it
    are no part of it)."""
    for run_start, _ in runs:
        begin = run_start - 2
        if (
            begin < 0
            or not low[run_start - 1].isalpha()
            or not low[begin].isalpha()
            or (begin and low[begin - 1].isalnum() and not low.endswith("iban", 0, begin))
        ):
            continue
        if m := _IBAN.match(low, begin):
            found = m.group()
            # where it may end: after a group, or where a word runs on from its digits ("…5678thx")
            ends = {p.end() for p in _PART.finditer(found)}
            ends |= {i for i in range(5, len(found)) if found[i - 1].isdigit() and found[i].isalpha()}
            for cut in sorted(ends, reverse=True):
                value = text[begin : begin + cut]
                if _iban_valid(value):
                    yield Finding(Kind.IBAN, begin, begin + cut, keep_last(value, 4, first=2), value[:2].upper())
                    break


_SSN_FORMATTED = re.compile(r"(?<![\d\-./])\d{3}([ \-])\d\d\1\d{4}(?![\d\-]|[./]\d)")
_SSN_LABELLED = re.compile(
    r"(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?)\W{0,3}(?:is\s+)?(\d{3}[ \-.]?\d\d[ \-.]?\d{4})(?!\d)"
)


def _ssn(text: str, start: int, end: int) -> Iterator[Finding]:
    if ssn.is_valid(ascii_digits(text[start:end]).replace(" ", "-").replace(".", "-")):
        yield Finding(Kind.SSN, start, end, keep_last(text[start:end], 0), "us.ssn")


def ssns(text: str, runs: list[tuple[int, int]]) -> Iterator[Finding]:
    """US SSNs written 123-45-6789 or 123 45 6789 anywhere; never the ranges that are not issued
    (area 000, 666, 900-999; group 00; serial 0000)."""
    for run_start, run_end in runs:
        if run_end - run_start >= 11:
            for m in _SSN_FORMATTED.finditer(text, run_start, run_end):
                yield from _ssn(text, m.start(), m.end())


def _labelled_ssn(text: str, low: str, at: int) -> Iterator[Finding]:
    """Nine bare digits are an SSN only after a label."""
    if m := _SSN_LABELLED.match(low, at):
        yield from _ssn(text, m.start(1), m.end(1))


_NINO = re.compile(r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")


def _nino_valid(value: str) -> bool:
    """The UK National Insurance number's format (HMRC's prefix rules): python-stdnum has none."""
    return _NINO.fullmatch(value.replace(" ", "").upper()) is not None


_VALUE = r"(?:\W{0,3}(?:number|num|no|nr|is|was)\b)*\W{0,3}([a-z0-9](?:[a-z0-9]|[ .\-/](?=[a-z0-9])){5,24})"
# (label words that start it, the whole label, the checks of the identifiers it names)
_NATIONAL: list[tuple[str, str, list[tuple[str, Callable[[str], bool]]]]] = [
    ("ni national nino", r"ni\s*(?:number|no)|national\s+insurance(?:\s+number)?|nino", [("gb.nino", _nino_valid)]),
    ("nhs", r"nhs(?:\s+number)?", [("gb.nhs", nhs.is_valid)]),
    ("bsn burgerservicenummer", r"bsn|burgerservicenummer", [("nl.bsn", bsn.is_valid)]),
    ("steuer steuerid steueridentifikationsnummer steuerliche idnr",
     r"steuer[\s\-]?id(?:entifikationsnummer)?|steuerliche\s+identifikationsnummer|idnr", [("de.idnr", idnr.is_valid)]),
    ("sin social", r"sin|social\s+insurance(?:\s+number)?", [("ca.sin", sin.is_valid)]),
    ("personnummer personnr", r"person(?:nummer|nr)", [("se.personnummer", personnummer.is_valid)]),
    ("nir numéro numero n°", r"nir|num[ée]ro\s+de\s+s[ée]curit[ée]\s+sociale|n°\s*(?:de\s+)?s[ée]cu(?:rit[ée]\s+sociale)?",
     [("fr.nir", nir.is_valid)]),
    ("dni nie nif", r"dni|nie|nif", [("es.dni", dni.is_valid), ("es.nie", nie.is_valid)]),
    ("codice cod", r"codice\s+fiscale|cod\.\s*fisc\.?", [("it.codicefiscale", codicefiscale.is_valid)]),
    ("cpr", r"cpr(?:[\s\-]?(?:nummer|number|nr))?", [("dk.cpr", cpr.is_valid)]),
    ("pesel", r"pesel", [("pl.pesel", pesel.is_valid)]),
    ("aadhaar aadhar", r"aadh?aar", [("in.aadhaar", aadhaar.is_valid)]),
    ("cpf", r"cpf", [("br.cpf", cpf.is_valid)]),
    ("pps ppsn", r"ppsn?(?:\s+number)?", [("ie.pps", pps.is_valid)]),
    ("itin", r"itin", [("us.itin", itin.is_valid)]),
]  # fmt: skip


def _national(label: str, checks: list[tuple[str, Callable[[str], bool]]]) -> Labelled:
    pattern = re.compile(rf"(?:{label})\b{_VALUE}")

    def detect(text: str, low: str, at: int) -> Iterator[Finding]:
        if m := pattern.match(low, at):
            for cut in reversed([p.end() for p in _PART.finditer(m.group(1))]):
                value = ascii_digits(text[m.start(1) : m.start(1) + cut])
                if scheme := next((name for name, valid in checks if valid(value)), None):
                    end = m.start(1) + cut
                    yield Finding(Kind.NATIONAL_ID, m.start(1), end, keep_last(text[m.start(1) : end], 0), scheme)
                    return

    return detect


# label word -> the detectors that start at it
LABELLED: dict[str, list[Labelled]] = {word: [_cvv] for word in ("cvv", "cvv2", "cvc", "cvc2", "cvn", "csc")}
LABELLED |= {"ssn": [_labelled_ssn], "social": [_labelled_ssn]}
for _words, _label, _checks in _NATIONAL:
    for _word in _words.split():
        LABELLED.setdefault(_word, []).append(_national(_label, _checks))
