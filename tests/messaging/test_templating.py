"""Template personalisation: fields, defaults, escaping, and nothing else interpreted."""

from __future__ import annotations

import pytest

from messaging.models import MessageTemplate
from messaging.services import message_send_template
from messaging.templating import template_context, template_fields, template_render


def test_fields_and_defaults():
    context = {"first_name": "Ann", "company": ""}

    text = template_render('Hi {{ first_name }} of {{company|default:"your team"}}!', context)

    assert text == "Hi Ann of your team!"


def test_html_bodies_escape_values_but_text_bodies_do_not():
    context = {"first_name": "<script>alert(1)</script>"}

    assert template_render("<p>{{ first_name }}</p>", context, html=True) == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert template_render("{{ first_name }}", context) == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ settings.SECRET_KEY }}", ""),
        ("{{ customer.owner.password }}", "{{ customer.owner.password }}"),
        ("{{ first_name.__class__ }}", ""),
        ("{% debug %}", "{% debug %}"),
        (
            "{% load static %}{% include 'base.html' %}",
            "{% load static %}{% include 'base.html' %}",
        ),
        ("{{ first_name|safe }}", "{{ first_name|safe }}"),
    ],
)
def test_nothing_but_known_fields_is_interpreted(source, expected):
    assert template_render(source, {"first_name": "Ann"}, html=True) == expected


def test_template_fields_lists_what_a_template_uses():
    assert template_fields('{{ a }} {{ attributes.plan|default:"x" }} {{a}}') == [
        "a",
        "attributes.plan",
    ]


@pytest.mark.django_db
def test_a_template_is_personalised_for_a_customer(customer_factory):
    customer = customer_factory(first_name="Bo", attributes={"plan": "team", "nested": {"x": 1}})
    template = MessageTemplate.objects.create(
        name="Welcome",
        subject="Welcome, {{ first_name }}",
        body_text="You are on {{ attributes.plan }} in {{ stage }}. {{ attributes.nested }}",
        body_html="<p>{{ referral_link }}</p>",
    )

    message, created = message_send_template(
        template=template, customer=customer, idempotency_key="welcome:1"
    )

    assert created
    assert message.subject == "Welcome, Bo"
    assert message.body_text == "You are on team in Awareness. "
    assert customer.referral_code in message.body_html
    assert "attributes.nested" not in template_context(customer)
