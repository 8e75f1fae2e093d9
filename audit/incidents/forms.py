"""Forms of the incident pages. Times are typed in the agency's time zone (views activate it)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms

from audit.incidents.models import AffectedItem, Notification

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
SPLIT = re.compile(r"[\s,;]+")
MAX_SUSPECTS = 100


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=DATETIME_FORMAT, **kwargs)


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(w for w in SPLIT.split(text or "") if w))


class IncidentForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="What happened")
    window_start = forms.DateTimeField(
        widget=LocalDateTimeInput(), input_formats=[DATETIME_FORMAT], label="Window start"
    )
    window_end = forms.DateTimeField(
        widget=LocalDateTimeInput(), input_formats=[DATETIME_FORMAT], label="Window end"
    )
    suspected_accounts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Suspected accounts",
        help_text="Usernames, separated by spaces, commas or new lines.",
    )
    suspected_addresses = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Suspected IP addresses",
        help_text="IPv4 or IPv6 addresses, separated by spaces, commas or new lines.",
    )

    def clean_suspected_accounts(self) -> list[str]:
        names = _words(self.cleaned_data.get("suspected_accounts", ""))
        if len(names) > MAX_SUSPECTS:
            raise forms.ValidationError(f"Name at most {MAX_SUSPECTS} accounts.")
        if any(len(name) > 150 for name in names):
            raise forms.ValidationError("A username is at most 150 characters.")
        return names

    def clean_suspected_addresses(self) -> list[str]:
        result = []
        for text in _words(self.cleaned_data.get("suspected_addresses", "")):
            try:
                result.append(str(ipaddress.ip_address(text)))
            except ValueError:
                raise forms.ValidationError(f"{text!r} is not an IP address.") from None
        if len(result) > MAX_SUSPECTS:
            raise forms.ValidationError(f"Name at most {MAX_SUSPECTS} addresses.")
        return list(dict.fromkeys(result))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", "The window must end after it starts.")
        accounts, addresses = data.get("suspected_accounts"), data.get("suspected_addresses")
        if accounts == [] and addresses == []:
            raise forms.ValidationError("Name at least one suspected account or IP address.")
        return data


class AffectedAddForm(forms.Form):
    kind = forms.ChoiceField(choices=AffectedItem.Kind.choices)
    capture_id = forms.CharField(required=False, max_length=64, label="Capture id")
    plate = forms.CharField(required=False, max_length=16)
    state = forms.CharField(required=False, max_length=2)
    description = forms.CharField(required=False, max_length=300)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why it is added")


class AffectedRemoveForm(forms.Form):
    note = forms.CharField(max_length=2000, label="Why it is removed")


class NotificationForm(forms.Form):
    recipient_kind = forms.ChoiceField(choices=Notification.RecipientKind.choices, label="Who")
    recipient = forms.CharField(max_length=200, label="Name")
    contact = forms.CharField(required=False, max_length=300, label="Address, e-mail or phone")
    responsible = forms.CharField(max_length=150, label="Notified by")
    due_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due by")


class NotificationDoneForm(forms.Form):
    method = forms.ChoiceField(choices=Notification.Method.choices, label="How")
    note = forms.CharField(required=False, max_length=2000, label="Note")


class CloseForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="How it was resolved")
