"""Dashboard forms for consent and the suppression list."""

from __future__ import annotations

from django import forms

from consent.models import SuppressionReason
from messaging.models import Channel


class ConsentChangeForm(forms.Form):
    """Grant or withdraw a customer's consent on one channel (recorded as method dashboard)."""

    channel = forms.ChoiceField(choices=Channel.choices)
    granted = forms.TypedChoiceField(
        choices=[("1", "Grant"), ("0", "Withdraw")], coerce=lambda value: value == "1"
    )
    note = forms.CharField(
        max_length=200,
        required=False,
        label="How the customer told us",
        help_text="E.g. 'asked by phone on 3 May'. Kept in the history.",
    )


class SuppressionForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    address = forms.CharField(max_length=254, label="Email address or phone number")
    reason = forms.ChoiceField(choices=SuppressionReason.choices, initial=SuppressionReason.MANUAL)
    note = forms.CharField(max_length=500, required=False)
