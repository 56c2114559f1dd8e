"""The page where a person manages their own API tokens, and an Admin issuing one in the admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.roles import ADMIN, SUPPORT
from accounts.services import api_token_create

pytestmark = pytest.mark.django_db

PAGE = reverse("api-tokens")
STAGES_URL = reverse("api:stage-list")


def works(token: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get(STAGES_URL).status_code == 200


@pytest.fixture
def agent(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user(SUPPORT, username="agent")


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_the_page_needs_a_login():
    response = Client().get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_users_name_in_the_header_leads_to_the_page(agent_client):
    page = agent_client.get(reverse("customers:list")).content.decode()

    assert f'href="{PAGE}"' in page


def test_a_token_issued_on_the_page_is_shown_once_and_works(agent, agent_client):
    response = agent_client.post(PAGE, {"action": "create", "name": "my spreadsheet"})

    assert response.status_code == 200
    match = re.search(r'id="issued-token">([0-9a-f]+)<', response.content.decode())
    assert match
    token = match.group(1)
    assert works(token)
    assert ApiToken.objects.get(user=agent).name == "my spreadsheet"
    again = agent_client.get(PAGE).content.decode()
    assert "my spreadsheet" in again
    assert token not in again


def test_a_too_long_name_is_a_form_error(agent, agent_client):
    response = agent_client.post(PAGE, {"action": "create", "name": "x" * 101})

    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()
    assert not ApiToken.objects.filter(user=agent).exists()


def test_revoking_on_the_page_stops_the_token(agent, agent_client):
    revoked, revoked_token = api_token_create(user=agent, name="old")
    _, kept_token = api_token_create(user=agent, name="kept")

    response = agent_client.post(PAGE, {"action": "revoke", "id": str(revoked.public_id)})

    assert response.status_code == 302
    assert not works(revoked_token)
    assert works(kept_token)


def test_the_page_cannot_revoke_another_users_token(agent_client, make_user):
    theirs, their_token = api_token_create(user=make_user(ADMIN, username="boss"))

    response = agent_client.post(
        PAGE, {"action": "revoke", "id": str(theirs.public_id)}, follow=True
    )

    assert "No such token of yours" in response.content.decode()
    assert works(their_token)


def test_revoke_all_on_the_page(agent, agent_client):
    tokens = [api_token_create(user=agent)[1] for _ in range(2)]

    agent_client.post(PAGE, {"action": "revoke_all"})

    assert not any(works(token) for token in tokens)


def test_an_admin_issues_a_token_for_a_user_in_the_admin_site(agent, make_user):
    admin = Client()
    admin.force_login(make_user(ADMIN, username="boss", is_staff=True))

    response = admin.post(
        reverse("admin:accounts_apitoken_add"),
        {"user": agent.pk, "name": "for the import"},
        follow=True,
    )

    assert response.status_code == 200
    match = re.search(r"shown only now: ([0-9a-f]+)", response.content.decode())
    assert match
    assert works(match.group(1))
    assert ApiToken.objects.get(user=agent).name == "for the import"
