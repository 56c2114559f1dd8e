"""Dashboard forms for customers."""

from __future__ import annotations

from typing import Any

from django import forms

from customers.models import Customer
from stages.models import Stage


class MoveStageForm(forms.Form):
    """Move a customer to another live stage, with an optional reason."""

    to_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), label="Move to", empty_label=None, to_field_name="slug"
    )
    reason = forms.CharField(max_length=500, required=False, label="Reason")

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].queryset = (
            Stage.objects.filter(is_archived=False)
            .exclude(pk=customer.stage_id)
            .order_by("position", "id")
        )
