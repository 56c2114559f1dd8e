"""The public referral page: a referral link turns a visitor into a referred customer."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from consent.models import ConsentEvent, Suppression
from consent.services import unsubscribe
from customers.models import Customer, Referral

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limit(client):
    # Each test posts from its own address: the rate limit counts per address in the shared
    # cache (never cache.clear(): it would flush a Redis database other runs may share).
    client.defaults["REMOTE_ADDR"] = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def _url(code: str) -> str:
    return reverse("referral-landing", args=[code])


def _form(**overrides):
    return {"first_name": "Lan", "email": "lan@example.com", "website": "", **overrides}


def test_the_page_names_the_referrer_without_login(client, customer_factory):
    referrer = customer_factory(first_name="Minh")

    page = client.get(_url(referrer.referral_code))

    assert page.status_code == 200
    assert b"Minh invited you" in page.content


def test_signing_up_creates_a_referred_customer(client, customer_factory):
    referrer = customer_factory(stage="advocacy")

    response = client.post(_url(referrer.referral_code.lower()), _form(email_consent="on"))

    assert response.status_code == 200
    assert b"Thank you" in response.content
    new = Customer.objects.get(email="lan@example.com")
    assert new.referred_by == referrer
    assert new.source == "referral"
    assert new.email_consent is True
    assert Referral.objects.get(referred=new).referrer_phase == "delight"
    assert "referral link" in new.transitions.get().reason


def test_an_unknown_code_is_a_clear_404(client):
    response = client.get(_url("NOSUCHCODE"))

    assert response.status_code == 404
    assert b"not valid" in response.content


def test_bad_input_keeps_what_was_typed(client, customer_factory):
    referrer = customer_factory()

    response = client.post(_url(referrer.referral_code), _form(email="not-an-email"))

    assert response.status_code == 400
    assert b'value="Lan"' in response.content
    assert not Customer.objects.filter(first_name="Lan").exists()


def test_a_known_email_gets_the_same_thanks_and_changes_nothing(client, customer_factory):
    referrer = customer_factory()
    existing = customer_factory(email="lan@example.com")

    response = client.post(_url(referrer.referral_code), _form(email="LAN@example.com"))

    assert response.status_code == 200
    assert b"Thank you" in response.content
    existing.refresh_from_db()
    assert existing.referred_by is None


def test_the_honeypot_stores_nothing(client, customer_factory):
    referrer = customer_factory()

    response = client.post(_url(referrer.referral_code), _form(website="http://spam.example"))

    assert response.status_code == 200
    assert not Customer.objects.filter(email="lan@example.com").exists()


def test_too_many_sign_ups_from_one_address_are_refused(client, customer_factory):
    referrer = customer_factory()
    for number in range(10):
        client.post(_url(referrer.referral_code), _form(email=f"p{number}@example.com"))

    response = client.post(_url(referrer.referral_code), _form(email="one-more@example.com"))

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert b"Too many submissions" in response.content
    assert not Customer.objects.filter(email="one-more@example.com").exists()


def test_a_known_customer_is_neither_overwritten_nor_resubscribed(client, customer_factory):
    referrer = customer_factory()
    known = customer_factory(
        email="Lan@example.com", first_name="Lan", company="Acme", email_consent=True
    )
    unsubscribe(customer=known, channel="email", method="unsubscribe_link")

    response = client.post(
        _url(referrer.referral_code),
        _form(email="LAN@EXAMPLE.COM", first_name="Mallory", company="Evil", email_consent="on"),
    )

    assert response.status_code == 200
    assert b"Thank you" in response.content  # the same page: it reveals no customer
    known.refresh_from_db()
    assert (known.first_name, known.company, known.email_consent) == ("Lan", "Acme", False)
    assert known.referred_by is None
    assert not ConsentEvent.objects.filter(customer=known, granted=True).exists()
    assert Suppression.objects.filter(address="lan@example.com").exists()
    assert Customer.objects.filter(email__iexact="lan@example.com").count() == 1


def test_a_new_customers_ticked_box_is_recorded_with_its_evidence(client, customer_factory):
    referrer = customer_factory()
    client.defaults["REMOTE_ADDR"] = "198.51.100.23"

    response = client.post(
        _url(referrer.referral_code),
        _form(email_consent="on"),
        HTTP_USER_AGENT="Mozilla/5.0 (referral test)",
    )

    assert response.status_code == 200
    new = Customer.objects.get(email="lan@example.com")
    [event] = ConsentEvent.objects.filter(customer=new)
    assert (event.channel, event.granted, event.method) == ("email", True, "form")
    assert event.ip == "198.51.100.23"
    assert event.user_agent == "Mozilla/5.0 (referral test)"
    assert event.source == f"referral:{referrer.referral_code}"
    assert event.recorded_by is None


def test_a_new_customer_without_the_box_has_no_consent_and_no_history(client, customer_factory):
    referrer = customer_factory()

    response = client.post(_url(referrer.referral_code), _form())

    assert response.status_code == 200
    new = Customer.objects.get(email="lan@example.com")
    assert new.email_consent is False
    assert not ConsentEvent.objects.filter(customer=new).exists()
