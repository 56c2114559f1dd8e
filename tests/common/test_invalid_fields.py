"""One error type for a request with several fields at fault: the API answers every field,
each under its own key (its path inside a field where it is nested), and nothing is written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from automation.services import RuleInvalidError
from common.exceptions import ApplicationError, InvalidFieldsError
from leadforms.services import InvalidInputError
from messaging.services import TemplateInvalidError
from segments.definition import DefinitionInvalidError

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(api_as: Callable[[User], APIClient], admin_user: User) -> APIClient:
    return api_as(admin_user)


@pytest.mark.parametrize(
    ("url", "body", "fields"),
    [
        (
            "/api/v1/forms/",
            {"name": "X", "slug": "?", "fields": [{"name": "x", "label": "X", "type": "bogus"}]},
            {"slug", "fields[0].type"},
        ),
        (
            "/api/v1/automation/rules/",
            {"name": "", "trigger_type": "no-such-trigger", "actions": []},
            {"name", "trigger_type"},
        ),
        (
            "/api/v1/segments/",
            {"name": "S", "definition": {"op": "xor", "rules": [{"field": "nope"}]}},
            {"definition.op", "definition.rules[0].field"},
        ),
        (
            "/api/v1/templates/",
            {"name": "", "channel": "email", "kind": "marketing", "subject": "", "body_text": ""},
            {"name", "body_text"},
        ),
    ],
)
def test_every_field_at_fault_is_named_at_once(
    admin_api: APIClient, url: str, body: dict, fields: set[str]
) -> None:
    before = admin_api.get(url).json()

    response = admin_api.post(url, body, format="json")

    assert response.status_code == 400, response.content
    assert fields <= set(response.json()), response.json()
    assert all(isinstance(messages, list) and messages for messages in response.json().values())
    assert admin_api.get(url).json() == before


@pytest.mark.parametrize(
    "error_type",
    [RuleInvalidError, DefinitionInvalidError, InvalidInputError, TemplateInvalidError],
)
def test_each_domain_names_its_fields_with_the_one_error_type(error_type: type) -> None:
    error = error_type({"name": ["Give it a name."], "fields[1].type": ["Unknown type."]})

    assert isinstance(error, InvalidFieldsError)
    assert isinstance(error, ApplicationError)
    assert error.as_dict() == {"name": ["Give it a name."], "fields[1].type": ["Unknown type."]}
    assert (error.field, error.message) == ("name", "Give it a name.")


def test_an_error_without_a_field_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        InvalidFieldsError({})
