"""Hostile input is a 400 naming the field, never a 500: NUL characters and lone surrogates
(which no PostgreSQL text or jsonb column stores), date-times PostgreSQL cannot compare, and
bodies of the wrong shape, wherever they come in — the API, the dashboard, the public pages.

Each case is a request that answered 500 before; tests/test_api_fuzz.py looks for more.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import ADMIN
from leadforms.models import LeadForm
from leadforms.services import form_create
from segments.models import Segment
from segments.services import segment_create
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

NUL = "\x00"
SURROGATE = "\ud800"  # json.dumps writes it as the escape "\ud800", as a client would
NUL_MESSAGE = "Null characters are not allowed."
SURROGATE_MESSAGE = "Text must be valid Unicode (no lone surrogate characters)."
BAD_OFFSET = "0474-08-28T01:54:53-20:43"  # Python reads the offset; PostgreSQL refuses it


@dataclass
class World:
    admin: User
    form: LeadForm
    segment: Segment
    referral_code: str
    api_as: Callable[[User], APIClient]

    def api(self) -> APIClient:
        return self.api_as(self.admin)

    def dashboard(self) -> Client:
        client = Client()
        client.force_login(self.admin)
        return client


@pytest.fixture
def world(api_as: Callable[[User], APIClient]) -> World:
    admin = UserFactory.create(role=ADMIN, username=f"admin-{uuid.uuid4().hex[:6]}")
    form = form_create(
        name="Newsletter",
        slug="news",
        fields=[{"name": "company", "label": "Company", "maps_to": "company"}],
        consent_text="Send me news",
    )
    segment = segment_create(
        name="Everyone", definition={"op": "and", "rules": []}, created_by=admin
    )
    return World(admin, form, segment, CustomerFactory.create().referral_code, api_as)


def _json(client: Client, method: str, url: str, body: Any, **extra: Any) -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json", **extra)


def _anonymous() -> Client:
    return Client(REMOTE_ADDR=f"198.51.100.{uuid.uuid4().int % 250}")


def _rule(**rule: Any) -> dict[str, Any]:
    return {"op": "and", "rules": [rule]}


# --- the API: a 400 with JSON keyed by the field's path ----------------------------------------

API_CASES: list[tuple[str, str, str, Any, str, str]] = [
    # (id, method, url, JSON body, field named, message)
    ("form-name-nul", "post", "/api/v1/forms/", {"name": f"News{NUL}"}, "name", NUL_MESSAGE),
    (
        "form-field-label-surrogate",
        "post",
        "/api/v1/forms/",
        {"name": "News 2", "fields": [{"name": "a", "label": f"A{SURROGATE}"}]},
        "fields[0].label",
        SURROGATE_MESSAGE,
    ),
    (
        "form-select-choice-nul",
        "post",
        "/api/v1/forms/",
        {
            "name": "News 3",
            "fields": [{"name": "a", "label": "A", "type": "select", "choices": [f"x{NUL}"]}],
        },
        "fields[0].choices[0]",
        NUL_MESSAGE,
    ),
    (
        "form-tag-nul",
        "post",
        "/api/v1/forms/",
        {"name": "N4", "tags": [f"t{NUL}"]},
        "tags[0]",
        NUL_MESSAGE,
    ),
    (
        "form-patch-surrogate",
        "patch",
        "/api/v1/forms/news/",
        {"success_message": f"Thanks{SURROGATE}"},
        "success_message",
        SURROGATE_MESSAGE,
    ),
    (
        "form-redirect-url-list",
        "post",
        "/api/v1/forms/",
        {"name": "N5", "redirect_url": [None, None]},
        "redirect_url",
        "Not a valid string.",
    ),
    (
        "form-patch-redirect-url-number",
        "patch",
        "/api/v1/forms/news/",
        {"redirect_url": 5},
        "redirect_url",
        "Give an http:// or https:// address.",
    ),
    (
        "form-name-list",
        "post",
        "/api/v1/forms/",
        {"name": ["News"]},
        "name",
        "Not a valid string.",
    ),
    (
        "segment-source-nul",
        "post",
        "/api/v1/segments/",
        {"name": "S1", "definition": _rule(field="source", op="eq", value=f"ads{NUL}")},
        "definition.rules[0].value",
        NUL_MESSAGE,
    ),
    (
        "segment-preview-attribute-key-surrogate",
        "post",
        "/api/v1/segments/preview/",
        {"definition": _rule(field="attribute", key=f"k{SURROGATE}", op="eq", value="x")},
        "definition.rules[0].key",
        SURROGATE_MESSAGE,
    ),
    (
        "segment-utm-campaign-surrogate",
        "post",
        "/api/v1/segments/preview/",
        {"definition": _rule(field="utm_campaign", op="eq", value=SURROGATE)},
        "definition.rules[0].value",
        SURROGATE_MESSAGE,
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "field", "message"),
    [case[1:] for case in API_CASES],
    ids=[case[0] for case in API_CASES],
)
def test_an_api_body_with_bad_text_or_shape_is_a_400_naming_the_field(
    world: World, method: str, url: str, body: Any, field: str, message: str
) -> None:
    forms_before = LeadForm.objects.count()
    segments_before = Segment.objects.count()

    response = _json(world.api(), method, url, body)

    assert response.status_code == 400, response.content
    assert response.json()[field] == [message]
    assert LeadForm.objects.count() == forms_before
    assert Segment.objects.count() == segments_before


def test_a_key_with_a_surrogate_is_named_in_escaped_form(world: World) -> None:
    response = _json(world.api(), "post", "/api/v1/forms/", {"name": "N", f"k{SURROGATE}": 1})

    assert response.status_code == 400
    assert response.json() == {"k\\ud800": [SURROGATE_MESSAGE]}


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/surveys/responses/", "answered_after"),
        ("/api/v1/surveys/responses/", "answered_before"),
        ("/api/v1/customers/", "created_after"),
        ("/api/v1/interactions/", "occurred_before"),
        ("/api/v1/tasks/", "due_after"),
        ("/api/v1/purchases/", "occurred_after"),
    ],
)
def test_a_date_filter_postgresql_cannot_take_is_a_400_naming_the_parameter(
    world: World, url: str, parameter: str
) -> None:
    response = world.api().get(url, {parameter: BAD_OFFSET})

    # The offset is beyond PostgreSQL's ±15:59; read in UTC, the moment is fine.
    assert response.status_code == 200, response.content
    overflow = world.api().get(url, {parameter: "9999-12-31T23:00:00-05:00"})
    assert overflow.status_code == 400
    assert overflow.json() == {
        parameter: ["Enter a date and time between the years 1 and 9999 (in UTC)."]
    }


def test_a_date_filter_compares_the_moment_given_in_utc(world: World) -> None:
    customer = CustomerFactory.create()
    created = customer.created_at
    late_offset = created.astimezone().isoformat().replace("+00:00", "-20:43")
    # 20:43 behind UTC: the same wall-clock time is nearly a day later, after the customer.
    response = world.api().get("/api/v1/customers/", {"created_after": late_offset})

    assert response.status_code == 200
    assert customer.pk not in [row["id"] for row in response.json()["results"]]


# --- the URL: a 400 naming the parameter, JSON on the API and a page elsewhere ----------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/r/AB%00CD/", "path"),
        ("/forms/{form}/?state=%00", "state"),
        ("/dashboard/marketing/?segment=1%00", "segment"),
        ("/customers/?q=x&x%00=1", "x\\u0000"),
    ],
)
def test_a_nul_in_the_url_of_a_page_is_a_400_page_naming_the_parameter(
    world: World, url: str, name: str
) -> None:
    response = world.dashboard().get(url.format(form=world.form.pk))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert f"<code>{name}</code>: {NUL_MESSAGE}" in response.content.decode()


def test_a_nul_in_the_query_string_of_the_api_is_a_400_naming_the_parameter(
    world: World,
) -> None:
    response = world.api().get("/api/v1/forms/news/submissions/?state=%00")

    assert response.status_code == 400
    assert response.json() == {"state": [NUL_MESSAGE]}


def test_invalid_utf8_in_a_query_string_is_read_as_replacement_characters(
    world: World,
) -> None:
    response = world.api().get("/api/v1/customers/?q=%ED%A0%80")

    assert response.status_code == 200


# --- the public lead form: the error on the field, nothing stored ------------------------------


def test_a_nul_in_a_posted_field_redraws_the_public_form_with_the_error_on_it(
    world: World,
) -> None:
    response = _anonymous().post("/f/news/", {"email": "ann@example.com", "company": f"A{NUL}"})

    assert response.status_code == 400
    page = response.content.decode()
    assert NUL_MESSAGE in page
    assert 'id="lf-company"' in page
    assert world.form.submissions.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company", f"A{SURROGATE}"),
        ("utm_source", f"ads{NUL}"),
        ("referrer", SURROGATE),
        ("website", f"bot{NUL}"),  # the honeypot: stored as spam when filled in
    ],
)
def test_bad_text_in_a_json_submission_is_a_400_naming_the_field(
    world: World, field: str, value: str
) -> None:
    body = {"email": "ann@example.com", field: value}

    response = _json(_anonymous(), "post", "/f/news/", body)

    assert response.status_code == 400
    assert field in response.json()
    assert world.form.submissions.count() == 0


def test_a_nul_in_the_public_form_query_string_is_a_400_naming_it(world: World) -> None:
    response = _anonymous().post("/f/news/?utm_source=%00", {"email": "ann@example.com"})

    assert response.status_code == 400
    assert "<code>utm_source</code>" in response.content.decode()
    assert world.form.submissions.count() == 0


def test_a_nul_in_a_referral_link_is_a_400(world: World) -> None:
    response = _anonymous().post("/r/AB%00CD/", {"email": "ann@example.com", "first_name": "A"})

    assert response.status_code == 400


# --- the dashboard's forms: the error on the field ---------------------------------------------


def test_the_segment_form_shows_a_nul_in_a_rule_on_the_definition(world: World) -> None:
    definition = json.dumps(_rule(field="source", op="eq", value=f"ads{NUL}"))

    response = world.dashboard().post(
        "/segments/new/", {"name": "Ads", "kind": "dynamic", "definition": definition}
    )

    assert response.status_code == 400
    assert f"definition.rules[0].value: {NUL_MESSAGE}" in response.content.decode()
    assert not Segment.objects.filter(name="Ads").exists()


def test_freezing_a_segment_under_a_name_with_a_nul_says_so(world: World) -> None:
    response = world.dashboard().post(
        f"/segments/{world.segment.pk}/freeze/", {"name": f"Frozen{NUL}"}, follow=True
    )

    assert response.status_code == 200
    assert NUL_MESSAGE in response.content.decode()
    assert Segment.objects.count() == 1


def test_the_lead_form_editor_shows_a_surrogate_in_the_fields_json_on_fields(
    world: World,
) -> None:
    fields = json.dumps([{"name": "a", "label": f"A{SURROGATE}"}])

    response = world.dashboard().post("/forms/new/", {"name": "Webinar", "fields": fields})

    assert response.status_code == 400
    assert f"fields[0].label: {SURROGATE_MESSAGE}" in response.content.decode()
    assert not LeadForm.objects.filter(name="Webinar").exists()


def test_a_segment_rule_with_an_offset_postgresql_refuses_is_read_in_utc(world: World) -> None:
    definition = _rule(field="created_at", op="after", value=BAD_OFFSET)

    response = _json(world.api(), "post", "/api/v1/segments/preview/", {"definition": definition})

    assert response.status_code == 200, response.content


def test_form_statistics_up_to_the_last_day_python_has_count_everything(
    world: World,
) -> None:
    response = world.api().get("/api/v1/forms/news/stats/", {"end": "9999-12-31"})

    assert response.status_code == 200, response.content
    assert response.json()["submissions"] == 0


def test_the_dashboard_customer_list_reads_a_date_filter_offset_in_utc(world: World) -> None:
    page = world.dashboard().get("/customers/", {"created_after": BAD_OFFSET})
    overflow = world.dashboard().get("/customers/", {"created_after": "9999-12-31T23:00:00-05:00"})

    assert page.status_code == 200
    assert overflow.status_code < 500
    assert "Enter a date and time between the years 1 and 9999" in overflow.content.decode()
