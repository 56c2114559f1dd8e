"""`Idempotency-Key` on the API's writes: a resend gets the first answer and writes nothing.

docs/api.md ("Retries and Idempotency-Key"): the key is the user's, bound to the method, path
and body of its first request; a resend of that request replays the stored answer (marked
`Idempotent-Replayed: true`); the same key with another request is a 409; the key's answer
is committed in the same transaction as the request's writes, so a web process killed
before the commit left nothing and one killed after it left the answer to replay.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import SALES_REP
from accounts.services import api_token_create
from common.api import idempotency
from common.models import Event, IdempotencyKey
from common.tasks import idempotency_keys_prune
from customers.models import Customer
from interactions.models import Interaction, Task
from tests.common import idempotency_urls
from tests.realworld import ROOT, free_port, worker_env

BATCH = reverse("api:interaction-batch")
KEY = "7f1c2a9e-batch-0001"


def batch(customer: Customer, size: int = 3, summary: str = "Called") -> dict[str, Any]:
    return {
        "items": [
            {"customer": customer.pk, "kind": "call", "summary": f"{summary} {i}"}
            for i in range(size)
        ]
    }


def logged(customer: Customer) -> int:
    return Interaction.objects.filter(customer=customer).count()


def wait_until(check: Callable[[], bool], *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def rep_api(api_as: Callable[[User], APIClient], sales_rep: User) -> APIClient:
    return api_as(sales_rep)


@pytest.fixture
def customer(customer_factory: Any) -> Customer:
    return customer_factory()


# --- the same request again -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_resent_with_its_key_is_written_once_and_answered_the_same(rep_api, customer):
    first = rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == again.status_code == 200
    assert first.json()["created"] == 3
    assert again.json() == first.json()
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert logged(customer) == 3


@pytest.mark.django_db
def test_the_same_data_serialised_differently_is_the_same_request(rep_api, customer):
    pk = customer.pk
    body = f'{{"items": [{{"customer": {pk}, "kind": "call", "summary": "Hi"}}]}}'
    reordered = f'{{"items":[{{"summary":"Hi","kind":"call","customer":{pk}}}]}}'

    rep_api.generic("POST", BATCH, body, "application/json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = rep_api.generic("POST", BATCH, reordered, "application/json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert logged(customer) == 1


@pytest.mark.django_db
def test_without_a_key_a_resent_batch_is_written_again(rep_api, customer):
    rep_api.post(BATCH, batch(customer), format="json")
    again = rep_api.post(BATCH, batch(customer), format="json")

    assert again.status_code == 200
    assert "Idempotent-Replayed" not in again
    assert logged(customer) == 6


@pytest.mark.django_db
def test_a_resent_delete_and_patch_answer_as_the_first_time(
    rep_api, sales_rep, customer, customer_factory
):
    interaction = Interaction.objects.get(
        pk=rep_api.post(BATCH, batch(customer, size=1), format="json").json()["results"][0]["id"]
    )
    detail = reverse("api:interaction-detail", args=[interaction.pk])
    task = rep_api.post(
        reverse("api:task-list"),
        {
            "customer": customer.pk,
            "title": "Call back",
            "due_at": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        format="json",
    ).json()
    complete = reverse("api:task-complete", args=[task["id"]])

    deleted = [rep_api.delete(detail, HTTP_IDEMPOTENCY_KEY="del-1") for _ in range(2)]
    completed = [rep_api.post(complete, HTTP_IDEMPOTENCY_KEY="done-1") for _ in range(2)]

    # Without the key the second DELETE is a 404 and the second completion a 400 on `state`.
    assert [r.status_code for r in deleted] == [204, 204]
    assert deleted[1]["Idempotent-Replayed"] == "true"
    assert not deleted[1].content
    assert not Interaction.objects.filter(pk=interaction.pk).exists()
    assert [r.status_code for r in completed] == [200, 200]
    assert completed[1].json() == completed[0].json()
    assert Task.objects.get(pk=task["id"]).state == "done"


# --- the same key for another request ------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_409_and_writes_nothing(rep_api, customer):
    rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    other = rep_api.post(
        BATCH, batch(customer, summary="Emailed"), format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )

    assert other.status_code == 409
    assert list(other.json()) == ["Idempotency-Key"]
    assert "another request" in other.json()["Idempotency-Key"][0]
    assert logged(customer) == 3


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_409(rep_api, customer):
    rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    other = rep_api.post(
        reverse("api:interaction-list"),
        {"customer": customer.pk, "kind": "call", "summary": "Called 0"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )

    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()
    assert logged(customer) == 3


@pytest.mark.django_db
def test_keys_of_different_users_never_meet(api_as, make_user, customer):
    ann, bob = api_as(make_user(SALES_REP)), api_as(make_user(SALES_REP))

    ann_first = ann.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    bob_first = bob.post(
        BATCH, batch(customer, summary="Bob"), format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )
    ann_again = ann.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert (ann_first.status_code, bob_first.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in bob_first
    assert ann_again.json() == ann_first.json()
    assert ann_again["Idempotent-Replayed"] == "true"
    assert logged(customer) == 6


# --- bad keys, refused requests -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "naïve"])
def test_a_malformed_key_is_400_naming_the_header_and_writes_nothing(rep_api, customer, bad):
    response = rep_api.post(
        BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=bad.encode().decode("latin-1")
    )

    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    assert logged(customer) == 0


@pytest.mark.django_db
def test_a_key_without_credentials_is_still_a_401(customer):
    response = APIClient().post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 401
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_a_refused_request_keeps_nothing_so_its_key_serves_the_corrected_one(rep_api, customer):
    refused = rep_api.post(BATCH, {"items": []}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    corrected = rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert refused.status_code == 400
    assert "items" in refused.json()
    assert corrected.status_code == 200
    assert "Idempotent-Replayed" not in corrected
    assert again["Idempotent-Replayed"] == "true"
    assert logged(customer) == 3


# --- failures ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls("tests.common.idempotency_urls")
@pytest.mark.parametrize("fail", ["raise", "503"])
def test_a_request_that_fails_keeps_nothing_and_its_resend_runs(rep_api, fail, monkeypatch):
    monkeypatch.setitem(idempotency_urls.failures_left, "count", 1)
    rep_api.raise_request_exception = False
    body = {"fail": fail}

    failed = rep_api.post("/api/v1/flaky/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert failed.status_code >= 500
    assert not Event.objects.filter(name=idempotency_urls.FLAKY_EVENT).exists()

    resent = rep_api.post("/api/v1/flaky/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = rep_api.post("/api/v1/flaky/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert resent.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in resent
    assert again.json() == resent.json()
    assert Event.objects.filter(name=idempotency_urls.FLAKY_EVENT).count() == 1


# --- retention -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_prune_forgets_keys_past_their_retention_and_keeps_the_recent_ones(rep_api, customer):
    rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY="old")
    rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY="recent")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - idempotency.RETENTION - timedelta(minutes=1)
    )
    IdempotencyKey.objects.filter(key="recent").update(
        created_at=timezone.now() - idempotency.RETENTION + timedelta(minutes=5)
    )

    assert idempotency_keys_prune() == 1

    recent = rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY="recent")
    old = rep_api.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert recent["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in old  # forgotten: it ran again
    assert logged(customer) == 9
    assert settings.CELERY_BEAT_SCHEDULE["idempotency-keys-prune"]["task"] == (
        "common.tasks.idempotency_keys_prune"
    )


# --- two at once ---------------------------------------------------------------------------


class Sender(threading.Thread):
    """Sends one request on its own database connection; keeps its backend's pid."""

    def __init__(self, send: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.send = send
        self.pid: int | None = None
        self.response: Any = None
        self.error: BaseException | None = None
        self._connected = threading.Event()

    def backend_pid(self) -> int:
        assert self._connected.wait(30), "the sender never connected"
        assert self.pid is not None
        return self.pid

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self._connected.set()
            self.response = self.send()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connection.close()


def wait_blocked_by_me(count: int, *, timeout: float = 30) -> list[int]:
    """Wait until `count` backends wait for a lock this connection's transaction holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT pid FROM pg_locks "
                "WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            pids = [row[0] for row in cursor.fetchall()]
        if len(pids) >= count:
            return pids
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} requests waited")


def backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return bool(cursor.fetchone()[0])


def wait_blocked(pid: int, *, timeout: float = 30) -> None:
    """Wait until backend `pid` waits for a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} never waited")


