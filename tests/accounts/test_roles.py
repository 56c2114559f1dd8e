"""The role groups match the permission matrix, and docs/permissions.md tells the truth."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.roles import PERMISSION_MATRIX, ROLES, role_permissions, roles_sync
from tests.permissions_doc import DOCUMENTED_GRANTS, DOCUMENTED_ROLES

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
    assert DOCUMENTED_ROLES == ROLES
    expected = {perm: set(roles) for perm, (_, roles) in PERMISSION_MATRIX.items()}
    assert {perm: set(roles) for perm, roles in DOCUMENTED_GRANTS.items()} == expected
