"""Forms of the survey pages: the public answer form, send to one customer, bulk send.

The forms turn what a person chose into the values the services take; the rules (a live
survey, a score on the scale, one answer per link) stay in `surveys.services`.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms

from customers.models import Customer
from segments.models import Segment
from surveys.models import MAX_COMMENT_LENGTH, Survey
from surveys.scoring import scale_of


class AnswerForm(forms.Form):
    """A score on the survey's scale (radio buttons) and, if the survey asks, a comment."""

    score = forms.TypedChoiceField(coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, survey: Survey, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scale = scale_of(survey.kind)
        message = f"Choose a score from {scale.low} to {scale.high}."
        score = cast(forms.TypedChoiceField, self.fields["score"])
        score.choices = [(value, str(value)) for value in scale.scores]
        score.label = survey.question
        score.error_messages.update({"required": message, "invalid_choice": message})
        if survey.comment_label:
            self.fields["comment"].label = survey.comment_label
            self.fields["comment"].error_messages["max_length"] = (
                f"Keep the comment under {MAX_COMMENT_LENGTH} characters."
            )
        else:
            del self.fields["comment"]


class ActiveSurveyField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


def _survey_field() -> ActiveSurveyField:
    return ActiveSurveyField(
        queryset=Survey.objects.filter(is_active=True).order_by("kind", "name"),
        empty_label=None,
        label="Survey",
        error_messages={"invalid_choice": "Choose one of the active surveys."},
    )


class SendSurveyForm(forms.Form):
    """Send a survey to one customer. `key` is drawn when the page is shown, so that sending
    the form twice (a double click, a reload) invites once."""

    survey = _survey_field()
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "There is no such customer."},
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


class BulkSurveyForm(forms.Form):
    """Which survey a bulk send is of, and optionally a saved segment as the audience; without
    one, the customers come from the customer list's filters (the view checks that a segment
    does not come with filters too)."""

    survey = _survey_field()
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.order_by("name", "id"),
        required=False,
        empty_label="— none: use the filters —",
        label="Segment",
        help_text="Send to the customers in a saved segment, instead of filtering.",
        error_messages={"invalid_choice": "There is no such segment (any more)."},
    )
