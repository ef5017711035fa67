from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.utils import timezone

from audit.actions import Action
from privacy.models import DataRequest
from privacy.oversight.trail import TrailQuery, object_types

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


# --- oversight: the trail's filters, incidents ---------------------------------------------------
class TrailFilterForm(forms.Form):
    """The trail viewer's filters (GET). A person is a staff account from the list, or any user id
    (customers are known by id only)."""

    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Staff member")
    user_id = forms.IntegerField(required=False, min_value=1, label="Or user id")
    action = forms.ChoiceField(required=False, label="Action")
    # A kind from a list and an id in an id's shape: the filters go into the viewer's own audit
    # entry, so free text (a name or an e-mail address typed to find someone) is refused.
    object_type = forms.ChoiceField(required=False, label="Object type")
    object_id = forms.CharField(
        required=False, max_length=64, label="Object id", help_text="A number or a UUID, as the trail shows it."
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: object, staff: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Anyone"), *staff]
        self.fields["action"].choices = [("", "Any action"), *Action.choices]
        self.fields["object_type"].choices = [("", "Any object"), *((kind, kind) for kind in object_types())]

    def clean_object_id(self) -> str:
        value = (self.cleaned_data.get("object_id") or "").strip()
        if value and not value.isdigit():
            try:
                value = str(uuid.UUID(value))
            except ValueError:
                raise forms.ValidationError("An object id is a number or a UUID, as the trail shows it.") from None
        return value

    def clean(self) -> dict:
        data = super().clean()
        if data.get("person") and data.get("user_id") and data["person"] != data["user_id"]:
            self.add_error("user_id", "Choose a staff member or give a user id, not both.")
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data

    def query(self) -> TrailQuery | None:
        """The filters as a TrailQuery; None when they are invalid (nothing is then shown or
        exported: an invalid filter must not turn into no filter)."""
        if self.is_bound and not self.is_valid():
            return None
        data = self.cleaned_data if self.is_bound else {}
        return TrailQuery(
            actor_id=data.get("person") or data.get("user_id"),
            action=data.get("action") or "",
            object_type=data.get("object_type") or "",
            object_id=data.get("object_id") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


_LOCAL_DATETIME = {"widget": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}


def _not_future(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value > timezone.now():
        raise forms.ValidationError("This cannot be in the future.")
    return value


class IncidentOpenForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")
    description = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 5}), label="What happened"
    )
    discovered_at = forms.DateTimeField(
        label="Discovered at",
        help_text="Site time. The 72-hour notification deadline counts from here.",
        **_LOCAL_DATETIME,
    )

    def clean_discovered_at(self) -> dt.datetime | None:
        return _not_future(self.cleaned_data.get("discovered_at"))


class IncidentAttachForm(forms.Form):
    """Audit entries to attach: a seq range, narrowed by person and action if given."""

    seq_from = forms.IntegerField(required=False, min_value=1, label="From entry #")
    seq_to = forms.IntegerField(required=False, min_value=1, label="To entry # (included)")
    user_id = forms.IntegerField(required=False, min_value=1, label="Only by user id")
    action = forms.ChoiceField(required=False, label="Only this action")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action"), *Action.choices]

    def clean(self) -> dict:
        data = super().clean()
        if not any(data.get(name) for name in ("seq_from", "seq_to", "user_id", "action")):
            raise forms.ValidationError("Give a range of entries or a filter.")
        if data.get("seq_from") and data.get("seq_to") and data["seq_from"] > data["seq_to"]:
            self.add_error("seq_to", "The range ends before it starts.")
        return data

    def query(self) -> TrailQuery:
        return TrailQuery(actor_id=self.cleaned_data.get("user_id"), action=self.cleaned_data.get("action") or "")


class IncidentCloseForm(forms.Form):
    notified_party = forms.CharField(
        max_length=200, label="Notified", help_text="Whom you notified, e.g. the supervisory authority."
    )
    notified_at = forms.DateTimeField(label="Notified at", help_text="Site time.", **_LOCAL_DATETIME)

    def clean_notified_at(self) -> dt.datetime | None:
        return _not_future(self.cleaned_data.get("notified_at"))
