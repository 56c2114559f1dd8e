"""Dashboard forms for customers: the list's filters, the customer form and the move form.

The forms only turn what a person typed into the values the services take; the rules
(unique email, live stages, a customer not referring themselves) stay in the services,
whose `ApplicationError` the views attach to the field it names.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from common.validators import validate_no_nul
from customers.filters import CustomerFilter
from customers.models import MAX_TAG_LENGTH, MAX_TAGS, Customer
from stages.models import Stage

User = get_user_model()

DATE_INPUT = {"type": "date"}


class CustomerListFilter(CustomerFilter):
    """The API's customer filters, with the browser's date picker for the two dates.

    A date input sends `YYYY-MM-DD`, which the ISO date-time filters read as midnight.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The form's fields are this instance's own copies: changing them here is local.
        fields = self.form.fields
        for name in ("created_after", "created_before"):
            fields[name].widget = forms.DateInput(attrs=DATE_INPUT)
            fields[name].error_messages["invalid"] = "Enter a date as YYYY-MM-DD."
        for name, noun in (("stage", "stage"), ("phase", "phase"), ("owner", "owner")):
            fields[name].error_messages["invalid_choice"] = f"There is no {noun} '%(value)s'."
        fields["stage"].empty_label = "Any stage"
        fields["phase"].empty_label = "Any phase"
        fields["phase"].widget.choices = fields["phase"].choices  # the copied widget kept "---"
        fields["owner"].empty_label = "Anyone"
        fields["q"].widget.input_type = "search"


class OwnerChoiceField(forms.ModelChoiceField):
    """A user shown by full name and username, so that two Anns can be told apart."""

    def label_from_instance(self, obj: Any) -> str:
        full_name = obj.get_full_name()
        return f"{full_name} ({obj.get_username()})" if full_name else obj.get_username()


