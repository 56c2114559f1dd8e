"""The team pages: marketing, sales and support, each behind its tab on the dashboard.

Each view reads the filter bar (`FilteredPageMixin`), calls one selector per block (the
analytics selectors where a flywheel number is defined, `dashboard.team_numbers` for the
team's own lists) and turns every count into a link to the customers behind it
(`dashboard.links.drill_url`), with an aria-label that reads as a sentence. No block reads a
row at a time: a page costs the same few queries whatever the data (tests hold them to it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from analytics.selectors import (
    acquisition_vs_retention_cost,
    campaign_performance,
    filtered_customers,
    force_friction_by_stage,
    stage_counts_over_time,
)
from common.views import request_actor
from dashboard.filters import DashboardFilters
from dashboard.links import campaign_links, drill_url
from dashboard.mixins import FilteredPageMixin
from dashboard.team_numbers import (
    LIST_LIMIT,
    answers_by_kind,
    detractors_to_call_back,
    interactions_logged,
    leadform_submissions,
    open_cases,
    pipeline_value,
    segment_counts,
    source_conversion,
    survey_sends,
    tasks_this_week,
)
from interactions.views import money
from stages.models import Phase, Stage
from surveys.scoring import SurveyKind

# force_friction_by_stage's friction terms, as the drill-down names them (`cause`).
FRICTION_CAUSES = (
    ("overdue", "overdue_tasks", "overdue follow-ups"),
    ("detractors", "survey_friction", "detractor answers"),
    ("backward", "backward_moves", "backward moves"),
    ("unsubscribes", "unsubscribes", "unsubscribes"),
    ("negative", "interaction_friction", "negative interactions"),
)


def _day(day: date, *, year: bool = True) -> str:
    return f"{day.day} {day:%b %Y}" if year else f"{day.day} {day:%b}"


def period_words(filters: DashboardFilters) -> str:
    """ "between 1 Oct and 31 Oct 2026": the period as the sentences on the page say it."""
    same_year = filters.start.year == filters.end.year
    return f"between {_day(filters.start, year=not same_year)} and {_day(filters.end)}"


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)}%"


def _age(since: datetime, now: datetime) -> str:
    """How long ago, in the largest whole unit: "3 days", "5 hours", "12 minutes"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds >= 86400:
        return _plural(seconds // 86400, "day")
    if seconds >= 3600:
        return _plural(seconds // 3600, "hour")
    return _plural(seconds // 60, "minute")


def _customer_url(customer_id: int) -> str:
    return reverse("customers:detail", args=[customer_id])


class TeamPageView(LoginRequiredMixin, PermissionRequiredMixin, FilteredPageMixin, View):
    """One team's page: the filter bar and tabs, then the blocks `numbers()` reads."""

    template_name: str

    def get(self, request: HttpRequest) -> HttpResponse:
        context = self.filter_context()
        context["period_words"] = period_words(self.filters)
        context.update(self.numbers())
        return render(request, self.template_name, context)

    def numbers(self) -> dict[str, Any]:  # pragma: no cover - every page defines it
        raise NotImplementedError


# --- marketing ---------------------------------------------------------------------------------


class MarketingView(TeamPageView):
    """Campaigns started in the period, the segments, where new customers came from and how
    far they got; acquisition against retention cost for those allowed to see costs."""

    permission_required = "campaigns.view_campaign"
    template_name = "dashboard/marketing.html"

    def numbers(self) -> dict[str, Any]:
        f = self.filters
        campaigns = [
            {
                "row": row,
                "url": reverse("campaigns:detail", args=[row.campaign_id]),
                "links": campaign_links(f, row.campaign_id),
                "open_rate": _percent(row.open_rate),
                "click_rate": _percent(row.click_rate),
                "conversion_rate": _percent(row.conversions / row.sent if row.sent else None),
            }
            for row in campaign_performance(start=f.start, end=f.end)
        ]
        segments, segment_total = segment_counts()
        context: dict[str, Any] = {
            "campaigns": campaigns,
            "segments": [
                {
                    "segment": item.segment,
                    "customers": item.customers,
                    "url": reverse("segments:detail", args=[item.segment.pk]),
                    "label": (
                        f"{_plural(item.customers, 'customer')} in the segment "
                        f"{item.segment.name} now: see them on the segment's page"
                    ),
                    "filter_query": replace(f, segment=item.segment).query(),
                }
                for item in segments
            ],
            "segment_total": segment_total,
            "sources": self._sources("source"),
            "utm_sources": self._sources("utm_source"),
            "forms": [
                {
                    "form": form,
                    "url": reverse("leadforms:detail", args=[form.form_id]),
                    "label": (
                        f"{_plural(form.submissions, 'submission')} of the form {form.name} "
                        f"{period_words(f)}: open the form's results"
                    ),
                }
                for form in leadform_submissions(start=f.start, end=f.end)
            ],
        }
        context["show_costs"] = self.request.user.has_perm("analytics.view_costs")
        if context["show_costs"]:
            context["costs"] = acquisition_vs_retention_cost(start=f.start, end=f.end)
        return context

    def _sources(self, field: str) -> list[dict[str, Any]]:
        """Each source's row, with a link from each of its counts to those customers."""
        f = self.filters
        noun = "no UTM source" if field == "utm_source" else "no source"
        label = "UTM source" if field == "utm_source" else "source"
        rows = []
        for row in source_conversion(
            start=f.start, end=f.end, field=field, segment=f.segment, owner=f.owner
        ):
            name = f"{label} {row.source}" if row.source else noun
            links = {}
            for key, phase, count, where in (
                ("all", None, row.customers, ""),
                ("engage", Phase.ENGAGE, row.in_engage, ", now in Engage"),
                ("delight", Phase.DELIGHT, row.in_delight, ", now in Delight"),
            ):
                links[key] = {
                    "url": drill_url(
                        f,
                        "source",
                        source=row.source or None,
                        field=field if field != "source" else None,
                        phase=phase,
                    ),
                    "label": (
                        f"{_plural(count, 'customer')} created {period_words(f)} with "
                        f"{name}{where}: see who they are"
                    ),
                }
            rows.append({"row": row, "name": name, "rate": _percent(row.rate), "links": links})
        return rows


# --- sales ---------------------------------------------------------------------------------------


class SalesView(TeamPageView):
    """The signed-in rep's pipeline, tasks, recent interactions and force against friction;
    with an owner in the filter bar, that owner's (a manager looking at a rep)."""

    permission_required = "interactions.view_task"
    template_name = "dashboard/sales.html"

    def numbers(self) -> dict[str, Any]:
        me = request_actor(self.request)
        person = self.filters.owner or me
        # The pipeline and its links are the person's customers, whoever is signed in.
        f = replace(self.filters, owner=person)
        whose = "My" if person.pk == me.pk else f"{person.get_username()}'s"
        now = timezone.now()
        logged, logged_total = interactions_logged(user=person, start=f.start, end=f.end)
        stages = {stage.slug: stage for stage in Stage.objects.all()}
        return {
            "person": person,
            "is_me": person.pk == me.pk,
            "mine_query": replace(self.filters, owner=None).query(),
            "whose": whose,
            "pipeline": self._pipeline(f, stages),
            "task_sections": self._tasks(person, now),
            "interactions": [
                {"interaction": each, "customer_url": _customer_url(each.customer_id)}
                for each in logged
            ],
            "interaction_total": logged_total,
            "force_friction": self._force_friction(f, stages),
            "now": now,
        }

    def _pipeline(self, f: DashboardFilters, stages: dict[str, Stage]) -> dict[str, Any]:
        counts = stage_counts_over_time(
            start=f.end, end=f.end, granularity="day", segment=f.segment, owner=f.owner
        )
        values = pipeline_value(owner=f.owner, segment=f.segment)
        rows: list[dict[str, Any]] = []
        for count in counts:
            stage = stages[count.stage]
            rows.append(
                {
                    "stage": stage,
                    "customers": count.customers,
                    "url": drill_url(f, "stage", stage=stage.slug),
                    "label": (
                        f"{_plural(count.customers, 'customer')} of "
                        f"{f.owner.get_username()} in {stage.name} on {_day(f.end)}: "
                        "see who they are"
                    ),
                    "values": [
                        {"text": money(v.total, v.currency), "buyers": v.buyers}
                        for v in values.get(stage.pk, [])
                    ],
                }
            )
        return {
            "rows": rows,
            "total": sum(row["customers"] for row in rows),
            "phases": [
                {
                    "phase": phase,
                    "label": label,
                    "customers": n,
                    "url": drill_url(f, "phase", phase=phase),
                    "aria": (
                        f"{_plural(n, 'customer')} of {f.owner.get_username()} in {label} "
                        f"on {_day(f.end)}: see who they are"
                    ),
                }
                for phase, label in Phase.choices
                for n in [sum(r["customers"] for r in rows if r["stage"].phase == phase)]
            ],
        }

    def _tasks(self, person: Any, now: datetime) -> list[dict[str, Any]]:
        buckets = tasks_this_week(user=person, now=now)
        sections = (
            ("overdue", "Overdue", buckets.overdue, "Nothing overdue."),
            ("today", "Due today", buckets.today, "Nothing else due today."),
            ("upcoming", "Next 7 days", buckets.upcoming, "Nothing due in the next 7 days."),
        )
        return [
            {
                "key": key,
                "title": title,
                "empty": empty,
                "total": len(tasks),
                "tasks": [
                    {
                        "task": task,
                        "customer_url": _customer_url(task.customer_id),
                        "late": _age(task.due_at, now) if key == "overdue" else "",
                    }
                    for task in tasks[:LIST_LIMIT]
                ],
            }
            for key, title, tasks, empty in sections
        ]

    def _force_friction(self, f: DashboardFilters, stages: dict[str, Stage]) -> dict[str, Any]:
        """force_friction_by_stage for the person's customers, its teams added up per stage."""
        per_stage: dict[str | None, dict[str, int]] = {}
        for cell in force_friction_by_stage(
            start=f.start, end=f.end, segment=f.segment, owner=f.owner
        ):
            sums = per_stage.setdefault(cell.stage, {})
            for name in ("force", "friction", "net", *tuple(c[1] for c in FRICTION_CAUSES)):
                sums[name] = sums.get(name, 0) + getattr(cell, name)
        rows = []
        for slug, sums in per_stage.items():
            stage = stages.get(slug) if slug else None
            name = stage.name if stage else "No stage"
            row: dict[str, Any] = {"name": name, **sums, "causes": []}
            if stage is not None:
                row["force_url"] = drill_url(f, "force", stage=slug)
                row["force_label"] = (
                    f"Force {sums['force']} in {name} {period_words(f)}: see the customers"
                )
            for cause, field, words in FRICTION_CAUSES:
                if not sums[field]:
                    continue
                cause_row = {"words": words, "value": sums[field]}
                if stage is not None:
                    cause_row["url"] = drill_url(f, "friction", stage=slug, cause=cause)
                    cause_row["label"] = (
                        f"Friction {sums[field]} from {words} in {name} {period_words(f)}: "
                        "see the customers"
                    )
                row["causes"].append(cause_row)
            rows.append(row)
        return {
            "rows": rows,
            "force": sum(r["force"] for r in rows),
            "friction": sum(r["friction"] for r in rows),
            "net": sum(r["net"] for r in rows),
        }


# --- support -----------------------------------------------------------------------------------


class SupportView(TeamPageView):
    """Open cases, detractors nobody has called back yet, and the surveys sent and answered
    in the period."""

    permission_required = "surveys.view_survey"
    template_name = "dashboard/support.html"

    def numbers(self) -> dict[str, Any]:
        f = self.filters
        now = timezone.now()
        customers = filtered_customers(f.segment, f.owner)
        cases, case_total = open_cases(customers=customers)
        detractors, detractor_total = detractors_to_call_back(
            start=f.start, end=f.end, customers=customers
        )
        return {
            "cases": [
                {
                    "case": case,
                    "age": _age(case.occurred_at, now),
                    "customer_url": _customer_url(case.customer_id),
                }
                for case in cases
            ],
            "case_total": case_total,
            "detractors": [
                {
                    "response": answer,
                    "customer_url": _customer_url(answer.customer_id),
                    "log_url": f"{_customer_url(answer.customer_id)}#quick-log",
                    "waiting": _age(answer.answered_at, now),
                }
                for answer in detractors
            ],
            "detractor_total": detractor_total,
            "answers": self._answers(customers),
            "surveys": [
                {
                    "sends": sends,
                    "url": reverse("surveys:detail", args=[sends.survey.pk]),
                    "rate": _percent(sends.response_rate),
                    "label": (
                        f"{sends.answered} of {_plural(sends.sent, 'invitation')} of "
                        f"{sends.survey.name} sent {period_words(f)} answered: "
                        "open the survey's results"
                    ),
                }
                for sends in survey_sends(start=f.start, end=f.end, customers=customers)
            ],
        }

    def _answers(self, customers: Any) -> list[dict[str, Any]]:
        f = self.filters
        rows = []
        for row in answers_by_kind(start=f.start, end=f.end, customers=customers):
            kind = SurveyKind(row.kind).label
            rows.append(
                {
                    "kind": kind,
                    "customers": row.customers,
                    "url": drill_url(f, "responded", kind=row.kind),
                    "label": (
                        f"{_plural(row.customers, 'customer')} answered {kind} "
                        f"{period_words(f)}: see who they are"
                    ),
                    "detractors": row.detractors,
                    "detractor_url": drill_url(f, "responded", kind=row.kind, category="detractor"),
                    "detractor_label": (
                        f"{_plural(row.detractors, 'customer')} answered {kind} as detractors "
                        f"{period_words(f)}: see who they are"
                    ),
                }
            )
        return rows
