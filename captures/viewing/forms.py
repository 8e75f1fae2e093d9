"""The print form of the capture page."""

from __future__ import annotations

from django import forms

DESTINATIONS = [
    ("agency", "It stays in the agency (the case file, a colleague of this agency)"),
    ("outside", "It leaves the agency (a prosecutor, a court, another agency, anyone else)"),
]


class PrintForm(forms.Form):
    case_number = forms.CharField(max_length=100, label="Case or incident number")
    destination = forms.ChoiceField(
        choices=DESTINATIONS,
        widget=forms.RadioSelect,
        initial="agency",
        label="Where does the printout go?",
        help_text="A printout that leaves the agency is a disclosure: it is recorded in the "
        "disclosure register and printed once a different Administrator has approved it.",
    )