class CustomerForm(forms.Form):
    """A customer's details as a person types them; `stage` and `referral_code` are asked
    only when creating.

    `cleaned_data` holds exactly the keyword arguments of
    `consent.services.customer_create_with_consent` (minus the actor and the consent method)
    and the `data` of `customer_update_with_consent`: the consent boxes are recorded with
    their history, method dashboard.
    """

    email = forms.EmailField(max_length=254, label="Email")
    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    phone = forms.CharField(max_length=32, required=False, label="Phone")
    company = forms.CharField(max_length=200, required=False, label="Company")
    owner = OwnerChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody", label="Owner"
    )
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(),
        to_field_name="slug",
        empty_label=None,
        label="Initial stage",
        error_messages={"invalid_choice": "Choose one of the live stages."},
    )
    source = forms.CharField(
        max_length=100, required=False, label="Source", help_text="e.g. website form, event"
    )
    utm_source = forms.CharField(max_length=100, required=False, label="UTM source")
    utm_medium = forms.CharField(max_length=100, required=False, label="UTM medium")
    utm_campaign = forms.CharField(max_length=200, required=False, label="UTM campaign")
    utm_term = forms.CharField(max_length=200, required=False, label="UTM term")
    utm_content = forms.CharField(max_length=200, required=False, label="UTM content")
    tags = forms.CharField(
        required=False,
        label="Tags",
        help_text="Separate tags with commas; they are stored in lower case.",
    )
    attributes = forms.CharField(
        required=False,
        label="Attributes",
        help_text='A JSON object, e.g. {"plan": "pro", "seats": 12}. Leave empty for none.',
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
    )
    email_consent = forms.BooleanField(required=False, label="Agrees to receive email")
    sms_consent = forms.BooleanField(required=False, label="Agrees to receive SMS")
    referred_by = forms.EmailField(
        required=False,
        label="Referred by",
        help_text="The email of the customer who referred them, or empty.",
    )
    referral_code = forms.CharField(
        max_length=32,
        required=False,
        label="Referral code",
        help_text="The code they were given by the customer who referred them, if any.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, customer: Customer | None = None, **kwargs: Any) -> None:
        self.customer = customer
        if customer is not None:
            kwargs.setdefault("initial", self.initial_for(customer))
        super().__init__(*args, **kwargs)
        active = Q(is_active=True)
        if customer is not None and customer.owner_id is not None:
            # A deactivated owner stays selectable so that saving other changes keeps them.
            active |= Q(pk=customer.owner_id)
        owner = cast(forms.ModelChoiceField, self.fields["owner"])
        owner.queryset = User.objects.filter(active).order_by("username")
        if customer is None:
            live = Stage.objects.filter(is_archived=False).order_by("position", "id")
            stage = cast(forms.ModelChoiceField, self.fields["stage"])
            stage.queryset = live
            default = live.filter(slug=settings.FLYWHEEL_DEFAULT_STAGE).first()
            stage.initial = default.slug if default else None
        else:
            # The stage changes only by a move, on the customer's page; a referral code links
            # a new customer only.
            del self.fields["stage"]
            del self.fields["referral_code"]

    @staticmethod
    def initial_for(customer: Customer) -> dict[str, Any]:
        """The form's fields filled from an existing customer."""
        return {
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "phone": customer.phone,
            "company": customer.company,
            "owner": customer.owner_id,
            "source": customer.source,
            "utm_source": customer.utm_source,
            "utm_medium": customer.utm_medium,
            "utm_campaign": customer.utm_campaign,
            "utm_term": customer.utm_term,
            "utm_content": customer.utm_content,
            "tags": ", ".join(customer.tags),
            "attributes": (
                json.dumps(customer.attributes, indent=2, ensure_ascii=False)
                if customer.attributes
                else ""
            ),
            "email_consent": customer.email_consent,
            "sms_consent": customer.sms_consent,
            "referred_by": customer.referred_by.email if customer.referred_by else "",
        }

    def clean_tags(self) -> list[str]:
        tags = [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]
        too_long = [tag for tag in tags if len(tag) > MAX_TAG_LENGTH]
        if too_long:
            raise ValidationError(
                f"Tags can be at most {MAX_TAG_LENGTH} characters long: {too_long[0][:20]}…"
            )
        if len(tags) > MAX_TAGS:
            raise ValidationError(f"At most {MAX_TAGS} tags, not {len(tags)}.")
        return tags

    def clean_attributes(self) -> dict[str, Any]:
        text = self.cleaned_data["attributes"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValidationError(
                f"This is not valid JSON ({exc.args[0] if exc.args else exc})."
            ) from exc
        if not isinstance(value, dict):
            raise ValidationError('Attributes must be a JSON object, like {"plan": "pro"}.')
        validate_no_nul(value)
        return value

    def clean_referred_by(self) -> Customer | None:
        email = self.cleaned_data["referred_by"].strip()
        if not email:
            return None
        referrer = Customer.objects.filter(email__iexact=email).first()
        if referrer is None:
            raise ValidationError(f"No customer has the email '{email}'.")
        return referrer


class MoveStageForm(forms.Form):
    """Move a customer to another live stage, with an optional reason.

    The select offers every live stage except the current one. A form opened before someone
    else moved the customer can still post the stage they are now in; that is a form error.
    """

    to_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(),
        label="Move to",
        empty_label="Choose a stage…",
        to_field_name="slug",
        error_messages={
            "invalid_choice": "That stage no longer exists or is archived; reload the page."
        },
    )
    reason = forms.CharField(max_length=500, required=False, label="Reason")

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        field = cast(forms.ModelChoiceField, self.fields["to_stage"])
        field.queryset = Stage.objects.filter(is_archived=False).order_by("position", "id")
        # Validation accepts any live stage (see clean_to_stage); the select omits the current.
        field.widget.choices = [("", field.empty_label)] + [
            (stage.slug, str(stage)) for stage in field.queryset if stage.pk != customer.stage_id
        ]

    def clean_to_stage(self) -> Stage:
        stage: Stage = self.cleaned_data["to_stage"]
        if stage.pk == self.customer.stage_id:
            raise ValidationError(
                f"The customer is already in {stage.name}; someone may have moved them since "
                "this page was opened."
            )
        return stage
