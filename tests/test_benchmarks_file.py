"""BENCHMARKS.md opens with the latest run of each scenario; earlier runs go to the history."""

from __future__ import annotations

from bench.run import benchmark_sections, benchmarks_arrange

OLD_CELERY = "## Celery throughput — 2026-11-25 14:06 UTC\n\n| old celery |\n"
OLD_DASHBOARD = "## Dashboard numbers — 2026-11-29 20:24 UTC\n\n### detail\n\n| old dash |\n"
NEW_DASHBOARD = "## Dashboard numbers — 2026-11-30 01:10 UTC\n\n| new dash |\n"


def test_a_new_run_replaces_its_scenario_and_moves_the_previous_one_to_the_history() -> None:
    latest = "# Benchmarks\n\nintro\n\n" + OLD_DASHBOARD + "\n" + OLD_CELERY

    results, history = benchmarks_arrange(NEW_DASHBOARD, latest, "")

    assert benchmark_sections(results) == [NEW_DASHBOARD, OLD_CELERY]
    assert benchmark_sections(history) == [OLD_DASHBOARD]
    assert results.startswith("# Benchmarks\n")


def test_the_history_keeps_every_replaced_run_newest_first() -> None:
    older = "## Dashboard numbers — 2026-11-28 10:00 UTC\n\n| older dash |\n"
    results, history = benchmarks_arrange(
        NEW_DASHBOARD, "# Benchmarks\n\n" + OLD_DASHBOARD, "# Earlier\n\n" + older
    )

    assert benchmark_sections(results) == [NEW_DASHBOARD]
    assert benchmark_sections(history) == [OLD_DASHBOARD, older]


def test_arranging_again_without_a_new_run_changes_nothing() -> None:
    results, history = benchmarks_arrange(NEW_DASHBOARD, OLD_DASHBOARD + OLD_CELERY, "")

    assert benchmarks_arrange("", results, history) == (results, history)
