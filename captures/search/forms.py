"""The search form. Times are in the agency's time zone (views activate it), so what the
officer types means what their clocks say."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.html import format_html_join

from audit.models import AccessEvent
from captures.models import AuthorizedPurpose, Camera
from captures.reading.matching import match_key
from captures.search.query import (
    MIN_KNOWN_CHARACTERS,
    US_STATES,
    PatternError,
    SearchQuery,
    parse_plate_pattern,
)
from captures.sharing.forms import shared_agencies_field
from tenants.models import Agency

DEFAULT_DAYS = 7
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
STATE_CHOICES = [("", "Any state"), *((code, code) for code in US_STATES)]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=DATETIME_FORMAT, **kwargs)


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time in the agency's zone that never fails on a clock change.

    When clocks go back an hour happens twice: the start of a range takes its first occurrence
    and the end its second, so the range covers everything the officer meant. A time that
    never happened (clocks going forward) is read with the offset before the change.
    """

    def __init__(self, *, latest: bool = False, **kwargs: Any) -> None:
        self.fold = 1 if latest else 0
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime.datetime | None:
        if isinstance(value, str):
            value = value.strip()
            for fmt in self.input_formats or ():
                try:
                    naive = datetime.datetime.strptime(value, fmt)
                except ValueError:
                    continue
                zone = timezone.get_current_timezone()
                return naive.replace(tzinfo=zone, fold=self.fold).astimezone(zone)
        return super().to_python(value)


class PurposeForm(forms.Form):
    """The purpose fields of every way to plate data (a search, a review session).

    The purpose is checked by the service with the rest of the request, so that a refusal is
    logged; subclasses name the purpose field and describe the details they expect.
    """

    purpose_label = "Purpose"
    purpose_text_help = ""

    purpose = forms.ModelChoiceField(
        queryset=AuthorizedPurpose.objects.none(),
        required=False,
        empty_label="Choose a purpose…",
    )
    case_number = forms.CharField(required=False, max_length=100, label="Case or incident number")
    purpose_text = forms.CharField(
        required=False,
        max_length=1000,
        label="Details of the purpose",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, agency: Agency, **kwargs: Any) -> None:
        self.agency = agency
        super().__init__(*args, **kwargs)
        self.fields["purpose"].label = self.purpose_label
        self.fields["purpose_text"].help_text = self.purpose_text_help

    def _model_field(self, name: str) -> forms.ModelChoiceField[Any]:
        return cast("forms.ModelChoiceField[Any]", self.fields[name])


