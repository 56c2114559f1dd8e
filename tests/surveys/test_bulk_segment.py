"""A bulk send to a saved segment: the service, the API and the dashboard's bulk form.

The segment is one audience among three (filters, customer ids, a segment): exactly one is
given, and each mistake is an error on the field at fault that records nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from common.exceptions import ApplicationError
from segments.models import Segment
from segments.services import (
    SegmentInUseError,
    segment_create,
    segment_delete,
    segment_members_add,
)
from stages.models import Stage
from surveys.models import Invitation, SurveyBatch
from surveys.services import survey_batch_step, survey_send_bulk

pytestmark = pytest.mark.django_db

VIP = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


@pytest.fixture
def vips() -> Segment:
    return segment_create(name="VIPs", definition=VIP)


def run_in_chunks(batch: SurveyBatch, size: int = 2) -> SurveyBatch:
    for _ in range(100):
        stepped = survey_batch_step(batch_id=batch.pk, chunk_size=size)
        assert stepped is not None
        batch = stepped
        if not batch.is_running:
            return batch
    raise AssertionError("the batch never finished")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the service ---------------------------------------------------------------------------


def test_a_segment_send_invites_the_segments_customers_with_the_same_progress(
    customer_factory, surveys, support, vips
) -> None:
    members = [customer_factory(tags=["vip"]) for _ in range(5)]
    customer_factory(tags=["newsletter"])

    batch = survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=support)

    assert (batch.state, batch.total, batch.percent) == ("queued", 5, 0)
    assert (batch.segment, batch.segment_name, batch.filters) == (vips, "VIPs", {})
    batch = run_in_chunks(batch)
    assert (batch.state, batch.processed, batch.sent, batch.percent) == ("done", 5, 5, 100)
    invited = Invitation.objects.filter(batch=batch).values_list("customer_id", flat=True)
    assert sorted(invited) == sorted(c.pk for c in members)


def test_progress_moves_chunk_by_chunk_as_with_filters(customer_factory, surveys, vips):
    for _ in range(5):
        customer_factory(tags=["vip"])
    batch = survey_send_bulk(survey=surveys["csat"], segment=vips, sent_by=None)

    stepped = survey_batch_step(batch_id=batch.pk, chunk_size=2)

    assert stepped is not None
    assert (stepped.state, stepped.processed, stepped.percent) == ("sending", 2, 40)


def test_a_static_list_is_sent_to_its_members(customer_factory, surveys) -> None:
    listed = segment_create(name="Pilot accounts", kind="static")
    ann, _bob = customer_factory(), customer_factory()
    segment_members_add(segment=listed, customer_ids=[ann.pk])

    batch = run_in_chunks(survey_send_bulk(survey=surveys["nps"], segment=listed, sent_by=None))

    assert list(Invitation.objects.filter(batch=batch).values_list("customer_id", flat=True)) == [
        ann.pk
    ]


def test_customers_created_after_the_send_are_not_part_of_it(customer_factory, surveys, vips):
    customer_factory(tags=["vip"])
    batch = survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=None)
    late = customer_factory(tags=["vip"])

    batch = run_in_chunks(batch)

    assert batch.processed == 1
    assert not Invitation.objects.filter(customer=late).exists()


@pytest.mark.parametrize(
    ("audience", "field"),
    [
        ({"filters": {"tag": "vip"}}, "segment"),
        ({"filters": {}}, "segment"),
        ({"customer_ids": [1]}, "segment"),
    ],
)
def test_a_segment_with_another_audience_is_refused_on_segment(
    surveys, vips, audience, field
) -> None:
    with pytest.raises(ApplicationError) as caught:
        survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=None, **audience)

    assert caught.value.field == field
    assert not SurveyBatch.objects.exists()


def test_no_audience_at_all_is_refused(surveys) -> None:
    with pytest.raises(ApplicationError, match="Choose whom to send to"):
        survey_send_bulk(survey=surveys["nps"], sent_by=None)

    assert not SurveyBatch.objects.exists()


def test_a_segment_whose_rules_no_longer_validate_is_refused_on_segment(
    customer_factory, surveys
) -> None:
    pilot = Stage.objects.create(slug="pilot", name="Pilot", phase="attract", position=99)
    segment = segment_create(
        name="Pilots",
        definition={"op": "and", "rules": [{"field": "stage", "op": "in", "value": ["pilot"]}]},
    )
    pilot.delete()

    with pytest.raises(ApplicationError, match="Pilots") as caught:
        survey_send_bulk(survey=surveys["nps"], segment=segment, sent_by=None)

    assert caught.value.field == "segment"
    assert not SurveyBatch.objects.exists()


def test_rules_that_stop_validating_after_the_send_neither_fail_nor_widen_it(
    customer_factory, surveys
) -> None:
    pilot = Stage.objects.create(slug="pilot", name="Pilot", phase="attract", position=99)
    piloted, vip = customer_factory(stage="pilot"), customer_factory(tags=["vip"])
    customer_factory()
    rules = [{"field": "stage", "op": "in", "value": ["pilot"]}, VIP["rules"][0]]
    segment = segment_create(name="Pilots", definition={"op": "or", "rules": rules})
    batch = survey_send_bulk(survey=surveys["nps"], segment=segment, sent_by=None)
    piloted.delete()  # with its history, so that the stage can go too
    pilot.delete()

    batch = run_in_chunks(batch)

    assert (batch.state, batch.error, batch.total) == ("done", "", 2)
    assert list(Invitation.objects.values_list("customer_id", flat=True)) == [vip.pk]


def test_a_segment_cannot_be_deleted_while_a_send_to_it_is_in_progress(
    customer_factory, surveys, vips
) -> None:
    customer_factory(tags=["vip"])
    batch = survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=None)

    with pytest.raises(SegmentInUseError, match=f"bulk survey sends in progress: #{batch.pk}"):
        segment_delete(segment=vips)

    batch = run_in_chunks(batch)
    segment_delete(segment=vips)
    batch.refresh_from_db()
    assert (batch.segment, batch.segment_name, batch.state) == (None, "VIPs", "done")


def test_a_batch_whose_segment_is_gone_still_reaches_the_customers_confirmed(
    customer_factory, surveys, vips
) -> None:
    member = customer_factory(tags=["vip"])
    customer_factory()
    batch = survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=None)
    Segment.objects.filter(pk=vips.pk).delete()  # around the service's check

    batch = run_in_chunks(batch)

    assert (batch.state, batch.error, batch.segment, batch.segment_name) == (
        "done",
        "",
        None,
        "VIPs",
    )
    assert list(Invitation.objects.values_list("customer_id", flat=True)) == [member.pk]


# --- the API -------------------------------------------------------------------------------


def test_the_api_sends_to_a_segment(api_as, marketer, surveys, customer_factory, vips) -> None:
    for _ in range(2):
        customer_factory(tags=["vip"])
    customer_factory()

    response = api_as(marketer).post(
        reverse("api:survey-batches", args=[surveys["nps"].pk]), {"segment": vips.pk}, "json"
    )

    assert response.status_code == 202, response.data
    assert (response.data["total"], response.data["segment"]) == (2, vips.pk)
    assert response.data["segment_name"] == "VIPs"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"segment": 999999}, "segment"),
        ({"segment": "vips"}, "segment"),
        ({"segment": "SEGMENT", "filters": {"tag": "vip"}}, "segment"),
        ({"segment": "SEGMENT", "customer_ids": [1]}, "segment"),
        ({}, "non_field_errors"),
    ],
)
def test_a_bad_segment_send_is_a_400_on_the_field_and_records_nothing(
    api_as, support, surveys, vips, body, field
) -> None:
    body = {key: vips.pk if value == "SEGMENT" else value for key, value in body.items()}

    response = api_as(support).post(
        reverse("api:survey-batches", args=[surveys["nps"].pk]), body, "json"
    )

    assert response.status_code == 400
    assert list(response.data) == [field], response.data
    assert not SurveyBatch.objects.exists()


def test_every_customer_is_still_one_explicit_empty_filter_away(
    api_as, support, surveys, customer_factory
) -> None:
    for _ in range(3):
        customer_factory()

    response = api_as(support).post(
        reverse("api:survey-batches", args=[surveys["nps"].pk]), {"filters": {}}, "json"
    )

    assert response.status_code == 202
    assert response.data["total"] == 3


# --- the dashboard -------------------------------------------------------------------------


def test_the_bulk_form_previews_then_sends_to_a_segment(
    marketer, surveys, customer_factory, vips
) -> None:
    for _ in range(3):
        customer_factory(tags=["vip"])
    customer_factory()
    client = client_for(marketer)

    segment_page = client.get(reverse("segments:detail", args=[vips.pk]))
    page = client.get(reverse("surveys:bulk"), {"segment": vips.pk})
    preview = client.get(
        reverse("surveys:bulk"), {"survey": surveys["nps"].pk, "segment": vips.pk, "preview": "1"}
    )

    link = f'href="{reverse("surveys:bulk")}?segment={vips.pk}"'
    assert link in segment_page.content.decode()
    assert f'<option value="{vips.pk}" selected>VIPs</option>' in page.content.decode()
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "to <strong>3</strong> customers in the segment <strong>VIPs</strong>" in html
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    hidden.pop("csrfmiddlewaretoken")
    assert hidden == {"survey": str(surveys["nps"].pk), "segment": str(vips.pk)}

    response = client.post(reverse("surveys:bulk"), hidden)

    batch = SurveyBatch.objects.get()
    assert response.status_code == 302
    assert (batch.total, batch.segment, batch.filters) == (3, vips, {})
    detail = client.get(reverse("surveys:batch", args=[batch.pk]))
    assert "segment: <a" in detail.content.decode()
    assert re.search(r'<progress value="0" max="100"', detail.content.decode())


def test_the_bulk_form_refuses_a_segment_with_filters_on_the_segment_field(
    marketer, surveys, vips
) -> None:
    client = client_for(marketer)
    query = {"survey": surveys["nps"].pk, "segment": vips.pk, "tag": "vip"}

    preview = client.get(reverse("surveys:bulk"), {**query, "preview": "1"})
    posted = client.post(reverse("surveys:bulk"), query)

    assert preview.status_code == posted.status_code == 400
    assert preview.context["form"].errors["segment"] == ["Choose a segment or filters, not both."]
    assert "segment" in posted.context["form"].errors
    assert not SurveyBatch.objects.exists()


def test_the_bulk_form_refuses_an_unknown_segment(marketer, surveys) -> None:
    posted = client_for(marketer).post(
        reverse("surveys:bulk"), {"survey": surveys["nps"].pk, "segment": 999999}
    )

    assert posted.status_code == 400
    assert "There is no such segment" in posted.content.decode()
    assert not SurveyBatch.objects.exists()
