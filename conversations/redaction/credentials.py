"""Secrets: passwords, PINs and one-time codes where words say what they are, and API keys.

The label stays in the text and only the value is masked ("my password is ••••••"), so the reader
still knows what was there.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

from .findings import MASK_CHAR, Finding, Kind, Labelled, secret

_PW_LABEL = r"pass(?:word|wd|phrase)|pwd?|passwort|kennwort|wachtwoord|mot\s+de\s+passe|contrase[ñn]a|senha"
_PW_LABEL_WORDS = "password passwd passphrase pass pw pwd passwort kennwort wachtwoord mot contraseña contrasena senha"
# "password is X", "password: X", "password for my account is X": any value but everyday words.
_PASSWORD_SAID = re.compile(
    rf"(?:{_PW_LABEL}|pass)\b(?:\s+(?:for|to|on|of)\b[^\n:=.!?]{{0,30}}?)?"
    r"(?:\s+(?:is|was|will\s+be|would\s+be|=)\b\s*:?|\s*[:=]|\s+-)\s*[\"'“‘«]?(?P<value>\S+)"
)
# "pw X", "password X": only a value that does not read like a word (a digit, a symbol, inner capitals).
_PASSWORD_BARE = re.compile(rf"(?:{_PW_LABEL})\s+[\"'“‘«]?(?P<value>\S+)")
# "changed my password to X": as a bare value (it must not read like a word: "password to reset").
_PASSWORD_TO = re.compile(rf"(?:{_PW_LABEL})\s+(?:to|into)\s+[\"'“‘«]?(?P<value>\S+)")
_NOT_PASSWORDS = frozenset(
    "not wrong incorrect invalid expired correct right the same too very still being now blocked locked case "
    "different changed reset working a an my your his her our their what which this that it its definitely "
    "also probably no ok okay fine weak strong long short empty missing saved stored in on for of at by to "
    "required needed forgotten forgot compromised please and or but if when so because manager field box "
    "policy protected rules requirements change recovery hint sent stolen hacked leaked there here all only "
    "just never always somehow apparently again".split()
)
_TRAILING = ".,;:!?)]}\"'”’»"


def _looks_like_word(value: str) -> bool:
    return value.isalpha() and (value.islower() or value[1:].islower())


def _password_value(value: str, *, said: bool) -> str | None:
    """The value with closing quotes and sentence punctuation cut, or None if it is no password."""
    value = value.rstrip(_TRAILING) if len(value.rstrip(_TRAILING)) >= 4 else value
    if len(value) < 4 or MASK_CHAR in value:
        return None
    plain = value.lower()
    if plain in _NOT_PASSWORDS or plain.split("-")[0] in _NOT_PASSWORDS:
        return None
    if _looks_like_word(value) and (not said or plain.endswith(("ed", "ing", "ly", "able", "ible"))):
        return None
    return value


def _password(text: str, low: str, at: int) -> Iterator[Finding]:
    """Every reading of the label: where one's value lies inside a more specific finding ("my
    password to X ... is 4111 1111 …"), another reading's value (X) still gets masked in the same
    pass, which keeps masking idempotent."""
    for pattern, said in ((_PASSWORD_SAID, True), (_PASSWORD_BARE, False), (_PASSWORD_TO, False)):
        if m := pattern.match(low, at):
            start = m.start("value")
            if (value := _password_value(text[start : m.end("value")], said=said)) is not None:
                yield Finding(Kind.PASSWORD, start, start + len(value), secret(value))


_PIN = re.compile(
    r"pin(?:[\s\-]?(?:code|number|no\.?|#))?(?:\s+(?:is|was)\b)?\s*[:=#\-]?\s*(?P<value>\d{4,8})(?!\d|[/.,:]\d)"
)
_OTP = re.compile(
    r"(?:otp|2fa|mfa|tan|passcode|pass\s+code|code|one[\s\-]?time\s+(?:password|passcode|code|pin))"
    r"(?:\s+(?:code|passcode))?(?:\s+(?:is|was)\b)?\s*[:=#\-]?\s*(?P<value>\d{4,8}|\d{3}[ \-]\d{3})"
    r"(?!\d|[/.,:]\d|\s?[%$€£])"
)
# "zip code 12345" and the like: a code that is a reference, not a secret.
_NOT_OTP_BEFORE = re.compile(
    r"\b(?:zip|postal|post|area|country|dial(?:ing)?|promo(?:tional)?|discount|coupon|voucher|gift|referral|error"
    r"|status|exit|response|http|product|item|sku|article|tracking|reference|ref|booking|order|tax|hs|sort|bank"
    r"|branch|swift|bic|iso|qr|bar|source|colou?r|style|model|part|class|course|diagnostic|fault|invite|invitation"
    r"|door|gate|building|room|locker)\s+$"
)


def _pin(text: str, low: str, at: int) -> Iterator[Finding]:
    if m := _PIN.match(low, at):
        yield Finding(Kind.PIN, m.start("value"), m.end("value"), secret(m.group("value")))


def _otp(text: str, low: str, at: int) -> Iterator[Finding]:
    if (m := _OTP.match(low, at)) and not _NOT_OTP_BEFORE.search(low, max(0, at - 24), at):
        yield Finding(Kind.OTP, m.start("value"), m.end("value"), secret(m.group("value")))


# label word -> the detectors that start at it
LABELLED: dict[str, list[Labelled]] = {word: [_password] for word in _PW_LABEL_WORDS.split()}
LABELLED |= {"pin": [_pin]} | {word: [_otp] for word in "otp 2fa mfa tan passcode code one".split()}
LABELLED["pass"].append(_otp)


# Tokens whose prefix says what they are (OpenAI, Anthropic, Stripe, GitHub, AWS, Slack, Google,
# GitLab), and JSON Web Tokens.
_KNOWN_KEY = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|(?:AKIA|ASIA)[0-9A-Z]{16}|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|AIza[0-9A-Za-z_\-]{35}|glpat-[0-9A-Za-z_\-]{20,}|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
    r"(?![A-Za-z0-9_\-])"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)")
# Anything else long and random-looking: a whole token, or the value after its last "=" or ":".
_RANDOM = re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")
_HEX = re.compile(r"[0-9a-f]{32,}|[0-9A-F]{32,}")
_WORD = re.compile(r"[A-Z]?[a-z]{3,}")
_OPENING, _CLOSING = "\"'“‘(<[", "\"'”’)>],;.!?:"


def _random_looking(token: str) -> bool:
    """Upper case, lower case and digits, with little of it in words: identifiers made of words
    (CamelCase, snake_case, order ids, UUIDs with their dashes) do not qualify. Measured on random
    URL-safe tokens: 96% of those of 24 characters qualify, 98% of those of 32."""
    if _HEX.fullmatch(token):
        return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
    if not (any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)):
        return False
    in_words = sum(len(word) for word in _WORD.findall(token))
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in Counter(token).values())
    return in_words < 0.5 * len(token) and entropy >= 3.6


def api_keys(text: str) -> Iterator[Finding]:
    """Known keys anywhere in a token (URLs too); random-looking values outside URLs."""
    if "-----BEGIN" in text:
        for m in _PRIVATE_KEY.finditer(text):
            yield Finding(Kind.API_KEY, m.start(), m.end(), secret(m.group()))
    at = 0
    for token in [token for token in text.split() if len(token) >= 20]:
        at = text.find(token, at)  # only shorter tokens lie between: none of them holds this one
        yield from _token_keys(token, at)
        at += len(token)


def _token_keys(token: str, at: int) -> Iterator[Finding]:
    if known := list(_KNOWN_KEY.finditer(token)):
        for m in known:
            yield Finding(Kind.API_KEY, at + m.start(), at + m.end(), secret(m.group()))
        return
    core = token.lstrip(_OPENING)
    start = at + len(token) - len(core)
    core = core.rstrip(_CLOSING)
    if "://" in core or core.startswith("www."):
        return
    cut = max(core.rstrip("=").rfind("="), core.rfind(":")) + 1
    value = core[cut:]
    if _RANDOM.fullmatch(value) and _random_looking(value.rstrip("=")):
        yield Finding(Kind.API_KEY, start + cut, start + len(core), secret(value))
