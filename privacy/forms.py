from __future__ import annotations

from django import forms

from privacy.models import DataRequest

REASON_MAX = 2000


class AccountRequestForm(forms.Form):
    kind = forms.ChoiceField(
        choices=DataRequest.Kind.choices,
        widget=forms.RadioSelect,
        label="What would you like?",
        error_messages={"required": "Choose a copy or a deletion.", "invalid_choice": "Choose a copy or a deletion."},
    )


class VisitorRequestForm(AccountRequestForm):
    email = forms.EmailField(
        max_length=254,
        label="Your e-mail address",
        help_text="We send a confirmation link there.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your e-mail address.",
            "invalid": "Enter an e-mail address such as name@example.com.",
        },
    )


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason",
        help_text="Required to deny: the customer reads it in the e-mail we send.",
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "deny" and "reason" not in self.errors and not (data.get("reason") or "").strip():
            self.add_error("reason", "Give the reason for denying: the customer will read it.")
        return data
