"""Dashboard pages for the daily work: logging interactions, follow-up tasks and purchases.

Each view checks the permission of the role matrix (accounts.roles) and, for changes to an
existing record, the row rule of `interactions.permissions`; then it validates a form, calls
the service and redirects. A service's ApplicationError becomes an error on the field it
names; a refused one-click action (a task already done) becomes an error message.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from common.exceptions import ApplicationError
from common.views import form_add_service_error, request_actor, safe_next
from customers.models import Customer
from customers.selectors import customer_queryset
from interactions.effects import effect_table
from interactions.forms import (
    CloseCaseForm,
    InteractionForm,
    PurchaseForm,
    QuickLogForm,
    TaskForm,
    effect_words,
)
from interactions.models import Interaction, InteractionKind, Outcome, Task
from interactions.permissions import (
    can_change_interaction,
    can_change_task,
    can_close_case,
    can_delete_interaction,
)
from interactions.selectors import (
    interaction_queryset,
    task_buckets_for_user,
    task_is_overdue,
    task_queryset,
)
from interactions.services import (
    interaction_delete,
    interaction_log,
    interaction_update,
    purchase_record,
    support_case_close,
    task_cancel,
    task_complete,
    task_create,
)

# Shown before the amount; other currencies follow it ("1,200.00 CHF"). Only the symbols no
# other common currency shares: "$" alone is the US dollar, "¥" alone the yen.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}

# The forms on the customer page and on their own pages share these ids (several forms on
# one page must not repeat an id).
QUICK_LOG_ID = "log_%s"
TASK_ID = "task_%s"
PURCHASE_ID = "purchase_%s"


# --- helpers shared with the customer pages ----------------------------------------------------


def money(amount: Decimal, currency: str) -> str:
    """An amount as people read it: "€1,200.00", "1,200.00 CHF"."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def effect_rules() -> list[dict[str, Any]]:
    """The default effect of each outcome, with the kinds that weigh it differently, for the
    explanation beside the effect override (docs/metrics.md, "Effect of an interaction")."""
    by_outcome: dict[str, dict[str, str]] = {}
    for kind, outcome, effect, weight in effect_table():
        by_outcome.setdefault(outcome, {})[kind] = effect_words(effect, weight)
    rules = []
    for outcome, words_by_kind in by_outcome.items():
        usual = Counter(words_by_kind.values()).most_common(1)[0][0]
        rules.append(
            {
                "outcome": Outcome(outcome).label,
                "effect": usual,
                "except": [
                    f"{InteractionKind(kind).label.lower()}: {words}"
                    for kind, words in words_by_kind.items()
                    if words != usual
                ],
            }
        )
    return rules


def _customer(pk: int) -> Customer:
    return get_object_or_404(customer_queryset(), pk=pk)


def _customer_url(customer_id: int) -> str:
    return reverse("customers:detail", args=[customer_id])


# --- interactions ------------------------------------------------------------------------------


