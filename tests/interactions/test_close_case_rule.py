"""Closing a support case: the API and the dashboard ask one rule, `can_close_case`.

Support closes any case, whoever logged it (a colleague, an integration); a role without
`close_any_case` closes only its own, and is refused the same way through either door.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import SALES_REP, SUPPORT
from interactions.models import CaseState, Interaction
from interactions.services import interaction_log

pytestmark = pytest.mark.django_db


def close_via_api(api_as: Callable[[User], APIClient], user: User, case: Interaction) -> int:
    response = api_as(user).post(
        reverse("api:interaction-close", args=[case.pk]), {"outcome": "resolved"}
    )
    return response.status_code


def close_via_dashboard(api_as: Callable[[User], APIClient], user: User, case: Interaction) -> int:
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("interactions:close_case", args=[case.pk]), {"outcome": "resolved"}
    )
    return response.status_code


DOORS = {"api": (close_via_api, 200), "dashboard": (close_via_dashboard, 302)}


@pytest.mark.parametrize("door", DOORS)
def test_support_closes_a_case_a_colleague_logged(door, api_as, make_user, customer_factory):
    colleague = make_user(SUPPORT, username="colleague")
    closer = make_user(SUPPORT, username="closer")
    case = interaction_log(
        customer=customer_factory(), kind="support_case", summary="Help", logged_by=colleague
    )
    close, ok = DOORS[door]

    assert close(api_as, closer, case) == ok
    case.refresh_from_db()
    assert case.case_state == CaseState.CLOSED


@pytest.mark.parametrize("door", DOORS)
def test_a_role_without_close_any_case_is_refused_a_colleagues_case(
    door, api_as, make_user, customer_factory
):
    owner = make_user(SALES_REP, username="owner")
    other = make_user(SALES_REP, username="other")
    case = interaction_log(
        customer=customer_factory(), kind="support_case", summary="Help", logged_by=owner
    )
    close, _ = DOORS[door]

    assert close(api_as, other, case) == 403
    case.refresh_from_db()
    assert case.case_state == CaseState.OPEN
