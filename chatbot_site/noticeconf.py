"""The privacy notice's structured settings (purposes, processors), parsed from one environment
variable each, so a business states its own without editing code. Imported by settings.py only.

The format is the same for every list: entries separated by `;`, the fields of an entry by `|`,
spaces around either ignored. So no field may contain `;` or `|`.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


def entries(name: str, raw: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """`raw` (the value of variable `name`) as a list of dicts keyed by `fields`. Every entry must
    have exactly that many non-empty fields: a half-filled purpose or processor on a legal notice
    is refused at start-up rather than shown."""
    out = []
    for number, entry in enumerate((e.strip() for e in raw.split(";")), start=1):
        if not entry:
            continue
        values = [v.strip() for v in entry.split("|")]
        if len(values) != len(fields) or not all(values):
            raise ImproperlyConfigured(
                f"{name}: entry {number} must have {len(fields)} non-empty fields separated by '|' "
                f"({' | '.join(fields)}), entries separated by ';' (docs/operations.md)."
            )
        out.append(dict(zip(fields, values, strict=True)))
    return out
