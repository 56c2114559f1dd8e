"""The A/B verdict: intervals, and a winner only with enough data and a significant gap."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, Variant
from campaigns.selectors import (
    Counts,
    VariantResult,
    ab_verdict,
    two_proportion_p_value,
    wilson_interval,
)


def _result(pk: int, sent: int, successes: int) -> VariantResult:
    variant = Variant(pk=pk, name=chr(ord("A") + pk - 1), split=50, campaign=Campaign(pk=1))
    return VariantResult(
        variant=variant,
        counts=Counts(sent=sent, clicks=successes),
        metric_successes=successes,
        metric_rate=successes / sent if sent else None,
        interval=wilson_interval(successes, sent),
    )


def test_twelve_sends_declare_no_winner_however_different():
    verdict = ab_verdict([_result(1, 6, 6), _result(2, 6, 0)])

    assert verdict.winner is None
    assert verdict.message.startswith("Not enough data yet")


def test_a_thousand_each_with_clearly_different_rates_has_a_winner():
    a, b = _result(1, 1000, 100), _result(2, 1000, 150)

    verdict = ab_verdict([a, b])

    assert verdict.winner is b.variant
    assert verdict.p_value is not None
    assert verdict.p_value < 0.01


def test_a_small_difference_on_a_thousand_each_is_not_significant():
    verdict = ab_verdict([_result(1, 1000, 100), _result(2, 1000, 105)])

    assert verdict.winner is None
    assert verdict.p_value is not None
    assert verdict.p_value > 0.05


def test_three_variants_need_the_best_to_beat_each_other():
    verdict = ab_verdict([_result(1, 1000, 100), _result(2, 1000, 150), _result(3, 1000, 140)])

    assert verdict.winner is None  # B vs C is not significant


def test_the_wilson_interval():
    low, high = wilson_interval(10, 100)
    assert low == pytest.approx(0.0552, abs=1e-3)
    assert high == pytest.approx(0.1744, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    assert wilson_interval(0, 12)[0] == pytest.approx(0.0, abs=1e-12)


def test_the_p_value():
    assert two_proportion_p_value(100, 1000, 100, 1000) == pytest.approx(1.0)
    assert two_proportion_p_value(100, 1000, 150, 1000) == pytest.approx(0.00078, abs=2e-4)
    assert two_proportion_p_value(0, 0, 1, 1) == 1.0
