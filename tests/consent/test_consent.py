"""Consent: history by every path, send-time enforcement, unsubscribe links and headers."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from consent.models import ConsentEvent, Suppression
from consent.services import consent_record, marketing_allowed, suppression_add, unsubscribe
from consent.tokens import unsubscribe_token
from messaging.models import MessageKind, MessageState
from messaging.services import message_deliver, message_queue

pytestmark = pytest.mark.django_db


def _queue(customer, *, kind=MessageKind.MARKETING, key="m-1", html=""):
    message, _ = message_queue(
        channel="email",
        kind=kind,
        to=customer.email,
        subject="News",
        body_text="Hello",
        body_html=html,
        idempotency_key=key,
        customer=customer,
    )
    return message


def _token(customer):
    return unsubscribe_token(channel="email", customer_id=customer.pk)


def test_consent_record_sets_the_flag_and_writes_history(customer_factory, admin_user):
    customer = customer_factory()

    consent_record(
        customer=customer,
        channel="email",
        granted=True,
        method="dashboard",
        source="asked by phone",
        recorded_by=admin_user,
    )

    customer.refresh_from_db()
    assert customer.email_consent
    assert customer.email_consent_at is not None
    [event] = ConsentEvent.objects.filter(customer=customer)
    assert (event.channel, event.granted, event.method) == ("email", True, "dashboard")
    assert event.recorded_by == admin_user
    assert event.source == "asked by phone"


@pytest.mark.parametrize("withdrawal", ["consent", "unsubscribe", "suppression"])
def test_marketing_is_suppressed_at_send_time(customer_factory, withdrawal):
    customer = customer_factory(email_consent=True)
    message = _queue(customer)
    if withdrawal == "consent":
        consent_record(customer=customer, channel="email", granted=False, method="api")
    elif withdrawal == "unsubscribe":
        unsubscribe(customer=customer, channel="email", method="unsubscribe_link")
    else:
        suppression_add(channel="email", address=customer.email.upper(), reason="bounce")

    message_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == MessageState.SUPPRESSED
    assert message.error
    assert mail.outbox == []


def test_transactional_still_goes_to_a_suppressed_address(customer_factory):
    customer = customer_factory(email_consent=False)
    suppression_add(channel="email", address=customer.email, reason="unsubscribe")
    message = _queue(customer, kind=MessageKind.TRANSACTIONAL)

    message_deliver(message_id=message.pk)

    assert len(mail.outbox) == 1
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers


def test_marketing_without_a_customer_has_no_consent():
    assert marketing_allowed(customer=None, channel="email", address="x@example.com")[0] is False


def test_every_marketing_email_has_the_rfc_8058_headers_and_a_link(customer_factory):
    customer = customer_factory(email_consent=True)
    message = _queue(customer, html="<html><body><p>Hi</p></body></html>")

    message_deliver(message_id=message.pk)

    [sent] = mail.outbox
    path = reverse("consent:unsubscribe", args=[_token(customer)])
    assert sent.extra_headers["List-Unsubscribe"].startswith("<http")
    assert path in sent.extra_headers["List-Unsubscribe"]
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert path in sent.body
    assert isinstance(sent, EmailMultiAlternatives)
    html = sent.alternatives[0][0]
    assert isinstance(html, str)
    assert path in html
    assert html.index(path) < html.index("</body>")


def test_a_body_that_already_has_the_link_gets_no_second_one(customer_factory):
    from consent.tokens import unsubscribe_url

    customer = customer_factory(email_consent=True)
    url = unsubscribe_url(channel="email", customer_id=customer.pk)
    message, _ = message_queue(
        channel="email",
        kind="marketing",
        to=customer.email,
        body_text=f"Bye: {url}",
        idempotency_key="k",
        customer=customer,
    )

    assert message.body_text == f"Bye: {url}"


def test_one_click_post_unsubscribes_without_csrf_or_cookies(customer_factory):
    customer = customer_factory(email_consent=True)
    client = Client(enforce_csrf_checks=True)
    url = reverse("consent:unsubscribe", args=[_token(customer)])

    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    again = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == again.status_code == 200
    customer.refresh_from_db()
    assert not customer.email_consent
    [event] = ConsentEvent.objects.filter(customer=customer, granted=False)
    assert event.method == "one_click"
    assert (
        Suppression.objects.filter(address=customer.email.lower(), reason="unsubscribe").count()
        == 1
    )


def test_the_link_asks_before_unsubscribing(customer_factory):
    customer = customer_factory(email_consent=True)
    url = reverse("consent:unsubscribe", args=[_token(customer)])

    page = Client().get(url)
    customer.refresh_from_db()
    assert page.status_code == 200
    assert customer.email_consent
    assert b"<form" in page.content
    assert b"<script" not in page.content

    done = Client(enforce_csrf_checks=True).post(url)

    assert done.status_code == 200
    customer.refresh_from_db()
    assert not customer.email_consent
    assert ConsentEvent.objects.get(customer=customer, granted=False).method == "unsubscribe_link"


def test_a_forged_token_is_a_404(customer_factory):
    customer = customer_factory(email_consent=True)
    forged = _token(customer)[:-2] + "xx"

    for response in (
        Client().get(reverse("consent:unsubscribe", args=[forged])),
        Client().post(
            reverse("consent:unsubscribe", args=[forged]), {"List-Unsubscribe": "One-Click"}
        ),
    ):
        assert response.status_code == 404
    customer.refresh_from_db()
    assert customer.email_consent


def test_only_a_confirmed_double_opt_in_lifts_an_unsubscribe(customer_factory):
    customer = customer_factory(email_consent=True)
    unsubscribe(customer=customer, channel="email", method="one_click")

    # Staff cannot override it, nor can a form's tick: anyone can type anyone's address.
    for method in ("dashboard", "api", "form"):
        consent_record(customer=customer, channel="email", granted=True, method=method)
        assert Suppression.objects.filter(address=customer.email.lower()).exists(), method
        assert (
            marketing_allowed(customer=customer, channel="email", address=customer.email)[0]
            is False
        )

    consent_record(customer=customer, channel="email", granted=True, method="double_opt_in")
    assert marketing_allowed(customer=customer, channel="email", address=customer.email) == (
        True,
        "",
    )


def test_dashboard_records_method_dashboard(client, customer_factory, marketer):
    customer = customer_factory()
    client.force_login(marketer)
    url = reverse("consent:customer", args=[customer.pk])

    response = client.post(url, {"channel": "sms", "granted": "1", "note": "in the shop"})

    assert response.status_code == 303
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.channel, event.method, event.recorded_by) == ("sms", "dashboard", marketer)
    page = client.get(url)
    assert page.status_code == 200
    assert b"in the shop" in page.content


def test_suppression_page_adds_and_removes(client, admin_user):
    client.force_login(admin_user)

    added = client.post(
        reverse("consent:suppressions"),
        {"channel": "sms", "address": "+44 (20) 7946-0958", "reason": "manual"},
    )
    entry = Suppression.objects.get()
    removed = client.post(reverse("consent:suppression-delete", args=[entry.pk]))

    assert added.status_code == removed.status_code == 303
    assert entry.address == "+442079460958"
    assert not Suppression.objects.exists()


def test_suppression_page_refuses_a_sales_rep_adding(client, sales_rep):
    client.force_login(sales_rep)
    response = client.post(
        reverse("consent:suppressions"),
        {"channel": "email", "address": "a@b.co", "reason": "manual"},
    )
    assert response.status_code == 403


def test_api_records_and_lists_consent(api_as, admin_user, customer_factory):
    customer = customer_factory()
    api = api_as(admin_user)
    url = reverse("api:customer-consent", args=[customer.pk])

    bad = api.post(url, {"channel": "fax", "granted": True}, format="json")
    created = api.post(
        url, {"channel": "email", "granted": True, "ip": "203.0.113.9"}, format="json"
    )

    assert bad.status_code == 400
    assert "channel" in bad.data
    assert created.status_code == 201
    body = api.get(url).data
    email = next(row for row in body["channels"] if row["channel"] == "email")
    assert email["granted"]
    assert email["marketing_allowed"]
    assert body["history"][0]["method"] == "api"
    assert body["history"][0]["ip"] == "203.0.113.9"


def test_api_suppression_is_normalised_and_idempotent(api_as, admin_user):
    api = api_as(admin_user)
    first = api.post(reverse("api:suppression-list"), {"channel": "email", "address": " A@X.com "})
    again = api.post(reverse("api:suppression-list"), {"channel": "email", "address": "a@x.com"})
    bad = api.post(reverse("api:suppression-list"), {"channel": "email", "address": "nope"})

    assert (first.status_code, again.status_code, bad.status_code) == (201, 200, 400)
    assert first.data["address"] == "a@x.com"
    assert "address" in bad.data
