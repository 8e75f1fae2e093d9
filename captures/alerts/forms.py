"""Forms of the hotlist pages: an entry typed in (with the search's purpose fields), an
entry changed or removed, and the two steps of an alert (what the image shows, the outcome)."""

from __future__ import annotations

from typing import Any

from django import forms

from captures.alerts.entries import EntryData
from captures.alerts.selectors import agency_lists
from captures.hotlists.models import Hit, HotlistPolicy, Reason
from captures.models import AuthorizedPurpose
from captures.search.forms import STATE_CHOICES, PurposeForm
from tenants.models import Agency


class EntryForm(PurposeForm):
    """A plate typed into one of the agency's lists; the purpose is checked by the service."""

    purpose_label = "Purpose of this entry"
    purpose_text_help = "Why the plate is wanted and what officers should know (required)."
    field_order = ["hotlist", "plate", "state", "reason", "reference", "notes", "days"]

    hotlist = forms.ModelChoiceField(queryset=agency_lists(), label="List", empty_label=None)
    plate = forms.CharField(max_length=20, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES)
    reason = forms.ChoiceField(choices=Reason.choices)
    reference = forms.CharField(required=False, max_length=40, label="Reference number")
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea({"rows": 2}))
    days = forms.IntegerField(required=False, min_value=1, label="Expires after (days)")

    def __init__(self, *args: Any, agency: Agency, **kwargs: Any) -> None:
        super().__init__(*args, agency=agency, **kwargs)
        self._model_field("hotlist").queryset = agency_lists()
        self._model_field("purpose").queryset = AuthorizedPurpose.objects.filter(
            active=True
        ).exclude(use=AuthorizedPurpose.Use.REVIEW)
        policy = HotlistPolicy.current()
        self.fields[
            "days"
        ].help_text = (
            f"Default {policy.entry_days}; at most {policy.max_entry_days} under the policy."
        )
        self.fields["case_number"].label = "Case or incident number (required)"

    def entry_data(self) -> EntryData:
        data = self.cleaned_data
        return EntryData(
            plate=data.get("plate") or "",
            state=data.get("state") or "",
            reason=data.get("reason") or "",
            reference=data.get("reference") or "",
            notes=data.get("notes") or "",
            days=data.get("days"),
        )

    def typed(self, name: str) -> str:
        cleaned = getattr(self, "cleaned_data", {}).get(name)
        return str(cleaned or self.data.get(name, ""))


class EntryChangeForm(forms.Form):
    reference = forms.CharField(required=False, max_length=40)
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea({"rows": 2}))
    days = forms.IntegerField(
        required=False,
        min_value=1,
        label="Expires after (days from now)",
        help_text="Empty: the expiry stays.",
    )


class EntryRemoveForm(forms.Form):
    why = forms.CharField(max_length=1000, label="Why is it removed?")


DECISION_CHOICES = [
    (Hit.Status.CONFIRMED.value, "Confirmed match: the image shows the entry's plate"),
    (Hit.Status.MISREAD.value, "Misread: the image shows another plate (correct the read)"),
    (Hit.Status.STATE_MISMATCH.value, "State mismatch: same plate, another state"),
    (Hit.Status.ENTRY_INVALID.value, "Entry no longer valid"),
]


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=DECISION_CHOICES, widget=forms.RadioSelect)
    plate = forms.CharField(
        required=False, max_length=20, label="Plate the image shows (for a misread)"
    )
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES, label="State it shows")
    note = forms.CharField(required=False, max_length=1000, label="Note")


class ActForm(forms.Form):
    outcome = forms.ChoiceField(choices=Hit.ActOutcome.choices)
    case_number = forms.CharField(max_length=100, label="Case or incident number")
