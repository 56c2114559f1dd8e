"""The dashboard's home page: the wheel, and below it the charts and tables of the period.

`home_numbers(filters, user)` reads every number the page shows — each selector of
`analytics.selectors` called once, and the page's parts derived from those results (the
wheel's phase counts are the last bucket of the trend chart's series, its momentum the sum of
the momentum chart's bars) — so the page costs a fixed number of queries whatever the number
of customers, and `make bench` can time the work alone. The `*_view` helpers below turn those
numbers into what the template draws, each number with its drill-down link
(`dashboard.links.drill_url`, the contract in docs/dashboard.md).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views import View

from analytics.selectors import (
    CampaignPerformance,
    ForceFriction,
    LoopCompletion,
    MomentumPoint,
    PhaseConversion,
    PhaseCount,
    StageVelocity,
    SurveyTrendPoint,
    TransitionCell,
    campaign_performance,
    force_friction_by_stage,
    loop_completion,
    momentum_over_time,
    phase_conversion,
    phase_counts_over_time,
    stage_velocity,
    survey_trends,
    transition_matrix,
)
from dashboard import charts
from dashboard.concurrent import gather
from dashboard.filters import DashboardFilters
from dashboard.freshness import cache_seconds, changed_at, fresh_numbers, view_key
from dashboard.links import campaign_links, drill_url
from dashboard.mixins import FilteredPageMixin
from stages.models import Direction, Phase, Stage
from surveys.scoring import SurveyKind, score_summary

PHASES = tuple(Phase.values)  # attract, engage, delight: the order round the wheel
TOP_FRICTION = 3
TOP_CAMPAIGNS = 10
# Friction terms of force_friction_by_stage, by the `cause` the drill-down takes.
FRICTION_CAUSES = (
    ("negative", "interaction_friction", "negative interactions"),
    ("detractors", "survey_friction", "detractors' survey answers"),
    ("backward", "backward_moves", "backward moves"),
    ("unsubscribes", "unsubscribes", "unsubscribes"),
    ("overdue", "overdue_tasks", "overdue follow-ups"),
)


# --- the numbers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeNumbers:
    """Every selector result the home page needs, for one request's filters."""

    stages: list[Stage]
    phase_counts: list[PhaseCount]
    momentum: list[MomentumPoint]
    transitions: list[TransitionCell]
    conversion: list[PhaseConversion]
    velocity: list[StageVelocity]
    force_friction: list[ForceFriction]
    surveys: list[SurveyTrendPoint]
    loop: LoopCompletion
    campaigns: list[CampaignPerformance] | None  # None: the user may not see campaigns


def home_numbers(filters: DashboardFilters, user: Any) -> HomeNumbers:
    """Call each selector once for the filters, side by side (`dashboard.concurrent`); the
    page derives everything else from these results (campaigns only for users who may see
    them; they are not filtered by segment or owner, as campaigns reach whoever their
    audience was)."""
    period = filters.selector_kwargs()
    series = {**period, "granularity": filters.granularity}
    # The slowest first (over a year at a million customers), so that the pool never ends
    # waiting on one long read started last.
    calls: dict[str, Callable[[], Any]] = {
        "loop": partial(loop_completion, **period),
        "force_friction": partial(force_friction_by_stage, **period),
        "velocity": partial(stage_velocity, **period),
        "momentum": partial(momentum_over_time, **series),
        "phase_counts": partial(phase_counts_over_time, **series),
        "surveys": partial(survey_trends, **series),
        "conversion": partial(phase_conversion, **period),
        "transitions": partial(transition_matrix, **period),
        "stages": lambda: list(Stage.objects.order_by("position", "pk")),
    }
    if user.has_perm("campaigns.view_campaign"):
        calls["campaigns"] = partial(campaign_performance, start=filters.start, end=filters.end)
    numbers = gather(calls)
    return HomeNumbers(**{"campaigns": None, **numbers})


# --- wording ------------------------------------------------------------------------------------


def momentum_word(momentum: int) -> str:
    """The direction of the wheel in words: force above friction speeds it up."""
    if momentum > 0:
        return "speeding up"
    if momentum < 0:
        return "slowing down"
    return "steady"


def signed(number: int) -> str:
    """+12, -3 (written with a true minus sign, U+2212), 0."""
    if number > 0:
        return f"+{number:,}"
    if number < 0:
        return f"\u2212{-number:,}"
    return "0"


