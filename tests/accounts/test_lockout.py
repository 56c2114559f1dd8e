"""Brute-force protection: failed sign-ins lock out, on the API, the login page and the admin.

Every test signs in from its own address (REMOTE_ADDR), so that the per-address counts and
the token endpoint's rate limit of one test never reach another.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.roles import ADMIN

pytestmark = pytest.mark.django_db

TOKEN_URL = reverse("api:auth-token")
LOGIN_URL = reverse("login")
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's password
COOL_OFF_SECONDS = "900"  # FLYWHEEL_LOGIN_LOCKOUT_MINUTES' default, 15


def api_from(address: str) -> APIClient:
    return APIClient(REMOTE_ADDR=address)


def web_from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def token_attempt(address: str, username: str, password: str):  # type: ignore[no-untyped-def]
    return api_from(address).post(TOKEN_URL, {"username": username, "password": password})


@pytest.fixture
def alice(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user(username="alice")


def test_thirty_wrong_passwords_then_the_right_one_is_refused_by_the_api(alice):
    statuses = [token_attempt("203.0.113.1", "alice", f"guess-{n}").status_code for n in range(30)]

    response = token_attempt("203.0.113.1", "alice", PASSWORD)

    # The fifth failure locks: it and everything after it are answered 429.
    assert statuses == [400] * 4 + [429] * 26
    assert response.status_code == 429
    assert response["Retry-After"] == COOL_OFF_SECONDS
    assert response["Content-Type"] == "application/json"
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert "token" not in response.json()
    assert not ApiToken.objects.filter(user=alice).exists()


def test_thirty_wrong_passwords_then_the_right_one_is_refused_by_the_login_page(alice):
    client = web_from("203.0.113.2")
    for n in range(30):
        client.post(LOGIN_URL, {"username": "alice", "password": f"guess-{n}"})

    response = client.post(LOGIN_URL, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 429
    assert response["Retry-After"] == COOL_OFF_SECONDS
    page = response.content.decode()
    assert "Too many failed sign-ins for this account or from this address" in page
    assert "15 minutes" in page
    assert 'name="password"' in page  # still the login page
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_the_admin_login_locks_out_too(make_user):
    make_user(ADMIN, username="boss", is_staff=True)
    client = web_from("203.0.113.3")
    url = reverse("admin:login")
    for n in range(5):
        client.post(url, {"username": "boss", "password": f"guess-{n}"})

    response = client.post(url, {"username": "boss", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_address_trying_many_accounts_is_locked_out_at_its_own_limit(alice):
    address = "203.0.113.4"
    # One failure each for 20 accounts: no account reaches its limit of 5, the address does.
    statuses = [token_attempt(address, f"nobody-{n}", "guess").status_code for n in range(20)]

    refused = token_attempt(address, "alice", PASSWORD)
    elsewhere = token_attempt("203.0.113.5", "alice", PASSWORD)

    assert statuses == [400] * 19 + [429]
    assert refused.status_code == 429
    assert refused["Retry-After"] == COOL_OFF_SECONDS
    assert elsewhere.status_code == 200


def test_an_account_locked_from_one_address_still_signs_in_from_another(alice, make_user):
    make_user(username="bob")
    for n in range(5):
        token_attempt("203.0.113.6", "alice", f"guess-{n}")

    assert token_attempt("203.0.113.6", "alice", PASSWORD).status_code == 429
    # The account is not locked everywhere (nobody can lock a colleague out from afar), and
    # the address has not reached its own limit for other accounts.
    assert token_attempt("203.0.113.7", "alice", PASSWORD).status_code == 200
    assert token_attempt("203.0.113.6", "bob", PASSWORD).status_code == 200


@override_settings(FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT=6)
def test_one_account_tried_from_many_addresses_is_locked_out_at_its_own_limit(alice):
    for n in range(6):
        assert token_attempt(f"198.51.100.{n + 1}", "alice", "guess").status_code in (400, 429)

    response = token_attempt("198.51.100.99", "alice", PASSWORD)

    assert response.status_code == 429


def test_a_successful_sign_in_resets_the_accounts_count(alice):
    address = "203.0.113.8"
    for _ in range(2):
        for n in range(4):
            assert token_attempt(address, "alice", f"guess-{n}").status_code == 400
        assert token_attempt(address, "alice", PASSWORD).status_code == 200

    statuses = [token_attempt(address, "alice", f"guess-{n}").status_code for n in range(5)]

    assert statuses == [400] * 4 + [429]


def test_a_successful_sign_in_does_not_forgive_the_addresss_count(alice):
    address = "203.0.113.14"
    for n in range(19):
        assert token_attempt(address, f"nobody-{n}", "guess").status_code == 400

    # Someone with an account of their own signs in between rounds of guessing.
    assert token_attempt(address, "alice", PASSWORD).status_code == 200

    assert token_attempt(address, "nobody-19", "guess").status_code == 429


def test_the_lockout_ends_after_the_cool_off(alice):
    for n in range(5):
        token_attempt("203.0.113.9", "alice", f"guess-{n}")
    assert token_attempt("203.0.113.9", "alice", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert token_attempt("203.0.113.9", "alice", PASSWORD).status_code == 200


def test_the_unlock_command_lets_the_user_in(alice):
    for n in range(5):
        token_attempt("203.0.113.10", "alice", f"guess-{n}")
    assert token_attempt("203.0.113.10", "alice", PASSWORD).status_code == 429

    call_command("axes_reset_username", "alice")

    assert token_attempt("203.0.113.10", "alice", PASSWORD).status_code == 200


def test_an_admin_unlocks_from_the_admin_site(alice, make_user):
    client = web_from("203.0.113.11")
    for n in range(5):
        client.post(LOGIN_URL, {"username": "alice", "password": f"guess-{n}"})
    assert client.post(LOGIN_URL, {"username": "alice", "password": PASSWORD}).status_code == 429
    admin = Client()
    admin.force_login(make_user(ADMIN, username="boss", is_staff=True))
    changelist = reverse("admin:axes_accessattempt_changelist")
    attempts = list(AccessAttempt.objects.filter(username="alice").values_list("pk", flat=True))

    listed = admin.get(changelist)
    unlocked = admin.post(
        changelist, {"action": "unlock", "_selected_action": attempts}, follow=True
    )

    assert listed.status_code == 200
    assert "alice" in listed.content.decode()
    assert unlocked.status_code == 200
    assert not AccessAttempt.objects.filter(username="alice").exists()
    response = client.post(LOGIN_URL, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


@override_settings(FLYWHEEL_API_TOKEN_RATE_PER_MINUTE=3)
def test_the_token_endpoint_is_rate_limited_per_address(alice):
    statuses = [token_attempt("203.0.113.12", "alice", PASSWORD).status_code for _ in range(4)]
    other_address = token_attempt("203.0.113.13", "alice", PASSWORD)

    assert statuses == [200, 200, 200, 429]
    limited = token_attempt("203.0.113.12", "alice", PASSWORD)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "detail" in limited.json()
    assert other_address.status_code == 200
