"""The audience of a bulk survey send is fixed when the user confirms it: exactly the
customers counted then are invited, however the segment (or the filters' matches) change
while the chunks go out.

Customers who join later are not invited; those who leave are still invited (they were
confirmed); a customer deleted meanwhile is passed over.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_delete
from messaging.models import OutboundMessage
from segments.models import Segment
from segments.services import segment_create, segment_update
from surveys import services
from surveys.models import Invitation, SurveyBatch
from surveys.services import survey_batch_step, survey_send_bulk

pytestmark = pytest.mark.django_db

VIP = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


@pytest.fixture
def vips() -> Segment:
    return segment_create(name="VIPs", definition=VIP)


def step(batch: SurveyBatch, size: int) -> SurveyBatch:
    stepped = survey_batch_step(batch_id=batch.pk, chunk_size=size)
    assert stepped is not None
    return stepped


def run(batch: SurveyBatch, size: int) -> SurveyBatch:
    for _ in range(100):
        batch = step(batch, size)
        if not batch.is_running:
            return batch
    raise AssertionError("the batch never finished")


def tag(customers: list[Customer], tags: list[str]) -> None:
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(tags=tags)


def invited(batch: SurveyBatch) -> list[int]:
    return sorted(Invitation.objects.filter(batch=batch).values_list("customer_id", flat=True))


def test_a_segment_send_invites_exactly_the_customers_confirmed(
    customer_factory, surveys, support, vips
):
    confirmed = [customer_factory(tags=["vip"]) for _ in range(6)]
    joiners = [customer_factory(tags=["other"]) for _ in range(3)]

    batch = survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=support)
    assert batch.total == 6
    batch = step(batch, 2)
    tag(joiners, ["vip"])  # three join the segment between chunks
    tag(confirmed[-2:], ["other"])  # two not yet invited leave it
    batch = step(batch, 2)
    customer_factory(tags=["vip"])  # and a new customer joins too
    batch = run(batch, 2)

    assert invited(batch) == [c.pk for c in confirmed]
    assert OutboundMessage.objects.count() == 6
    assert (batch.state, batch.total, batch.processed, batch.sent) == ("done", 6, 6, 6)


def test_a_filtered_send_is_fixed_the_same_way(customer_factory, surveys):
    confirmed = [customer_factory(tags=["vip"]) for _ in range(4)]
    joiner = customer_factory(tags=["other"])

    batch = survey_send_bulk(survey=surveys["csat"], filters={"tag": "vip"}, sent_by=None)
    batch = step(batch, 1)
    tag([joiner], ["vip"])
    tag(confirmed[2:], ["other"])
    batch = run(batch, 1)

    assert invited(batch) == [c.pk for c in confirmed]


def test_a_send_goes_on_to_the_confirmed_when_the_segment_changes_or_goes(
    customer_factory, surveys, vips
):
    confirmed = [customer_factory(tags=["vip"]) for _ in range(3)]
    others = [customer_factory(tags=["other"]) for _ in range(2)]
    batch = survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=None)
    batch = step(batch, 1)

    segment_update(segment=vips, data={"definition": {"op": "and", "rules": []}})  # now: everyone
    batch = step(batch, 1)
    Segment.objects.filter(pk=vips.pk).delete()
    batch = run(batch, 1)

    assert batch.state == "done"
    assert invited(batch) == [c.pk for c in confirmed]
    assert not Invitation.objects.filter(customer__in=others).exists()


def test_a_crash_mid_chunk_then_resume_invites_each_confirmed_customer_exactly_once(
    customer_factory, surveys, vips, monkeypatch
):
    confirmed = [customer_factory(tags=["vip"]) for _ in range(7)]
    joiners = [customer_factory() for _ in range(2)]
    batch = survey_send_bulk(survey=surveys["nps"], segment=vips, sent_by=None)
    batch = step(batch, 3)

    def crash(**kwargs: object) -> None:  # the worker dies once the chunk's emails exist
        raise SystemExit("worker killed")

    monkeypatch.setattr(services, "message_enqueue", crash)
    with pytest.raises(SystemExit):
        step(batch, 3)
    monkeypatch.undo()
    tag(joiners, ["vip"])
    tag(confirmed[-1:], [])
    customer_delete(customer=confirmed[4])  # whose invitation the crash rolled back
    # The next worker starts after the last committed chunk; a run whose progress was lost
    # walks the frozen list again without inviting anyone twice.
    batch = step(batch, 3)
    SurveyBatch.objects.filter(pk=batch.pk).update(cursor=0, processed=0)
    batch = run(batch, 3)

    expected = [c.pk for c in confirmed if c != confirmed[4]]
    assert invited(batch) == expected
    assert sorted(OutboundMessage.objects.values_list("customer_id", flat=True)) == expected
    assert (batch.state, batch.total, batch.processed) == ("done", 7, 7)


def test_the_api_and_the_pages_show_the_fixed_count_and_when(
    api_as, marketer, customer_factory, surveys, vips
):
    for _ in range(3):
        customer_factory(tags=["vip"])
    client = Client()
    client.force_login(marketer)

    preview = client.get(
        reverse("surveys:bulk"), {"survey": surveys["nps"].pk, "segment": vips.pk, "preview": "1"}
    )
    assert "fixed when you send" in preview.content.decode()
    response = api_as(marketer).post(
        reverse("api:survey-batches", args=[surveys["nps"].pk]), {"segment": vips.pk}, "json"
    )
    customer_factory(tags=["vip"])

    batch = SurveyBatch.objects.select_related("audience_snapshot").get()
    snapshot = batch.audience_snapshot
    assert snapshot is not None
    fixed_at = snapshot.frozen_at.isoformat().replace("+00:00", "Z")
    assert (response.data["total"], response.data["audience_fixed_at"]) == (3, fixed_at)
    again = api_as(marketer).get(reverse("api:survey-batch-detail", args=[batch.pk])).data
    assert (again["total"], again["audience_fixed_at"]) == (3, fixed_at)
    html = client.get(reverse("surveys:batch", args=[batch.pk])).content.decode()
    assert re.search(r"3 recipients, fixed on <time datetime=\"[^\"]+\">", html)
    assert timezone.localtime(snapshot.frozen_at).strftime("%Y-%m-%d %H:%M") in html
