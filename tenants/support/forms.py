from __future__ import annotations

from django import forms

from tenants.support.models import MAX_GRANT_HOURS, Scope


class GrantForm(forms.Form):
    platform_username = forms.CharField(
        max_length=150,
        label="Platform staff member (their platform username)",
        help_text="Only this person can sign in under the grant, with their own password and "
        "second factor.",
    )
    scope = forms.ChoiceField(choices=Scope.choices, widget=forms.RadioSelect, label="Scope")
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What they are to do, e.g. a ticket number and the problem.",
    )
    hours = forms.IntegerField(
        min_value=1,
        max_value=MAX_GRANT_HOURS,
        initial=4,
        label="Duration (hours)",
        help_text=f"From now; at most {MAX_GRANT_HOURS} hours. Revoke it earlier when done.",
        error_messages={
            "max_value": f"Support access lasts at most {MAX_GRANT_HOURS} hours.",
            "min_value": "Support access lasts at least one hour.",
        },
    )
    training_completed_on = forms.DateField(
        required=False,
        label="Training completed on (read-only data only)",
        help_text="The date they completed this agency's ALPR training (within the past year).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        min_length=3,
        error_messages={"required": "Say why the support access is revoked."},
    )


class SupportSignInForm(forms.Form):
    username = forms.CharField(max_length=150, strip=True, label="Platform username")
    password = forms.CharField(max_length=4096, strip=False, widget=forms.PasswordInput)
    code = forms.CharField(
        max_length=32, strip=True, label="Code from your platform authenticator app"
    )
