"""Reads for surveys: lists, the scores, and the invitation behind a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from surveys.models import Invitation, InvitationState, Response, Survey, SurveyBatch
from surveys.scoring import ScoreSummary, scale_of, score_summary
from surveys.tokens import invitation_id_from_token

# Invitations whose email went out (whatever became of them since).
SENT_STATES = (InvitationState.SENT, InvitationState.ANSWERED, InvitationState.EXPIRED)


def survey_queryset() -> QuerySet[Survey]:
    """Surveys with how many invitations went out and how many were answered."""
    return Survey.objects.annotate(
        sent_count=Count("invitations", filter=Q(invitations__state__in=SENT_STATES)),
        answered_count=Count("invitations", filter=Q(invitations__state=InvitationState.ANSWERED)),
    )


def invitation_queryset() -> QuerySet[Invitation]:
    return Invitation.objects.select_related("survey", "customer", "message", "sent_by")


def response_queryset() -> QuerySet[Response]:
    return Response.objects.select_related("survey", "customer", "stage")


def batch_queryset() -> QuerySet[SurveyBatch]:
    return SurveyBatch.objects.select_related("survey", "created_by", "audience_snapshot")


def invitation_from_token(token: str) -> Invitation | None:
    """The invitation a link's token names, or None when forged or unknown."""
    invitation_id = invitation_id_from_token(token)
    if invitation_id is None:
        return None
    return Invitation.objects.select_related("survey", "customer").filter(pk=invitation_id).first()


def score_counts(
    *,
    kind: str,
    survey: Survey | None = None,
    answered_after: datetime | None = None,
    answered_before: datetime | None = None,
) -> dict[int, int]:
    """How many answers gave each score: {score: count} over the whole scale (zeros kept)."""
    responses = Response.objects.filter(kind=kind)
    if survey is not None:
        responses = responses.filter(survey=survey)
    if answered_after is not None:
        responses = responses.filter(answered_at__gte=answered_after)
    if answered_before is not None:
        responses = responses.filter(answered_at__lt=answered_before)
    found = dict(
        responses.order_by().values_list("score").annotate(n=Count("pk")).values_list("score", "n")
    )
    return {score: found.get(score, 0) for score in scale_of(kind).scores}


def survey_score(
    *,
    kind: str,
    survey: Survey | None = None,
    answered_after: datetime | None = None,
    answered_before: datetime | None = None,
) -> ScoreSummary:
    """NPS, CSAT or CES (docs/metrics.md, "Surveys") over answers of `kind` in the period,
    of one survey or of every survey of that kind."""
    return score_summary(
        kind,
        score_counts(
            kind=kind,
            survey=survey,
            answered_after=answered_after,
            answered_before=answered_before,
        ),
    )


@dataclass(frozen=True)
class SurveyResults:
    """One survey's page: its score, the answers per score, and its invitations by state."""

    survey: Survey
    summary: ScoreSummary
    distribution: list[tuple[int, int, str]]  # (score, answers, category)
    invitations_by_state: dict[str, int]


def survey_results(
    *,
    survey: Survey,
    answered_after: datetime | None = None,
    answered_before: datetime | None = None,
) -> SurveyResults:
    counts = score_counts(
        kind=survey.kind,
        survey=survey,
        answered_after=answered_after,
        answered_before=answered_before,
    )
    scale = scale_of(survey.kind)
    by_state = dict(
        survey.invitations.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return SurveyResults(
        survey=survey,
        summary=score_summary(survey.kind, counts),
        distribution=[(score, counts[score], scale.category(score)) for score in scale.scores],
        invitations_by_state={state: by_state.get(state, 0) for state in InvitationState.values},
    )
