"""The bot never asks for a secret: a check of what it would say (issue 14).

`asks_for_secret(text)` finds a sentence asking the reader to send, tell, type or confirm a
password, PIN, full card number, security code or one-time code; a sentence that says not to
("never share it", "we will never ask for your PIN") is not one. Knowledge-base answers that ask
are refused in the admin and never used by the bot, however they got in.
"""

from __future__ import annotations

import re

_SECRETS = (  # the words for one; not a secret itself
    r"(?:full\s+|long\s+|whole\s+)?(?:password|passcode|pass\s?word|pin(?:\s+number)?|card\s+number|card\s+details|"
    r"cvv|cvc|cv2|security\s+code|one[-\s]time\s+(?:pass)?code|otp|verification\s+code|"
    r"(?:the\s+)?code\s+(?:we|that\s+we)\s+(?:sent|texted|e-?mailed)|(?:\d|four|five|six|eight)[-\s]digit\s+code)"
)
_ASKS = re.compile(
    r"\b(?:send|give|tell|share|provide|type|reply\s+with|confirm|post|paste|write(?:\s+down)?|read\s+out"
    r"|let\s+(?:us|me)\s+know)"
    r"\s+(?:it\s+)?(?:to\s+)?(?:me|us|here|in\s+(?:the|this)\s+chat)?\s*(?:with\s+)?(?:your|the|a|us\s+your)\s+"
    + _SECRETS
    + r"|\bwhat(?:'s|\s+is|\s+are)\s+(?:your|the)\s+"
    + _SECRETS
    + r"|\b(?:i|we)\s+(?:need|require)\s+(?:your|the)\s+"
    + _SECRETS,
    re.IGNORECASE,
)
_NEGATED = re.compile(r"\b(?:never|not|no\s+one|nobody|don't|do\s+not|won't|will\s+not|n't)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


_CLAUSE = re.compile(r"[^,;:]+")


def asks_for_secret(text: str) -> str | None:
    """The first sentence of `text` that asks for a secret, or None. A negation counts only when
    it comes before the asking words in their clause ("don't type your password here"); "if you
    do not remember it, send us your password" asks."""
    for sentence in _SENTENCE.findall(text):
        for clause in _CLAUSE.findall(sentence):
            if (ask := _ASKS.search(clause)) and not _NEGATED.search(clause, 0, ask.start()):
                return sentence.strip()
    return None