def post_batch(token: str, customer: Customer) -> Callable[[], Any]:
    def send() -> Any:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client.post(BATCH, batch(customer), format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    return send


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_write_once(sales_rep, customer):
    token = api_token_create(user=sales_rep)[1]
    senders = [Sender(post_batch(token, customer)) for _ in range(2)]

    # Hold the customer's row: the first request to get in stops at its first write, inside
    # its transaction, and the other one arrives while it is running.
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)
        for sender in senders:
            sender.start()
        for sender in senders:
            wait_blocked(sender.backend_pid())
    for sender in senders:
        sender.join(60)

    assert [s.error for s in senders] == [None, None]
    responses = [s.response for s in senders]
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert logged(customer) == 3


@pytest.mark.django_db(transaction=True)
def test_a_request_waiting_too_long_for_its_key_is_409_in_progress(
    sales_rep, customer, monkeypatch
):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.5)
    token = api_token_create(user=sales_rep)[1]
    first, second = Sender(post_batch(token, customer)), Sender(post_batch(token, customer))

    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)
        first.start()
        wait_blocked_by_me(1)  # the first holds the key and waits for the customer
        second.start()
        second.join(30)
    first.join(60)

    assert first.error is None
    assert second.error is None
    assert second.response.status_code == 409
    assert second.response["Retry-After"] == "1"
    assert "in progress" in second.response.json()["Idempotency-Key"][0]
    assert first.response.status_code == 200
    assert logged(customer) == 3
    again = post_batch(token, customer)()
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.response.json()


