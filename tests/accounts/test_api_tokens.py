"""Personal API tokens: stored hashed, expire, listed and revoked by their owner alone, and
revoked all at once by logging out everywhere or by a new password."""

from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.roles import ADMIN, SALES_REP
from accounts.services import api_token_create

pytestmark = pytest.mark.django_db

TOKEN_URL = reverse("api:auth-token")
TOKENS_URL = reverse("api:auth-token-list")
LOGOUT_URL = reverse("api:auth-logout")
LOGOUT_ALL_URL = reverse("api:auth-logout-all")
STAGES_URL = reverse("api:stage-list")  # any endpoint every role may read
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's password


def revoke_url(public_id: object) -> str:
    return reverse("api:auth-token-detail", kwargs={"public_id": public_id})


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def works(token: str) -> bool:
    status = with_token(token).get(STAGES_URL).status_code
    assert status in (200, 401)
    return status == 200


@pytest.fixture
def rep(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user(SALES_REP, username="rep")


def test_the_database_holds_only_a_digest_of_the_token(rep):
    response = APIClient(REMOTE_ADDR="192.0.2.1").post(
        TOKEN_URL, {"username": "rep", "password": PASSWORD, "name": "laptop script"}
    )

    assert response.status_code == 200
    token = response.json()["token"]
    row = ApiToken.objects.get(user=rep)
    stored = [str(value) for value in ApiToken.objects.values_list().get(pk=row.pk)]
    assert not any(token in value for value in stored)
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    assert row.name == "laptop script"
    assert response.json()["id"] == str(row.public_id)
    assert works(token)


def test_a_token_expires_after_the_configured_lifetime(rep):
    response = APIClient(REMOTE_ADDR="192.0.2.2").post(
        TOKEN_URL, {"username": "rep", "password": PASSWORD}
    )

    expiry = parse_datetime(response.json()["expiry"])
    assert expiry is not None
    assert abs(expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_an_expired_token_is_refused_with_401(rep):
    row, token = api_token_create(user=rep)
    assert works(token)

    ApiToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))

    response = with_token(token).get(STAGES_URL)
    assert response.status_code == 401
    assert not ApiToken.objects.filter(pk=row.pk).exists()


def test_the_owner_lists_their_tokens_without_any_secret(rep, make_user):
    first, first_token = api_token_create(user=rep, name="cli")
    api_token_create(user=rep, name="spreadsheet")
    api_token_create(user=make_user(SALES_REP, username="someone-else"), name="theirs")
    expired, _ = api_token_create(user=rep, name="old")
    ApiToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(days=1))

    response = with_token(first_token).get(TOKENS_URL)

    assert response.status_code == 200
    listed = response.json()
    assert sorted(t["name"] for t in listed) == ["cli", "spreadsheet"]
    assert set(listed[0]) == {"id", "name", "created", "expiry", "current"}
    assert [t["current"] for t in listed if t["id"] == str(first.public_id)] == [True]
    text = response.content.decode()
    for row in ApiToken.objects.filter(user=rep):
        assert row.digest not in text
        assert row.token_key not in text


def test_the_owner_revokes_one_token_and_it_stops_working(rep):
    _, kept_token = api_token_create(user=rep)
    revoked, revoked_token = api_token_create(user=rep)

    response = with_token(kept_token).delete(revoke_url(revoked.public_id))

    assert response.status_code == 204
    assert with_token(revoked_token).get(STAGES_URL).status_code == 401
    assert works(kept_token)


def test_nobody_revokes_another_users_token(rep, make_user):
    theirs, their_token = api_token_create(user=make_user(ADMIN, username="victim"))
    _, my_token = api_token_create(user=rep)

    response = with_token(my_token).delete(revoke_url(theirs.public_id))

    assert response.status_code == 404
    assert works(their_token)


def test_logout_revokes_the_token_in_use_only(rep):
    _, in_use = api_token_create(user=rep)
    _, other = api_token_create(user=rep)

    response = with_token(in_use).post(LOGOUT_URL)

    assert response.status_code == 204
    assert not works(in_use)
    assert works(other)


def test_logout_everywhere_revokes_every_token_of_the_user(rep, make_user):
    _, in_use = api_token_create(user=rep)
    _, other = api_token_create(user=rep)
    _, someone_elses = api_token_create(user=make_user(SALES_REP, username="colleague"))

    response = with_token(in_use).post(LOGOUT_ALL_URL)

    assert response.status_code == 204
    assert not works(in_use)
    assert not works(other)
    assert works(someone_elses)


def test_the_token_endpoints_need_a_signed_in_user():
    for method, url in [
        ("get", TOKENS_URL),
        ("post", LOGOUT_URL),
        ("post", LOGOUT_ALL_URL),
        ("delete", revoke_url("00000000-0000-0000-0000-000000000000")),
    ]:
        assert getattr(APIClient(), method)(url).status_code == 401, url


def test_a_new_password_set_and_saved_revokes_every_token(rep):
    _, first = api_token_create(user=rep)
    _, second = api_token_create(user=rep)

    rep.set_password("a-new-pass-word-456")
    rep.save()

    assert not works(first)
    assert not works(second)


def test_a_new_password_from_the_admin_site_revokes_the_users_tokens(rep, make_user):
    _, token = api_token_create(user=rep)
    admin = Client()
    admin.force_login(make_user(ADMIN, username="boss", is_staff=True, is_superuser=True))

    response = admin.post(
        reverse("admin:auth_user_password_change", args=[rep.pk]),
        {"password1": "a-new-pass-word-456", "password2": "a-new-pass-word-456"},
    )

    assert response.status_code == 302
    assert not works(token)


def test_changing_ones_own_password_in_the_admin_revokes_ones_tokens(make_user):
    boss = make_user(ADMIN, username="boss", is_staff=True)
    _, token = api_token_create(user=boss)
    client = Client()
    client.force_login(boss)

    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-pass-word-456",
            "new_password2": "a-new-pass-word-456",
        },
    )

    assert response.status_code == 302
    assert not works(token)


def test_saving_a_user_without_a_new_password_keeps_the_tokens(rep):
    _, token = api_token_create(user=rep)

    rep.first_name = "Renamed"
    rep.save()
    # Every sign-in stamps last_login, through the token endpoint too.
    response = APIClient(REMOTE_ADDR="192.0.2.3").post(
        TOKEN_URL, {"username": "rep", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert works(token)


def test_plain_text_tokens_of_before_are_carried_over_hashed_and_still_work(rep):
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token "
            "(key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, user_id integer)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [old_key, rep.pk])
    migration = importlib.import_module("accounts.migrations.0002_hash_plain_tokens")

    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(apps, editor)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
    row = ApiToken.objects.get(user=rep)
    assert old_key not in row.digest
    assert row.expiry is not None
    assert works(old_key)
