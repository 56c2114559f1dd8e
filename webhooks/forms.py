"""The dashboard's subscription form; the service checks the URL and the events."""

from __future__ import annotations

from django import forms

from webhooks.guard import MAX_URL_LENGTH
from webhooks.models import WebhookEvent
from webhooks.services import MAX_NAME_LENGTH


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME_LENGTH, help_text="Who receives it, e.g. “Billing”.")
    url = forms.CharField(
        label="URL",
        max_length=MAX_URL_LENGTH,
        help_text="http or https; private and loopback addresses are refused.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/flywheel"}),
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(
        label="Active", required=False, initial=True, help_text="Inactive: nothing is sent."
    )
