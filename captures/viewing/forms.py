"""The print form of the capture page."""

from __future__ import annotations

from django import forms


class PrintForm(forms.Form):
    case_number = forms.CharField(max_length=100, label="Case or incident number")
