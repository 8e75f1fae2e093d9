"""Forms of the legal-hold pages. Rules that need the agency's clock (the end date at most a
year ahead) are checked by the services, whose refusals the views show as form errors."""

from __future__ import annotations

from typing import Any

from django import forms

DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


class HoldForm(forms.Form):
    case_number = forms.CharField(max_length=100, label="Case number")
    authority = forms.CharField(
        max_length=300,
        label="Legal authority",
        help_text="The subpoena, court order or warrant, with its number and court.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reason")
    ends_on = forms.DateField(
        widget=DATE_WIDGET,
        label="Hold until",
        help_text="The last day the captures are kept (at most one year from today).",
    )


class HoldFromSearchForm(HoldForm):
    captures = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, label="Captures to hold", required=True
    )

    def __init__(self, *args: Any, capture_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["captures"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = capture_choices


class RenewForm(forms.Form):
    ends_on = forms.DateField(widget=DATE_WIDGET, label="New end date")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Reason for renewing")


class ReleaseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why it is lifted")
