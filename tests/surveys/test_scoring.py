"""The three scales: categories at every threshold, the scores, and the documentation."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from surveys.scoring import SCALES, categorize, score_summary

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
EN_DASH = "\u2013"  # the documentation writes ranges with an en dash


@pytest.mark.parametrize(
    ("kind", "score", "category"),
    [
        ("nps", 0, "detractor"),
        ("nps", 6, "detractor"),
        ("nps", 7, "passive"),
        ("nps", 8, "passive"),
        ("nps", 9, "promoter"),
        ("nps", 10, "promoter"),
        ("csat", 1, "detractor"),
        ("csat", 2, "detractor"),
        ("csat", 3, "passive"),
        ("csat", 4, "promoter"),
        ("csat", 5, "promoter"),
        ("ces", 1, "detractor"),
        ("ces", 3, "detractor"),
        ("ces", 4, "passive"),
        ("ces", 5, "passive"),
        ("ces", 6, "promoter"),
        ("ces", 7, "promoter"),
    ],
)
def test_each_kind_sorts_scores_at_its_thresholds(kind: str, score: int, category: str) -> None:
    assert categorize(kind, score) == category


@pytest.mark.parametrize(("kind", "score"), [("nps", -1), ("nps", 11), ("csat", 0), ("ces", 8)])
def test_a_score_off_the_scale_has_no_category(kind: str, score: int) -> None:
    with pytest.raises(ValueError, match="scores go from"):
        categorize(kind, score)


def test_nps_is_percent_promoters_minus_percent_detractors() -> None:
    # 5 promoters, 3 passives, 2 detractors: 50% - 20% = 30.
    summary = score_summary("nps", {10: 3, 9: 2, 8: 2, 7: 1, 6: 1, 0: 1})

    assert (summary.answers, summary.promoters, summary.passives, summary.detractors) == (
        10,
        5,
        3,
        2,
    )
    assert summary.score == Decimal("30")
    assert summary.mean == Decimal("7.7")
    assert summary.label == "NPS 30"


def test_nps_can_be_negative_and_rounds_half_up() -> None:
    assert score_summary("nps", {0: 2, 10: 1}).score == Decimal("-33")
    assert score_summary("nps", {0: 1, 10: 1, 8: 6}).score == Decimal("0")
    # 1 promoter of 8 answers: 12.5 rounds to 13.
    assert score_summary("nps", {10: 1, 8: 7}).score == Decimal("13")


def test_csat_is_the_share_of_four_and_five_with_the_mean_beside_it() -> None:
    summary = score_summary("csat", {5: 1, 4: 1, 3: 1})

    assert summary.score == Decimal("66.7")
    assert summary.mean == Decimal("4.0")
    assert summary.label == "CSAT 66.7%"


def test_ces_is_the_mean() -> None:
    summary = score_summary("ces", {7: 2, 4: 1, 1: 1})

    assert summary.score == summary.mean == Decimal("4.8")


def test_no_answers_is_no_score_rather_than_zero() -> None:
    summary = score_summary("nps", dict.fromkeys(range(11), 0))

    assert summary.answers == 0
    assert summary.score is None
    assert summary.mean is None


def test_the_thresholds_are_the_documented_ones() -> None:
    """docs/metrics.md ("Surveys") and surveys/scoring.py name the same numbers."""
    documented = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"\| `(nps|csat|ces)` .*?\|(.+)\|$", line)
        if match:
            scale, promoter, passive, _ = (cell.strip() for cell in match.group(2).split("|"))
            low, high = scale.split(EN_DASH)
            documented[match.group(1)] = (
                int(low),
                int(high),
                int(promoter.split(EN_DASH)[0]),
                int(passive.split(EN_DASH)[0]),
            )
    assert documented == {
        kind: (scale.low, scale.high, scale.promoter_from, scale.passive_from)
        for kind, scale in SCALES.items()
    }
