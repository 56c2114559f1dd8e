"""Starting a campaign variant from a message template: a copy of its texts, on the same
channel, that the variant then owns."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from campaigns.models import Campaign, Variant
from campaigns.services import campaign_create
from common.exceptions import ApplicationError
from messaging.services import template_create, template_update
from tests.campaigns.test_views import _campaign_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def welcome():
    return template_create(
        name="Welcome",
        subject="Welcome, {{ first_name }}",
        body_text="Hi {{ first_name }}",
        body_html="<p>Hi {{ first_name }}</p>",
    )


@pytest.fixture
def reminder():
    return template_create(name="Reminder", channel="sms", body_text="See you, {{ first_name }}")


@pytest.fixture
def browser(client: Client, marketer) -> Client:
    client.force_login(marketer)
    return client


# --- the service --------------------------------------------------------------------------------


def test_a_variant_copies_the_templates_texts_and_keeps_them(welcome, consenting):
    campaign = campaign_create(
        name="Spring",
        customer_ids=[consenting().pk],
        variants=[{"name": "A", "split": 100, "template": welcome.pk}],
    )
    template_update(template=welcome, data={"subject": "Changed later"})

    variant = campaign.variants.get()
    assert (variant.subject, variant.body_text, variant.body_html) == (
        "Welcome, {{ first_name }}",
        "Hi {{ first_name }}",
        "<p>Hi {{ first_name }}</p>",
    )


def test_texts_given_with_the_template_take_precedence(welcome, consenting):
    campaign = campaign_create(
        name="Spring",
        customer_ids=[consenting().pk],
        variants=[{"split": 100, "template": welcome.pk, "subject": "Our own subject"}],
    )

    variant = campaign.variants.get()
    assert (variant.subject, variant.body_text) == ("Our own subject", "Hi {{ first_name }}")


@pytest.mark.parametrize(
    ("template", "message"),
    [("reminder", "“Reminder” is an SMS template; this campaign sends email."), (None, "Unknown")],
)
def test_a_template_of_another_channel_or_unknown_is_an_error_on_the_variant(
    request, template, message, consenting
):
    template_id = request.getfixturevalue(template).pk if template else 999999

    with pytest.raises(ApplicationError) as raised:
        campaign_create(
            name="Spring",
            customer_ids=[consenting().pk],
            variants=[{"split": 100, "template": template_id}],
        )

    assert raised.value.field == "variants[0].template"
    assert message in raised.value.message
    assert not Campaign.objects.exists()


# --- the API ------------------------------------------------------------------------------------


def test_the_api_takes_a_template_instead_of_the_texts(api_as, marketer, reminder, consenting):
    response = api_as(marketer).post(
        "/api/v1/campaigns/",
        {
            "name": "Nudge",
            "channel": "sms",
            "customer_ids": [consenting().pk],
            "variants": [{"name": "A", "split": 100, "template": reminder.pk}],
        },
    )

    assert response.status_code == 201, response.data
    assert response.data["variants"][0]["body_text"] == "See you, {{ first_name }}"
    assert "template" not in response.data["variants"][0]


def test_the_api_names_the_variants_template_when_the_channel_differs(
    api_as, marketer, welcome, reminder, consenting
):
    response = api_as(marketer).post(
        "/api/v1/campaigns/",
        {
            "name": "Nudge",
            "channel": "sms",
            "customer_ids": [consenting().pk],
            "variants": [
                {"name": "A", "split": 50, "template": reminder.pk},
                {"name": "B", "split": 50, "template": welcome.pk},
            ],
        },
    )

    assert response.status_code == 400
    assert response.data == {
        "variants[1].template": ["“Welcome” is an email template; this campaign sends SMS."]
    }


# --- the dashboard ------------------------------------------------------------------------------


def test_fill_from_template_copies_the_texts_into_the_form_and_saves_nothing(
    browser, welcome, consenting
):
    data = _campaign_form(
        [consenting()],
        **{"variants-1-template": str(welcome.pk), "fill_template": "1", "name": "Kept"},
    )

    response = browser.post("/campaigns/new/", data)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="variants-1-subject" value="Welcome, {{ first_name }}"' in page
    assert "&lt;p&gt;Hi {{ first_name }}&lt;/p&gt;</textarea>" in page
    assert 'name="variants-0-subject" value="Hi {{ first_name }}"' in page  # untouched
    assert 'value="Kept"' in page  # what was typed elsewhere stays
    assert not Campaign.objects.exists()


def test_fill_with_a_template_of_another_channel_says_why(browser, reminder, consenting):
    data = _campaign_form(
        [consenting()], **{"variants-0-template": str(reminder.pk), "fill_template": "0"}
    )

    response = browser.post("/campaigns/new/", data)

    assert response.status_code == 400
    assert "“Reminder” is an SMS template; this campaign sends email." in (
        response.content.decode()
    )
    assert 'name="variants-0-subject" value="Hi {{ first_name }}"' in response.content.decode()


def test_saving_with_a_template_and_empty_texts_takes_the_templates(browser, welcome, consenting):
    data = _campaign_form(
        [consenting()],
        **{
            "variants-0-template": str(welcome.pk),
            "variants-0-subject": "",
            "variants-0-body_text": "",
        },
    )

    response = browser.post("/campaigns/new/", data)

    assert response.status_code == 302, response.context["form"].errors
    variant = Variant.objects.get(name="A")
    assert (variant.subject, variant.body_html) == (
        "Welcome, {{ first_name }}",
        "<p>Hi {{ first_name }}</p>",
    )


def test_enter_in_a_field_saves_rather_than_fills(browser):
    page = browser.get("/campaigns/new/").content.decode()

    form = page[page.index('<form method="post"') :]
    first_submit = re.search(r"<button type=\"submit\"[^>]*>", form)
    assert first_submit is not None
    assert "fill_template" not in first_submit.group(0)
    assert 'name="fill_template"' in form
