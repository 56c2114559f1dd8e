"""The OpenAPI 3 schema at /api/schema/ and the interactive docs at /api/docs/.

The schema is what integrators build clients from: it must be valid, generated without
warnings, cover every route of the API with every method, and document the errors each
operation can return. The docs page must work offline (no CDN).
"""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

from flywheel_crm import api_urls

API_PREFIX = "/api/v1/"
PUBLIC_OPERATIONS = {"auth_token_create"}
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The schema as served to a client that asks for JSON."""
    response = APIClient().get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_schema_is_openapi_3_in_yaml_and_json() -> None:
    client = APIClient()

    as_yaml = client.get(reverse("api-schema"))
    as_json = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert as_yaml.status_code == as_json.status_code == 200
    parsed = yaml.safe_load(as_yaml.content)
    assert str(parsed["openapi"]).startswith("3")
    assert parsed["paths"]
    assert json.loads(as_json.content) == parsed


def test_generation_is_valid_and_emits_no_warnings(tmp_path: Path) -> None:
    GENERATOR_STATS.reset()
    errors = StringIO()

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
        stderr=errors,
    )

    assert not GENERATOR_STATS, errors.getvalue()
    assert errors.getvalue() == ""
    generated = yaml.safe_load((tmp_path / "schema.yaml").read_text())
    assert str(generated["openapi"]).startswith("3")


def test_every_route_and_method_of_the_api_is_documented(schema: dict[str, Any]) -> None:
    def shape(path: str) -> str:  # "/customers/{id}/" and "customers/<int:pk>/" alike
        return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", path)

    documented = {(shape(path), method) for path, method, _ in operations(schema)}
    routed = {
        (shape(API_PREFIX + str(pattern.pattern)), method)
        for pattern in api_urls.urlpatterns
        for method in METHODS
        # as_view() sets view_class on the function; the stubs type it as a bare callable.
        if hasattr(pattern.callback.view_class, method)  # type: ignore[attr-defined]
    }

    assert routed
    assert routed <= documented, routed - documented


def test_every_operation_documents_its_errors(schema: dict[str, Any]) -> None:
    missing = []
    for path, method, operation in operations(schema):
        parameters = operation.get("parameters", [])
        takes_input = "requestBody" in operation or any(p["in"] == "query" for p in parameters)
        needed = set()
        if takes_input:
            needed.add("400")
        if operation["operationId"] not in PUBLIC_OPERATIONS:
            needed |= {"401", "403"}
        if any(p["in"] == "path" for p in parameters):
            needed.add("404")
        responses = operation["responses"]
        for code in sorted(needed):
            if code not in responses or not responses[code].get("description"):
                missing.append(f"{method.upper()} {path}: {code}")
        if not any(code.startswith("2") for code in responses):
            missing.append(f"{method.upper()} {path}: no success response")

    assert not missing


def test_protected_operations_declare_token_auth(schema: dict[str, Any]) -> None:
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    for _, _, operation in operations(schema):
        if operation["operationId"] in PUBLIC_OPERATIONS:
            continue
        assert {"tokenAuth": []} in operation["security"], operation["operationId"]


def test_interactive_docs_render_from_local_assets_only() -> None:
    response = APIClient().get(reverse("api-docs"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for external in ("cdn.", "jsdelivr", "unpkg"):
        assert external not in html, external
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    # Swagger UI's start-up script is a file of its own (no inline script under the CSP).
    script_url = f"{reverse('api-docs')}?script="
    assets.remove(script_url)
    script = APIClient().get(script_url)
    assert script["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in script.content.decode()
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file"
