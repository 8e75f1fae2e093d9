from __future__ import annotations

from typing import Any

from django import forms


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, strip=True)
    password = forms.CharField(max_length=4096, strip=False, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        strip=True,
        error_messages={"required": "Enter the 6-digit code from your authenticator app."},
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(strip=False, widget=forms.PasswordInput)
    new_password1 = forms.CharField(strip=False, widget=forms.PasswordInput)
    new_password2 = forms.CharField(strip=False, widget=forms.PasswordInput)

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self) -> str:
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise forms.ValidationError("Your current password is not right.")
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if (
            cleaned.get("new_password1")
            and cleaned.get("new_password2")
            and cleaned["new_password1"] != cleaned["new_password2"]
        ):
            self.add_error("new_password2", "The two new passwords differ.")
        return cleaned