# --- the web process killed ----------------------------------------------------------------


class WebServer:
    """gunicorn serving the app on the test database, killable like a crash."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "flywheel_crm.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--timeout", "120",
            ],
            cwd=ROOT,
            env=worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # SIGKILL reaches the worker too
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise AssertionError("gunicorn did not start")

    def send(self, body: bytes, *, token: str) -> socket.socket:
        """Send a keyed batch and leave the answer unread, as a client that lost it."""
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        conn.sendall(
            (
                f"POST {BATCH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Token {token}\r\nIdempotency-Key: {KEY}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            + body
        )
        return conn

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture
def web_server(transactional_db: None) -> Iterator[Callable[[], WebServer]]:
    started: list[WebServer] = []

    def start() -> WebServer:
        started.append(WebServer())
        return started[-1]

    yield start
    for server in started:
        server.kill()


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_web_process_died_after_the_commit_is_replayed_not_rewritten(
    web_server, sales_rep, customer
):
    token = api_token_create(user=sales_rep)[1]
    server = web_server()

    conn = server.send(json.dumps(batch(customer, size=100)).encode(), token=token)
    wait_until(lambda: logged(customer) == 100)  # committed: the rows are visible
    server.kill()
    conn.close()

    resent = post_batch_sized(token, customer, 100)
    assert resent.status_code == 200
    assert resent["Idempotent-Replayed"] == "true"
    assert resent.json()["created"] == 100
    assert logged(customer) == 100


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_web_process_died_before_the_commit_runs_afresh_when_resent(
    web_server, sales_rep, customer
):
    token = api_token_create(user=sales_rep)[1]
    server = web_server()

    with transaction.atomic():
        # The request stops at its first write, its key's row inserted but not committed.
        Customer.objects.select_for_update().get(pk=customer.pk)
        conn = server.send(json.dumps(batch(customer, size=100)).encode(), token=token)
        (dead,) = wait_blocked_by_me(1)
        server.kill()
    conn.close()
    # PostgreSQL rolls the dead request back when it next speaks to its client.
    wait_until(lambda: not backend_alive(dead))
    assert logged(customer) == 0
    assert not IdempotencyKey.objects.exists()

    resent = post_batch_sized(token, customer, 100)
    again = post_batch_sized(token, customer, 100)
    assert resent.status_code == 200
    assert "Idempotent-Replayed" not in resent
    assert again["Idempotent-Replayed"] == "true"
    assert logged(customer) == 100


def post_batch_sized(token: str, customer: Customer, size: int) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.post(BATCH, batch(customer, size=size), format="json", HTTP_IDEMPOTENCY_KEY=KEY)


# --- the schema ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_write_operation_documents_the_key_its_409_and_its_success_headers() -> None:
    schema = json.loads(APIClient().get(reverse("api-schema"), {"format": "json"}).content)

    writes = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch", "delete")
        and operation["operationId"] != "auth_token_create"
    ]
    assert writes
    for path, method, operation in writes:
        headers = [p for p in operation.get("parameters", []) if p.get("in") == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], (method, path)
        assert headers[0]["required"] is False
        assert headers[0]["schema"]["maxLength"] == 255
        assert "409" in operation["responses"], (method, path)
        successes = [r for code, r in operation["responses"].items() if code.startswith("2")]
        assert successes, (method, path)
        for response in successes:
            assert {"Idempotent-Replayed", "Flywheel-Queue-Delayed"} <= set(response["headers"])
