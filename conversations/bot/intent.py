from __future__ import annotations

import re

# Asking for a person, in the ways customers do. Matched on whole words, case-insensitively.
_HUMAN = re.compile(
    r"\b("
    r"agents?|humans?|operators?|representatives?|rep|live\s+(?:chat|person|support)"
    r"|(?:real|actual)\s+person|(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an|some)?\s*(?:one|body|person|people|staff)"
    r"|customer\s+service|someone\s+real"
    r")\b",
    re.IGNORECASE,
)


def wants_human(text: str) -> bool:
    return bool(_HUMAN.search(text))


_GREETING = re.compile(r"^(hi|hello|hey|hiya|good\s+(?:morning|afternoon|evening))\b[\s!.,]*(there)?[\s!.,]*$", re.I)
_THANKS = re.compile(r"^(thanks|thank\s+you|thx|cheers|many\s+thanks)\b[\w\s!.,]*$", re.I)


def small_talk(text: str) -> str | None:
    """A reply to a bare greeting or thanks (short messages only), else None."""
    text = text.strip()
    if len(text) > 40:
        return None
    if _GREETING.match(text):
        return "Hello! What can I help you with today?"
    if _THANKS.match(text):
        return "You're welcome! Is there anything else I can help with?"
    return None
