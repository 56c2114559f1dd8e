"""The dashboard's survey pages, through Django's test client, with the role matrix."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import ROLES
from messaging.models import OutboundMessage
from surveys import tasks
from surveys.models import Invitation, SurveyBatch
from surveys.services import survey_answer, survey_batch_step, survey_send_bulk
from tests.permissions_doc import documented_may

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def may(role: str, permission: str) -> bool:
    return documented_may(role, permission)


@pytest.fixture(autouse=True)
def _no_publishing(monkeypatch) -> None:
    monkeypatch.setattr(tasks.survey_batch_process, "delay", lambda batch_id: None)


@pytest.fixture
def batch(surveys, customer_factory) -> SurveyBatch:
    customer_factory()
    return SurveyBatch.objects.create(survey=surveys["nps"], total=4, processed=1)


PAGES = [
    ("surveys:list", "surveys.view_survey", lambda w: {}),
    ("surveys:detail", "surveys.view_survey", lambda w: {"pk": w["surveys"]["nps"].pk}),
    ("surveys:send", "surveys.add_invitation", lambda w: {}),
    ("surveys:bulk", "surveys.add_surveybatch", lambda w: {}),
    ("surveys:batch", "surveys.view_surveybatch", lambda w: {"pk": w["batch"].pk}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("route", "permission", "kwargs"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_is_open_to_the_roles_the_matrix_names(
    role_users, surveys, batch, customer_factory, role, route, permission, kwargs
):
    customer = customer_factory()
    url = reverse(route, kwargs=kwargs({"surveys": surveys, "batch": batch}))
    if route == "surveys:send":
        url += f"?customer={customer.pk}"

    response = client_for(role_users[role]).get(url)

    assert response.status_code == (200 if may(role, permission) else 403)


@pytest.mark.parametrize("route", ["surveys:list", "surveys:bulk", "surveys:send"])
def test_the_pages_need_a_login(route):
    response = Client().get(reverse(route))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_list_shows_sends_answers_and_the_score(support, surveys, customer_factory, invite):
    for score in (10, 10, 3):
        survey_answer(invitation=invite(customer_factory(), "nps"), score=score)
    invite(customer_factory(), "nps")

    response = client_for(support).get(reverse("surveys:list"))

    html = response.content.decode()
    row = re.search(r"Test nps</a>.*?</tr>", html, re.DOTALL)
    assert row is not None
    cells = re.findall(r'data-label="(Sent|Answered|Score)">([^<]*)', row.group())
    assert cells == [("Sent", "4"), ("Answered", "3 "), ("Score", "33")]


def test_the_results_page_shows_the_distribution_and_the_comments(
    marketer, surveys, customer_factory, invite
):
    survey_answer(invitation=invite(customer_factory(), "csat"), score=2, comment="Too slow")
    survey_answer(invitation=invite(customer_factory(), "csat"), score=5)

    response = client_for(marketer).get(reverse("surveys:detail", args=[surveys["csat"].pk]))

    assert response.status_code == 200
    results = response.context["results"]
    assert results.summary.score == 50
    assert [(score, count) for score, count, _ in results.distribution] == [
        (1, 0),
        (2, 1),
        (3, 0),
        (4, 0),
        (5, 1),
    ]
    assert "Too slow" in response.content.decode()


def test_support_sends_a_survey_to_one_customer_once(support, surveys, customer_factory):
    customer = customer_factory()
    url = reverse("surveys:send") + f"?customer={customer.pk}"
    page = client_for(support).get(url)
    key = page.context["form"].initial["key"]
    data = {"survey": surveys["csat"].pk, "customer": customer.pk, "key": key}

    first = client_for(support).post(reverse("surveys:send"), data)
    second = client_for(support).post(reverse("surveys:send"), data)  # a double click

    for response in (first, second):
        assert response.status_code == 302
        assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    invitation = Invitation.objects.get()
    assert (invitation.customer, invitation.source, invitation.sent_by) == (
        customer,
        "manual",
        support,
    )
    assert OutboundMessage.objects.count() == 1


def test_sending_to_no_customer_is_a_404(support):
    client = client_for(support)

    assert client.get(reverse("surveys:send")).status_code == 404
    assert client.get(reverse("surveys:send") + "?customer=x").status_code == 404
    assert client.get(reverse("surveys:send") + "?customer=999999").status_code == 404


def test_an_inactive_survey_cannot_be_chosen(support, surveys, customer_factory):
    customer = customer_factory()
    surveys["nps"].is_active = False
    surveys["nps"].save()

    response = client_for(support).post(
        reverse("surveys:send"),
        {"survey": surveys["nps"].pk, "customer": customer.pk, "key": "k1"},
    )

    assert response.status_code == 400
    assert "Choose one of the active surveys." in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_sales_rep_may_not_send_in_bulk(sales_rep, surveys):
    response = client_for(sales_rep).post(reverse("surveys:bulk"), {"survey": surveys["nps"].pk})

    assert response.status_code == 403
    assert not SurveyBatch.objects.exists()


def test_a_bulk_send_is_previewed_then_confirmed(marketer, surveys, customer_factory):
    for _ in range(3):
        customer_factory(tags=["vip"], stage="post_purchase")
    customer_factory(tags=["vip"])
    query = {"survey": surveys["nps"].pk, "tag": "vip", "stage": "post_purchase", "preview": "1"}
    client = client_for(marketer)

    preview = client.get(reverse("surveys:bulk"), query)

    assert preview.status_code == 200
    assert preview.context["count"] == 3
    html = preview.content.decode()
    assert "Send to 3 customers" in html
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert hidden["tag"] == "vip"
    assert hidden["stage"] == "post_purchase"
    assert not SurveyBatch.objects.exists()

    response = client.post(reverse("surveys:bulk"), hidden)

    batch = SurveyBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:batch", args=[batch.pk])
    assert (batch.total, batch.filters, batch.created_by) == (
        3,
        {"stage": "post_purchase", "tag": "vip"},
        marketer,
    )


def test_bulk_filters_that_are_not_valid_are_shown_not_sent(marketer, surveys):
    client = client_for(marketer)

    preview = client.get(
        reverse("surveys:bulk"), {"survey": surveys["nps"].pk, "stage": "nowhere", "preview": "1"}
    )
    posted = client.post(reverse("surveys:bulk"), {"survey": surveys["nps"].pk, "stage": "x"})

    assert preview.status_code == posted.status_code == 400
    assert "There is no stage" in preview.content.decode()
    assert not SurveyBatch.objects.exists()


def test_a_running_batch_page_refreshes_itself_with_a_progress_bar(support, batch):
    response = client_for(support).get(reverse("surveys:batch", args=[batch.pk]))

    html = response.content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert response["Refresh"] == "2"
    assert re.search(r'<progress value="25" max="100"', html)
    assert "1 of 4 customers done (25%)" in html


def test_a_finished_batch_page_shows_the_counts_and_stops_refreshing(
    support, surveys, customer_factory, invite
):
    customers = [customer_factory(tags=["vip"]) for _ in range(2)]
    invite(customers[0], "nps")
    batch: SurveyBatch | None = survey_send_bulk(
        survey=surveys["nps"], filters={"tag": "vip"}, sent_by=support
    )
    while batch is not None and batch.is_running:
        batch = survey_batch_step(batch_id=batch.pk)
    assert batch is not None

    response = client_for(support).get(reverse("surveys:batch", args=[batch.pk]))

    html = response.content.decode()
    assert "http-equiv" not in html
    assert "Refresh" not in response
    assert '<progress value="100" max="100"' in html
    assert "is still open" in html  # the skipped customer, with the reason
