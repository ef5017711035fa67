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
