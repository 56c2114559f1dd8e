"""The role groups match the permission matrix, and docs/permissions.md tells the truth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.roles import PERMISSION_MATRIX, ROLES, role_permissions, roles_sync

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"

pytestmark = pytest.mark.django_db


def _group_perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


@pytest.mark.parametrize("role", ROLES)
def test_each_group_holds_exactly_its_matrix_permissions(role):
    assert _group_perms(role) == role_permissions(role)


def test_sync_undoes_a_hand_edit_of_a_group():
    support = Group.objects.get(name="Support")
    support.permissions.add(Permission.objects.get(codename="delete_customer"))

    roles_sync()

    assert "customers.delete_customer" not in _group_perms("Support")


def test_users_of_a_role_hold_its_permissions(role_users):
    for role, user in role_users.items():
        for perm in PERMISSION_MATRIX:
            assert user.has_perm(perm) == (perm in role_permissions(role)), (role, perm)


def test_permissions_doc_matches_the_matrix():
    header = "| What the user may do | Permission | " + " | ".join(ROLES) + " |"
    text = DOC.read_text()
    assert header in text
    documented: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = re.match(r"\|[^|]+\| `([a-z_]+\.[a-z_]+)` \|(.+)\|$", line)
        if not match or len(match.group(2).split("|")) != len(ROLES):
            continue
        cells = [cell.strip() for cell in match.group(2).split("|")]
        documented[match.group(1)] = {
            role for role, cell in zip(ROLES, cells, strict=True) if cell == "✓"
        }
    expected = {perm: set(roles) for perm, (_, roles) in PERMISSION_MATRIX.items()}
    assert documented == expected
