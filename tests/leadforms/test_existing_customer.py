"""A public form and a customer who already exists: it adds, it never overwrites, and a consent
tick becomes a confirmation email to the address on record (double opt-in)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from consent.models import ConsentEvent, Suppression
from consent.services import consent_record, marketing_allowed, unsubscribe
from customers.models import Customer
from customers.services import customer_update
from leadforms.models import Submission
from leadforms.services import form_create, form_submit
from messaging.models import MessageKind, OutboundMessage

pytestmark = pytest.mark.django_db

FIELDS = [
    {"name": "first_name", "label": "First name", "type": "text", "maps_to": "first_name"},
    {"name": "last_name", "label": "Last name", "type": "text", "maps_to": "last_name"},
    {"name": "company", "label": "Company", "type": "text", "maps_to": "company"},
    {"name": "phone", "label": "Phone", "type": "tel", "maps_to": "phone"},
    {"name": "plan", "label": "Plan", "type": "text", "maps_to": "attributes.plan"},
    {"name": "team", "label": "Team", "type": "text", "maps_to": "attributes.team"},
]


@pytest.fixture
def lead_form():
    return form_create(
        name="Newsletter",
        slug=f"news-{uuid.uuid4().hex[:8]}",
        fields=FIELDS,
        consent_text="Send me news by email",
        tags=["newsletter"],
    )


@pytest.fixture
def unsubscribed(customer_factory):
    """A customer staff recorded in full, who then unsubscribed (consent off, suppressed)."""
    customer = customer_factory(
        email="Kim.Lee@example.com",
        first_name="Kim",
        last_name="Lee",
        company="Acme",
        phone="+4930123456",
        tags=["vip"],
        attributes={"plan": "enterprise"},
        email_consent=True,
    )
    unsubscribe(customer=customer, channel="email", method="unsubscribe_link")
    customer.refresh_from_db()
    return customer


def _post(form, data):
    ip = f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    url = reverse("leadforms:public", args=[form.slug])
    return Client(enforce_csrf_checks=True).post(url, data, REMOTE_ADDR=ip)


def _takeover(email="KIM.LEE@EXAMPLE.COM"):
    return {
        "email": email,
        "first_name": "Mallory",
        "last_name": "Evil",
        "company": "Evil Corp",
        "phone": "+15550000000",
        "plan": "free",
        "team": "red",
        "consent": "on",
    }


def _snapshot(customer):
    customer.refresh_from_db()
    return (
        customer.email,
        customer.first_name,
        customer.last_name,
        customer.company,
        customer.phone,
        customer.attributes.get("plan"),
        customer.email_consent,
    )


def _confirm_path(message):
    link = re.search(r"/f/confirm/[^/\s]+/", message.body_text)
    assert link is not None
    return link.group(0)


def test_an_anonymous_post_overwrites_nothing_and_lifts_no_unsubscribe(lead_form, unsubscribed):
    before = _snapshot(unsubscribed)
    events_before = ConsentEvent.objects.filter(customer=unsubscribed).count()

    response = _post(lead_form, _takeover())

    assert response.status_code == 200
    assert Customer.objects.count() == 1
    assert _snapshot(unsubscribed) == before
    assert unsubscribed.email_consent is False
    assert ConsentEvent.objects.filter(customer=unsubscribed).count() == events_before
    assert Suppression.objects.filter(address="kim.lee@example.com").exists()
    assert (
        marketing_allowed(customer=unsubscribed, channel="email", address=unsubscribed.email)[0]
        is False
    )
    # Adding is allowed: a new attribute key and the form's tags.
    assert unsubscribed.attributes == {"plan": "enterprise", "team": "red"}
    assert unsubscribed.tags == ["vip", "newsletter"]
    # Everything that was sent is kept on the submission for staff to see.
    submission = Submission.objects.get()
    assert submission.customer == unsubscribed
    assert not submission.created_customer
    assert submission.data["company"] == "Evil Corp"
    assert submission.consent_given
    assert submission.state == "pending_confirmation"
    # One confirmation email, to the address on record (not the one typed).
    [message] = OutboundMessage.objects.filter(customer=unsubscribed)
    assert message.kind == MessageKind.TRANSACTIONAL
    assert message.to == "Kim.Lee@example.com"


def test_opening_the_confirmation_grants_consent_and_lifts_the_unsubscribe(lead_form, unsubscribed):
    _post(lead_form, _takeover())
    path = _confirm_path(OutboundMessage.objects.get(customer=unsubscribed))

    assert Client().get(path).status_code == 200  # a button: mail scanners change nothing
    unsubscribed.refresh_from_db()
    assert not unsubscribed.email_consent

    response = Client(enforce_csrf_checks=True).post(path)

    assert response.status_code == 200
    assert b"you are subscribed" in response.content
    unsubscribed.refresh_from_db()
    assert unsubscribed.email_consent
    latest = ConsentEvent.objects.filter(customer=unsubscribed).first()
    assert latest is not None
    assert (latest.granted, latest.method) == (True, "double_opt_in")
    assert not Suppression.objects.filter(address="kim.lee@example.com").exists()
    assert marketing_allowed(
        customer=unsubscribed, channel="email", address=unsubscribed.email
    ) == (
        True,
        "",
    )
    assert Submission.objects.get().state == "confirmed"


def test_empty_fields_are_filled_and_the_phone_is_left_to_staff(lead_form, customer_factory):
    customer = customer_factory(
        email="new.lead@example.com", first_name="", last_name="", company="", phone=""
    )

    _post(lead_form, _takeover(email="New.Lead@example.com") | {"consent": ""})

    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.company) == (
        "Mallory",
        "Evil",
        "Evil Corp",
    )
    assert customer.phone == ""
    assert customer.attributes == {"plan": "free", "team": "red"}
    assert not customer.email_consent
    assert not OutboundMessage.objects.exists()
    assert Submission.objects.get().data["phone"] == "+15550000000"


def test_a_customer_who_never_consented_gets_a_confirmation_not_consent(
    lead_form, customer_factory
):
    customer = customer_factory(email="quiet@example.com")

    form_submit(form=lead_form, data={"email": "Quiet@Example.com", "consent": "on"})

    customer.refresh_from_db()
    assert not customer.email_consent
    assert not ConsentEvent.objects.filter(customer=customer).exists()
    assert OutboundMessage.objects.filter(customer=customer).count() == 1
    assert Submission.objects.get().state == "pending_confirmation"


def test_a_customer_who_already_consents_is_sent_nothing(lead_form, customer_factory):
    customer = customer_factory(email="fan@example.com")
    consent_record(customer=customer, channel="email", granted=True, method="dashboard")

    form_submit(form=lead_form, data={"email": "fan@example.com", "consent": "on"})

    assert not OutboundMessage.objects.exists()
    assert ConsentEvent.objects.filter(customer=customer).count() == 1
    assert Submission.objects.get().state == "accepted"


def test_a_new_customer_at_a_suppressed_address_must_confirm(lead_form):
    # Unsubscribed from a message sent to the bare address, before any customer existed.
    unsubscribe(channel="email", method="one_click", address="gone@example.com")

    form_submit(form=lead_form, data={"email": "Gone@example.com", "consent": "on"})

    customer = Customer.objects.get(email="Gone@example.com")
    assert not customer.email_consent
    assert Suppression.objects.filter(address="gone@example.com").exists()
    assert Submission.objects.get().state == "pending_confirmation"
    path = _confirm_path(OutboundMessage.objects.get(customer=customer))

    Client(enforce_csrf_checks=True).post(path)

    customer.refresh_from_db()
    assert customer.email_consent
    assert not Suppression.objects.filter(address="gone@example.com").exists()


def test_a_confirmation_sent_to_an_address_since_changed_confirms_nothing(lead_form, unsubscribed):
    _post(lead_form, _takeover())
    path = _confirm_path(OutboundMessage.objects.get(customer=unsubscribed))
    customer_update(customer=unsubscribed, data={"email": "kim@elsewhere.example"})

    response = Client(enforce_csrf_checks=True).post(path)

    assert response.status_code == 200
    assert b"can no longer confirm" in response.content
    unsubscribed.refresh_from_db()
    assert not unsubscribed.email_consent
    assert Submission.objects.get().state == "pending_confirmation"


def test_posting_again_and_again_sends_one_confirmation_a_day(lead_form, unsubscribed):
    for _ in range(3):
        assert _post(lead_form, _takeover()).status_code == 200

    assert OutboundMessage.objects.filter(customer=unsubscribed).count() == 1
    assert Submission.objects.filter(state="pending_confirmation").count() == 3
    # The one link sent confirms.
    path = _confirm_path(OutboundMessage.objects.get(customer=unsubscribed))
    Client(enforce_csrf_checks=True).post(path)
    unsubscribed.refresh_from_db()
    assert unsubscribed.email_consent


def test_staff_see_the_values_that_were_not_applied(client, marketer, lead_form, unsubscribed):
    _post(lead_form, _takeover())
    client.force_login(marketer)

    html = client.get(reverse("leadforms:detail", args=[lead_form.pk])).content.decode()

    assert "Submitted values" in html
    assert "Evil Corp" in html
    assert "+15550000000" in html
