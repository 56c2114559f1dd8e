"""The template library in the dashboard: who may do what, validation, preview, test send."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import ROLES
from automation.services import rule_create
from messaging.models import MessageKind, MessageTemplate, OutboundMessage
from messaging.services import template_create

pytestmark = pytest.mark.django_db

EMAIL = {
    "name": "Welcome",
    "subject": "Welcome, {{ first_name }}",
    "body_text": 'Hi {{ first_name|default:"there" }}',
    "body_html": "<p>Hi {{ first_name }}</p>[[phase:delight]]<p>Thanks!</p>[[/phase]]",
}
FORM = {**EMAIL, "channel": "email", "kind": "marketing"}


@pytest.fixture
def welcome():
    return template_create(**EMAIL)


def test_every_role_sees_the_library_but_only_admin_and_marketer_may_add(
    client, role_users, welcome
):
    for role in ROLES:
        client.force_login(role_users[role])

        page = client.get(reverse("messaging:template-list"))

        assert page.status_code == 200
        assert b"Welcome" in page.content
        assert b'href="/templates/"' in page.content  # in the navigation
        may_add = role in ("Admin", "Marketer")
        assert (reverse("messaging:template-create").encode() in page.content) is may_add
        assert client.get(reverse("messaging:template-create")).status_code == (
            200 if may_add else 403
        )


def test_a_user_without_a_role_sees_nothing(client, make_user, welcome):
    client.force_login(make_user(None, username="nobody"))

    assert client.get(reverse("messaging:template-list")).status_code == 403
    assert client.get(reverse("messaging:template-detail", args=[welcome.pk])).status_code == 403


def test_the_list_filters_by_channel_kind_and_search(client, marketer, welcome):
    sms = template_create(name="Reminder", channel="sms", body_text="See you " + "x" * 160)
    client.force_login(marketer)
    url = reverse("messaging:template-list")

    by_channel = client.get(url, {"channel": "sms"})
    by_search = client.get(url, {"q": "welc"})

    assert [t.pk for t, _ in by_channel.context["rows"]] == [sms.pk]
    assert b"2 <span" in by_channel.content  # two SMS parts
    assert [t.pk for t, _ in by_search.context["rows"]] == [welcome.pk]
    assert [t.pk for t, _ in client.get(url, {"kind": "transactional"}).context["rows"]] == []


def test_the_form_has_labelled_fields_and_the_help_panel(client, marketer):
    client.force_login(marketer)

    page = client.get(reverse("messaging:template-create")).content.decode()

    for name in ("name", "channel", "kind", "subject", "body_text", "body_html"):
        assert f'for="id_{name}"' in page
    assert "{{ referral_link }}" in page
    assert "{{ owner_name }}" in page
    assert "[[stage:advocacy]]" in page
    assert "<code>post_purchase</code>" in page  # the stages a block may name


def test_creating_a_template(client, marketer):
    client.force_login(marketer)

    response = client.post(reverse("messaging:template-create"), FORM)

    template = MessageTemplate.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:template-detail", args=[template.pk])
    assert template.body_html == EMAIL["body_html"]


def test_an_unknown_field_is_an_error_on_its_field_and_keeps_what_was_typed(client, marketer):
    client.force_login(marketer)

    response = client.post(
        reverse("messaging:template-create"),
        {**FORM, "body_text": "Dear {{ frist_name }}, on [[stage:advocacy]]x"},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors["body_text"]
    assert any("{{ frist_name }}" in error for error in errors)
    assert any("never closed" in error for error in errors)
    page = response.content.decode()
    assert "Dear {{ frist_name }}, on [[stage:advocacy]]x</textarea>" in page
    assert 'value="Welcome, {{ first_name }}"' in page
    assert not MessageTemplate.objects.exists()


def test_an_sms_shows_its_length_and_parts_and_refuses_a_subject(client, marketer):
    client.force_login(marketer)

    response = client.post(
        reverse("messaging:template-create"),
        {
            "name": "Reminder",
            "channel": "sms",
            "kind": "marketing",
            "subject": "Hi",
            "body_text": "ы" * 71,
        },
    )

    assert response.status_code == 400
    assert "An SMS has no subject" in response.context["form"].errors["subject"][0]
    assert "SMS: 71 characters (UCS-2), 2 parts" in response.content.decode()


def test_editing_a_template(client, marketer, welcome):
    client.force_login(marketer)
    url = reverse("messaging:template-edit", args=[welcome.pk])

    assert 'value="Welcome"' in client.get(url).content.decode()
    response = client.post(url, {**FORM, "subject": "Hello {{ company }}"})

    assert response.status_code == 302
    welcome.refresh_from_db()
    assert welcome.subject == "Hello {{ company }}"


def test_a_sales_rep_may_not_edit_test_or_delete(client, sales_rep, welcome, customer_factory):
    client.force_login(sales_rep)
    customer = customer_factory()

    assert (
        client.post(reverse("messaging:template-edit", args=[welcome.pk]), FORM).status_code == 403
    )
    assert (
        client.post(
            reverse("messaging:template-test-send", args=[welcome.pk]), {"customer": customer.pk}
        ).status_code
        == 403
    )
    assert client.post(reverse("messaging:template-delete", args=[welcome.pk])).status_code == 403
    assert MessageTemplate.objects.filter(pk=welcome.pk).exists()
    assert not OutboundMessage.objects.exists()
    detail = client.get(
        reverse("messaging:template-detail", args=[welcome.pk]), {"customer": customer.pk}
    )
    assert detail.status_code == 200  # a sales rep may preview
    assert b"Send me a test" not in detail.content


def test_the_preview_shows_the_html_in_a_sandboxed_iframe_with_values_escaped(
    client, marketer, welcome, customer_factory
):
    customer = customer_factory(first_name="<script>alert(1)</script>", stage="advocacy")
    client.force_login(marketer)

    page = client.get(
        reverse("messaging:template-detail", args=[welcome.pk]), {"customer": customer.pk}
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert '<iframe title="HTML of Welcome' in html
    assert 'sandbox=""' in html
    # The rendered HTML escapes the value; srcdoc escapes the whole document once more.
    assert (
        'srcdoc="&lt;p&gt;Hi &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;&lt;/p&gt;'
        in html
    )
    assert "<script>alert(1)" not in html
    assert "&lt;p&gt;Thanks!&lt;/p&gt;" in html  # the Delight block, for a Delight customer
    assert page.context["rendered"].subject == "Welcome, <script>alert(1)</script>"


def test_a_customer_is_found_by_search_then_previewed(client, marketer, welcome, customer_factory):
    ann = customer_factory(first_name="Annabel", last_name="Zed")
    customer_factory(first_name="Bob")
    client.force_login(marketer)
    url = reverse("messaging:template-detail", args=[welcome.pk])

    found = client.get(url, {"q": "annabel"})

    assert found.context["matches"] == [ann]
    assert f'href="?customer={ann.pk}"' in found.content.decode()
    assert client.get(url, {"q": "nobody-at-all"}).status_code == 400
    missing = client.get(url, {"customer": 999999})
    assert missing.status_code == 400
    assert "No customer has the id 999999." in missing.content.decode()


def test_test_send_emails_the_logged_in_user_through_the_outbox(
    client, marketer, welcome, customer_factory
):
    customer = customer_factory(first_name="Ann")
    client.force_login(marketer)

    response = client.post(
        reverse("messaging:template-test-send", args=[welcome.pk]), {"customer": customer.pk}
    )

    message = OutboundMessage.objects.get()
    assert response.status_code == 302
    assert (message.to, message.subject) == (marketer.email, "[Test] Welcome, Ann")
    assert message.kind == MessageKind.TRANSACTIONAL
    page = client.get(response["Location"])
    assert f"Test sent to {marketer.email}" in page.content.decode()


def test_test_send_for_a_user_without_email_says_so(client, make_user, welcome, customer_factory):
    user = make_user("Marketer", username="mailless", email="")
    client.force_login(user)

    response = client.post(
        reverse("messaging:template-test-send", args=[welcome.pk]),
        {"customer": customer_factory().pk},
        follow=True,
    )

    assert "Your user has no email address" in response.content.decode()
    assert not OutboundMessage.objects.exists()


def test_deleting_asks_first_then_deletes(client, marketer, welcome):
    client.force_login(marketer)
    url = reverse("messaging:template-delete", args=[welcome.pk])

    assert b"cannot be undone" in client.get(url).content
    response = client.post(url)

    assert response["Location"] == reverse("messaging:template-list")
    assert not MessageTemplate.objects.exists()


def test_a_template_a_rule_sends_is_not_deleted_and_the_rule_is_named(client, marketer, welcome):
    rule = rule_create(
        name="Greet buyers",
        trigger_type="stage_entered",
        trigger_config={"stage": "purchase"},
        actions=[{"type": "send_template", "params": {"template": welcome.pk}}],
    )
    client.force_login(marketer)
    url = reverse("messaging:template-delete", args=[welcome.pk])

    confirm = client.get(url).content.decode()
    response = client.post(url, follow=True)

    assert reverse("automation:rule_detail", args=[rule.pk]) in confirm
    assert "Greet buyers" in confirm
    assert "“Greet buyers”" in response.content.decode()
    assert MessageTemplate.objects.filter(pk=welcome.pk).exists()
