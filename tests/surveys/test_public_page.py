"""The public answer page behind every survey link: no login, no JavaScript, no 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from interactions.models import Task
from stages.models import StageTransition
from surveys.models import Invitation, Response
from surveys.services import survey_answer
from surveys.tokens import invitation_path, invitation_token

pytestmark = pytest.mark.django_db


def link(invitation: Invitation) -> str:
    """The invitation's public page, `/s/<token>/`."""
    return invitation_path(invitation.pk)


@pytest.fixture
def client() -> Client:
    """An anonymous visitor whose browser enforces CSRF like a real one."""
    return Client(enforce_csrf_checks=True)


def test_the_page_shows_the_question_and_the_scale_without_login(client, customer_factory, invite):
    invitation = invite(customer_factory(), "nps")

    response = client.get(link(invitation))

    assert response.status_code == 200
    html = response.content.decode()
    assert invitation.survey.question in html
    radios = re.findall(r'<input type="radio" name="score" value="(\d+)"', html)
    assert radios == [str(score) for score in range(11)]
    assert 'name="comment"' in html
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(("kind", "scores"), [("csat", range(1, 6)), ("ces", range(1, 8))])
def test_each_kind_offers_its_own_scale(client, customer_factory, invite, kind, scores):
    html = client.get(link(invite(customer_factory(), kind))).content.decode()

    radios = re.findall(r'<input type="radio" name="score" value="(\d+)"', html)
    assert radios == [str(score) for score in scores]


def test_the_page_loads_nothing_from_elsewhere_and_needs_no_javascript(
    client, customer_factory, invite
):
    html = client.get(link(invite(customer_factory()))).content.decode()

    assert "<script" not in html
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]", html, re.IGNORECASE)
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert url == "" or url.startswith("/"), url
    assert '<meta name="viewport"' in html


def test_a_score_link_from_the_email_preselects_without_answering(client, customer_factory, invite):
    invitation = invite(customer_factory())

    html = client.get(link(invitation) + "?score=9").content.decode()

    assert re.search(r'<input type="radio" name="score" value="9"[^>]*checked', html)
    assert not Response.objects.exists()


def test_an_answer_is_recorded_and_thanked(client, customer_factory, invite):
    customer = customer_factory(stage="purchase")
    invitation = invite(customer, "nps")

    response = client.post(link(invitation), {"score": "8", "comment": "Fine"})

    assert response.status_code == 303
    assert response["Location"] == link(invitation) + "thanks/"
    answer = Response.objects.get()
    assert (answer.score, answer.comment, answer.customer) == (8, "Fine", customer)
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "Thank you" in thanks.content.decode()
    assert "/r/" not in thanks.content.decode()  # not a promoter: no referral ask


def test_a_promoter_moves_to_advocacy_and_is_asked_for_a_referral(
    client, customer_factory, invite, settings
):
    settings.FLYWHEEL_BASE_URL = "https://crm.example.com"
    customer = customer_factory(stage="post_purchase")
    invitation = invite(customer, "nps")

    response = client.post(link(invitation), {"score": "10"}, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert f"https://crm.example.com/r/{customer.referral_code}/" in html
    customer.refresh_from_db()
    assert customer.stage.slug == "advocacy"
    assert StageTransition.objects.filter(customer=customer, actor_kind="survey").count() == 1


def test_a_detractor_opens_a_task_for_the_owner(client, customer_factory, invite, support):
    customer = customer_factory(owner=support)

    client.post(link(invite(customer, "csat")), {"score": "1", "comment": "Rude"})

    task = Task.objects.get(customer=customer)
    assert (task.title, task.assignee) == ("Call back: CSAT 1", support)


def test_answering_twice_shows_already_answered_and_keeps_one_answer(
    client, customer_factory, invite
):
    invitation = invite(customer_factory())
    client.post(link(invitation), {"score": "9"})

    again = client.post(link(invitation), {"score": "2"})
    visit = client.get(link(invitation))

    assert again.status_code == 409
    assert visit.status_code == 200
    for page in (again, visit):
        assert "already answered" in page.content.decode()
    assert Response.objects.get().score == 9


@pytest.mark.parametrize("score", ["11", "-1", "abc", ""])
def test_a_bad_score_is_a_form_error_that_keeps_the_comment(
    client, customer_factory, invite, score
):
    invitation = invite(customer_factory(stage="post_purchase"))

    response = client.post(link(invitation), {"score": score, "comment": "Kept <b>safe</b>"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a score from 0 to 10." in html
    assert "Kept &lt;b&gt;safe&lt;/b&gt;</textarea>" in html
    assert not Response.objects.exists()
    assert not Task.objects.exists()
    invitation.refresh_from_db()
    assert invitation.state == "sent"


def test_a_forged_token_is_a_404_page(client, customer_factory, invite):
    invitation = invite(customer_factory())
    forged = invitation_token(invitation.pk)[:-2] + "xx"

    for response in (client.get(f"/s/{forged}/"), client.post(f"/s/{forged}/", {"score": "1"})):
        assert response.status_code == 404
        assert "not valid" in response.content.decode()
    assert client.get(f"/s/{forged}/thanks/").status_code == 404
    assert client.get("/s/42/").status_code == 404
    assert not Response.objects.exists()


def test_a_signed_token_for_an_unknown_invitation_is_a_404_page(client):
    response = client.get(f"/s/{invitation_token(987654)}/")

    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_an_expired_link_is_a_410_page(client, customer_factory, invite):
    invitation = invite(customer_factory())
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )

    shown = client.get(link(invitation))
    posted = client.post(link(invitation), {"score": "10"})

    for response in (shown, posted):
        assert response.status_code == 410
        assert "expired" in response.content.decode()
    assert not Response.objects.exists()


def test_a_skipped_invitation_takes_no_answer(client, customer_factory, invite):
    customer = customer_factory()
    invite(customer)
    skipped = invite(customer, skip_if_open=True)

    assert client.post(link(skipped), {"score": "10"}).status_code == 404
    assert not Response.objects.exists()


def test_the_thanks_page_of_an_unanswered_link_goes_back_to_the_question(
    client, customer_factory, invite
):
    invitation = invite(customer_factory())

    response = client.get(link(invitation) + "thanks/")

    assert response.status_code == 302
    assert response["Location"] == link(invitation)


def test_the_already_answered_page_still_asks_a_promoter_for_a_referral(
    client, customer_factory, invite
):
    customer = customer_factory()
    invitation = invite(customer)
    survey_answer(invitation=invitation, score=10)

    html = client.get(link(invitation)).content.decode()

    assert "already answered" in html
    assert f"/r/{customer.referral_code}/" in html
