"""The demo's message templates (seed_demo): valid, idempotent, and each showing its syntax."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from customers.management.commands.seed_demo import DEMO_TEMPLATES, demo_templates_ensure
from messaging.models import MessageTemplate
from messaging.services import template_preview
from messaging.templating import sms_length

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_templates_once():
    call_command("seed_demo", "--customers", "0", stdout=io.StringIO())

    assert set(MessageTemplate.objects.values_list("name", flat=True)) == {
        spec["name"] for spec in DEMO_TEMPLATES
    }
    assert demo_templates_ensure() == []
    assert MessageTemplate.objects.count() == len(DEMO_TEMPLATES)


def test_the_welcome_email_speaks_to_each_stage(customer_factory):
    demo_templates_ensure()
    welcome = MessageTemplate.objects.get(name="Welcome")

    new = template_preview(template=welcome, customer=customer_factory(stage="awareness"))
    loyal = template_preview(template=welcome, customer=customer_factory(stage="advocacy"))

    assert "getting-started guides" in new.body_text
    assert "Thank you for being a customer" not in new.body_text
    assert "Thank you for being a customer" in loyal.body_html
    assert "getting-started" not in loyal.body_html


def test_the_referral_ask_carries_the_customers_link(customer_factory):
    demo_templates_ensure()
    customer = customer_factory(stage="advocacy", first_name="")

    rendered = template_preview(
        template=MessageTemplate.objects.get(name="Referral ask"), customer=customer
    )

    assert rendered.subject == "Know someone who would like us too, friend?"
    assert f"/r/{customer.referral_code}/" in rendered.body_text
    assert "spreading the word already" in rendered.body_text


def test_the_sms_reminder_fits_one_part(customer_factory):
    demo_templates_ensure()
    reminder = MessageTemplate.objects.get(name="Call reminder (SMS)")

    rendered = template_preview(template=reminder, customer=customer_factory(first_name="Ann"))

    assert sms_length(rendered.body_text).segments == 1