def human_duration(seconds: float | None) -> str:
    """A duration as people read it: "45 seconds", "12 minutes", "5.5 hours", "3.2 days"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        value, unit = seconds, "second"
    elif seconds < 3600:
        value, unit = seconds / 60, "minute"
    elif seconds < 86400:
        value, unit = seconds / 3600, "hour"
    else:
        value, unit = seconds / 86400, "day"
    shown = f"{value:.0f}" if value >= 10 or unit == "second" else f"{value:.1f}"
    return f"{shown} {unit}{'' if shown in ('1', '1.0') else 's'}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _cell(value: Any) -> str:
    """`value` as HTML text: escaped as `conditional_escape` would (safe strings as they are)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def table_rows(rows: Iterable[tuple[str, Iterable[Any]]]) -> SafeString:
    """`<tr><th scope="row">label</th><td class="num">value</td>…</tr>` per row, escaped.

    The tables beside the charts hold a row per bucket (53 for a year by week, several such
    tables on the page): written here with plain string joins, they cost a fraction of a
    template loop or of `format_html` per cell."""
    return mark_safe(  # noqa: S308 - every label and value is escaped by _cell
        "".join(
            f'<tr><th scope="row">{_cell(label)}</th>'
            + "".join(f'<td class="num">{_cell(value)}</td>' for value in values)
            + "</tr>"
            for label, values in rows
        )
    )


def bar_rects(chart: charts.BarChart) -> SafeString:
    """The momentum chart's bars as SVG `<rect>`s, each titled with its bucket and value: a
    bar per bucket (53 for a year by week), written here like the tables."""
    return mark_safe(  # noqa: S308 - labels escaped by _cell; the rest are numbers
        "".join(
            f'<rect class="chart-bar chart-bar-{"up" if bar.positive else "down"}"'
            f' x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}">'
            f"<title>{_cell(bar.label)}: {_cell(bar.value)}</title></rect>"
            for bar in chart.bars
        )
    )


def _bucket_label(filters: DashboardFilters, bucket: Any) -> str:
    if filters.granularity == "month":
        return bucket.strftime("%b %Y")
    return f"{bucket.day} {bucket.strftime('%b')}"


# --- the wheel ----------------------------------------------------------------------------------

CX, CY, OUTER, INNER = 260, 235, 172, 110
PHASE_CENTRE = {"attract": -90.0, "engage": 30.0, "delight": 150.0}
HALF_ARC = 55.0  # each phase spans 110°, leaving 10° gaps for the arrows


def _phase_names() -> dict[str, str]:
    return dict(Phase.choices)


def _stage_phases(numbers: HomeNumbers) -> dict[str, str]:
    return {stage.slug: stage.phase for stage in numbers.stages}


def phase_flows(numbers: HomeNumbers) -> dict[tuple[str, str], int]:
    """Moves in the period from a stage of one phase to a stage of another, per (from, to)
    phase — the transition matrix's cells summed, so the wheel agrees with the table."""
    phase_of = _stage_phases(numbers)
    flows: dict[tuple[str, str], int] = defaultdict(int)
    for cell in numbers.transitions:
        if cell.from_stage is None:
            continue
        source, target = phase_of[cell.from_stage], phase_of[cell.to_stage]
        if source != target:
            flows[(source, target)] += cell.transitions
    return flows


def _flow_kind(source: str, target: str) -> str:
    """How a move between two phases relates to the wheel's turn (docs/metrics.md,
    directions): out of Delight is a new cycle, Attract → Delight skips Engage."""
    step = PHASES.index(target) - PHASES.index(source)
    if source == Phase.DELIGHT:
        return "new cycle"
    if step > 1:
        return "skip"
    return "forward" if step > 0 else "backward"


def friction_hot_spots(numbers: HomeNumbers, filters: DashboardFilters) -> list[dict[str, Any]]:
    """The stages with the most friction in the period (all teams added up), with the term
    that weighs most in it as its main cause."""
    names = {stage.slug: stage.name for stage in numbers.stages}
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in numbers.force_friction:
        if row.stage is None:
            continue
        for _, attribute, _ in FRICTION_CAUSES:
            totals[row.stage][attribute] += getattr(row, attribute)
        totals[row.stage]["friction"] += row.friction
    ranked = sorted(
        (slug for slug in totals if totals[slug]["friction"] > 0),
        key=lambda slug: (-totals[slug]["friction"], list(names).index(slug)),
    )[:TOP_FRICTION]
    spots = []
    for rank, slug in enumerate(ranked, start=1):
        cause, attribute, words = max(
            FRICTION_CAUSES, key=lambda term: totals[slug][term[1]]
        )  # ties: the first listed
        friction = totals[slug]["friction"]
        spots.append(
            {
                "rank": rank,
                "stage": slug,
                "name": names.get(slug, slug),
                "friction": friction,
                "cause": cause,
                "cause_words": words,
                "cause_value": totals[slug][attribute],
                "url": drill_url(filters, "friction", stage=slug, cause=cause),
            }
        )
    return spots


