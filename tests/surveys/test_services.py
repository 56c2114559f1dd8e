"""Inviting and answering through the services, against the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from common.events import subscribe, unsubscribe
from common.exceptions import ApplicationError
from customers.timeline import customer_timeline
from interactions.models import Task
from messaging.models import OutboundMessage
from stages.models import StageTransition
from surveys.models import Invitation, InvitationState, Response
from surveys.services import (
    EVENT_SURVEY_ANSWERED,
    InvitationAnsweredError,
    InvitationExpiredError,
    invitations_expire,
    survey_answer,
    survey_invite,
)
from surveys.tokens import invitation_url

pytestmark = pytest.mark.django_db


# --- inviting ---------------------------------------------------------------------------------


def test_an_invitation_queues_one_transactional_email_with_the_link(customer_factory, invite):
    customer = customer_factory(first_name="Ann")

    invitation = invite(customer, "nps", idempotency_key="manual:1")

    message = OutboundMessage.objects.get()
    assert invitation.state == InvitationState.SENT
    assert invitation.message == message
    assert message.kind == "transactional"
    assert message.to == customer.email
    assert message.idempotency_key == f"survey-invitation:{invitation.pk}"
    assert invitation_url(invitation.pk) in message.body_text
    assert "Hello Ann," in message.body_text
    assert f"{invitation_url(invitation.pk)}?score=10" in message.body_html
    assert invitation.expires_at - invitation.sent_at == timedelta(days=30)


def test_the_same_key_invites_once(customer_factory, invite):
    customer = customer_factory()

    first = invite(customer, idempotency_key="case-closed:7")
    again = invite(customer, idempotency_key="case-closed:7")

    assert again.pk == first.pk
    assert Invitation.objects.count() == 1
    assert OutboundMessage.objects.count() == 1


def test_without_a_key_each_call_is_a_new_invitation(customer_factory, invite):
    customer = customer_factory()

    invite(customer)
    invite(customer)

    assert Invitation.objects.count() == 2
    assert OutboundMessage.objects.count() == 2


def test_a_key_already_used_for_another_customer_is_refused(customer_factory, invite):
    invite(customer_factory(), idempotency_key="k")

    with pytest.raises(ApplicationError) as error:
        invite(customer_factory(), idempotency_key="k")

    assert error.value.field == "idempotency_key"
    assert Invitation.objects.count() == 1


def test_an_inactive_survey_sends_nothing(customer_factory, surveys, invite):
    surveys["nps"].is_active = False
    surveys["nps"].save()

    with pytest.raises(ApplicationError) as error:
        invite(customer_factory())

    assert error.value.field == "survey"
    assert not Invitation.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_an_open_invitation_makes_the_next_one_skipped_when_asked(customer_factory, invite):
    customer = customer_factory()
    first = invite(customer)

    second = invite(customer, skip_if_open=True)

    assert second.state == InvitationState.SKIPPED
    assert f"#{first.pk}" in second.reason
    assert second.message is None
    assert OutboundMessage.objects.count() == 1


# --- answering ---------------------------------------------------------------------------------


@pytest.fixture
def events() -> Any:
    """The survey.answered events delivered (after commit) during the test."""
    seen: list[dict[str, Any]] = []

    def handler(event: str, payload: dict[str, Any]) -> None:
        seen.append(payload)

    subscribe(EVENT_SURVEY_ANSWERED)(handler)
    yield seen
    unsubscribe(EVENT_SURVEY_ANSWERED, handler)


def test_a_promoter_in_post_purchase_moves_to_advocacy(
    customer_factory, invite, stages, events, django_capture_on_commit_callbacks
):
    customer = customer_factory(stage="post_purchase")
    invitation = invite(customer, "nps")

    with django_capture_on_commit_callbacks(execute=True):
        response = survey_answer(invitation=invitation, score=10, comment=" Great! ")

    customer.refresh_from_db()
    assert customer.stage.slug == "advocacy"
    move = StageTransition.objects.filter(customer=customer).latest("occurred_at", "id")
    assert move.from_stage is not None
    assert (move.from_stage.slug, move.to_stage.slug, move.actor_kind) == (
        "post_purchase",
        "advocacy",
        "survey",
    )
    assert (response.category, response.effect, response.weight) == ("promoter", "force", 1)
    assert response.comment == "Great!"
    assert response.stage is not None
    assert response.stage.slug == "post_purchase"  # where they stood when answering
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.ANSWERED
    assert events == [
        {
            "response_id": response.pk,
            "invitation_id": invitation.pk,
            "survey_id": invitation.survey_id,
            "customer_id": customer.pk,
            "kind": "nps",
            "score": 10,
            "category": "promoter",
            "answered_at": response.answered_at.isoformat(),
        }
    ]


@pytest.mark.parametrize("stage", ["awareness", "purchase", "advocacy"])
def test_a_promoter_outside_delight_or_already_there_stays(customer_factory, invite, stage):
    customer = customer_factory(stage=stage)
    moves = StageTransition.objects.filter(customer=customer).count()

    survey_answer(invitation=invite(customer, "csat"), score=5)

    customer.refresh_from_db()
    assert customer.stage.slug == stage
    assert StageTransition.objects.filter(customer=customer).count() == moves


def test_the_promoter_move_can_be_switched_off(customer_factory, invite, settings):
    settings.FLYWHEEL_PROMOTER_STAGE = ""
    customer = customer_factory(stage="post_purchase")

    survey_answer(invitation=invite(customer, "nps"), score=9)

    customer.refresh_from_db()
    assert customer.stage.slug == "post_purchase"


def test_a_detractor_opens_a_call_back_task_for_the_owner(customer_factory, invite, sales_rep):
    customer = customer_factory(owner=sales_rep, stage="post_purchase")

    response = survey_answer(invitation=invite(customer, "nps"), score=3, comment="Too slow")

    task = Task.objects.get(customer=customer)
    assert task.title == "Call back: NPS 3"
    assert task.assignee == sales_rep
    assert task.created_by_kind == "automation"
    assert task.due_at == response.answered_at + timedelta(days=1)
    assert "Too slow" in task.notes
    assert (response.category, response.effect, response.weight) == ("detractor", "friction", 1)
    customer.refresh_from_db()
    assert customer.stage.slug == "post_purchase"


def test_without_an_owner_the_least_busy_support_user_calls_back(
    customer_factory, invite, make_user
):
    busy = make_user("Support", username="busy-support")
    free = make_user("Support", username="free-support")
    other = customer_factory()
    Task.objects.create(customer=other, title="x", due_at=timezone.now(), assignee=busy)
    customer = customer_factory()

    survey_answer(invitation=invite(customer, "ces"), score=2)

    assert Task.objects.get(customer=customer).assignee == free


def test_a_passive_neither_moves_nor_opens_a_task(customer_factory, invite):
    customer = customer_factory(stage="post_purchase")

    response = survey_answer(invitation=invite(customer, "nps"), score=8)

    assert (response.category, response.effect, response.weight) == ("passive", "neutral", 0)
    assert not Task.objects.exists()
    customer.refresh_from_db()
    assert customer.stage.slug == "post_purchase"


def test_a_second_answer_is_refused(customer_factory, invite):
    invitation = invite(customer_factory())
    survey_answer(invitation=invitation, score=9)

    with pytest.raises(InvitationAnsweredError):
        survey_answer(invitation=invitation, score=0)

    assert Response.objects.get().score == 9


def test_an_expired_invitation_takes_no_answer(customer_factory, invite):
    invitation = invite(customer_factory())
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    with pytest.raises(InvitationExpiredError):
        survey_answer(invitation=invitation, score=9)

    assert not Response.objects.exists()


@pytest.mark.parametrize(("kind", "score"), [("nps", 11), ("nps", -1), ("csat", 0), ("ces", 8)])
def test_a_score_off_the_scale_is_an_error_on_score(customer_factory, invite, kind, score):
    invitation = invite(customer_factory(stage="post_purchase"), kind)

    with pytest.raises(ApplicationError) as error:
        survey_answer(invitation=invitation, score=score)

    assert error.value.field == "score"
    assert not Response.objects.exists()
    assert not Task.objects.exists()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT


def test_an_overlong_comment_is_an_error_on_comment(customer_factory, invite):
    with pytest.raises(ApplicationError) as error:
        survey_answer(invitation=invite(customer_factory()), score=5, comment="x" * 2001)

    assert error.value.field == "comment"
    assert not Response.objects.exists()


def test_the_invitation_and_the_answer_are_on_the_timeline(customer_factory, invite):
    customer = customer_factory()
    invitation = invite(customer)
    response = survey_answer(invitation=invitation, score=7)

    page = customer_timeline(
        customer_id=customer.pk, kinds=["survey_response", "survey_invitation"]
    )

    assert [(entry.kind, entry.id) for entry in page.entries] == [
        ("survey_response", response.pk),
        ("survey_invitation", invitation.pk),
    ]
    assert page.entries[0].record.survey == invitation.survey


def test_the_sweep_marks_unanswered_invitations_past_expiry(customer_factory, invite):
    old, fresh, answered = (invite(customer_factory()) for _ in range(3))
    survey_answer(invitation=answered, score=10)
    past = timezone.now() - timedelta(minutes=1)
    Invitation.objects.filter(pk__in=[old.pk, answered.pk]).update(expires_at=past)

    assert invitations_expire() == 1

    states = dict(Invitation.objects.values_list("pk", "state"))
    assert states == {old.pk: "expired", fresh.pk: "sent", answered.pk: "answered"}


def test_an_invitation_needs_a_known_source(customer_factory, surveys):
    with pytest.raises(ApplicationError) as error:
        survey_invite(survey=surveys["nps"], customer=customer_factory(), source="carrier-pigeon")

    assert error.value.field == "source"
