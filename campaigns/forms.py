"""Dashboard forms for campaigns: the campaign, its variants (a formset), schedule, preview."""

from __future__ import annotations

from typing import Any

from django import forms

from campaigns.models import AbMetric, Campaign
from customers.models import Customer
from messaging.models import Channel, MessageTemplate


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)
    segment: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, required=False)  # type: ignore[arg-type]
    customer_ids = forms.CharField(
        required=False,
        label="Or these customers",
        help_text="Customer ids separated by commas or spaces, instead of a segment.",
    )
    send_rate_per_minute = forms.IntegerField(min_value=1, initial=10_000)
    cost = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, initial=0)
    currency = forms.CharField(max_length=3, initial="EUR")
    utm_source = forms.CharField(max_length=100, required=False, label="Source")
    utm_campaign = forms.CharField(max_length=200, required=False, label="utm_campaign tag")
    attribution_window_days = forms.IntegerField(min_value=1, max_value=365, initial=14)
    ab_metric = forms.ChoiceField(choices=AbMetric.choices, initial=AbMetric.CLICK)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from segments.models import Segment

        segment_field = self.fields["segment"]
        assert isinstance(segment_field, forms.ModelChoiceField)
        segment_field.queryset = Segment.objects.order_by("name")

    def clean_customer_ids(self) -> list[int] | None:
        raw = self.cleaned_data.get("customer_ids", "").replace(",", " ").split()
        if not raw:
            return None
        if not all(part.isdigit() for part in raw):
            raise forms.ValidationError("Give customer ids as numbers.")
        return [int(part) for part in raw]

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        data = {
            name: getattr(campaign, name) for name in cls.base_fields if hasattr(campaign, name)
        }
        data["segment"] = campaign.segment_id
        data["customer_ids"] = " ".join(str(pk) for pk in campaign.customer_ids or [])
        return data


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_channel_display()})"


class VariantForm(forms.Form):
    template = TemplateChoiceField(
        queryset=MessageTemplate.objects.order_by("name", "id"),
        required=False,
        label="Start from a template",
        empty_label="(none)",
        help_text="“Fill from template” copies its subject and bodies here, to edit freely; "
        "on save, empty texts are taken from the chosen template.",
    )
    name = forms.CharField(max_length=100, required=False)
    split = forms.IntegerField(min_value=0, max_value=100)
    subject = forms.CharField(max_length=300, required=False)
    body_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    body_html = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, label="HTML body"
    )


VariantFormSet = forms.formset_factory(VariantForm, extra=0, min_num=1, max_num=10, can_delete=True)


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Send at"
    )


class PreviewForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), widget=forms.NumberInput)
    variant = forms.IntegerField(required=False, widget=forms.HiddenInput)