def wheel_view(numbers: HomeNumbers, filters: DashboardFilters) -> dict[str, Any]:
    """The wheel's geometry and numbers: three arcs with the customers in each phase at the
    end of the period, arrows with the moves between phases, momentum in the centre and the
    friction hot spots marked on their stage's place on the arc."""
    names = _phase_names()
    last_bucket = numbers.phase_counts[-1].bucket if numbers.phase_counts else None
    counts = {row.phase: row.customers for row in numbers.phase_counts if row.bucket == last_bucket}
    phases = []
    for phase in PHASES:
        centre = PHASE_CENTRE[phase]
        count = counts.get(phase, 0)
        name_x, name_y = charts.polar_point(CX, CY, (OUTER + INNER) / 2, centre)
        phases.append(
            {
                "key": phase,
                "name": names[phase],
                "customers": count,
                "customers_text": f"{count:,}",
                "path": charts.ring_segment_path(
                    CX, CY, OUTER, INNER, centre - HALF_ARC, centre + HALF_ARC
                ),
                "x": name_x,
                "y": name_y,
                "url": drill_url(filters, "phase", phase=phase),
                "sentence": f"{names[phase]}: {count:,} customer{'s' if count != 1 else ''}",
            }
        )

    flows = phase_flows(numbers)
    gaps = []
    for i, source in enumerate(PHASES):
        target = PHASES[(i + 1) % len(PHASES)]
        gap = PHASE_CENTRE[source] + HALF_ARC + 5
        ahead_arc, ahead_head = charts.arc_arrow_path(CX, CY, OUTER + 12, gap - 14, gap + 14)
        back_arc, back_head = charts.arc_arrow_path(CX, CY, INNER - 12, gap + 14, gap - 14)
        label_x, label_y = charts.polar_point(CX, CY, OUTER + 30, gap)
        anchor = "middle" if abs(label_x - CX) < 20 else ("start" if label_x > CX else "end")
        arrows = []
        for a, b, arc, head in (
            (source, target, ahead_arc, ahead_head),
            (target, source, back_arc, back_head),
        ):
            moves = flows.get((a, b), 0)
            kind = _flow_kind(a, b)
            arrows.append(
                {
                    "from": a,
                    "to": b,
                    "moves": moves,
                    "kind": kind,
                    "clockwise": a == source,
                    "arc": arc,
                    "head": head,
                    "url": drill_url(filters, "crossed", from_phase=a, to_phase=b),
                    "sentence": (
                        f"{names[a]} to {names[b]}: {moves:,} move{'s' if moves != 1 else ''}"
                        f" ({kind})"
                    ),
                }
            )
        gaps.append(
            {"x": label_x, "y": label_y, "anchor": anchor, "ahead": arrows[0], "back": arrows[1]}
        )
    # Every ordered pair of phases has its arrow: round the wheel on the outside, against it
    # on the inside (Attract → Delight skips Engage, so it runs back across their gap).
    all_flows = [arrow for each in gaps for arrow in (each["ahead"], each["back"])]

    spots = friction_hot_spots(numbers, filters)
    stages_of: dict[str, list[str]] = defaultdict(list)
    for stage in numbers.stages:
        if not stage.is_archived or any(s["stage"] == stage.slug for s in spots):
            stages_of[stage.phase].append(stage.slug)
    phase_of = _stage_phases(numbers)
    for spot in spots:
        phase = phase_of[spot["stage"]]
        siblings = stages_of[phase]
        share = (siblings.index(spot["stage"]) + 0.5) / len(siblings)
        angle = PHASE_CENTRE[phase] - HALF_ARC + 2 * HALF_ARC * share
        spot["x"], spot["y"] = charts.polar_point(CX, CY, OUTER + 6, angle)

    total = sum(point.momentum for point in numbers.momentum)
    force = sum(point.force for point in numbers.momentum)
    friction = sum(point.friction for point in numbers.momentum)
    return {
        "width": 2 * CX,
        "height": 2 * CY + 10,
        "cx": CX,
        "cy": CY,
        "phases": phases,
        "gaps": gaps,
        "flows": all_flows,
        "hot_spots": spots,
        "momentum": {
            "value": total,
            "signed": signed(total),
            "word": momentum_word(total),
            "force": force,
            "friction": friction,
            "sparkline": charts.sparkline_points(
                [point.momentum for point in numbers.momentum], width=110, height=26
            )
            if force or friction
            else "",
            "spark_x": CX - 55,
            "spark_y": CY + 34,
        },
    }


