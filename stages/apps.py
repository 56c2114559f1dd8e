from django.apps import AppConfig


class StagesConfig(AppConfig):
    """Lifecycle stages, their phases, and the append-only history of every move."""

    name = "stages"
    verbose_name = "Stages"

    def ready(self) -> None:
        from customers.timeline import TimelineSource, timeline_source_register
        from stages.models import StageTransition

        timeline_source_register(
            TimelineSource(
                kind="transition",
                queryset=lambda customer_id: StageTransition.objects.filter(
                    customer_id=customer_id
                ),
                time_field="occurred_at",
                load=lambda ids: StageTransition.objects.select_related(
                    "from_stage", "to_stage", "actor_user"
                ).in_bulk(ids),
            )
        )