class QuickLogView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Log a call in seconds: the small page the customer list's "Log" opens, and the POST of
    the quick-log form on the customer page. Goes back to `next` afterwards."""

    permission_required = ("customers.view_customer", "interactions.add_interaction")

    def get(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        form = QuickLogForm(
            auto_id=QUICK_LOG_ID,
            allow_follow_up=request.user.has_perm("interactions.add_task"),
            autofocus=True,
        )
        return self._render(request, customer, form)

    def post(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        form = QuickLogForm(
            request.POST,
            auto_id=QUICK_LOG_ID,
            allow_follow_up=request.user.has_perm("interactions.add_task"),
        )
        if form.is_valid():
            actor = request_actor(request)
            due = form.cleaned_data.get("follow_up_at")
            try:
                interaction = interaction_log(
                    customer=customer,
                    kind=form.cleaned_data["kind"],
                    outcome=form.cleaned_data["outcome"],
                    summary=form.cleaned_data["summary"],
                    logged_by=actor,
                    follow_up_at=due,
                    follow_up_title=form.follow_up_title() if due is not None else "",
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                what = f"Logged the {interaction.get_kind_display().lower()} with {customer}"
                if due is not None:
                    local = timezone.localtime(due)
                    what += f"; follow-up due {local:%Y-%m-%d %H:%M}"
                messages.success(request, f"{what}.")
                return HttpResponseRedirect(safe_next(request, _customer_url(customer.pk)))
        return self._render(request, customer, form, status=400)

    def _render(
        self, request: HttpRequest, customer: Customer, form: QuickLogForm, status: int = 200
    ) -> HttpResponse:
        context = {
            "customer": customer,
            "form": form,
            "next": safe_next(request, _customer_url(customer.pk)),
        }
        return render(request, "interactions/quick_log.html", context, status=status)


class InteractionCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Every field of an interaction, including an effect that overrides the default."""

    permission_required = ("customers.view_customer", "interactions.add_interaction")

    def get(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        initial = {
            key: request.GET[key] for key in ("kind", "outcome", "summary") if key in request.GET
        }
        return self._render(request, customer, InteractionForm(initial=initial))

    def post(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        form = InteractionForm(request.POST)
        if form.is_valid():
            try:
                interaction = interaction_log(
                    customer=customer, logged_by=request_actor(request), **form.service_data()
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(
                    request,
                    f"Logged the {interaction.get_kind_display().lower()} with {customer} "
                    f"({effect_words(interaction.effect, interaction.weight)}).",
                )
                return HttpResponseRedirect(safe_next(request, _customer_url(customer.pk)))
        return self._render(request, customer, form, status=400)

    def _render(
        self, request: HttpRequest, customer: Customer, form: InteractionForm, status: int = 200
    ) -> HttpResponse:
        context = {
            "customer": customer,
            "form": form,
            "interaction": None,
            "effect_rules": effect_rules(),
            "next": safe_next(request, _customer_url(customer.pk)),
        }
        return render(request, "interactions/interaction_form.html", context, status=status)


class InteractionUpdateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Correct an interaction: one's own, or anyone's for an admin."""

    permission_required = "interactions.change_interaction"

    def _get(self, request: HttpRequest, pk: int) -> Interaction:
        interaction = get_object_or_404(interaction_queryset(), pk=pk)
        if not can_change_interaction(request.user, interaction):
            raise PermissionDenied
        return interaction

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        interaction = self._get(request, pk)
        return self._render(request, interaction, InteractionForm(interaction=interaction))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        interaction = self._get(request, pk)
        form = InteractionForm(request.POST, interaction=interaction)
        if form.is_valid():
            try:
                interaction_update(interaction=interaction, data=form.service_data())
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(request, "Saved the interaction.")
                return HttpResponseRedirect(
                    safe_next(request, _customer_url(interaction.customer_id))
                )
        return self._render(request, interaction, form, status=400)

    def _render(
        self,
        request: HttpRequest,
        interaction: Interaction,
        form: InteractionForm,
        status: int = 200,
    ) -> HttpResponse:
        context = {
            "customer": interaction.customer,
            "form": form,
            "interaction": interaction,
            "effect_rules": effect_rules(),
            "next": safe_next(request, _customer_url(interaction.customer_id)),
        }
        return render(request, "interactions/interaction_form.html", context, status=status)


class InteractionDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Delete an interaction logged by mistake, after a confirmation page (GET) by a POST."""

    permission_required = "interactions.delete_interaction"

    def _get(self, request: HttpRequest, pk: int) -> Interaction:
        interaction = get_object_or_404(interaction_queryset(), pk=pk)
        if not can_delete_interaction(request.user, interaction):
            raise PermissionDenied
        return interaction

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        interaction = self._get(request, pk)
        return render(
            request,
            "interactions/interaction_confirm_delete.html",
            {"interaction": interaction, "customer": interaction.customer},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        interaction = self._get(request, pk)
        customer_id = interaction.customer_id
        interaction_delete(interaction=interaction)
        messages.success(request, "Deleted the interaction.")
        return HttpResponseRedirect(_customer_url(customer_id))


class SupportCaseCloseView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Close an open support case (the button on its timeline entry)."""

    permission_required = "interactions.change_interaction"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        interaction = get_object_or_404(interaction_queryset(), pk=pk)
        if not can_close_case(request.user, interaction):
            raise PermissionDenied
        back = safe_next(request, _customer_url(interaction.customer_id))
        form = CloseCaseForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose one of the outcomes to close the case with.")
            return HttpResponseRedirect(back)
        try:
            case = support_case_close(
                interaction=interaction,
                closed_by=request_actor(request),
                outcome=form.cleaned_data["outcome"] or None,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"Closed the support case ({case.get_outcome_display().lower()})."
            )
        return HttpResponseRedirect(back)


# --- tasks -------------------------------------------------------------------------------------


class MyTasksView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The open tasks assigned to the user: overdue, due today, and later."""

    permission_required = "interactions.view_task"

    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        buckets = task_buckets_for_user(user=request_actor(request), now=now)
        sections = [
            ("overdue", "Overdue", buckets.overdue, "Nothing overdue. Well done."),
            ("today", "Due today", buckets.today, "Nothing else due today."),
            ("upcoming", "Upcoming", buckets.upcoming, "Nothing planned."),
        ]
        context = {
            "sections": [
                {
                    "key": key,
                    "title": title,
                    "empty": empty,
                    "tasks": [
                        {
                            "task": task,
                            "overdue": task_is_overdue(task, now=now),
                            "can_change": can_change_task(request.user, task),
                        }
                        for task in tasks
                    ],
                }
                for key, title, tasks, empty in sections
            ],
            "overdue_task_count": len(buckets.overdue),
            "now": now,
        }
        return render(request, "interactions/my_tasks.html", context)


class TaskCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Owe a customer a follow-up (the form on the customer page, or its own page)."""

    permission_required = ("customers.view_customer", "interactions.add_task")

    def get(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        form = TaskForm(auto_id=TASK_ID, initial={"assignee": request.user.pk})
        return self._render(request, customer, form)

    def post(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        form = TaskForm(request.POST, auto_id=TASK_ID)
        if form.is_valid():
            try:
                task = task_create(
                    customer=customer, created_by=request_actor(request), **form.cleaned_data
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                local = timezone.localtime(task.due_at)
                messages.success(request, f"Added the task “{task}”, due {local:%Y-%m-%d %H:%M}.")
                return HttpResponseRedirect(safe_next(request, _customer_url(customer.pk)))
        return self._render(request, customer, form, status=400)

    def _render(
        self, request: HttpRequest, customer: Customer, form: TaskForm, status: int = 200
    ) -> HttpResponse:
        context = {
            "customer": customer,
            "form": form,
            "next": safe_next(request, _customer_url(customer.pk)),
        }
        return render(request, "interactions/task_form.html", context, status=status)


class _TaskFinishView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """One click: a POST, then back where the user was with what happened."""

    permission_required = "interactions.change_task"
    done_message = ""

    def finish(self, task: Task) -> Task:
        raise NotImplementedError

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        task = get_object_or_404(task_queryset(), pk=pk)
        if not can_change_task(request.user, task):
            raise PermissionDenied
        try:
            self.finish(task)
        except ApplicationError as error:
            messages.error(request, f"“{task}”: {error.message}")
        else:
            messages.success(request, self.done_message.format(task=task))
        return HttpResponseRedirect(safe_next(request, reverse("interactions:my_tasks")))


class TaskDoneView(_TaskFinishView):
    done_message = "Done: “{task}”."

    def finish(self, task: Task) -> Task:
        return task_complete(task=task)


class TaskCancelView(_TaskFinishView):
    done_message = "Cancelled: “{task}”."

    def finish(self, task: Task) -> Task:
        return task_cancel(task=task)


# --- purchases ---------------------------------------------------------------------------------


class PurchaseCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Record a purchase by hand; a first one moves the customer to the purchase stage."""

    permission_required = ("customers.view_customer", "interactions.add_purchase")

    def get(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        return self._render(request, customer, PurchaseForm(auto_id=PURCHASE_ID))

    def post(self, request: HttpRequest, customer_pk: int) -> HttpResponse:
        customer = _customer(customer_pk)
        form = PurchaseForm(request.POST, auto_id=PURCHASE_ID)
        if form.is_valid():
            stage_before = customer.stage_id
            try:
                purchase, _ = purchase_record(
                    customer=customer, recorded_by=request_actor(request), **form.service_data()
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                what = f"Recorded a purchase of {money(purchase.amount, purchase.currency)}"
                stage_id, stage_name = Customer.objects.values_list("stage_id", "stage__name").get(
                    pk=customer.pk
                )
                if stage_id != stage_before:
                    what += f"; {customer} moved to {stage_name}"
                messages.success(request, f"{what}.")
                return HttpResponseRedirect(safe_next(request, _customer_url(customer.pk)))
        return self._render(request, customer, form, status=400)

    def _render(
        self, request: HttpRequest, customer: Customer, form: PurchaseForm, status: int = 200
    ) -> HttpResponse:
        context = {
            "customer": customer,
            "form": form,
            "next": safe_next(request, _customer_url(customer.pk)),
        }
        return render(request, "interactions/purchase_form.html", context, status=status)
