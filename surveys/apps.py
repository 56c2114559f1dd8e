from django.apps import AppConfig

# The kinds this app puts on the customer's timeline (customers.timeline).
TIMELINE_RESPONSE = "survey_response"
TIMELINE_INVITATION = "survey_invitation"


class SurveysConfig(AppConfig):
    """Satisfaction surveys (NPS, CSAT, CES): invitations, the public answer page, answers."""

    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from customers.timeline import TimelineSource, timeline_source_register
        from surveys.models import Invitation, Response

        timeline_source_register(
            TimelineSource(
                kind=TIMELINE_RESPONSE,
                queryset=lambda customer_id: Response.objects.filter(customer_id=customer_id),
                time_field="answered_at",
                load=lambda ids: Response.objects.select_related("survey", "stage").in_bulk(ids),
            )
        )
        timeline_source_register(
            TimelineSource(
                kind=TIMELINE_INVITATION,
                queryset=lambda customer_id: Invitation.objects.filter(customer_id=customer_id),
                time_field="created_at",
                load=lambda ids: Invitation.objects.select_related(
                    "survey", "sent_by", "message"
                ).in_bulk(ids),
            )
        )
