from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    """The daily work: interactions, follow-up tasks and purchases, each feeding the wheel."""

    name = "interactions"
    verbose_name = "Interactions, tasks and purchases"

    def ready(self) -> None:
        from customers.timeline import TimelineSource, timeline_source_register
        from interactions.models import Interaction, Purchase, Task

        for kind, model, time_field, related in (
            ("interaction", Interaction, "occurred_at", ("logged_by",)),
            ("purchase", Purchase, "occurred_at", ("recorded_by",)),
            ("task", Task, "created_at", ("assignee", "created_by")),
        ):
            timeline_source_register(
                TimelineSource(
                    kind=kind,
                    queryset=lambda customer_id, model=model: model.objects.filter(
                        customer_id=customer_id
                    ),
                    time_field=time_field,
                    load=lambda ids, model=model, related=related: model.objects.select_related(
                        *related
                    ).in_bulk(ids),
                )
            )
