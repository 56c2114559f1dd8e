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
    # A marketing template: the unsubscribe footer follows the personalised text.
    assert message.body_text.startswith("You are on team in Awareness. \n\n-- \nUnsubscribe: ")
    assert customer.referral_code in message.body_html
    assert "attributes.nested" not in template_context(customer)


# --- stage and phase blocks ---------------------------------------------------------------------


BLOCKS = (
    'Hi{{ first_name|default:" there" }}.'
    "[[stage:advocacy]] Thanks for spreading the word![[/stage]]"
    "[[phase:delight]] Enjoying it?[[stage:post_purchase,advocacy]] Rate us.[[/stage]][[/phase]]"
    "[[phase:attract, engage]] Have a look around.[[/phase]]"
)


@pytest.mark.parametrize(
    ("stage_slug", "phase_slug", "expected"),
    [
        ("advocacy", "delight", "Hi there. Thanks for spreading the word! Enjoying it? Rate us."),
        ("post_purchase", "delight", "Hi there. Enjoying it? Rate us."),
        ("awareness", "attract", "Hi there. Have a look around."),
        ("", "", "Hi there."),
    ],
)
def test_stage_and_phase_blocks_show_only_to_their_customers(stage_slug, phase_slug, expected):
    context = {"first_name": "", "stage_slug": stage_slug, "phase_slug": phase_slug}

    assert template_render(BLOCKS, context) == expected


def test_a_value_cannot_open_a_block_or_inject_html():
    context = {
        "first_name": "[[stage:advocacy]]<b>x</b>[[/stage]]",
        "stage_slug": "awareness",
        "phase_slug": "attract",
    }

    assert template_render("{{ first_name }}", context, html=True) == (
        "[[stage:advocacy]]&lt;b&gt;x&lt;/b&gt;[[/stage]]"
    )
    assert template_render("[[stage:awareness]]{{ settings.SECRET_KEY }}[[/stage]]", context) == ""


@pytest.mark.django_db
def test_blocks_follow_the_customers_stage(customer_factory):
    customer = customer_factory(stage="advocacy")

    context = template_context(customer)

    assert context["stage_slug"] == "advocacy"
    assert context["phase_slug"] == "delight"
    assert (
        template_render("[[phase:delight]]Loyal[[/phase]][[phase:attract]]New[[/phase]]", context)
        == "Loyal"
    )
