"""The survey endpoints: send to one customer or in bulk, progress, invitations, answers.

Who may call each endpoint is checked for every role in tests/accounts/test_api_permissions.py;
here, what the endpoints do, and that a refusal writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import OutboundMessage
from surveys import tasks
from surveys.models import Invitation, Response, SurveyBatch
from surveys.services import survey_answer
from surveys.tokens import invitation_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_publishing(monkeypatch) -> None:
    monkeypatch.setattr(tasks.survey_batch_process, "delay", lambda batch_id: None)


def invitations_url(survey) -> str:
    return reverse("api:survey-invitations", args=[survey.pk])


def test_the_surveys_come_with_their_scale_counts_and_score(
    api_as, marketer, surveys, customer_factory, invite
):
    survey_answer(invitation=invite(customer_factory(), "ces"), score=6)
    invite(customer_factory(), "ces")

    response = api_as(marketer).get(reverse("api:survey-list"))

    assert response.status_code == 200
    ces = next(s for s in response.data if s["id"] == surveys["ces"].pk)
    assert (ces["low"], ces["high"], ces["sent_count"], ces["answered_count"]) == (1, 7, 2, 1)
    assert ces["summary"]["score"] == "6.0"
    assert ces["summary"]["promoters"] == 1


def test_sending_to_one_customer_answers_201_with_the_invitation(
    api_as, support, surveys, customer_factory
):
    customer = customer_factory()

    response = api_as(support).post(invitations_url(surveys["nps"]), {"customer": customer.pk})

    assert response.status_code == 201, response.data
    invitation = Invitation.objects.get()
    assert response.data["id"] == invitation.pk
    assert response.data["state"] == "sent"
    assert response.data["source"] == "api"
    assert response.data["sent_by"] == {"id": support.pk, "username": "support", "name": ""}
    assert response.data["message_state"] == "queued"
    assert response.data["url"] == invitation_url(invitation.pk)
    assert OutboundMessage.objects.count() == 1


def test_the_same_idempotency_key_answers_200_with_the_first_invitation(
    api_as, support, surveys, customer_factory
):
    body = {"customer": customer_factory().pk, "idempotency_key": "ticket-81"}
    client = api_as(support)

    first = client.post(invitations_url(surveys["csat"]), body)
    again = client.post(invitations_url(surveys["csat"]), body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.data["id"] == again.data["id"]
    assert Invitation.objects.get().idempotency_key == "api:ticket-81"
    assert OutboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "customer"),
        ({"customer": 999999}, "customer"),
        ({"customer": "x"}, "customer"),
    ],
)
def test_a_bad_send_is_a_400_naming_the_field(api_as, support, surveys, body, field):
    response = api_as(support).post(invitations_url(surveys["nps"]), body)

    assert response.status_code == 400
    assert field in response.data
    assert not Invitation.objects.exists()


def test_an_inactive_survey_is_a_400_on_survey(api_as, support, surveys, customer_factory):
    surveys["nps"].is_active = False
    surveys["nps"].save()

    response = api_as(support).post(
        invitations_url(surveys["nps"]), {"customer": customer_factory().pk}
    )

    assert response.status_code == 400
    assert "survey" in response.data


def test_an_unknown_survey_is_a_404(api_as, support, customer_factory):
    response = api_as(support).post(
        reverse("api:survey-invitations", args=[999999]), {"customer": customer_factory().pk}
    )

    assert response.status_code == 404


def test_a_bulk_send_answers_202_and_its_progress_can_be_followed(
    api_as, marketer, surveys, customer_factory
):
    for _ in range(2):
        customer_factory(stage="post_purchase")
    customer_factory()
    client = api_as(marketer)

    response = client.post(
        reverse("api:survey-batches", args=[surveys["nps"].pk]),
        {"filters": {"stage": "post_purchase"}},
    )

    assert response.status_code == 202, response.data
    assert (response.data["state"], response.data["total"], response.data["percent"]) == (
        "queued",
        2,
        0,
    )
    progress = client.get(reverse("api:survey-batch-detail", args=[response.data["id"]]))
    assert progress.status_code == 200
    assert progress.data["filters"] == {"stage": "post_purchase"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filters": {"stage": "nowhere"}}, "filters"),
        ({"filters": {"stagee": "purchase"}}, "filters"),
        ({"filters": ["stage"]}, "filters"),
        ({"customer_ids": [999999]}, "customer_ids"),
        ({"filters": {}, "customer_ids": [1]}, "non_field_errors"),
    ],
)
def test_a_bad_bulk_send_is_a_400_and_records_nothing(
    api_as, support, surveys, customer_factory, body, field
):
    customer_factory()

    response = api_as(support).post(reverse("api:survey-batches", args=[surveys["nps"].pk]), body)

    assert response.status_code == 400
    assert field in response.data
    assert not SurveyBatch.objects.exists()


def test_a_role_without_the_permission_sends_nothing(api_as, sales_rep, surveys, customer_factory):
    response = api_as(sales_rep).post(
        reverse("api:survey-batches", args=[surveys["nps"].pk]), {"filters": {}}
    )

    assert response.status_code == 403
    assert not SurveyBatch.objects.exists()
    assert not Invitation.objects.exists()


def test_invitations_filter_by_customer_and_state(api_as, marketer, customer_factory, invite):
    ann, bob = customer_factory(), customer_factory()
    answered = invite(ann, "nps")
    survey_answer(invitation=answered, score=9)
    open_one = invite(ann, "csat")
    invite(bob, "nps")
    client = api_as(marketer)

    by_customer = client.get(reverse("api:survey-invitation-list"), {"customer": ann.pk})
    by_state = client.get(
        reverse("api:survey-invitation-list"), {"customer": ann.pk, "state": "sent"}
    )
    bad = client.get(reverse("api:survey-invitation-list"), {"state": "lost"})

    assert [row["id"] for row in by_customer.data["results"]] == [open_one.pk, answered.pk]
    assert [row["id"] for row in by_state.data["results"]] == [open_one.pk]
    assert bad.status_code == 400
    assert "state" in bad.data


def test_responses_filter_by_category_customer_survey_and_period(
    api_as, sales_rep, surveys, customer_factory, invite
):
    ann, bob = customer_factory(), customer_factory()
    promoter = survey_answer(invitation=invite(ann, "nps"), score=10)
    detractor = survey_answer(invitation=invite(bob, "nps"), score=2, comment="Slow")
    csat = survey_answer(invitation=invite(ann, "csat"), score=3)
    Response.objects.filter(pk=csat.pk).update(answered_at=timezone.now() - timedelta(days=40))
    client = api_as(sales_rep)
    url = reverse("api:survey-response-list")

    def ids(**params) -> list[int]:
        response = client.get(url, params)
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids(category="detractor") == [detractor.pk]
    assert ids(customer=ann.pk) == [promoter.pk, csat.pk]
    assert ids(survey=surveys["csat"].pk) == [csat.pk]
    since = (timezone.now() - timedelta(days=7)).isoformat()
    assert set(ids(answered_after=since)) == {promoter.pk, detractor.pk}
    assert ids(answered_before=since) == [csat.pk]
    row = client.get(url, {"category": "detractor"}).data["results"][0]
    assert (row["score"], row["comment"], row["effect"], row["kind"]) == (
        2,
        "Slow",
        "friction",
        "nps",
    )
    assert client.get(url, {"category": "fan"}).status_code == 400
    assert client.get(url, {"answered_after": "last week"}).status_code == 400
