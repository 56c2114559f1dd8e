from collections.abc import Callable, Iterable
from typing import Any

from django.apps import AppConfig
from django.db.models import Model, QuerySet


class InteractionsConfig(AppConfig):
    """The daily work: interactions, follow-up tasks and purchases, each feeding the wheel."""

    name = "interactions"
    verbose_name = "Interactions, tasks and purchases"

    def ready(self) -> None:
        from customers.timeline import TimelineSource, timeline_source_register
        from interactions.models import Interaction, Purchase, Task

        sources: tuple[tuple[str, type[Model], str, tuple[str, ...]], ...] = (
            ("interaction", Interaction, "occurred_at", ("logged_by",)),
            ("purchase", Purchase, "occurred_at", ("recorded_by",)),
            ("task", Task, "created_at", ("assignee", "created_by")),
        )
        for kind, model, time_field, related in sources:
            timeline_source_register(
                TimelineSource(
                    kind=kind,
                    queryset=_of_customer(model),
                    time_field=time_field,
                    load=_loader(model, related),
                )
            )


def _of_customer(model: type[Model]) -> Callable[[int], QuerySet[Any]]:
    return lambda customer_id: model._default_manager.filter(customer_id=customer_id)


def _loader(model: type[Model], related: tuple[str, ...]) -> Callable[[Iterable[int]], dict]:
    return lambda ids: model._default_manager.select_related(*related).in_bulk(list(ids))
