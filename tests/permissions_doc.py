"""What docs/permissions.md grants, read from its table: the permission tests' expectations.

The permission tests take who may do what from the documented table, not from
`accounts.roles.PERMISSION_MATRIX`, so that a wrong grant in the code cannot pass by being
the source of its own expectation: the code's answers (status codes, shown controls) are
held against the page people read.
"""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "permissions.md"
_MATRIX_HEADING = "## The matrix"
_GRANTED, _REFUSED = "✓", "—"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_matrix(text: str) -> tuple[tuple[str, ...], dict[str, frozenset[str]]]:
    """The roles (the table's columns) and, per permission, the roles the table grants it to.

    Reads the first table under "## The matrix": columns "What the user may do",
    "Permission", then one per role; a cell is ✓ (granted) or — (refused).
    """
    lines = text.splitlines()
    start = lines.index(_MATRIX_HEADING)
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    header, rule, *rows = table
    columns = _cells(header)
    if columns[:2] != ["What the user may do", "Permission"] or not set(_cells(rule)) <= {"---"}:
        raise ValueError(f"unexpected permission table header: {header!r}")
    roles = tuple(columns[2:])
    grants: dict[str, frozenset[str]] = {}
    for row in rows:
        cells = _cells(row)
        if len(cells) != len(columns):
            raise ValueError(f"row with {len(cells)} cells, not {len(columns)}: {row!r}")
        permission = cells[1].strip("`")
        if permission in grants:
            raise ValueError(f"{permission} appears twice in the table")
        marks = cells[2:]
        if not set(marks) <= {_GRANTED, _REFUSED}:
            raise ValueError(f"a cell other than ✓ or — in {row!r}")
        grants[permission] = frozenset(
            role for role, mark in zip(roles, marks, strict=True) if mark == _GRANTED
        )
    return roles, grants


DOCUMENTED_ROLES, DOCUMENTED_GRANTS = documented_matrix(DOC.read_text(encoding="utf-8"))


def documented_may(role: str, permission: str) -> bool:
    """Whether docs/permissions.md grants `permission` to `role` (KeyError if it is missing)."""
    return role in DOCUMENTED_GRANTS[permission]
