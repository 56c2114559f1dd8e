"""docs/metrics.md states the default effects exactly as the code applies them."""

from __future__ import annotations

from pathlib import Path

from interactions.effects import default_effect
from interactions.models import InteractionKind, Outcome

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_the_documented_effect_table_is_the_one_in_code():
    lines = DOC.read_text().splitlines()
    header = next(line for line in lines if line.startswith("| outcome \\ kind |"))
    kinds = [cell.strip().strip("`") for cell in header.split("|")[2:-1]]
    assert sorted(kinds) == sorted(InteractionKind.values)
    documented = {}
    for line in lines:
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if cells and cells[0].strip("`") in Outcome.values and len(cells) == len(kinds) + 1:
            for kind, cell in zip(kinds, cells[1:], strict=True):
                effect, weight = cell.split()
                documented[(kind, cells[0].strip("`"))] = (effect, int(weight))

    expected = {
        (kind, outcome): default_effect(kind=kind, outcome=outcome)
        for kind in InteractionKind.values
        for outcome in Outcome.values
    }
    assert documented == expected
