"""Lead forms: building, submitting (public page, JSON, API), consent and double opt-in."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from common.events import subscribe
from common.events import unsubscribe as events_unsubscribe
from consent.models import ConsentEvent
from customers.models import Customer
from leadforms.models import Submission
from leadforms.services import InvalidInputError, form_create, form_submit
from messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db

FIELDS = [
    {"name": "first_name", "label": "First name", "type": "text", "required": True,
     "maps_to": "first_name"},
    {"name": "company", "label": "Company", "type": "text", "maps_to": "company"},
    {"name": "team_size", "label": "Team size", "type": "select", "choices": ["1-10", "11+"],
     "maps_to": "attributes.team_size"},
]  # fmt: skip


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
def client_ip():
    """A fresh address per test: the rate limit lives in the shared cache."""
    return f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def _post(lead_form, data, ip, query="", **extra):
    url = reverse("leadforms:public", args=[lead_form.slug]) + query
    return Client(enforce_csrf_checks=True).post(url, data, REMOTE_ADDR=ip, **extra)


def test_a_new_email_creates_the_customer_in_attract_with_utm(lead_form, client_ip):
    response = _post(
        lead_form,
        {"email": "Ann@Example.com", "first_name": "Ann", "team_size": "11+", "consent": "on",
         "utm_campaign": "spring"},
        client_ip,
        query="?utm_source=google&utm_medium=cpc",
        HTTP_REFERER="https://blog.example.com/post",
    )  # fmt: skip

    assert response.status_code == 200
    customer = Customer.objects.get(email="Ann@Example.com")
    assert customer.stage.phase == "attract"
    assert (customer.first_name, customer.attributes) == ("Ann", {"team_size": "11+"})
    assert (customer.utm_source, customer.utm_medium, customer.utm_campaign) == (
        "google", "cpc", "spring")  # fmt: skip
    assert customer.source == "google"
    assert customer.tags == ["newsletter"]
    assert customer.email_consent
    assert ConsentEvent.objects.get(customer=customer).method == "form"
    submission = Submission.objects.get()
    assert submission.referrer == "https://blog.example.com/post"
    assert submission.ip == client_ip
    assert submission.created_customer


def test_a_known_email_adds_without_overwriting(lead_form, customer_factory, client_ip):
    customer = customer_factory(email="bo@example.com", company="Acme", first_name="Bo")

    _post(lead_form, {"email": "BO@example.com", "first_name": "Bob", "company": ""}, client_ip)

    customer.refresh_from_db()
    assert Customer.objects.count() == 1
    assert (customer.first_name, customer.company) == ("Bo", "Acme")
    assert Submission.objects.get().data["first_name"] == "Bob"
    assert "newsletter" in customer.tags
    assert not customer.email_consent  # the box was not ticked


def test_the_honeypot_stores_spam_and_creates_nothing(lead_form, client_ip):
    response = _post(
        lead_form, {"email": "bot@example.com", "first_name": "B", "website": "x"}, client_ip
    )

    assert response.status_code == 200
    assert not Customer.objects.exists()
    assert Submission.objects.get().state == "spam"


def test_the_rate_limit_answers_429(lead_form, client_ip):
    for n in range(20):
        _post(lead_form, {"email": f"p{n}@example.com", "first_name": "P"}, client_ip)

    response = _post(lead_form, {"email": "late@example.com", "first_name": "L"}, client_ip)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many submissions" in response.content.decode()
    assert not Customer.objects.filter(email="late@example.com").exists()


def test_bad_input_is_a_400_keeping_what_was_typed(lead_form, client_ip):
    response = _post(
        lead_form, {"email": "not-an-email", "first_name": "", "company": "Kept Co"}, client_ip
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Kept Co"' in html
    assert "Enter a valid email" in html
    assert not Customer.objects.exists()
    assert not Submission.objects.exists()


def test_json_in_json_out(lead_form, client_ip):
    url = reverse("leadforms:public", args=[lead_form.slug])
    bad = Client().post(url, {"email": "x@example.com", "team_size": "huge"},
                        content_type="application/json", REMOTE_ADDR=client_ip)  # fmt: skip
    good = Client().post(url, {"email": "j@example.com", "first_name": "J"},
                         content_type="application/json", REMOTE_ADDR=client_ip)  # fmt: skip

    assert bad.status_code == 400
    assert set(bad.json()) == {"first_name", "team_size"}
    assert good.status_code == 201
    assert good.json()["ok"]


def test_the_public_page_is_standalone(lead_form):
    html = Client().get(reverse("leadforms:public", args=[lead_form.slug])).content.decode()

    assert 'name="website"' in html
    assert 'name="utm_source"' in html
    assert "<script" not in html
    assert "http://" not in html.replace("http://testserver", "")


def test_double_opt_in_records_consent_only_once_confirmed(client_ip):
    form = form_create(name="DOI", slug="doi", consent_text="Yes please", double_opt_in=True)
    form_submit(form=form, data={"email": "d@example.com", "consent": "on"}, ip=client_ip)
    customer = Customer.objects.get(email="d@example.com")
    submission = Submission.objects.get()
    assert submission.state == "pending_confirmation"
    assert not customer.email_consent
    message = OutboundMessage.objects.get(customer=customer)
    assert message.kind == "transactional"
    link = re.search(r"/f/confirm/[^/\s]+/", message.body_text)
    assert link is not None
    path = link.group(0)

    assert Client().get(path).status_code == 200  # shows a button, changes nothing
    customer.refresh_from_db()
    assert not customer.email_consent
    first = Client(enforce_csrf_checks=True).post(path)
    second = Client(enforce_csrf_checks=True).post(path)

    assert first.status_code == second.status_code == 200
    customer.refresh_from_db()
    assert customer.email_consent
    [event] = ConsentEvent.objects.filter(customer=customer)
    assert event.method == "double_opt_in"
    assert event.source == "form:doi"
    assert Submission.objects.get().state == "confirmed"


def test_a_forged_confirm_link_is_a_404():
    assert Client().get("/f/confirm/12:forged/").status_code == 404


def test_form_submitted_is_emitted_with_its_payload(
    lead_form, client_ip, django_capture_on_commit_callbacks
):
    received = []

    def handler(event, payload):
        received.append((event, payload))

    subscribe("form.submitted")(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            submission = form_submit(
                form=lead_form, data={"email": "e@example.com", "first_name": "E"}, ip=client_ip
            )
    finally:
        events_unsubscribe("form.submitted", handler)

    assert received == [
        (
            "form.submitted",
            {
                "customer_id": submission.customer_id,
                "form_id": lead_form.pk,
                "form_slug": lead_form.slug,
                "submission_id": submission.pk,
            },
        )
    ]


def test_form_fields_are_validated_with_paths():
    with pytest.raises(InvalidInputError) as caught:
        form_create(
            name="Bad",
            fields=[
                {"name": "email", "type": "text"},
                {"name": "x", "type": "color", "maps_to": "salary"},
                {"name": "s", "type": "select"},
            ],
            redirect_url="javascript:alert(1)",
        )

    assert set(caught.value.errors) >= {
        "fields[0].name", "fields[1].type", "fields[1].maps_to", "fields[2].choices",
        "redirect_url",
    }  # fmt: skip


def test_api_submission_and_field_named_errors(api_as, admin_user, lead_form):
    api = api_as(admin_user)
    url = reverse("api:leadform-submissions", args=[lead_form.slug])

    bad = api.post(url, {"data": {"email": "nope"}}, format="json")
    good = api.post(
        url,
        {"data": {"email": "api@example.com", "first_name": "A"}, "utm": {"utm_source": "crm"}},
        format="json",
    )
    listed = api.get(url)

    assert bad.status_code == 400
    assert set(bad.data) == {"email", "first_name"}
    assert good.status_code == 201
    assert good.data["utm_source"] == "crm"
    assert [row["id"] for row in listed.data["results"]] == [good.data["id"]]


def test_api_form_create_errors_are_keyed_by_path(api_as, admin_user):
    response = api_as(admin_user).post(
        reverse("api:leadform-list"),
        {"name": "X", "fields": [{"name": "a", "maps_to": "nope"}]},
        format="json",
    )

    assert response.status_code == 400
    assert "fields[0].maps_to" in response.data


def test_dashboard_shows_the_embed_snippet(client, marketer, lead_form):
    client.force_login(marketer)

    html = client.get(reverse("leadforms:detail", args=[lead_form.pk])).content.decode()

    assert f"/f/{lead_form.slug}/" in html
    assert "&lt;form action=" in html
    assert client.get(reverse("leadforms:list")).status_code == 200
    edit = client.post(reverse("leadforms:update", args=[lead_form.pk]),
                       {"name": "N", "fields": "[{]"})  # fmt: skip
    assert edit.status_code == 400
    assert "Not valid JSON" in edit.content.decode()


@override_settings(FLYWHEEL_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_the_proxy_each_visitor_has_their_own_rate_limit(lead_form, client_ip):
    # Every request comes from the proxy; the visitors differ only in X-Forwarded-For.
    proxy = "10.9.8.7"
    for n in range(25):
        response = _post(
            lead_form,
            {"email": f"v{n}@example.com", "first_name": "V"},
            proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}",
        )
        assert response.status_code == 200, n

    assert Customer.objects.count() == 25
    assert Submission.objects.filter(ip="192.0.2.25").exists()


def test_an_unreachable_cache_lets_submissions_through(lead_form, client_ip, caplog):
    # Nothing listens on port 1: every cache call fails to connect, as in a Redis outage.
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=unreachable):
        for n in range(22):
            response = _post(
                lead_form, {"email": f"o{n}@example.com", "first_name": "O"}, client_ip
            )
            assert response.status_code == 200, n

    assert Customer.objects.count() == 22
    assert "Rate limit leadform-submit not applied" in caplog.text
