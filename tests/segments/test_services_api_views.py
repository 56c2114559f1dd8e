"""Static lists, freeze, preview, CSV export, the API and the dashboard pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from segments.models import Segment, SegmentMember
from segments.selectors import definition_preview, segment_count, segment_customers
from segments.services import (
    SegmentInvalidError,
    segment_create,
    segment_freeze,
    segment_members_add,
    segment_members_remove,
    segment_update,
)

pytestmark = pytest.mark.django_db

VIP = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_dynamic_segment_and_preview(world) -> None:
    segment = segment_create(name="VIPs", definition=VIP)
    assert ids(segment_customers(segment)) == world.ids("a", "c", "e")
    assert segment_count(segment) == 3
    count, first = definition_preview(VIP, limit=2)
    assert count == 3
    assert [c.pk for c in first] == sorted(world.ids("a", "c", "e"), reverse=True)[:2]


def test_create_and_update_errors_are_keyed_by_field(world) -> None:
    segment_create(name="VIPs", definition=VIP)
    with pytest.raises(SegmentInvalidError) as caught:
        segment_create(
            name="vips",
            kind="dynamic",
            definition={"op": "and", "rules": [{"field": "tags", "op": "has", "value": []}]},
        )
    assert set(caught.value.errors) == {"name", "definition.rules[0].op"}
    static = segment_create(name="List", kind="static")
    with pytest.raises(SegmentInvalidError) as caught:
        segment_update(segment=static, data={"kind": "dynamic"})
    assert set(caught.value.errors) == {"kind"}


def test_static_list_members(world) -> None:
    static = segment_create(name="List", kind="static")
    a, b = world.customers["a"].pk, world.customers["b"].pk
    assert segment_members_add(segment=static, customer_ids=[a, b, a]) == 2
    assert segment_members_add(segment=static, customer_ids=[a]) == 0
    assert ids(segment_customers(static)) == {a, b}
    assert segment_members_add(segment=static, definition=VIP) == 2  # c and e; a already in
    assert ids(segment_customers(static)) == world.ids("a", "b", "c", "e")
    assert segment_members_remove(segment=static, customer_ids=[b, 999999]) == 1
    assert ids(segment_customers(static)) == world.ids("a", "c", "e")
    with pytest.raises(SegmentInvalidError) as caught:
        segment_members_add(segment=static, customer_ids=[999999])
    assert set(caught.value.errors) == {"customer_ids"}
    dynamic = segment_create(name="VIPs", definition=VIP)
    with pytest.raises(SegmentInvalidError):
        segment_members_add(segment=dynamic, customer_ids=[a])


def test_freeze_copies_todays_members(world) -> None:
    dynamic = segment_create(name="VIPs", definition=VIP)
    frozen = segment_freeze(segment=dynamic, name="VIPs today")
    assert frozen.kind == "static"
    assert ids(segment_customers(frozen)) == world.ids("a", "c", "e")
    world.customers["b"].tags = ["vip"]
    world.customers["b"].save(update_fields=["tags"])
    assert ids(segment_customers(dynamic)) == world.ids("a", "b", "c", "e")
    assert ids(segment_customers(frozen)) == world.ids("a", "c", "e")


def test_csv_export_streams_the_members(client, admin_user, world) -> None:
    segment = segment_create(name="VIPs", definition=VIP)
    client.force_login(admin_user)
    response = client.get(reverse("segments:export", args=[segment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == sorted(world.ids("a", "c", "e"))
    first = rows[0]
    assert first["email"] == "a@seg.example"
    assert first["stage"] == "awareness"
    assert first["tags"] == "vip"


def test_export_needs_the_export_permission(client, support, world) -> None:
    segment = segment_create(name="VIPs", definition=VIP)
    client.force_login(support)
    assert client.get(reverse("segments:export", args=[segment.pk])).status_code == 403
    assert client.get(reverse("segments:detail", args=[segment.pk])).status_code == 200


def test_api_crud_preview_count_customers(api_as, marketer, world) -> None:
    api = api_as(marketer)
    response = api.post(
        reverse("api:segment-list"), {"name": "VIPs", "definition": VIP}, format="json"
    )
    assert response.status_code == 201, response.data
    pk = response.data["id"]
    assert api.get(reverse("api:segment-count", args=[pk])).data == {"count": 3}
    page = api.get(reverse("api:segment-customers", args=[pk]), {"page_size": 2})
    assert [c["id"] for c in page.data["results"]] == sorted(
        world.ids("a", "c", "e"), reverse=True
    )[:2]
    assert page.data["next"]
    rest = api.get(page.data["next"])
    assert [c["id"] for c in rest.data["results"]] == [min(world.ids("a", "c", "e"))]

    preview = api.post(reverse("api:segment-preview"), {"definition": VIP}, format="json")
    assert preview.data["count"] == 3
    assert len(preview.data["results"]) == 3

    bad = {"op": "and", "rules": [VIP["rules"][0], {"field": "stage", "op": "in", "value": ["x"]}]}
    response = api.post(reverse("api:segment-preview"), {"definition": bad}, format="json")
    assert response.status_code == 400
    assert response.data == {"definition.rules[1].value": ["Unknown stages: x."]}
    response = api.patch(reverse("api:segment-detail", args=[pk]), {"definition": bad}, "json")
    assert response.status_code == 400
    assert "definition.rules[1].value" in response.data


def test_api_static_members(api_as, marketer, world) -> None:
    api = api_as(marketer)
    pk = api.post(reverse("api:segment-list"), {"name": "L", "kind": "static"}, "json").data["id"]
    a = world.customers["a"].pk
    response = api.post(reverse("api:segment-members-add", args=[pk]), {"customer_ids": [a]})
    assert response.data == {"changed": 1, "count": 1}
    response = api.post(
        reverse("api:segment-members-add", args=[pk]), {"definition": VIP}, format="json"
    )
    assert response.data == {"changed": 2, "count": 3}
    response = api.post(
        reverse("api:segment-members-remove", args=[pk]), {"customer_ids": [a]}, format="json"
    )
    assert response.data == {"changed": 1, "count": 2}
    assert SegmentMember.objects.filter(segment_id=pk).count() == 2


def test_dashboard_pages(client, marketer, world) -> None:
    client.force_login(marketer)
    segment = segment_create(name="VIPs", definition=VIP)
    listing = client.get(reverse("segments:list"))
    assert listing.status_code == 200
    assert "VIPs" in listing.content.decode()
    assert client.get(reverse("segments:create")).status_code == 200

    import json

    form = {"name": "Buyers", "kind": "dynamic", "description": ""}
    preview = client.post(
        reverse("segments:create"),
        {**form, "definition": json.dumps(VIP), "preview": "1"},
    )
    assert preview.status_code == 200
    assert "3 customers match now" in preview.content.decode()
    assert not Segment.objects.filter(name="Buyers").exists()

    bad = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": 1}]}
    response = client.post(reverse("segments:create"), {**form, "definition": json.dumps(bad)})
    assert response.status_code == 400
    assert "definition.rules[0].value" in response.content.decode()

    response = client.post(reverse("segments:create"), {**form, "definition": json.dumps(VIP)})
    assert response.status_code == 302
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    assert "a@seg.example" in detail.content.decode()
    edit = client.get(reverse("segments:update", args=[segment.pk]))
    assert edit.status_code == 200


def test_segment_export_neutralises_formulas(client, marketer, customer_factory) -> None:
    customer_factory(email="f@seg.example", first_name="=1+2", company="@evil", tags=["vip"])
    segment = segment_create(name="VIPs", definition=VIP)
    client.force_login(marketer)

    response = client.get(reverse("segments:export", args=[segment.pk]))

    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["first_name"], row["company"]) == ("'=1+2", "'@evil")


def test_api_export_streams_the_segments_customers_as_csv(api_as, marketer, world) -> None:
    segment = segment_create(name="VIPs", definition=VIP)

    response = api_as(marketer).get(reverse("api:segment-export", args=[segment.pk]))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="segment-{segment.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == sorted(world.ids("a", "c", "e"))
    assert rows[0]["email"] == "a@seg.example"


def test_api_export_errors_are_json_whatever_the_client_accepts(
    api_as, marketer, support, world
) -> None:
    segment = segment_create(name="VIPs", definition=VIP)

    missing = api_as(marketer).get(
        reverse("api:segment-export", args=[999999]), HTTP_ACCEPT="text/csv"
    )
    refused = api_as(support).get(
        reverse("api:segment-export", args=[segment.pk]), HTTP_ACCEPT="text/csv"
    )

    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert refused.status_code == 403
    assert refused.json() == {"detail": "You do not have permission to perform this action."}
