"""Dashboard pages for automation: rules (list, build, edit, pause, resume) and their steps.

Every page checks the permission of the role matrix (accounts.roles): everyone sees rules
and steps; marketers and admins build, change, pause and resume rules and retry failed
steps. A service's refusal is shown on the field it names, or as a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from automation.actions import action_describe
from automation.conditions import conditions_describe
from automation.forms import RuleForm
from automation.models import Rule, Step, StepState
from automation.selectors import rule_list, step_counts_by_state, step_failed_list, step_list
from automation.services import (
    RuleForbiddenError,
    RuleInvalidError,
    rule_create,
    rule_delete,
    rule_pause,
    rule_resume,
    rule_update,
    step_retry,
)
from automation.triggers import trigger_describe
from common.exceptions import ApplicationError
from common.views import safe_next

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _rule_row(rule: Rule) -> dict[str, Any]:
    return {
        "rule": rule,
        "trigger": trigger_describe(rule.trigger_type, rule.trigger_config),
        "conditions": conditions_describe(rule.conditions),
        "actions": [action_describe(a["type"], a.get("params", {})) for a in rule.actions],
    }


class RuleListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Every rule: its state, trigger, actions, and how many customers it acted on."""

    permission_required = "automation.view_rule"

    def get(self, request: HttpRequest) -> HttpResponse:
        rules = [_rule_row(rule) for rule in rule_list()]
        return render(request, "automation/rule_list.html", {"rows": rules})


class RuleCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Build a new rule."""

    permission_required = "automation.add_rule"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "automation/rule_form.html", {"form": RuleForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                rule = rule_create(created_by=_user(request), **form.rule_data())
            except RuleInvalidError as error:
                form.add_service_errors(error.errors)
            except RuleForbiddenError as error:
                form.add_service_errors({error.field: [error.message]})
                return render(request, "automation/rule_form.html", {"form": form}, status=403)
            else:
                messages.success(request, f"The rule '{rule.name}' is saved.")
                return HttpResponseRedirect(reverse("automation:rule_detail", args=[rule.pk]))
        return render(request, "automation/rule_form.html", {"form": form}, status=400)


class RuleUpdateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Change a rule; steps already scheduled keep what they were created with."""

    permission_required = "automation.change_rule"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(Rule, pk=pk)
        form = RuleForm(initial=RuleForm.initial_for(rule))
        return render(request, "automation/rule_form.html", {"form": form, "rule": rule})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(Rule, pk=pk)
        form = RuleForm(request.POST)
        context = {"form": form, "rule": rule}
        if form.is_valid():
            try:
                rule_update(rule=rule, data=form.rule_data(), actor=_user(request))
            except RuleInvalidError as error:
                form.add_service_errors(error.errors)
            except RuleForbiddenError as error:
                form.add_service_errors({error.field: [error.message]})
                return render(request, "automation/rule_form.html", context, status=403)
            else:
                messages.success(request, f"The rule '{rule.name}' is saved.")
                return HttpResponseRedirect(reverse("automation:rule_detail", args=[rule.pk]))
        return render(request, "automation/rule_form.html", context, status=400)


class RuleDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """One rule: what it does, its steps by state, and its recent steps."""

    permission_required = "automation.view_rule"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(rule_list(), pk=pk)
        counts = step_counts_by_state(rule=rule)
        context: dict[str, Any] = {
            "row": _rule_row(rule),
            "rule": rule,
            "has_steps": any(counts.values()),
        }
        if request.user.has_perm("automation.view_step"):
            state = request.GET.get("state", "")
            state = state if state in StepState.values else ""
            steps = step_list(rule_id=rule.pk, state=state or None)
            context.update(
                page=Paginator(steps, PAGE_SIZE).get_page(request.GET.get("page")),
                state=state,
                state_counts=[(value, label, counts[value]) for value, label in StepState.choices],
            )
        return render(request, "automation/rule_detail.html", context)


class RulePauseView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "automation.change_rule"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = rule_pause(rule=get_object_or_404(Rule, pk=pk))
        messages.success(request, f"The rule '{rule.name}' is paused; its pending steps are off.")
        return HttpResponseRedirect(safe_next(request, reverse("automation:rules")))


class RuleResumeView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "automation.change_rule"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = rule_resume(rule=get_object_or_404(Rule, pk=pk))
        messages.success(request, f"The rule '{rule.name}' is active again.")
        return HttpResponseRedirect(safe_next(request, reverse("automation:rules")))


class RuleDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Delete a rule that has never acted (one that has is paused instead)."""

    permission_required = "automation.delete_rule"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(Rule, pk=pk)
        try:
            rule_delete(rule=rule)
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("automation:rule_detail", args=[pk]))
        messages.success(request, f"The rule '{rule.name}' is deleted.")
        return HttpResponseRedirect(reverse("automation:rules"))


class FailedStepsView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Failed steps with their errors, each with a Retry button."""

    permission_required = "automation.view_step"

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(step_failed_list(), PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "automation/failed_steps.html", {"page": page})


class StepRetryView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Queue a failed step again."""

    permission_required = "automation.change_step"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        step = get_object_or_404(Step, pk=pk)
        try:
            step_retry(step=step)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Step {step.pk} is queued again.")
        return HttpResponseRedirect(safe_next(request, reverse("automation:failed_steps")))
