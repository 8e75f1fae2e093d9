"""Forms of the disclosure register: preparing a release, deciding on it, filtering the list."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django import forms

from captures.models import Capture
from captures.releases.models import ALL_FIELDS, Disclosure, LegalBasis, ReleasedField
from captures.releases.services import DisclosureInput

YES_NO = [("yes", "Yes, a public agency"), ("no", "No (a person, company or other body)")]


class PrepareForm(forms.Form):
    captures = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        label="Captures to release",
        error_messages={"required": "Choose at least one capture to release."},
    )
    recipient_person = forms.CharField(max_length=200, label="Recipient (person)")
    recipient_organisation = forms.CharField(max_length=200, label="Recipient's organisation")
    recipient_is_public_agency = forms.ChoiceField(
        choices=YES_NO, widget=forms.RadioSelect, label="Is the recipient a public agency?"
    )
    recipient_jurisdiction = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        label="Recipient's state",
        help_text="Two letters, e.g. CA.",
        error_messages={"invalid": "Give the recipient's state as two letters, e.g. CA."},
    )
    legal_basis = forms.ChoiceField(
        choices=[("", "Choose…"), *LegalBasis.choices], label="Legal basis"
    )
    requester = forms.CharField(
        max_length=200, label="Requested by", help_text="Name and role of who asked for the data."
    )
    case_number = forms.CharField(max_length=100, label="Case number")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        label="What the release is for",
    )
    fields_released = forms.MultipleChoiceField(
        choices=ReleasedField.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=ALL_FIELDS,
        label="What is released",
    )
    medium = forms.ChoiceField(choices=Disclosure.Medium.choices, widget=forms.HiddenInput)

    def __init__(self, *args: Any, captures: Sequence[Capture] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["captures"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(c.pk), str(c.pk)) for c in captures]

    def disclosure_input(self) -> DisclosureInput:
        data = self.cleaned_data
        return DisclosureInput(
            recipient_person=data["recipient_person"],
            recipient_organisation=data["recipient_organisation"],
            recipient_is_public_agency=data["recipient_is_public_agency"] == "yes",
            recipient_jurisdiction=data["recipient_jurisdiction"],
            legal_basis=data["legal_basis"],
            requester=data["requester"],
            case_number=data["case_number"],
            justification=data["justification"],
            fields_released=data["fields_released"],
            medium=data["medium"],
        )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("refuse", "Refuse")], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason (required to refuse)",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "refuse" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the release is refused; the reason is recorded.")
        return data


class RegisterFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Disclosure.Status.choices]
    )
    legal_basis = forms.ChoiceField(
        required=False, choices=[("", "Any legal basis"), *LegalBasis.choices], label="Legal basis"
    )
    recipient_type = forms.ChoiceField(
        required=False,
        choices=[("", "Any recipient"), ("public", "Public agencies"), ("other", "Others")],
        label="Recipient type",
    )
    recipient = forms.CharField(required=False, max_length=200, label="Recipient")
    case_number = forms.CharField(required=False, max_length=100, label="Case number")
    user = forms.CharField(
        required=False, max_length=150, label="Prepared or decided by (username)"
    )
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def active_filters(self) -> dict[str, Any]:
        return {
            key: value.isoformat() if isinstance(value, datetime.date) else value
            for key, value in self.cleaned_data.items()
            if value not in (None, "")
        }
