"""The template library's services: validation on save, preview, test send, safe delete."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from automation.models import Step, StepState
from automation.services import rule_create
from common.exceptions import ApplicationError
from messaging.models import MessageKind, MessageTemplate, OutboundMessage
from messaging.services import (
    TemplateInvalidError,
    message_deliver,
    template_create,
    template_delete,
    template_preview,
    template_test_send,
    template_update,
)
from messaging.templating import (
    TEMPLATE_FIELDS,
    sms_length,
    template_context,
    template_problems,
)

pytestmark = pytest.mark.django_db

WELCOME = {
    "name": "Welcome",
    "subject": 'Welcome, {{ first_name|default:"friend" }}',
    "body_text": "Hi {{ first_name }}.[[stage:advocacy]] Thanks for the referrals![[/stage]]",
    "body_html": "<p>Hi {{ first_name }}</p>[[phase:delight]]<p>{{ referral_link }}</p>[[/phase]]",
}


def errors_of(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(TemplateInvalidError) as raised:
        call(**kwargs)
    return raised.value.as_dict()


# --- what a template may contain ----------------------------------------------------------------


def test_the_documented_fields_are_exactly_what_template_context_provides(customer_factory):
    customer = customer_factory(attributes={"plan": "team"})

    keys = {key for key in template_context(customer) if not key.startswith("attributes.")}

    assert keys == set(TEMPLATE_FIELDS)


def test_a_valid_template_is_saved_with_its_fields():
    template = template_create(**WELCOME)

    assert MessageTemplate.objects.get(pk=template.pk).subject == WELCOME["subject"]
    assert template.kind == MessageKind.MARKETING


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Hi {{ frist_name }}", "{{ frist_name }}"),
        ("Hi {{ customer.owner.password }}", "{{ customer.owner.password }}"),
        ("Hi {{ first_name|safe }}", "{{ first_name|safe }}"),
        ("Hi {{ attributes. }}", "{{ attributes. }}"),
    ],
)
def test_an_unknown_or_malformed_placeholder_is_named_on_its_field(text, wanted):
    errors = errors_of(template_create, **{**WELCOME, "body_html": text})

    assert list(errors) == ["body_html"]
    assert wanted in errors["body_html"][0]


def test_custom_attributes_are_allowed_whatever_their_key():
    template = template_create(**{**WELCOME, "body_text": "On {{ attributes.plan-tier }}"})

    assert template.pk


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[stage:advocacy]]Thanks", "[[stage:advocacy]] is never closed: add [[/stage]]."),
        ("Thanks[[/phase]]", "[[/phase]] closes no [[phase:…]] block."),
        (
            "[[phase:delight]][[stage:advocacy]]x[[/phase]][[/stage]]",
            "[[stage:advocacy]] must be closed with [[/stage]] before [[/phase]].",
        ),
        (
            "[[stage:advocacy]][[stage:purchase]]x[[/stage]][[/stage]]",
            "[[stage:purchase]] is inside another stage block, which is not supported.",
        ),
        ("[[phase:delightful]]x[[/phase]]", "unknown phase delightful"),
        ("[[stage:nowhere]]x[[/stage]]", "unknown stage nowhere"),
        ("[[stage:]]x[[/stage]]", "is not a block marker"),
        ("[[segment:vip]]x[[/segment]]", "is not a block"),
    ],
)
def test_unbalanced_or_unknown_blocks_are_errors(text, problem):
    errors = errors_of(template_create, **{**WELCOME, "body_text": text})

    assert any(problem in message for message in errors["body_text"]), errors


def test_blocks_nested_across_kinds_are_fine():
    assert template_problems("[[phase:delight]]A[[stage:advocacy]]B[[/stage]][[/phase]]") == []


def test_every_field_at_fault_is_reported_at_once():
    errors = errors_of(
        template_create, name=" ", subject="", body_text="{{ nope }}", body_html="[[stage:x]]"
    )

    assert set(errors) == {"name", "subject", "body_text", "body_html"}


def test_an_email_needs_a_subject_and_a_text_body():
    errors = errors_of(template_create, name="Bare", subject="", body_text="  ", body_html="<p>x")

    assert errors["subject"] == ["An email needs a subject."]
    assert "plain-text body" in errors["body_text"][0]


def test_an_sms_has_no_subject_or_html():
    errors = errors_of(
        template_create,
        name="Reminder",
        channel="sms",
        subject="Hello",
        body_text="Hi {{ first_name }}",
        body_html="<p>Hi</p>",
    )

    assert set(errors) == {"subject", "body_html"}


def test_names_are_unique_whatever_their_case():
    template_create(**WELCOME)

    errors = errors_of(template_create, **{**WELCOME, "name": " welcome "})

    assert errors == {"name": ["A template named 'welcome' already exists."]}


def test_an_update_is_validated_whole_and_changes_nothing_when_invalid():
    template = template_create(**WELCOME)

    errors = errors_of(template_update, template=template, data={"channel": "sms"})

    assert set(errors) == {"subject", "body_html"}
    template.refresh_from_db()
    assert template.channel == "email"

    updated = template_update(template=template, data={"subject": "Hello {{ company }}"})
    assert updated.subject == "Hello {{ company }}"
    assert updated.name == "Welcome"  # its own name is not "taken"


# --- SMS length ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "length", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character counts twice
        ("é" * 160, "GSM-7", 160, 1),
        ("ы" * 70, "UCS-2", 70, 1),
        ("ы" * 71, "UCS-2", 71, 2),
        ("a" * 134 + "🙂", "UCS-2", 136, 3),  # one emoji: UCS-2, two units
    ],
)
def test_sms_length_and_parts(text, encoding, length, segments):
    result = sms_length(text)

    assert (result.encoding, result.length, result.segments) == (encoding, length, segments)


# --- preview and test send ----------------------------------------------------------------------


def test_preview_personalises_chooses_blocks_and_escapes_html(customer_factory):
    customer = customer_factory(first_name="<b>Ann</b>", stage="advocacy")
    template = template_create(**WELCOME)

    rendered = template_preview(template=template, customer=customer)

    assert rendered.subject == "Welcome, <b>Ann</b>"
    assert rendered.body_text == "Hi <b>Ann</b>. Thanks for the referrals!"
    assert rendered.body_html.startswith("<p>Hi &lt;b&gt;Ann&lt;/b&gt;</p><p>http")
    assert customer.referral_code in rendered.body_html


def test_a_missing_value_falls_back_to_its_default(customer_factory):
    customer = customer_factory(first_name="")
    template = template_create(**WELCOME)

    assert template_preview(template=template, customer=customer).subject == "Welcome, friend"


def test_test_send_goes_to_the_user_through_the_outbox_marked_as_a_test(customer_factory):
    customer = customer_factory(first_name="Ann")
    template = template_create(**WELCOME)

    message = template_test_send(template=template, customer=customer, to="me@example.com")

    assert message.to == "me@example.com"
    assert message.subject == "[Test] Welcome, Ann"
    assert message.kind == MessageKind.TRANSACTIONAL  # consent cannot hold back a self-test
    assert message.customer is None
    assert "Unsubscribe" not in message.body_text
    again = template_test_send(template=template, customer=customer, to="me@example.com")
    assert again.pk != message.pk


def test_an_sms_template_is_tested_by_email(customer_factory):
    template = template_create(name="Reminder", channel="sms", body_text="Hi {{ first_name }}")

    message = template_test_send(
        template=template, customer=customer_factory(first_name="Bo"), to="me@example.com"
    )

    assert (message.channel, message.body_text) == ("email", "Hi Bo")
    assert message.subject == "[Test] SMS “Reminder”"


def test_test_send_without_an_email_address_is_a_clear_error(customer_factory):
    template = template_create(**WELCOME)

    with pytest.raises(ApplicationError) as raised:
        template_test_send(template=template, customer=customer_factory(), to="")

    assert raised.value.field == "to"
    assert "no email address" in raised.value.message
    assert not OutboundMessage.objects.exists()


def test_a_test_send_is_handed_to_the_workers_and_delivered_as_an_email(
    customer_factory, django_capture_on_commit_callbacks
):
    template = template_create(**WELCOME)
    customer = customer_factory(first_name="Ann")

    with django_capture_on_commit_callbacks(execute=False) as published:
        message = template_test_send(template=template, customer=customer, to="me@example.com")
    message_deliver(message_id=message.pk)  # what the worker does with it

    assert len(published) == 1
    [sent] = mail.outbox
    assert (sent.subject, sent.to) == ("[Test] Welcome, Ann", ["me@example.com"])
    assert isinstance(sent, EmailMultiAlternatives)
    assert str(sent.alternatives[0][0]).startswith("<p>Hi Ann</p>")


# --- delete -------------------------------------------------------------------------------------


def test_a_template_no_rule_uses_is_deleted():
    template = template_create(**WELCOME)

    template_delete(template=template)

    assert not MessageTemplate.objects.exists()


def test_deleting_a_template_a_rule_sends_is_refused_naming_the_rule():
    template = template_create(**WELCOME)
    rule_create(
        name="Welcome buyers",
        trigger_type="stage_entered",
        trigger_config={"stage": "purchase"},
        actions=[{"type": "send_template", "params": {"template": template.pk}}],
    )

    with pytest.raises(ApplicationError) as raised:
        template_delete(template=template)

    assert raised.value.field == "template"
    assert "“Welcome buyers”" in raised.value.message
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_a_step_still_waiting_to_send_it_holds_the_template_too(customer_factory):
    template = template_create(**WELCOME)
    rule = rule_create(
        name="Later",
        trigger_type="stage_entered",
        trigger_config={"stage": "purchase"},
        actions=[{"type": "send_template", "params": {"template": template.pk}}],
    )
    from django.utils import timezone

    Step.objects.create(
        rule=rule,
        customer=customer_factory(),
        action_index=0,
        action_type="send_template",
        params={"template": template.pk},
        event_key="e",
        idempotency_key="k",
        due_at=timezone.now(),
        state=StepState.PENDING,
    )
    from automation.services import rule_update

    rule_update(rule=rule, data={"actions": [{"type": "add_tag", "params": {"tag": "x"}}]})

    with pytest.raises(ApplicationError) as raised:
        template_delete(template=template)

    assert "“Later”" in raised.value.message
