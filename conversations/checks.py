"""`manage.py check`: the masking policy names kinds and a region that exist."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.conf import settings
from django.core.checks import Error, Tags, register

from conversations.redaction import Kind


@register(Tags.compatibility)
def redaction_policy(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    unknown = sorted(set(settings.REDACTION_KINDS) - {kind.value for kind in Kind})
    if unknown:
        errors.append(
            Error(
                f"REDACTION_KINDS names kinds that do not exist: {', '.join(unknown)}.",
                hint=f"Choose among: {', '.join(kind.value for kind in Kind)}.",
                id="conversations.E001",
            )
        )
    if settings.REDACTION_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
        errors.append(
            Error(
                f"REDACTION_PHONE_REGION {settings.REDACTION_PHONE_REGION!r} is not a region phone numbers are known for.",
                hint="An ISO 3166 country code, such as US, GB or DE.",
                id="conversations.E002",
            )
        )
    return errors
