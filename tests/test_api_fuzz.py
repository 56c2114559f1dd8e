"""Fuzz the whole API: no request an operation's schema allows, or nearly allows, is a 500,
and every answer is one the schema describes.

Schemathesis reads the schema the app serves at /api/schema/ and, for every operation,
generates requests as an Admin — valid ones, and ones that break the schema in one place (a
wrong type, a missing field, a value out of range), with NUL characters, lone surrogates and
odd shapes among the strings — checking that the answer is not a server error, and that its
status code, Content-Type, headers and body are the ones the schema documents for the
operation: the schema, docs/api.md and the responses are one contract.

It runs in-process on the WSGI app against the test database, each operation in its own test
and transaction (fuzzing writes records; the transaction takes them back). Hypothesis is
derandomized, so a run in CI sends the same requests as on a laptop, and the examples are few
so that the whole API takes about a minute. The operations are parametrized here rather than
by Schemathesis's own pytest collector, which gives them all one node id under pytest 9.
The requests that answered 500 before are pinned in tests/common/test_unstorable_input.py.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err
from werkzeug.test import Client

from accounts.roles import ADMIN
from consent.services import consent_record
from interactions.services import interaction_log
from tests.factories import CustomerFactory, UserFactory

PASSWORD = "fuzz-Pa55word-long"
# A deeper run on a laptop: FLYWHEEL_FUZZ_EXAMPLES=200 pytest tests/test_api_fuzz.py
EXAMPLES = int(os.environ.get("FLYWHEEL_FUZZ_EXAMPLES", "8"))

_ADDRESSES = itertools.count()

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def wsgi_app(db: None) -> Iterator[Any]:
    """The app as a server runs it, on the test's transaction.

    Django closes the connection at the end of each request; here that would end the test's
    transaction, so the app is called as Django's own test client calls it, without it.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield SCHEMA.app
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def admin_headers(wsgi_app: Any) -> dict[str, str]:
    """An Admin's credentials, obtained as an integration obtains them.

    Each test asks from its own address: the token endpoint takes so many requests a minute
    from one, and the whole API is fuzzed in less.
    """
    UserFactory.create(role=ADMIN, username="fuzz-admin", password=PASSWORD)
    number = next(_ADDRESSES)
    response = Client(wsgi_app).post(
        "/api/v1/auth/token/",
        json={"username": "fuzz-admin", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": f"198.18.{number // 250}.{number % 250 + 1}"},
    )
    assert response.status_code == 200, response.text
    token = json.loads(response.get_data(as_text=True))["token"]
    return {"Authorization": f"Token {token}"}


# Valid requests, and requests that break the schema in one place (a wrong type, a missing
# field, a value out of range): the second kind is where handlers let errors through.
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _operations() -> dict[str, schemathesis.APIOperation]:
    operations = {}
    for result in SCHEMA.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation the schema describes wrongly fails the collection
        operation = result.ok()
        operations[operation.definition.raw["operationId"]] = operation
    return operations


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

OPERATIONS = _operations()
OPERATION_IDS = sorted(OPERATIONS)


# One test per operation (`test_no_server_error[forms_create]`), so that a failure names its
# operation and pytest-xdist can spread them.
@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_no_server_error(operation_id: str, admin_headers: dict[str, str]) -> None:
    operation = OPERATIONS[operation_id]
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in MODES))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        # The fixtures are per test, not per example, on purpose: one transaction per operation.
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def send(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=admin_headers, checks=CHECKS)

    send()


def test_the_fuzzer_covers_every_operation() -> None:
    """A schema that failed to load, or lost its operations, would fuzz nothing and pass."""
    assert len(OPERATION_IDS) > 100
    assert {"forms_create", "forms_partial_update", "surveys_responses_list"} <= set(OPERATION_IDS)


def test_stored_records_answer_as_their_schema_says(
    wsgi_app: Any, admin_headers: dict[str, str]
) -> None:
    """The fuzzer starts from an empty database; records written by other paths (the
    dashboard, a public form, the system) hold values its requests never produce: an
    interaction without a channel, a consent change nobody signed in made."""
    customer = CustomerFactory.create()
    interaction = interaction_log(customer=customer, kind="note", summary="Met", logged_by=None)
    consent_record(customer=customer, channel="email", granted=True, method="form")
    client = Client(wsgi_app)
    for path, template, method in [
        (f"/api/v1/interactions/{interaction.pk}/", "/interactions/{id}/", "GET"),
        ("/api/v1/interactions/", "/interactions/", "GET"),
        (f"/api/v1/customers/{customer.pk}/consent/", "/customers/{id}/consent/", "GET"),
        (f"/api/v1/customers/{customer.pk}/timeline/", "/customers/{id}/timeline/", "GET"),
    ]:
        response = client.open(path, method=method, headers=admin_headers)
        assert response.status_code == 200, (path, response.text)
        SCHEMA[f"/api/v1{template}"][method].validate_response(response)
