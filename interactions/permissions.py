"""Row-level rules on top of the role matrix: people change what is theirs.

A user with `change_interaction` edits and deletes the interactions they logged; with
`change_any_interaction` (Admin) anyone's; with `close_any_case` (Support, Admin) close any
support case. Tasks: the assignee or the creator, or anyone
with `change_any_task`.
"""

from __future__ import annotations

from typing import Any

from interactions.models import Interaction, Task


def can_change_interaction(user: Any, interaction: Interaction) -> bool:
    if not user.has_perm("interactions.change_interaction"):
        return False
    return interaction.logged_by_id == user.pk or user.has_perm(
        "interactions.change_any_interaction"
    )


def can_delete_interaction(user: Any, interaction: Interaction) -> bool:
    if not user.has_perm("interactions.delete_interaction"):
        return False
    return interaction.logged_by_id == user.pk or user.has_perm(
        "interactions.change_any_interaction"
    )


def can_change_task(user: Any, task: Task) -> bool:
    if not user.has_perm("interactions.change_task"):
        return False
    return user.pk in (task.assignee_id, task.created_by_id) or user.has_perm(
        "interactions.change_any_task"
    )


def can_close_case(user: Any, interaction: Interaction) -> bool:
    """Support closes any case (one logged by a colleague or an integration); others, their own."""
    if user.has_perm("interactions.close_any_case"):
        return True
    return can_change_interaction(user, interaction)
