"""/api/v1/templates/: the library over the API, its 400s, preview and test send."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automation.services import rule_create
from messaging.models import MessageKind, MessageTemplate, OutboundMessage
from messaging.services import template_create

pytestmark = pytest.mark.django_db

EMAIL = {
    "name": "Welcome",
    "subject": "Welcome, {{ first_name }}",
    "body_text": 'Hi {{ first_name|default:"there" }}',
    "body_html": "<p>Hi {{ first_name }}</p>[[stage:advocacy]]<p>{{ referral_link }}</p>[[/stage]]",
}


@pytest.fixture
def api(api_as, marketer):
    return api_as(marketer)


def test_create_read_list_update_and_delete(api):
    created = api.post(reverse("api:template-list"), EMAIL)
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert created.data["fields_used"] == ["first_name", "referral_link"]
    assert created.data["sms"] is None

    assert api.get(reverse("api:template-detail", args=[pk])).data["name"] == "Welcome"
    assert [t["id"] for t in api.get(reverse("api:template-list")).data["results"]] == [pk]

    changed = api.patch(reverse("api:template-detail", args=[pk]), {"kind": "transactional"})
    assert changed.status_code == 200, changed.data
    assert MessageTemplate.objects.get(pk=pk).kind == MessageKind.TRANSACTIONAL

    assert api.delete(reverse("api:template-detail", args=[pk])).status_code == 204
    assert not MessageTemplate.objects.exists()


def test_an_sms_template_reports_its_length_and_parts(api):
    response = api.post(
        reverse("api:template-list"),
        {"name": "Reminder", "channel": "sms", "body_text": "x" * 161},
    )

    assert response.status_code == 201, response.data
    assert response.data["sms"] == {
        "encoding": "GSM-7",
        "length": 161,
        "segments": 2,
        "per_segment": 153,
    }


def test_filters_by_channel_kind_and_search(api):
    welcome = template_create(**EMAIL)
    reminder = template_create(name="Reminder", channel="sms", body_text="See you tomorrow")
    receipt = template_create(
        name="Receipt", kind="transactional", subject="Your order", body_text="Thanks"
    )
    url = reverse("api:template-list")

    def ids(params):
        response = api.get(url, params)
        assert response.status_code == 200, response.data
        return [t["id"] for t in response.data["results"]]

    assert ids({"channel": "sms"}) == [reminder.pk]
    assert ids({"kind": "transactional"}) == [receipt.pk]
    assert ids({"q": "WELC"}) == [welcome.pk]
    assert ids({"q": "tomorrow"}) == [reminder.pk]
    assert api.get(url, {"channel": "fax"}).status_code == 400
    assert "channel" in api.get(url, {"channel": "fax"}).data


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**EMAIL, "body_text": "Hi {{ frist_name }}"}, "body_text", "{{ frist_name }}"),
        ({**EMAIL, "body_html": "[[stage:advocacy]]x"}, "body_html", "never closed"),
        ({**EMAIL, "subject": ""}, "subject", "needs a subject"),
        ({**EMAIL, "channel": "fax"}, "channel", "email or sms"),
        ({**EMAIL, "kind": "spam"}, "kind", "marketing or transactional"),
        ({"name": "No text"}, "body_text", "required"),
        ({**EMAIL, "channel": "sms"}, "subject", "no subject"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, body, field, words):
    response = api.post(reverse("api:template-list"), body, format="json")

    assert response.status_code == 400
    assert field in response.data, response.data
    assert words in " ".join(response.data[field])
    assert not MessageTemplate.objects.exists()


def test_a_bad_update_is_a_400_and_leaves_the_template_alone(api):
    template = template_create(**EMAIL)

    response = api.patch(
        reverse("api:template-detail", args=[template.pk]), {"body_text": "{{ nope }}"}
    )

    assert response.status_code == 400
    assert "{{ nope }}" in response.data["body_text"][0]
    template.refresh_from_db()
    assert template.body_text == EMAIL["body_text"]


def test_deleting_a_template_a_rule_uses_is_a_400_naming_the_rule(api):
    template = template_create(**EMAIL)
    rule_create(
        name="Greet buyers",
        trigger_type="stage_entered",
        trigger_config={"stage": "purchase"},
        actions=[{"type": "send_template", "params": {"template": template.pk}}],
    )

    response = api.delete(reverse("api:template-detail", args=[template.pk]))

    assert response.status_code == 400
    assert "“Greet buyers”" in response.data["template"][0]
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_preview_renders_every_part_for_the_customer_with_values_escaped(api, customer_factory):
    template = template_create(**EMAIL)
    customer = customer_factory(first_name="<img src=x onerror=alert(1)>", stage="advocacy")

    response = api.post(
        reverse("api:template-preview", args=[template.pk]), {"customer": customer.pk}
    )

    assert response.status_code == 200, response.data
    assert response.data["subject"] == "Welcome, <img src=x onerror=alert(1)>"
    assert response.data["body_html"].startswith(
        "<p>Hi &lt;img src=x onerror=alert(1)&gt;</p><p>http"
    )
    assert customer.referral_code in response.data["body_html"]
    assert response.data["sms"] is None


def test_preview_of_an_sms_counts_the_personalised_text(api, customer_factory):
    template = template_create(name="Hi", channel="sms", body_text="Привет, {{ first_name }}")

    response = api.post(
        reverse("api:template-preview", args=[template.pk]),
        {"customer": customer_factory(first_name="Ann").pk},
    )

    assert response.data["body_text"] == "Привет, Ann"
    assert response.data["sms"]["encoding"] == "UCS-2"
    assert response.data["sms"]["length"] == 11


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "required"), ({"customer": "x"}, "valid integer"), ({"customer": 999999}, "Unknown")],
)
def test_preview_and_test_send_name_a_bad_customer(api, body, message):
    template = template_create(**EMAIL)
    for route in ("api:template-preview", "api:template-test-send"):
        response = api.post(reverse(route, args=[template.pk]), body, format="json")

        assert response.status_code == 400
        assert message in response.data["customer"][0]
    assert not OutboundMessage.objects.exists()


def test_test_send_queues_a_transactional_email_to_the_caller(api, marketer, customer_factory):
    template = template_create(**EMAIL)
    customer = customer_factory(first_name="Ann")

    response = api.post(
        reverse("api:template-test-send", args=[template.pk]), {"customer": customer.pk}
    )

    assert response.status_code == 202, response.data
    message = OutboundMessage.objects.get(pk=response.data["message"])
    assert (message.to, message.subject) == (marketer.email, "[Test] Welcome, Ann")
    assert message.kind == MessageKind.TRANSACTIONAL


def test_test_send_for_a_user_without_an_email_is_a_400_on_to(api_as, make_user, customer_factory):
    user = make_user("Marketer", username="no-mail", email="")
    template = template_create(**EMAIL)

    response = api_as(user).post(
        reverse("api:template-test-send", args=[template.pk]),
        {"customer": customer_factory().pk},
    )

    assert response.status_code == 400
    assert "no email address" in response.data["to"][0]
    assert not OutboundMessage.objects.exists()


def test_an_unknown_template_is_a_404(api, customer_factory):
    assert api.get(reverse("api:template-detail", args=[999999])).status_code == 404
    response = api.post(
        reverse("api:template-preview", args=[999999]), {"customer": customer_factory().pk}
    )
    assert response.status_code == 404
