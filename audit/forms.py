"""Filters of the auditor pages and the flag-review form."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms

from audit.models import Action, FlagKind, Outcome

SLUG_PATTERN = r"[a-z][a-z0-9-]{1,40}[a-z0-9]"  # tenants.models.slug_validator
QUERY_KEYS = ("plate", "state", "from", "to", "cameras", "include_unconfirmed", "similar")


class EventFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150, label="User")
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *Action.choices], label="Action"
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    purpose_category = forms.CharField(required=False, max_length=100, label="Purpose category")
    case_number = forms.CharField(required=False, max_length=100, label="Case number")
    plate = forms.CharField(
        required=False,
        max_length=20,
        label="Plate",
        help_text="Who looked at this plate: searches for it and every page that showed it.",
    )
    element = forms.CharField(
        required=False,
        max_length=120,
        label="Other query element",
        help_text="key=value, e.g. state=CA or cameras=3",
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *Outcome.choices], label="Outcome"
    )
    flagged = forms.BooleanField(required=False, label="Flagged only")
    # Sharing between agencies: entries naming another agency (tenants/sharing/links.py).
    agency = forms.CharField(
        required=False,
        max_length=42,
        label="Other agency",
        help_text="Slug of the agency that searched our data or whose data we searched; * any.",
    )

    def clean_agency(self) -> str:
        value: str = self.cleaned_data["agency"].strip().lower()
        if value and value != "*" and not re.fullmatch(SLUG_PATTERN, value):
            raise forms.ValidationError("Give an agency's slug (e.g. springfield), or * for any.")
        return value

    def clean_plate(self) -> str:
        """As plates are stored: upper-case, without spaces, dashes or dots."""
        return re.sub(r"[\s\-.·]+", "", self.cleaned_data["plate"]).upper()

    def clean_element(self) -> dict[str, Any] | None:
        raw = self.cleaned_data["element"].strip()
        if not raw:
            return None
        key, sep, value = raw.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise forms.ValidationError("Write the element as key=value, e.g. state=CA.")
        if key not in QUERY_KEYS:
            raise forms.ValidationError(
                f"Unknown query element {key!r}; use one of {', '.join(QUERY_KEYS)}."
            )
        parsed: Any = value
        if value.lower() in {"true", "false"}:
            parsed = value.lower() == "true"
        elif value.lstrip("-").isdigit():
            parsed = int(value)
        if key == "cameras":
            return {key: [parsed]}
        return {key: parsed}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError("The end date is before the start date.")
        return data

    def active_filters(self) -> dict[str, Any]:
        """The filters in force, JSON-ready (for logging an export and building links)."""
        out: dict[str, Any] = {}
        for name, value in (self.cleaned_data or {}).items():
            if value in (None, "", False):
                continue
            out[name] = value.isoformat() if isinstance(value, datetime.date) else value
        return out


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError("The end date is before the start date.")
        if start and end and (end - start).days > 366:
            raise forms.ValidationError("Choose a period of at most a year.")
        return data


class FlagFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("open", "Not reviewed"), ("reviewed", "Reviewed"), ("all", "All")],
        label="Status",
    )
    kind = forms.ChoiceField(required=False, choices=[("", "Any reason"), *FlagKind.choices])
    user = forms.CharField(required=False, max_length=150)


class FlagReviewForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        label="Review note",
        help_text="What you checked and what you concluded.",
        error_messages={"required": "Write a note saying what you checked and concluded."},
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Write a note saying what you checked and concluded.")
        return note