# --- the sections below the wheel ---------------------------------------------------------------


def trends_view(numbers: HomeNumbers, filters: DashboardFilters) -> dict[str, Any]:
    """Customers per phase over time (lines) and momentum over time (bars), with their
    tables; both from the series the wheel reads."""
    names = _phase_names()
    bucket_dates = sorted({row.bucket for row in numbers.phase_counts})
    labels = [_bucket_label(filters, bucket) for bucket in bucket_dates]
    per_phase: dict[str, dict[Any, int]] = defaultdict(dict)
    for row in numbers.phase_counts:
        per_phase[row.phase][row.bucket] = row.customers
    series = [
        (phase, names[phase], [per_phase[phase].get(b, 0) for b in bucket_dates])
        for phase in PHASES
    ]
    rows = table_rows(
        (label, [values[i] for _, _, values in series]) for i, label in enumerate(labels)
    )
    momentum_labels = [_bucket_label(filters, point.bucket) for point in numbers.momentum]
    anyone = any(value for _, _, values in series for value in values)
    momentum_chart = (
        charts.signed_bar_chart(momentum_labels, [point.momentum for point in numbers.momentum])
        if numbers.momentum
        else None
    )
    return {
        "phase_chart": charts.line_chart(labels, series) if anyone else None,
        "phase_names": [names[phase] for phase in PHASES],
        "phase_rows": rows,
        "momentum_chart": momentum_chart,
        "momentum_bars": bar_rects(momentum_chart) if momentum_chart else "",
        "momentum_rows": table_rows(
            (label, (point.force, point.friction, point.momentum))
            for label, point in zip(momentum_labels, numbers.momentum, strict=True)
        ),
        "has_momentum": any(point.force or point.friction for point in numbers.momentum),
    }


def matrix_view(numbers: HomeNumbers, filters: DashboardFilters) -> dict[str, Any]:
    """The transition matrix as a table: a row per stage moved from (and "new" for
    customers created), a column per stage moved to; a cell adds up the directions of its
    pair and says which non-forward ones it holds."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in numbers.transitions:
        source = cell.from_stage or "new"
        entry = cells.setdefault((source, cell.to_stage), {"moves": 0, "directions": set()})
        entry["moves"] += cell.transitions
        entry["directions"].add(cell.direction)
    used = {slug for pair in cells for slug in pair}
    columns = [s for s in numbers.stages if not s.is_archived or s.slug in used]
    rows = []
    for source_slug, source_name in [("new", "New (created)")] + [
        (s.slug, s.name) for s in columns
    ]:
        row_cells: list[dict[str, Any] | None] = []
        for target in columns:
            found = cells.get((source_slug, target.slug))
            if found is None:
                row_cells.append(None)
                continue
            directions = found["directions"]
            marks = [
                label
                for value, label in (
                    (Direction.BACKWARD, "back"),
                    (Direction.SKIP, "skip"),
                    (Direction.NEW_CYCLE, "new cycle"),
                )
                if value in directions
            ]
            moves = found["moves"]
            row_cells.append(
                {
                    "moves": moves,
                    "backward": Direction.BACKWARD in directions,
                    "marks": marks,
                    "url": drill_url(
                        filters, "moved", from_stage=source_slug, to_stage=target.slug
                    ),
                    "sentence": (
                        f"{moves:,} move{'s' if moves != 1 else ''} from {source_name} to"
                        f" {target.name}{' (' + ', '.join(marks) + ')' if marks else ''}"
                    ),
                }
            )
        if source_slug == "new" or any(row_cells):
            rows.append({"slug": source_slug, "name": source_name, "cells": row_cells})
    return {"columns": columns, "rows": rows, "empty": not cells}


def conversion_view(numbers: HomeNumbers, filters: DashboardFilters) -> list[dict[str, Any]]:
    names = {**_phase_names(), "new_cycle": "a new cycle"}
    return [
        {
            "row": row,
            "name": names[row.phase],
            "to": names[row.to],
            "rate": percent(row.rate),
            "url": drill_url(filters, "converted", phase=row.phase),
        }
        for row in numbers.conversion
    ]


def velocity_view(numbers: HomeNumbers, filters: DashboardFilters) -> list[dict[str, Any]]:
    names = {stage.slug: stage.name for stage in numbers.stages}
    return [
        {
            "row": row,
            "name": names.get(row.stage, row.stage),
            "median": human_duration(row.median_seconds),
            "p90": human_duration(row.p90_seconds),
            "url": drill_url(filters, "velocity", stage=row.stage),
        }
        for row in numbers.velocity
    ]


def _period_score(kind: str, points: list[SurveyTrendPoint]) -> Decimal | None:
    """The period's score from its buckets. NPS and CSAT depend only on the categories, so
    they are exact; CES is the mean answer, here the answers-weighted mean of the buckets'
    means (each rounded to one decimal), so within 0.05 of the mean of every answer."""
    answers = sum(p.answers for p in points)
    if not answers:
        return None
    promoters = sum(p.promoters for p in points)
    passives = sum(p.passives for p in points)
    detractors = sum(p.detractors for p in points)
    if kind == SurveyKind.CES:
        total = sum((p.mean or Decimal(0)) * p.answers for p in points)
        return (Decimal(total) / answers).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    # One score standing for each category gives the same NPS or CSAT as the real scores.
    scale_top, scale_mid, scale_low = {"nps": (10, 8, 0), "csat": (5, 3, 1)}[kind]
    return score_summary(
        kind, {scale_top: promoters, scale_mid: passives, scale_low: detractors}
    ).score


def surveys_view(numbers: HomeNumbers, filters: DashboardFilters) -> list[dict[str, Any]]:
    """NPS, CSAT and CES of the period, their answers and detractors, and the trend of the
    buckets' scores."""
    result = []
    for kind, label in SurveyKind.choices:
        points = [p for p in numbers.surveys if p.kind == kind]
        score = _period_score(kind, points)
        answers = sum(p.answers for p in points)
        shown = "—" if score is None else (f"{score}%" if kind == SurveyKind.CSAT else str(score))
        result.append(
            {
                "kind": kind,
                "label": label,
                "score": shown,
                "answers": answers,
                "detractors": sum(p.detractors for p in points),
                "url": drill_url(filters, "responded", kind=kind),
                "detractors_url": drill_url(filters, "responded", kind=kind, category="detractor"),
                "sparkline": charts.sparkline_points(
                    [float(p.score) if p.score is not None else None for p in points]
                ),
                "trend": table_rows(
                    (_bucket_label(filters, p.bucket), (p.score, p.answers))
                    for p in points
                    if p.answers
                ),
            }
        )
    return result


