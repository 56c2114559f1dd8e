"""The customer list's CSV export: the list's filters and order, streamed, gated by
`customers.export_customer`, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from accounts.roles import ROLES
from common.csv import cell_safe
from customers import exports
from tests.permissions_doc import documented_may

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(response: Any) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        ("\r=1", "'\r=1"),
        ("", ""),
        (None, ""),
        # Numbers stay numbers, and so does text that is only a plain number.
        (-5, -5),
        (12, 12),
        (-12.5, -12.5),
        (Decimal("-1.50"), Decimal("-1.50")),
        ("-12.5", "-12.5"),
        ("-3", "-3"),
        ("-1e5", "'-1e5"),
        ("-12.5)", "'-12.5)"),
    ],
)
def test_cells_that_would_start_a_formula_get_an_apostrophe(value: Any, expected: Any) -> None:
    assert cell_safe(value) == expected


def test_the_export_has_the_lists_filters_and_order(marketer, customer_factory) -> None:
    older = customer_factory(email="older@x.example", tags=["vip"], stage="purchase")
    newer = customer_factory(email="newer@x.example", tags=["vip"], stage="purchase")
    customer_factory(email="other-stage@x.example", tags=["vip"])
    customer_factory(email="no-tag@x.example", stage="purchase")

    response = client_for(marketer).get(
        reverse("customers:export"), {"tag": "vip", "stage": "purchase", "sort": "email"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    exported = rows(response)
    assert [row["email"] for row in exported] == ["newer@x.example", "older@x.example"]
    assert exported[1]["id"] == str(older.pk)
    assert exported[0]["id"] == str(newer.pk)
    assert (exported[0]["stage"], exported[0]["phase"], exported[0]["tags"]) == (
        "purchase",
        "engage",
        "vip",
    )


def test_without_filters_every_customer_is_exported_not_just_a_page(
    marketer, customer_factory, monkeypatch
) -> None:
    monkeypatch.setattr(exports, "EXPORT_CHUNK", 2)  # several chunks through the cursor
    created = [customer_factory() for _ in range(7)]

    response = client_for(marketer).get(reverse("customers:export"), {"page": "2"})

    exported = [int(row["id"]) for row in rows(response)]
    assert exported == sorted((c.pk for c in created), reverse=True)  # the list: newest first


def test_exported_text_cannot_run_as_a_formula(marketer, customer_factory) -> None:
    customer_factory(
        email="formula@x.example",
        first_name='=HYPERLINK("http://evil.example","Click")',
        last_name="@SUM(1+1)",
        company="-2+3",
        phone="+1 555 0100",
        tags=["=cmd"],
    )

    [row] = rows(client_for(marketer).get(reverse("customers:export")))

    assert row["first_name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["last_name"] == "'@SUM(1+1)"
    assert row["company"] == "'-2+3"
    assert row["phone"] == "'+1 555 0100"
    assert row["tags"] == "'=cmd"
    assert row["email"] == "formula@x.example"


def test_invalid_filters_show_the_list_with_its_errors_instead_of_a_file(marketer) -> None:
    response = client_for(marketer).get(reverse("customers:export"), {"stage": "nowhere"})

    assert response.status_code == 400
    assert not isinstance(response, StreamingHttpResponse)
    assert "There is no stage" in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_the_button_and_the_export_follow_the_role_matrix(
    role, role_users, customer_factory
) -> None:
    customer_factory(tags=["vip"])
    client = client_for(role_users[role])
    allowed = documented_may(role, "customers.export_customer")

    page = client.get(reverse("customers:list"), {"tag": "vip", "page": "1"})
    export = client.get(reverse("customers:export"), {"tag": "vip"})

    button = f'href="{reverse("customers:export")}?tag=vip"'
    assert (button in page.content.decode()) == allowed
    assert export.status_code == (200 if allowed else 403)
