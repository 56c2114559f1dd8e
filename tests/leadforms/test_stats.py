"""A lead form's results: on the API, on its page, and over a period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from leadforms.models import Submission
from leadforms.selectors import leadform_stats
from leadforms.services import form_create, form_submit, submission_confirm
from stages.models import ActorKind, Stage
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_form():
    return form_create(name="Demo request", slug="demo-request", consent_text="News please")


@pytest.fixture
def history(lead_form, customer_factory):
    """Four real submissions and one spam:

    - ann (new, google, consent) who has since moved to evaluation;
    - bob (new, google) still in awareness;
    - cat (an existing customer, no source), submitting twice (she counts once);
    - a bot filling the honeypot.
    """
    submit = form_submit
    submit(
        form=lead_form,
        data={"email": "ann@example.com", "consent": "on"},
        utm={"utm_source": "google"},
    )
    submit(form=lead_form, data={"email": "bob@example.com"}, utm={"utm_source": "google"})
    customer_factory(email="cat@example.com")
    submit(form=lead_form, data={"email": "cat@example.com"})
    submit(form=lead_form, data={"email": "CAT@example.com"})
    submit(form=lead_form, data={"email": "bot@example.com", "website": "http://spam.example"})
    customer_move_stage(
        customer=Customer.objects.get(email="ann@example.com"),
        to_stage=Stage.objects.get(slug="evaluation"),
        actor_kind=ActorKind.SYSTEM,
    )


def test_the_numbers_count_people_once_and_leave_spam_out(lead_form, history):
    stats = leadform_stats(form=lead_form)

    assert (stats.submissions, stats.spam, stats.accepted) == (4, 1, 4)
    assert (stats.new_customers, stats.existing_customers) == (2, 1)
    assert stats.consent_given == 1
    assert (stats.advanced, stats.advance_rate) == (1, 0.5)
    assert stats.confirmation_rate is None  # no double opt-in on this form
    assert [(s.source, s.submissions, s.new_customers) for s in stats.by_source] == [
        ("", 2, 0),
        ("google", 2, 2),
    ]


def test_double_opt_in_confirmation_rate():
    form = form_create(name="DOI", slug="doi-stats", consent_text="Yes", double_opt_in=True)
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        form_submit(form=form, data={"email": email, "consent": "on"})
    first = Submission.objects.filter(form=form).first()
    assert first is not None
    submission_confirm(submission=first)

    stats = leadform_stats(form=form)

    assert (stats.confirmed, stats.pending_confirmation) == (1, 2)
    assert stats.confirmation_rate == pytest.approx(1 / 3)


def test_the_api_counts_the_days_asked_for(api_as, marketer, lead_form, history):
    Submission.objects.filter(data__email="bob@example.com").update(
        created_at=timezone.now() - timedelta(days=10)
    )
    today = timezone.localdate()
    url = reverse("api:leadform-stats", args=[lead_form.slug])

    everything = api_as(marketer).get(url)
    recent = api_as(marketer).get(url, {"start": str(today - timedelta(days=1)), "end": today})

    assert everything.status_code == recent.status_code == 200
    assert everything.data["submissions"] == 4
    assert recent.data["submissions"] == 3
    assert recent.data["new_customers"] == 1
    assert recent.data["start"] == str(today - timedelta(days=1))


@pytest.mark.parametrize(
    ("query", "field"),
    [({"start": "yesterday"}, "start"), ({"start": "2026-05-02", "end": "2026-05-01"}, "end")],
)
def test_a_bad_period_is_a_400_naming_the_field(api_as, marketer, lead_form, query, field):
    response = api_as(marketer).get(reverse("api:leadform-stats", args=[lead_form.slug]), query)

    assert response.status_code == 400
    assert field in response.json()


def test_an_unknown_form_is_a_404(api_as, marketer):
    response = api_as(marketer).get(reverse("api:leadform-stats", args=["nope"]))

    assert response.status_code == 404


def test_the_form_page_shows_the_results(client, marketer, lead_form, history):
    client.force_login(marketer)

    response = client.get(reverse("leadforms:detail", args=[lead_form.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "(and 1 spam, left out)" in html
    assert "1 of 2 (50%)" in html  # new customers past Attract
    assert '<td data-label="Source">google</td>' in html
