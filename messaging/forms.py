"""Dashboard forms for the template library: a template, and the customer to preview for."""

from __future__ import annotations

from django import forms

from messaging.models import Channel, MessageKind


class TemplateForm(forms.Form):
    """A template's fields; messaging.services validates the placeholders and blocks."""

    name = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)
    kind = forms.ChoiceField(
        choices=MessageKind.choices,
        initial=MessageKind.MARKETING,
        help_text="Marketing goes only to customers who consented on the channel and carries "
        "an unsubscribe link; transactional is what the customer asked for or is owed.",
    )
    subject = forms.CharField(max_length=300, required=False, help_text="Email only.")
    body_text = forms.CharField(
        label="Text",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
        help_text="The plain-text email body, or the SMS.",
    )
    body_html = forms.CharField(
        label="HTML body",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "mono"}),
        help_text="Email only, optional. Values are HTML-escaped.",
    )


class PreviewCustomerForm(forms.Form):
    """Whom to personalise for: a customer id, or a search to pick one from."""

    customer = forms.IntegerField(
        required=False, min_value=1, label="Customer id", widget=forms.NumberInput
    )
    q = forms.CharField(required=False, max_length=200, label="Or search (name, email, company)")
