"""Forms of the review pages: a decision on a read, and the purpose of a review session."""

from __future__ import annotations

from typing import Any

from django import forms

from captures.review.selectors import review_purposes
from captures.search.forms import PurposeForm
from tenants.models import Agency


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


class ReviewSessionForm(PurposeForm):
    """The purpose of a review session: the search form's purpose fields, for the queue."""

    purpose_label = "Purpose of this review session"
    purpose_text_help = (
        "Optional for quality review; required for a purpose marked as needing words."
    )

    item = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, agency: Agency, **kwargs: Any) -> None:
        super().__init__(*args, agency=agency, **kwargs)
        self._model_field("purpose").queryset = review_purposes()
        if agency.require_case_number:
            case_number = self.fields["case_number"]
            case_number.label = f"{case_number.label} (required unless the purpose is review only)"
