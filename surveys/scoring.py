"""The three survey scales, what makes a promoter, a passive or a detractor, and the scores.

The thresholds are documented in docs/metrics.md ("Surveys"); a test holds both to the same
numbers. Every kind sorts its answers into the same three categories so that the wheel reacts
to them alike: a promoter is force, a detractor is friction, a passive neither.

- NPS (0-10, "how likely are you to recommend us"): 9-10 promoter, 7-8 passive, 0-6
  detractor. Score = % promoters - % detractors, from -100 to 100.
- CSAT (1-5, "how satisfied were you"): 4-5 promoter (satisfied), 3 passive, 1-2
  detractor. Score = % of answers that are 4 or 5, from 0 to 100; the mean is shown beside it.
- CES (1-7, "how easy was it", 7 = very easy): 6-7 promoter, 4-5 passive, 1-3 detractor.
  Score = the mean answer, from 1 to 7 (higher is easier).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models

from interactions.models import Effect


class SurveyKind(models.TextChoices):
    NPS = "nps", "NPS"
    CSAT = "csat", "CSAT"
    CES = "ces", "CES"


class Category(models.TextChoices):
    """Where an answer puts the customer. The names are NPS's; CSAT and CES map onto them."""

    PROMOTER = "promoter", "Promoter"
    PASSIVE = "passive", "Passive"
    DETRACTOR = "detractor", "Detractor"


CATEGORIES = tuple(Category.values)  # built once: Django rebuilds `.values` on every read


@dataclass(frozen=True)
class Scale:
    """The scores a kind accepts, and the lowest score of a promoter and of a passive."""

    kind: str
    low: int
    high: int
    promoter_from: int
    passive_from: int
    low_label: str  # what the lowest score means, shown under the scale
    high_label: str

    @property
    def scores(self) -> range:
        return range(self.low, self.high + 1)

    def category(self, score: int) -> str:
        if score >= self.promoter_from:
            return Category.PROMOTER
        if score >= self.passive_from:
            return Category.PASSIVE
        return Category.DETRACTOR


SCALES: dict[str, Scale] = {
    SurveyKind.NPS: Scale(SurveyKind.NPS, 0, 10, 9, 7, "Not at all likely", "Extremely likely"),
    SurveyKind.CSAT: Scale(SurveyKind.CSAT, 1, 5, 4, 3, "Very dissatisfied", "Very satisfied"),
    SurveyKind.CES: Scale(SurveyKind.CES, 1, 7, 6, 4, "Very difficult", "Very easy"),
}

# What each category does to the wheel (docs/metrics.md): (effect, weight), as interactions.
CATEGORY_EFFECT: dict[str, tuple[str, int]] = {
    Category.PROMOTER: (Effect.FORCE, 1),
    Category.PASSIVE: (Effect.NEUTRAL, 0),
    Category.DETRACTOR: (Effect.FRICTION, 1),
}


def scale_of(kind: str) -> Scale:
    """The scale of `kind`; an unknown kind is a programming error (KeyError)."""
    return SCALES[kind]


def score_in_range(kind: str, score: int) -> bool:
    scale = scale_of(kind)
    return scale.low <= score <= scale.high


def categorize(kind: str, score: int) -> str:
    """The category of an answer. The score must be on the kind's scale (ValueError)."""
    if not score_in_range(kind, score):
        scale = scale_of(kind)
        raise ValueError(f"{kind} scores go from {scale.low} to {scale.high}, not {score}.")
    return scale_of(kind).category(score)


@dataclass(frozen=True)
class ScoreSummary:
    """The answers of one kind in a period, counted, and the kind's headline score.

    `score` is None without answers. `mean` is the plain mean of the scores.
    """

    kind: str
    answers: int
    promoters: int
    passives: int
    detractors: int
    mean: Decimal | None
    score: Decimal | None

    @property
    def label(self) -> str:
        """The headline as people say it: "NPS 42", "CSAT 87%", "CES 5.6"."""
        if self.score is None:
            return f"{SurveyKind(self.kind).label} —"
        if self.kind == SurveyKind.CSAT:
            return f"CSAT {self.score}%"
        return f"{SurveyKind(self.kind).label} {self.score}"


def _round(value: Decimal, places: str = "0.1") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def score_summary(kind: str, counts: Mapping[int, int]) -> ScoreSummary:
    """Summarise answers of `kind` given as {score: number of answers}.

    NPS is rounded to a whole number, CSAT to one decimal of a percent, CES and every mean to
    one decimal (half up).
    """
    scale = scale_of(kind)
    by_category = dict.fromkeys(CATEGORIES, 0)
    total = 0
    points = 0
    for value, count in counts.items():
        if count:
            by_category[scale.category(value)] += count
            total += count
            points += value * count
    if not total:
        return ScoreSummary(kind, 0, 0, 0, 0, None, None)
    promoters = by_category[Category.PROMOTER]
    detractors = by_category[Category.DETRACTOR]
    mean = _round(Decimal(points) / total)
    if kind == SurveyKind.NPS:
        score = _round(Decimal(100 * (promoters - detractors)) / total, "1")
    elif kind == SurveyKind.CSAT:
        score = _round(Decimal(100 * promoters) / total)
    else:
        score = mean
    return ScoreSummary(
        kind=kind,
        answers=total,
        promoters=promoters,
        passives=by_category[Category.PASSIVE],
        detractors=detractors,
        mean=mean,
        score=score,
    )
