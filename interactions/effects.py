"""Default effect on the wheel of an interaction, by its kind and outcome.

The table is documented in docs/metrics.md ("Effect of an interaction"); a user may override
both the effect and the weight when logging.
"""

from __future__ import annotations

from interactions.models import Effect, InteractionKind, Outcome

# (effect, weight) for an outcome, whatever the kind ...
_BY_OUTCOME: dict[str, tuple[str, int]] = {
    Outcome.COMPLAINT: (Effect.FRICTION, 3),
    Outcome.NEGATIVE: (Effect.FRICTION, 1),
    Outcome.NO_ANSWER: (Effect.NEUTRAL, 0),
    Outcome.RESOLVED: (Effect.FORCE, 1),
    Outcome.NEUTRAL: (Effect.NEUTRAL, 0),
    Outcome.POSITIVE: (Effect.FORCE, 1),
}
# ... except for these kinds, where an outcome weighs differently.
_BY_KIND_AND_OUTCOME: dict[tuple[str, str], tuple[str, int]] = {
    (InteractionKind.MEETING, Outcome.POSITIVE): (Effect.FORCE, 2),
    (InteractionKind.SUPPORT_CASE, Outcome.NEGATIVE): (Effect.FRICTION, 2),
    (InteractionKind.NOTE, Outcome.POSITIVE): (Effect.NEUTRAL, 0),
    (InteractionKind.NOTE, Outcome.NEGATIVE): (Effect.NEUTRAL, 0),
}


def default_effect(*, kind: str, outcome: str) -> tuple[str, int]:
    """The (effect, weight) an interaction gets unless the user says otherwise."""
    return _BY_KIND_AND_OUTCOME.get((kind, outcome), _BY_OUTCOME[outcome])


def effect_table() -> list[tuple[str, str, str, int]]:
    """Every (kind, outcome, effect, weight) combination, for documentation and tests."""
    return [
        (kind, outcome, *default_effect(kind=kind, outcome=outcome))
        for kind in InteractionKind.values
        for outcome in Outcome.values
    ]
