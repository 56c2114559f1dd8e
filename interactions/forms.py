"""Dashboard forms for interactions, follow-up tasks and purchases.

The forms turn what a person typed into the keyword arguments of `interactions.services`;
the rules (dates not in the future, a neutral effect weighing 0, known currencies, a task
changing only while open) stay in the services, whose `ApplicationError` the views attach to
the field it names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils import timezone

from customers.forms import OwnerChoiceField
from interactions.currencies import ISO_4217
from interactions.effects import default_effect
from interactions.models import (
    MAX_WEIGHT,
    Channel,
    Direction,
    Effect,
    Interaction,
    InteractionKind,
    Outcome,
)

User = get_user_model()

# `<input type="datetime-local">` sends and shows minutes, in the site's time zone.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# A week: longer than any call or meeting, short enough to catch a typo in hours.
MAX_DURATION_MINUTES = 7 * 24 * 60
SUMMARY_MAX = 500
TASK_TITLE_MAX = 200
# Offered first in the currency select; every other ISO 4217 code follows, A to Z.
COMMON_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "CNY", "INR")
DEFAULT_CURRENCY = COMMON_CURRENCIES[0]


def datetime_input(**attrs: str) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format=DATETIME_LOCAL)


def due_in_future(value: datetime | None) -> datetime | None:
    """A follow-up a person sets is due later, not already overdue (the current minute counts:
    the date-time input has no seconds)."""
    if value is not None and value < timezone.now() - timedelta(minutes=1):
        raise ValidationError("A follow-up is due in the future; check the date and time.")
    return value


def effect_words(effect: str, weight: int) -> str:
    """How an effect reads in the dashboard: "force, weight 2", "neutral"."""
    label = Effect(effect).label.lower()
    return label if effect == Effect.NEUTRAL else f"{label}, weight {weight}"


def default_effect_words(*, kind: str, outcome: str) -> str:
    return effect_words(*default_effect(kind=kind, outcome=outcome))


class QuickLogForm(forms.Form):
    """The few fields a rep fills in after a call: summary, and Enter.

    With `follow_up_at` a task is owed to the customer too (only for users who may add tasks).
    """

    kind = forms.ChoiceField(
        choices=InteractionKind.choices, initial=InteractionKind.CALL, label="Kind"
    )
    outcome = forms.ChoiceField(choices=Outcome.choices, initial=Outcome.NEUTRAL, label="Outcome")
    summary = forms.CharField(
        max_length=SUMMARY_MAX,
        label="Summary",
        widget=forms.TextInput(attrs={"placeholder": "What was said or agreed", "size": 40}),
    )
    follow_up_at = forms.DateTimeField(
        required=False,
        label="Follow up on",
        widget=datetime_input(),
        help_text="Optional: creates a task for you, due then.",
    )

    def __init__(
        self, *args: Any, allow_follow_up: bool = True, autofocus: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not allow_follow_up:
            del self.fields["follow_up_at"]
        if autofocus:
            self.fields["summary"].widget.attrs["autofocus"] = True

    def clean_follow_up_at(self) -> datetime | None:
        return due_in_future(self.cleaned_data["follow_up_at"])

    def follow_up_title(self) -> str:
        kind = InteractionKind(self.cleaned_data["kind"]).label.lower()
        title = f"Follow up on {kind}: {self.cleaned_data['summary']}"
        return title if len(title) <= TASK_TITLE_MAX else title[: TASK_TITLE_MAX - 1] + "…"


class InteractionForm(forms.Form):
    """Every field of an interaction; the effect and weight default from kind and outcome.

    `service_data()` is what `interaction_log` and `interaction_update` take. When editing,
    a support case stays one and another kind cannot become one (the service's rule), so the
    kind select offers only what is possible.
    """

    kind = forms.ChoiceField(
        choices=InteractionKind.choices, initial=InteractionKind.CALL, label="Kind"
    )
    direction = forms.ChoiceField(
        choices=[("", "—"), *Direction.choices], required=False, label="Direction"
    )
    channel = forms.ChoiceField(
        choices=[("", "—"), *Channel.choices], required=False, label="Channel"
    )
    occurred_at = forms.DateTimeField(
        required=False, label="When", widget=datetime_input(), help_text="Empty means now."
    )
    duration_minutes = forms.IntegerField(
        required=False,
        label="Duration (minutes)",
        min_value=0,
        max_value=MAX_DURATION_MINUTES,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    summary = forms.CharField(
        max_length=SUMMARY_MAX,
        label="Summary",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": SUMMARY_MAX}),
    )
    outcome = forms.ChoiceField(choices=Outcome.choices, initial=Outcome.NEUTRAL, label="Outcome")
    effect = forms.ChoiceField(
        choices=[("", "Default (from kind and outcome)"), *Effect.choices],
        required=False,
        label="Effect",
    )
    weight = forms.IntegerField(
        required=False,
        label="Weight",
        min_value=0,
        max_value=MAX_WEIGHT,
        help_text=f"0 for neutral, 1 to {MAX_WEIGHT} otherwise. Empty: the default.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, interaction: Interaction | None = None, **kwargs: Any) -> None:
        self.interaction = interaction
        if interaction is not None:
            kwargs.setdefault("initial", self.initial_for(interaction))
        super().__init__(*args, **kwargs)
        kind = cast(forms.ChoiceField, self.fields["kind"])
        if interaction is not None:
            is_case = interaction.kind == InteractionKind.SUPPORT_CASE
            kind.choices = [
                (value, label)
                for value, label in InteractionKind.choices
                if (value == InteractionKind.SUPPORT_CASE) == is_case
            ]
            self.fields["occurred_at"].required = True
            self.fields["occurred_at"].help_text = ""
        kind_now = self["kind"].value() or InteractionKind.CALL
        outcome_now = self["outcome"].value() or Outcome.NEUTRAL
        if kind_now in InteractionKind.values and outcome_now in Outcome.values:
            words = default_effect_words(kind=kind_now, outcome=outcome_now)
            self.fields["effect"].help_text = (
                f"Default for a {InteractionKind(kind_now).label.lower()} with outcome "
                f"“{Outcome(outcome_now).label.lower()}”: {words}."
            )

    @staticmethod
    def initial_for(interaction: Interaction) -> dict[str, Any]:
        """The form filled from a logged interaction; a default effect shows as "Default"."""
        is_default = (interaction.effect, interaction.weight) == default_effect(
            kind=interaction.kind, outcome=interaction.outcome
        )
        return {
            "kind": interaction.kind,
            "direction": interaction.direction,
            "channel": interaction.channel,
            "occurred_at": interaction.occurred_at,
            "duration_minutes": (
                None
                if interaction.duration_seconds is None
                else round(interaction.duration_seconds / 60)
            ),
            "summary": interaction.summary,
            "outcome": interaction.outcome,
            "effect": "" if is_default else interaction.effect,
            "weight": None if is_default else interaction.weight,
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data["duration_minutes"]
        return {
            "kind": data["kind"],
            "direction": data["direction"],
            "channel": data["channel"],
            "occurred_at": data["occurred_at"],
            "duration_seconds": None if minutes is None else minutes * 60,
            "summary": data["summary"],
            "outcome": data["outcome"],
            "effect": data["effect"] or None,
            "weight": data["weight"],
        }


class CloseCaseForm(forms.Form):
    """Close a support case, keeping its outcome or recording how it ended."""

    outcome = forms.ChoiceField(
        choices=[("", "Keep the outcome"), *Outcome.choices], required=False, label="Outcome"
    )


class TaskForm(forms.Form):
    """A follow-up owed to a customer; without an assignee it goes to the customer's owner."""

    title = forms.CharField(max_length=TASK_TITLE_MAX, label="Task")
    due_at = forms.DateTimeField(label="Due", widget=datetime_input())
    assignee = OwnerChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="The customer's owner",
        label="Assigned to",
    )
    notes = forms.CharField(
        max_length=5000, required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = cast(forms.ModelChoiceField, self.fields["assignee"])
        assignee.queryset = User.objects.filter(is_active=True).order_by("username")

    def clean_due_at(self) -> datetime | None:
        return due_in_future(self.cleaned_data["due_at"])


def currency_choices() -> list[tuple[str, Any]]:
    """The common currencies first, then every ISO 4217 code, grouped for the select."""
    others = sorted(ISO_4217 - set(COMMON_CURRENCIES))
    return [
        ("Common", [(code, code) for code in COMMON_CURRENCIES]),
        ("All currencies", [(code, code) for code in others]),
    ]


class PurchaseForm(forms.Form):
    """Money a customer paid, as a person records it by hand."""

    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        label="Amount",
        validators=[MinValueValidator(Decimal("0.01"))],
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"invalid": "Enter an amount such as 1200 or 1200.50."},
    )
    currency = forms.ChoiceField(
        choices=currency_choices, initial=DEFAULT_CURRENCY, label="Currency"
    )
    occurred_at = forms.DateTimeField(
        required=False, label="When", widget=datetime_input(), help_text="Empty means now."
    )
    description = forms.CharField(max_length=500, required=False, label="Description")

    def service_data(self) -> dict[str, Any]:
        return {
            "amount": self.cleaned_data["amount"],
            "currency": self.cleaned_data["currency"],
            "occurred_at": self.cleaned_data["occurred_at"],
            "description": self.cleaned_data["description"],
        }
