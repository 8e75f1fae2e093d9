"""Form parts of sharing: the search form's choice of granting agencies, and the grant forms."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms

from tenants.models import Agency
from tenants.sharing.models import Grant
from tenants.sharing.selectors import grants_in_force


def shared_agencies_field(recipient: Agency) -> forms.ModelMultipleChoiceField[Agency]:
    """The agencies whose grants to ``recipient`` are in force, to include in a search."""
    owners = [grant.owner_id for grant in grants_in_force(recipient=recipient)]
    return forms.ModelMultipleChoiceField(
        queryset=Agency.objects.filter(pk__in=owners).order_by("name"),
        required=False,
        label="Also search agencies that share with us",
        help_text=(
            "Their data is searched in their own systems, under their rules as well as ours; "
            "the search is recorded in their access logs too."
        ),
        widget=forms.CheckboxSelectMultiple,
    )


def chosen_grants(*, recipient: Agency, owners: Any) -> list[Grant]:
    """The grants in force now from the chosen agencies (one that ended since the form was
    shown is left out: the search does not read its data)."""
    chosen = {owner.pk for owner in owners or ()}
    if not chosen:
        return []
    return [g for g in grants_in_force(recipient=recipient) if g.owner_id in chosen]


class OfferForm(forms.Form):
    recipient = forms.ModelChoiceField(
        queryset=Agency.objects.none(), label="Agency to share with", empty_label="Choose…"
    )
    ends_on = forms.DateField(
        label="Last day",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="At most a year ahead.",
    )
    days_back = forms.IntegerField(
        min_value=1, max_value=30, label="How far back (days)", required=False,
        help_text="Empty: the whole retention period.",
    )  # fmt: skip
    cameras = forms.MultipleChoiceField(
        required=False, label="Cameras", help_text="None selected: all cameras."
    )

    def __init__(self, *args: Any, owner: Agency, cameras: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["recipient"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = Agency.objects.exclude(schema_name="public").exclude(pk=owner.pk)
        cameras_field = self.fields["cameras"]
        assert isinstance(cameras_field, forms.MultipleChoiceField)  # noqa: S101
        cameras_field.choices = [(str(pk), name) for pk, name in cameras]
        self.fields["days_back"].widget.attrs["max"] = owner.retention_days


class RenewForm(forms.Form):
    ends_on = forms.DateField(label="New last day", widget=forms.DateInput(attrs={"type": "date"}))


class RevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=1000, label="Reason (optional)")


def default_end(today: datetime.date) -> datetime.date:
    return today + datetime.timedelta(days=90)
