"""With the cache's Redis unreachable, pages render from the database instead of failing."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from leadforms.services import form_create
from segments.services import segment_create
from tests.realworld import free_port

pytestmark = pytest.mark.django_db

VIPS = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


@pytest.fixture
def cache_down(settings):
    """The cache pointed at a port nobody listens on (as during a Redis outage)."""
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    settings.FLYWHEEL_DASHBOARD_CACHE_SECONDS = 60  # the dashboard uses the cache


def test_the_home_page_and_segments_render_without_the_cache(
    cache_down, client, marketer, customer_factory
):
    customer_factory(tags=["vip"])
    segment = segment_create(name="VIPs", definition=VIPS)
    client.force_login(marketer)

    for url in ("/", reverse("segments:list"), reverse("segments:detail", args=[segment.pk])):
        response = client.get(url)
        assert response.status_code == 200, url
    assert '<td data-label="Customers">1</td>' in client.get(reverse("segments:list")).text


def test_the_public_lead_form_takes_a_submission_without_the_cache(cache_down):
    lead_form = form_create(
        name="Newsletter",
        slug=f"news-{uuid.uuid4().hex[:8]}",
        fields=[{"name": "company", "label": "Company", "type": "text", "maps_to": "company"}],
        consent_text="Send me news by email",
    )
    url = reverse("leadforms:public", args=[lead_form.slug])
    visitor = Client(enforce_csrf_checks=True)

    assert visitor.get(url).status_code == 200
    response = visitor.post(url, {"email": "ann@example.com", "company": "Acme"})

    assert response.status_code in (200, 302)
    assert lead_form.submissions.filter(customer__email="ann@example.com").exists()


def test_cache_calls_answer_as_a_cold_cache(cache_down):
    assert cache.get("anything", "default") == "default"
    assert cache.add("counter", 0, 60) is False
    assert cache.incr("counter") == 1  # counts from zero: a rate limit lets the visitor in
    cache.set("key", "value", 60)
    assert cache.get_or_set("other", 5, 60) == 5
