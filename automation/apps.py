from django.apps import AppConfig


class AutomationConfig(AppConfig):
    """Automation rules and their durable, idempotent steps run by Celery."""

    name = "automation"
    verbose_name = "Automation"

    def ready(self) -> None:
        from automation.models import Step
        from automation.triggers import triggers_subscribe
        from customers.timeline import TimelineSource, timeline_source_register

        triggers_subscribe()
        timeline_source_register(
            TimelineSource(
                kind="automation_step",
                queryset=lambda customer_id: Step.objects.filter(customer_id=customer_id),
                time_field="created_at",
                load=lambda ids: Step.objects.select_related("rule").in_bulk(ids),
            )
        )
