"""Admin for automation: rules and steps, read-only.

Rules are built in the dashboard (/automation/) or over the API, where every part is
validated; here they can be looked at, paused and resumed. Steps are the record of what
automation did: they are never edited, only retried (failed ones).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from automation.models import Rule, Step, StepState
from automation.services import rule_pause, rule_resume, step_retry
from automation.triggers import trigger_describe
from common.admin import ReadOnlyAdmin


@admin.register(Rule)
class RuleAdmin(ReadOnlyAdmin):
    list_display = ["name", "is_active", "trigger", "delay_minutes", "created_by", "updated_at"]
    list_filter = ["is_active", "trigger_type"]
    search_fields = ["name"]
    actions = ["pause", "resume"]

    @admin.display(description="Trigger")
    def trigger(self, rule: Rule) -> str:
        return trigger_describe(rule.trigger_type, rule.trigger_config)

    @admin.action(description="Pause the selected rules", permissions=["view"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        if not request.user.has_perm("automation.change_rule"):
            self.message_user(request, "You may not pause rules.", messages.ERROR)
            return
        for rule in queryset:
            rule_pause(rule=rule)
        self.message_user(request, f"Paused {len(queryset)} rule(s).")

    @admin.action(description="Resume the selected rules", permissions=["view"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        if not request.user.has_perm("automation.change_rule"):
            self.message_user(request, "You may not resume rules.", messages.ERROR)
            return
        for rule in queryset:
            rule_resume(rule=rule)
        self.message_user(request, f"Resumed {len(queryset)} rule(s).")


@admin.register(Step)
class StepAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "rule",
        "customer",
        "action_type",
        "state",
        "due_at",
        "attempts",
        "finished_at",
    ]
    list_filter = ["state", "action_type"]
    list_select_related = ["rule", "customer"]
    search_fields = ["event_key", "idempotency_key", "customer__email"]
    raw_id_fields = ["rule", "customer"]
    date_hierarchy = "created_at"
    actions = ["retry"]

    @admin.action(description="Retry the selected failed steps", permissions=["view"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Step]) -> None:
        if not request.user.has_perm("automation.change_step"):
            self.message_user(request, "You may not retry steps.", messages.ERROR)
            return
        failed = list(queryset.filter(state=StepState.FAILED))
        for step in failed:
            step_retry(step=step)
        self.message_user(request, f"Queued {len(failed)} failed step(s) again.")
