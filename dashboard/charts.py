"""Geometry for the dashboard's server-rendered SVG charts: no JavaScript, no chart library.

Each function turns numbers into coordinates (path data, points, rectangles) and returns
plain dataclasses; the templates (`templates/dashboard/_chart_*.html`, `_wheel_*.html`) draw
them as inline SVG, add the links and put a table of the same numbers beside each chart. The
functions know nothing of customers or metrics, so any dashboard page can reuse them.

Angles are in degrees as SVG draws them: 0 points right (east) and angles grow clockwise,
because the y axis points down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# --- circles: the wheel ---------------------------------------------------------------------


def polar_point(cx: float, cy: float, radius: float, degrees: float) -> tuple[float, float]:
    """The point at `radius` from (cx, cy) in the direction `degrees` (0 = east, clockwise)."""
    angle = math.radians(degrees)
    return round(cx + radius * math.cos(angle), 2), round(cy + radius * math.sin(angle), 2)


def ring_segment_path(
    cx: float, cy: float, outer: float, inner: float, start_deg: float, end_deg: float
) -> str:
    """SVG path data of a ring segment (a thick arc) from `start_deg` clockwise to `end_deg`."""
    large = 1 if (end_deg - start_deg) % 360 > 180 else 0
    x1, y1 = polar_point(cx, cy, outer, start_deg)
    x2, y2 = polar_point(cx, cy, outer, end_deg)
    x3, y3 = polar_point(cx, cy, inner, end_deg)
    x4, y4 = polar_point(cx, cy, inner, start_deg)
    return (
        f"M {x1} {y1} A {outer} {outer} 0 {large} 1 {x2} {y2} "
        f"L {x3} {y3} A {inner} {inner} 0 {large} 0 {x4} {y4} Z"
    )


def arc_arrow_path(
    cx: float, cy: float, radius: float, start_deg: float, end_deg: float
) -> tuple[str, str]:
    """A thin arc from `start_deg` to `end_deg` (clockwise if end > start, else counter-
    clockwise) and an arrowhead at its end: (arc path data, arrowhead polygon points)."""
    sweep = 1 if end_deg > start_deg else 0
    x1, y1 = polar_point(cx, cy, radius, start_deg)
    x2, y2 = polar_point(cx, cy, radius, end_deg)
    arc = f"M {x1} {y1} A {radius} {radius} 0 0 {sweep} {x2} {y2}"
    # The head points along the tangent at the end, in the direction of travel.
    tangent = end_deg + (90 if sweep else -90)
    tip = polar_point(x2, y2, 7, tangent)
    left = polar_point(x2, y2, 5, tangent + 125)
    right = polar_point(x2, y2, 5, tangent - 125)
    head = " ".join(f"{x},{y}" for x, y in (tip, left, right))
    return arc, head


# --- series: lines, bars, sparklines ----------------------------------------------------------


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at least `value` (an axis' top), 1 for 0."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10


@dataclass(frozen=True)
class AxisTick:
    y: float
    label: str


@dataclass(frozen=True)
class LineSeries:
    """One line: its key (for a CSS class), its label, the polyline and its last point."""

    key: str
    label: str
    points: str
    end_x: float
    end_y: float
    last_value: float


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    bottom: float
    series: list[LineSeries]
    ticks: list[AxisTick]
    x_labels: list[tuple[float, str]]


def _x_positions(count: int, left: float, right: float) -> list[float]:
    if count == 1:
        return [round((left + right) / 2, 2)]
    step = (right - left) / (count - 1)
    return [round(left + i * step, 2) for i in range(count)]


def _x_labels(xs: list[float], labels: Sequence[str], at_most: int = 6) -> list[tuple[float, str]]:
    """Every n-th label, so that at most `at_most` fit under the axis; always the last."""
    if not labels:
        return []
    every = max(1, math.ceil(len(labels) / at_most))
    picked = [(xs[i], labels[i]) for i in range(0, len(labels), every)]
    if picked[-1][1] != labels[-1] and len(labels) > 1:
        if len(picked) > 1 and xs[-1] - picked[-1][0] < (xs[-1] - xs[0]) / at_most:
            picked.pop()
        picked.append((xs[-1], labels[-1]))
    return picked


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    width: int = 640,
    height: int = 240,
) -> LineChart:
    """Lines over shared x labels: `series` is [(key, label, values)], values aligned with
    `labels`. The y axis starts at 0 and ends at a round number above the largest value."""
    left, right, top, bottom = 48, width - 16, 12, height - 28
    top_value = nice_ceiling(max((v for _, _, values in series for v in values), default=0))
    xs = _x_positions(len(labels), left, right)

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * value / top_value, 2)

    lines = []
    for key, label, values in series:
        points = " ".join(f"{x},{y_of(v)}" for x, v in zip(xs, values, strict=True))
        end_x = xs[-1] if xs else left
        last = values[-1] if values else 0
        lines.append(LineSeries(key, label, points, end_x, y_of(last), last))
    ticks = [AxisTick(y_of(top_value * i / 4), _number(top_value * i / 4)) for i in range(5)]
    return LineChart(width, height, left, bottom, lines, ticks, _x_labels(xs, labels))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str
    positive: bool


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    zero_y: float
    bars: list[Bar]
    ticks: list[AxisTick]
    x_labels: list[tuple[float, str]]


def signed_bar_chart(
    labels: Sequence[str], values: Sequence[float], *, width: int = 640, height: int = 200
) -> BarChart:
    """One bar per label, up from a zero line for positive values and down for negative
    ones; the axis is symmetric when there are both."""
    left, right, top, bottom = 48, width - 16, 12, height - 28
    high = nice_ceiling(max((v for v in values if v > 0), default=0))
    low = nice_ceiling(-min((v for v in values if v < 0), default=0))
    has_negative = any(v < 0 for v in values)
    has_positive = any(v > 0 for v in values) or not has_negative
    span_up = high if has_positive else 0
    span_down = low if has_negative else 0
    scale = (bottom - top) / (span_up + span_down)
    zero_y = round(top + span_up * scale, 2)
    slot = (right - left) / max(1, len(values))
    bar_width = round(max(1.0, slot * 0.7), 2)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = round(left + i * slot + (slot - bar_width) / 2, 2)
        size = round(abs(value) * scale, 2)
        y = zero_y - size if value >= 0 else zero_y
        bars.append(Bar(x, round(y, 2), bar_width, size, value, label, value >= 0))
    ticks = [AxisTick(round(top + (span_up - v) * scale, 2), _number(v)) for v in (span_up, 0)]
    if has_negative:
        ticks.append(AxisTick(round(bottom, 2), _number(-span_down)))
    centres = [round(bar.x + bar_width / 2, 2) for bar in bars]
    return BarChart(width, height, left, zero_y, bars, ticks, _x_labels(centres, labels))


def sparkline_points(
    values: Sequence[float | None], *, width: float = 100, height: float = 24
) -> str:
    """Polyline points of a small trend line scaled to its own minimum and maximum; missing
    values (None) are skipped. Empty when fewer than two values are known."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    low = min(v for _, v in known)
    high = max(v for _, v in known)
    span = (high - low) or 1
    step = width / max(1, len(values) - 1)
    return " ".join(
        f"{round(i * step, 2)},{round(height - 2 - (height - 4) * (v - low) / span, 2)}"
        for i, v in known
    )


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value):,}"
