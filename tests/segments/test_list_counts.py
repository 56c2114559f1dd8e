"""The segment list's counts: a few minutes old at most, and never older than an edit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from segments.selectors import segment_count_recent
from segments.services import segment_create, segment_members_add, segment_update

pytestmark = pytest.mark.django_db

VIPS = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


def test_a_dynamic_count_is_reused_until_the_segment_is_edited(
    customer_factory, django_assert_num_queries
):
    customer_factory(tags=["vip"])
    segment = segment_create(name="VIPs", definition=VIPS)
    assert segment_count_recent(segment) == 1

    customer_factory(tags=["vip"])  # a new match shows within the cache's age, not at once
    with django_assert_num_queries(0):
        assert segment_count_recent(segment) == 1

    segment_update(segment=segment, data={"definition": {"op": "and", "rules": []}})
    assert segment_count_recent(segment) == 2  # edited: counted afresh


def test_a_static_list_is_counted_live(customer_factory):
    first, second = customer_factory(), customer_factory()
    members = segment_create(name="Webinar", kind="static")
    segment_members_add(segment=members, customer_ids=[first.pk])
    assert segment_count_recent(members) == 1

    segment_members_add(segment=members, customer_ids=[second.pk])

    assert segment_count_recent(members) == 2


def test_the_list_page_counts_each_segment_once_per_interval(
    client, marketer, customer_factory, django_assert_max_num_queries
):
    customer_factory(tags=["vip"])
    for n in range(5):
        segment_create(name=f"VIPs {n}", definition=VIPS)
    client.force_login(marketer)
    client.get(reverse("segments:list"))  # counts them

    with django_assert_max_num_queries(6):  # session, user, permissions, the list: no COUNT
        response = client.get(reverse("segments:list"))

    assert response.status_code == 200
    assert response.content.decode().count('<td data-label="Customers">1</td>') == 5
