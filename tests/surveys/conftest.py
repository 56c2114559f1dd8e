"""Fixtures for the survey tests: one survey per kind, and invitations sent through the service.

The migration seeds default surveys, but transactional tests empty the tables, so the tests
make their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from customers.models import Customer
from surveys.models import Invitation, InvitationSource, Survey
from surveys.services import survey_invite


@pytest.fixture
def surveys(db: None) -> dict[str, Survey]:
    """An active survey of each kind, by kind."""
    questions = {
        "nps": "How likely are you to recommend us to a friend or colleague?",
        "csat": "How satisfied are you with the help you received?",
        "ces": "How easy was it to get what you needed from us?",
    }
    return {
        kind: Survey.objects.get_or_create(
            name=f"Test {kind}", defaults={"kind": kind, "question": question}
        )[0]
        for kind, question in questions.items()
    }


@pytest.fixture
def invite(surveys: dict[str, Survey]) -> Callable[..., Invitation]:
    """Invite a customer by hand: `invite(customer, "nps")`."""

    def make(customer: Customer, kind: str = "nps", **kwargs: Any) -> Invitation:
        kwargs.setdefault("source", InvitationSource.MANUAL)
        return survey_invite(survey=surveys[kind], customer=customer, **kwargs)

    return make
