"""The static list's members form: a source that is not a segment id is an error shown on the
page, not a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from segments.models import SegmentMember
from segments.services import segment_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("source", ["abc", "1\x00", "1.5"])
def test_adding_members_from_a_source_that_is_not_an_id_says_so(
    client: Client, admin_user: User, source: str
) -> None:
    listed = segment_create(name="Listed", kind="static", created_by=admin_user)
    client.force_login(admin_user)

    response = client.post(f"/segments/{listed.pk}/members/", {"source": source}, follow=True)

    assert response.status_code == 200
    assert "Choose a segment to add from." in response.content.decode()
    assert not SegmentMember.objects.filter(segment=listed).exists()
