"""The console's forms (parsing only: conversations.canned validates again and saves)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator

from conversations.canned import KNOWN_PLACEHOLDERS, SHORTCUT_MAX, TITLE_MAX


class CannedReplyForm(forms.Form):
    shortcut = forms.SlugField(
        max_length=SHORTCUT_MAX,
        help_text="Type / and this in the composer to find the reply, such as greet.",
    )
    title = forms.CharField(max_length=TITLE_MAX, help_text="Shown in the list. Keep names and personal details out.")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Placeholders filled in when the reply is inserted: "
        + ", ".join("{" + name + "}" for name in KNOWN_PLACEHOLDERS)
        + ". Anything you send is masked like any message.",
    )
    shared = forms.BooleanField(required=False, label="Shared with every agent")

    def __init__(self, *args: Any, may_share: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].validators.append(MaxLengthValidator(settings.CHAT_MAX_BODY_CHARS))
        self.fields["body"].widget.attrs["maxlength"] = settings.CHAT_MAX_BODY_CHARS
        if not may_share:
            del self.fields["shared"]