def loop_view(numbers: HomeNumbers, filters: DashboardFilters) -> dict[str, Any]:
    loop = numbers.loop
    return {
        "loop": loop,
        "rate": percent(loop.rate),
        "open": loop.delight_customers - loop.closed_loop,
        "completed_url": drill_url(filters, "loop", outcome="completed"),
        "open_url": drill_url(filters, "loop", outcome="open"),
    }


def campaigns_view(numbers: HomeNumbers, filters: DashboardFilters) -> dict[str, Any] | None:
    """The period's campaigns with the most conversions first (then the most sent)."""
    if numbers.campaigns is None:
        return None
    ranked = sorted(numbers.campaigns, key=lambda c: (-c.conversions, -(c.sent or 0)))
    return {
        "total": len(numbers.campaigns),
        "rows": [
            {
                "campaign": c,
                "links": campaign_links(filters, c.campaign_id),
                "open_rate": percent(c.open_rate),
                "click_rate": percent(c.click_rate),
                "conversion_rate": percent(c.conversions / c.sent if c.sent else None),
            }
            for c in ranked[:TOP_CAMPAIGNS]
        ],
    }


# --- the page -----------------------------------------------------------------------------------


class HomeView(LoginRequiredMixin, PermissionRequiredMixin, FilteredPageMixin, View):
    """The wheel and the period's charts, for the filters in the URL."""

    permission_required = "analytics.view_flywheel"

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        campaigns = user.has_perm("campaigns.view_campaign")
        numbers, computed_at = fresh_numbers(
            view_key("home", self.filters.query(), campaigns),
            lambda: home_numbers(self.filters, user),
            not_before=changed_at(request),
            refresh=request.GET.get("refresh") == "1",
        )
        context = {
            **self.filter_context(),
            "computed_at": datetime.fromtimestamp(computed_at, tz=UTC),
            "cache_seconds": cache_seconds(),
            "wheel": wheel_view(numbers, self.filters),
            "trends": trends_view(numbers, self.filters),
            "matrix": matrix_view(numbers, self.filters),
            "conversion": conversion_view(numbers, self.filters),
            "conversion_base": any(row.at_start or row.entered for row in numbers.conversion),
            "velocity": velocity_view(numbers, self.filters),
            "velocity_stays": any(row.stays for row in numbers.velocity),
            "surveys": surveys_view(numbers, self.filters),
            "loop": loop_view(numbers, self.filters),
            "campaigns": campaigns_view(numbers, self.filters),
        }
        return render(request, "dashboard/home.html", context)