class SearchForm(PurposeForm):
    purpose_label = "Purpose of this search"
    purpose_text_help = "Specifics, e.g. “stolen grey Civic, reported 11/27”."
    # The search's own fields first, then the purpose's.
    field_order = ["plate", "similar", "state", "start", "end", "cameras", "include_unconfirmed"]

    plate = forms.CharField(
        required=False,
        max_length=40,
        help_text="Exact, or * for any run of characters and ? for exactly one (7AB*, ?XY12?).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    similar = forms.BooleanField(
        required=False,
        label="Include similar plates",
        help_text="Also match characters readers confuse: O/0/Q/D, I/1/L, B/8, S/5, Z/2, G/6, "
        "and a 4 read as L.",
    )
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES)
    start = LocalDateTimeField(
        label="From",
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        widget=LocalDateTimeInput(),
        error_messages={
            "required": "Enter the date and time the search starts from.",
            "invalid": "Enter a date and time, such as 2026-11-30 14:00.",
        },
    )
    end = LocalDateTimeField(
        latest=True,
        label="To",
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        widget=LocalDateTimeInput(),
        error_messages={
            "required": "Enter the date and time the search runs to.",
            "invalid": "Enter a date and time, such as 2026-11-30 14:00.",
        },
    )
    cameras = forms.ModelMultipleChoiceField(
        queryset=Camera.objects.none(),
        required=False,
        help_text="None selected: all cameras.",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Choose cameras from the list; %(value)s is not one of them.",
            "invalid_pk_value": "Choose cameras from the list; %(pk)s is not one of them.",
        },
    )
    include_unconfirmed = forms.BooleanField(
        required=False,
        initial=True,
        label="Include unconfirmed reads",
        help_text="Reads no person has confirmed yet; confirm one before acting on it.",
    )

    def __init__(self, *args: Any, agency: Agency, **kwargs: Any) -> None:
        super().__init__(*args, agency=agency, **kwargs)
        self.camera_choices = Camera.objects.order_by("name")
        self.purpose_choices = AuthorizedPurpose.objects.filter(active=True)
        self._model_field("cameras").queryset = self.camera_choices
        self._model_field("purpose").queryset = self.purpose_choices
        # Granting agencies to include (captures/sharing); no choices: not shown.
        self.fields["agencies"] = shared_agencies_field(agency)
        if agency.require_case_number:
            case_number = self.fields["case_number"]
            case_number.label = f"{case_number.label} (required)"
        if not self.is_bound:
            now = timezone.localtime()
            self.initial.setdefault("end", now.replace(second=0, microsecond=0))
            self.initial.setdefault(
                "start",
                (now - datetime.timedelta(days=DEFAULT_DAYS)).replace(second=0, microsecond=0),
            )

    # Selects rendered directly: Django's template-based widgets take ~20 ms for 200 cameras.
    def _options(self, name: str, choices: Iterable[tuple[Any, Any]]) -> str:
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
    def camera_checkboxes(self) -> str:
        """One checkbox per camera (rendered directly, like the selects: 200 cameras)."""
        value = self["cameras"].value() or []
        chosen = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value)}
        return format_html_join(
            "",
            '<label class="check camera-choice"><input type="checkbox" name="cameras" '
            'value="{}" id="id_cameras_{}"{}> {}</label>',
            (
                (pk, pk, " checked" if str(pk) in chosen else "", name)
                for pk, name in self.camera_choices.values_list("pk", "name")
            ),
        )

    @property
    def camera_count(self) -> int:
        return self.camera_choices.count()

    @property
    def state_options(self) -> str:
        return self._options("state", STATE_CHOICES)

    @property
    def purpose_options(self) -> str:
        purposes = self.purpose_choices.values_list("pk", "name")
        return self._options("purpose", [("", "Choose a purpose…"), *purposes])

    def clean_plate(self) -> str:
        raw = self.cleaned_data.get("plate", "")
        try:
            pattern = parse_plate_pattern(raw)
        except PatternError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return pattern.text if pattern else ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end and start >= end:
            self.add_error("end", "The end of the range must be after its start.")
        if start and start > timezone.now():
            self.add_error("start", "The range starts in the future: no read can be there yet.")
        plate = data.get("plate") or ""
        if plate and data.get("similar") and len(match_key(plate)) < MIN_KNOWN_CHARACTERS:
            self.add_error(
                "plate",
                "Similar plates are matched on letters and digits only: give at least "
                f"{MIN_KNOWN_CHARACTERS} of them, or search without similar plates.",
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

    def typed_query(self) -> dict[str, Any]:
        """Every query element as typed, for the log of a refused search (cut to fit)."""
        data = self.data
        return {
            "plate": data.get("plate", "")[:40],
            "state": data.get("state", "")[:2],
            "from": data.get("start", "")[:40],
            "to": data.get("end", "")[:40],
            "cameras": [c[:20] for c in data.getlist("cameras")[:250]]
            if hasattr(data, "getlist")
            else [],
            "include_unconfirmed": bool(data.get("include_unconfirmed")),
            "similar": bool(data.get("similar")),
        }

    def typed(self, name: str) -> str:
        """A purpose field as cleaned, or as typed when the form refused it (it is logged)."""
        cleaned = getattr(self, "cleaned_data", {}).get(name)
        return str(cleaned or self.data.get(name, ""))


def error_sentences(form: forms.Form) -> list[str]:
    """The form's errors as sentences, each named by its field's label: a refusal's reason."""
    sentences: list[str] = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        for error in errors:
            sentences.append(f"{label}: {error}" if label else str(error))
    return sentences


def initial_from_search(event: AccessEvent, query: SearchQuery) -> dict[str, Any]:
    """The form filled in as a logged search was run (shown with its results again)."""
    return {
        "plate": query.plate,
        "similar": query.similar,
        "state": query.state,
        "start": timezone.localtime(query.start) if query.start else None,
        "end": timezone.localtime(query.end) if query.end else None,
        "cameras": list(query.camera_ids),
        "include_unconfirmed": query.include_unconfirmed,
        "purpose": AuthorizedPurpose.objects.filter(name=event.purpose_category).first(),
        "case_number": event.case_number,
        "purpose_text": event.purpose_text,
    }
