"""Forms of the search, review and print pages. Times are in the agency's time zone
(views activate it), so what the officer types means what their clocks say."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.html import format_html_join

from captures.models import AuthorizedPurpose, Camera
from captures.reading.matching import match_key
from captures.review import US_STATES, review_purposes
from captures.search import (
    MIN_KNOWN_CHARACTERS,
    PatternError,
    SearchQuery,
    parse_plate_pattern,
)
from tenants.models import Agency

DEFAULT_DAYS = 7
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
STATE_CHOICES = [("", "Any state"), *((code, code) for code in US_STATES)]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_FORMAT, **kwargs)


class SearchForm(forms.Form):
    plate = forms.CharField(
        required=False,
        max_length=40,
        help_text="Exact, or * for any run of characters and ? for exactly one (7AB*, ?XY12?).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    similar = forms.BooleanField(
        required=False,
        label="Include similar plates",
        help_text="Also match characters readers confuse: O/0/Q/D, I/1/L, B/8, S/5, Z/2, G/6.",
    )
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES)
    start = forms.DateTimeField(
        label="From", input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"], widget=LocalDateTimeInput()
    )
    end = forms.DateTimeField(
        label="To", input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"], widget=LocalDateTimeInput()
    )
    cameras = forms.ModelMultipleChoiceField(
        queryset=Camera.objects.none(),
        required=False,
        help_text="None selected: all cameras.",
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    include_unconfirmed = forms.BooleanField(
        required=False,
        initial=True,
        label="Include unconfirmed reads",
        help_text="Reads no person has confirmed yet; confirm one before acting on it.",
    )
    purpose = forms.ModelChoiceField(
        queryset=AuthorizedPurpose.objects.none(),
        required=False,  # checked with the rest of the purpose, so the refusal is logged
        label="Purpose of this search",
        empty_label="Choose a purpose…",
    )
    case_number = forms.CharField(required=False, max_length=100, label="Case or incident number")
    purpose_text = forms.CharField(
        required=False,
        max_length=1000,
        label="Details of the purpose",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Specifics, e.g. “stolen grey Civic, reported 11/27”.",
    )

    def __init__(self, *args, agency: Agency, **kwargs):
        self.agency = agency
        super().__init__(*args, **kwargs)
        self.fields["cameras"].queryset = Camera.objects.order_by("name")
        self.fields["purpose"].queryset = AuthorizedPurpose.objects.filter(active=True)
        if agency.require_case_number:
            self.fields["case_number"].label += " (required)"
        if not self.is_bound:
            now = timezone.localtime()
            self.initial.setdefault("end", now.replace(second=0, microsecond=0))
            self.initial.setdefault(
                "start",
                (now - datetime.timedelta(days=DEFAULT_DAYS)).replace(second=0, microsecond=0),
            )

    # Selects rendered directly: Django's template-based widgets take ~20 ms for 200 cameras.
    def _options(self, name: str, choices) -> str:
        value = self[name].value()
        values = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value or "")}
        if name == "purpose" and hasattr(value, "pk"):
            values = {str(value.pk)}
        return format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, " selected" if str(key) in values else "", label) for key, label in choices),
        )

    @property
    def camera_options(self) -> str:
        return self._options("cameras", self.fields["cameras"].queryset.values_list("pk", "name"))

    @property
    def state_options(self) -> str:
        return self._options("state", STATE_CHOICES)

    @property
    def purpose_options(self) -> str:
        purposes = self.fields["purpose"].queryset.values_list("pk", "name")
        return self._options("purpose", [("", "Choose a purpose…"), *purposes])

    def clean_plate(self) -> str:
        raw = self.cleaned_data.get("plate", "")
        try:
            pattern = parse_plate_pattern(raw)
        except PatternError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return pattern.text if pattern else ""

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start >= end:
            self.add_error("end", "The end of the range must be after its start.")
        if start and start > timezone.now():
            self.add_error("start", "The range starts in the future: no read can be there yet.")
        plate = data.get("plate") or ""
        if plate and data.get("similar") and len(match_key(plate)) < MIN_KNOWN_CHARACTERS:
            self.add_error(
                "plate", "Similar plates are matched on letters and digits only: give more."
            )
        if not (
            data.get("plate") or data.get("state") or data.get("cameras")
        ) and not self.has_error("plate"):
            raise forms.ValidationError("Give a plate, a state or a camera to search for.")
        return data

    def query(self) -> SearchQuery:
        data = self.cleaned_data
        return SearchQuery(
            plate=data["plate"],
            similar=bool(data.get("similar")),
            state=data.get("state") or "",
            start=data["start"].astimezone(datetime.UTC),
            end=data["end"].astimezone(datetime.UTC),
            camera_ids=tuple(sorted(camera.pk for camera in data.get("cameras") or ())),
            include_unconfirmed=bool(data.get("include_unconfirmed")),
        )


class ReviewForm(forms.Form):
    ACTIONS = [("confirm", "Confirm"), ("correct", "Correct"), ("unreadable", "Unreadable")]

    action = forms.ChoiceField(choices=ACTIONS)
    plate = forms.CharField(required=False, max_length=16)
    state = forms.CharField(required=False, max_length=2)
    # Which version of the read the page showed (its latest review's id, 0 for none); the
    # service refuses, and logs, a decision made on any other.
    version = forms.CharField(required=False, max_length=20)
    rereview = forms.BooleanField(required=False)
    reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Why the earlier decision is wrong",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next = forms.CharField(required=False, max_length=200)


class ReviewSessionForm(forms.Form):
    """The purpose of a review session: the search form's purpose fields, for the queue."""

    purpose = forms.ModelChoiceField(
        queryset=AuthorizedPurpose.objects.none(),
        required=False,  # checked with the rest of the purpose, so the refusal is logged
        label="Purpose of this review session",
        empty_label="Choose a purpose…",
    )
    case_number = forms.CharField(required=False, max_length=100, label="Case or incident number")
    purpose_text = forms.CharField(
        required=False,
        max_length=1000,
        label="Details of the purpose",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional for quality review; required for a purpose marked as needing words.",
    )
    item = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, agency: Agency, **kwargs):
        self.agency = agency
        super().__init__(*args, **kwargs)
        self.fields["purpose"].queryset = review_purposes()
        if agency.require_case_number:
            self.fields["case_number"].label += " (required unless the purpose is review only)"


class PrintForm(forms.Form):
    case_number = forms.CharField(max_length=100, label="Case or incident number")
