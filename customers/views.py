"""Dashboard pages for customers: the list, the customer page, and create, edit and delete.

Each view checks the permission of the role matrix (accounts.roles), validates a form, calls
one service and renders. A service's ApplicationError becomes an error on the field it names.

The customer page is the 360° view: a header with where the customer stands (stage, owner,
lifetime value, activity, open tasks, referrals, consent) and one timeline of everything about
them, newest first, with the forms of the daily work (log, task, purchase, move) beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from common.exceptions import ApplicationError
from common.views import form_add_service_error, request_actor
from consent.models import ConsentMethod
from consent.services import customer_create_with_consent, customer_update_with_consent
from customers.exports import customers_csv_response
from customers.forms import CustomerForm, CustomerListFilter, MoveStageForm
from customers.models import Customer
from customers.selectors import customer_queryset
from customers.services import customer_delete
from customers.timeline import TimelineEntry, customer_timeline
from interactions.forms import PurchaseForm, QuickLogForm, TaskForm, effect_words
from interactions.models import Outcome, Task, TaskState
from interactions.permissions import (
    can_change_interaction,
    can_change_task,
    can_delete_interaction,
)
from interactions.selectors import customer_value, task_is_overdue
from interactions.views import PURCHASE_ID, QUICK_LOG_ID, TASK_ID, money
from stages.models import ActorKind
from stages.services import customer_move_stage

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 25
REFERRALS_LIMIT = 20
# The kinds of timeline entry the customer page shows, and the permission to see each. A kind
# another app registers appears once it has a permission here and a block in the template.
TIMELINE_KINDS = {
    "interaction": "interactions.view_interaction",
    "task": "interactions.view_task",
    "purchase": "interactions.view_purchase",
    "transition": "stages.view_stagetransition",
    "survey_response": "surveys.view_response",
    "survey_invitation": "surveys.view_invitation",
    "automation_step": "automation.view_step",
}


@dataclass(frozen=True)
class SortColumn:
    """A list column the user may sort by: `?sort=<key>` ascending, `?sort=-<key>` descending."""

    key: str
    label: str
    terms: tuple[Any, ...]  # expressions, most significant first
    descending_first: bool  # dates read best newest first, names A to Z
    nullable: bool = False

    def order_by(self, *, descending: bool) -> list[Any]:
        """The ORDER BY for this column, ties broken by id so that pages never overlap.

        Missing values go last either way; NULLS LAST is written only for nullable columns,
        so that the others can still be read from their index.
        """
        nulls = {"nulls_last": True} if self.nullable else {}
        if descending:
            return [term.desc(**nulls) for term in self.terms] + [F("id").desc()]
        return [term.asc(**nulls) for term in self.terms] + [F("id").asc()]


# The whitelist: nothing else in `sort` reaches the database.
SORT_COLUMNS = {
    column.key: column
    for column in (
        SortColumn("name", "Name", (Lower("first_name"), Lower("last_name")), False),
        SortColumn("email", "Email", (Lower("email"),), False),
        SortColumn("created", "Created", (F("created_at"),), True),
        SortColumn("stage_entered", "In stage since", (F("stage_entered_at"),), True),
        SortColumn("last_activity", "Last activity", (F("last_activity_at"),), True, True),
    )
}
DEFAULT_SORT = "-created"


def _parse_sort(value: str | None) -> tuple[SortColumn, bool]:
    """The column and direction asked for; an unknown value falls back to newest first."""
    value = value or DEFAULT_SORT
    descending = value.startswith("-")
    column = SORT_COLUMNS.get(value.removeprefix("-"))
    if column is None:
        return _parse_sort(DEFAULT_SORT)
    return column, descending


def _sort_headers(
    query: QueryDict, current: SortColumn, descending: bool
) -> dict[str, dict[str, str]]:
    """Each sortable header's link: the current column toggles, another starts at its default.

    The links keep the filters and go back to the first page.
    """
    headers = {}
    for column in SORT_COLUMNS.values():
        is_current = column is current
        next_descending = not descending if is_current else column.descending_first
        link = query.copy()
        link.pop("page", None)
        link["sort"] = f"-{column.key}" if next_descending else column.key
        headers[column.key] = {
            "label": column.label,
            "url": "?" + link.urlencode(),
            "aria_sort": ("descending" if descending else "ascending") if is_current else "",
            "next": "descending" if next_descending else "ascending",
        }
    return headers


def _sort_options() -> list[tuple[str, str]]:
    """Every order as a choice, for the "Sort by" select (phones hide the table headers)."""
    options = []
    for column in SORT_COLUMNS.values():
        if column.descending_first:  # a date
            options.append((f"-{column.key}", f"{column.label}, newest first"))
            options.append((column.key, f"{column.label}, oldest first"))
        else:
            options.append((column.key, f"{column.label}, A to Z"))
            options.append((f"-{column.key}", f"{column.label}, Z to A"))
    return options


def _duration_words(since: datetime) -> str:
    """How long ago `since` was, in the one unit people would say: "12 days", "3 months"."""
    seconds = (timezone.now() - since).total_seconds()
    days = int(seconds // 86400)
    if seconds < 60:
        return "less than a minute"
    if seconds < 3600:
        amount, unit = int(seconds // 60), "minute"
    elif days < 1:
        amount, unit = int(seconds // 3600), "hour"
    elif days < 90:
        amount, unit = days, "day"
    elif days < 730:
        amount, unit = days // 30, "month"
    else:
        amount, unit = days // 365, "year"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


class CustomerListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Customers with the same filters as the API, sortable by a few columns, 50 a page."""

    permission_required = "customers.view_customer"

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = CustomerListFilter(request.GET or None, queryset=customer_queryset())
        valid = not filterset.is_bound or filterset.is_valid()
        column, descending = _parse_sort(request.GET.get("sort"))
        customers = filterset.qs if valid else customer_queryset().none()
        customers = customers.order_by(*column.order_by(descending=descending))
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "filter": filterset,
            "filters_valid": valid,
            "page": page,
            "query": query.urlencode(),
            "sort": f"-{column.key}" if descending else column.key,
            "headers": _sort_headers(request.GET, column, descending),
            "sort_options": _sort_options(),
        }
        return render(
            request, "customers/customer_list.html", context, status=200 if valid else 400
        )


class CustomerExportView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The customer list as CSV: every customer the list's filters match (not just a page),
    in its order, streamed (customers.exports). Invalid filters show the list with its errors."""

    permission_required = ("customers.view_customer", "customers.export_customer")

    def get(self, request: HttpRequest) -> HttpResponseBase:
        filterset = CustomerListFilter(request.GET or None, queryset=Customer.objects.all())
        if filterset.is_bound and not filterset.is_valid():
            return CustomerListView.as_view()(request)
        column, descending = _parse_sort(request.GET.get("sort"))
        customers = filterset.qs.order_by(*column.order_by(descending=descending))
        filename = f"customers-{timezone.localdate():%Y-%m-%d}.csv"
        return customers_csv_response(customers, filename=filename)


class CustomerDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The customer page: where they stand, everything that happened, and the daily forms.

    The page costs the same number of queries however long the customer's history.
    """

    permission_required = "customers.view_customer"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(customer_queryset().select_related("referred_by"), pk=pk)
        return self._render(request, customer, MoveStageForm(customer=customer))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Move the customer (move_customer only)."""
        if not request.user.has_perm("customers.move_customer"):
            raise PermissionDenied
        customer = get_object_or_404(customer_queryset().select_related("referred_by"), pk=pk)
        form = MoveStageForm(request.POST, customer=customer)
        if form.is_valid():
            try:
                customer_move_stage(
                    customer=customer,
                    to_stage=form.cleaned_data["to_stage"],
                    reason=form.cleaned_data["reason"],
                    actor_kind=ActorKind.USER,
                    actor_user=request_actor(request),
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(request, f"Moved to {form.cleaned_data['to_stage'].name}.")
                return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
        return self._render(request, customer, form, status=400)

    def _render(
        self, request: HttpRequest, customer: Customer, form: MoveStageForm, status: int = 200
    ) -> HttpResponse:
        user = request.user
        now = timezone.now()
        rows, next_cursor, cursor_valid = _timeline(request, customer, now=now)
        context: dict[str, Any] = {
            "customer": customer,
            "time_in_stage": _duration_words(customer.stage_entered_at),
            "attributes": [
                (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
                for key, value in customer.attributes.items()
            ],
            "timeline": rows,
            "timeline_next": next_cursor,
            "timeline_is_first_page": not request.GET.get("before"),
            "timeline_cursor_valid": cursor_valid,
            "close_outcomes": Outcome.choices,
            "move_form": form,
            "back": request.get_full_path(),
        }
        if user.has_perm("interactions.view_purchase"):
            context["value"] = _customer_value(customer)
        if user.has_perm("interactions.view_task"):
            context["tasks"] = Task.objects.filter(
                customer_id=customer.pk, state=TaskState.OPEN
            ).aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
        if user.has_perm("customers.view_referral"):
            referrals = customer.referrals.order_by("-id")
            context["referrals"] = referrals[:REFERRALS_LIMIT]
            context["referral_count"] = referrals.count()
        if user.has_perm("interactions.add_interaction"):
            context["log_form"] = QuickLogForm(
                auto_id=QUICK_LOG_ID,
                allow_follow_up=user.has_perm("interactions.add_task"),
                autofocus="log" in request.GET,
            )
        if user.has_perm("interactions.add_task"):
            context["task_form"] = TaskForm(auto_id=TASK_ID, initial={"assignee": user.pk})
        if user.has_perm("interactions.add_purchase"):
            usual = context.get("value", {}).get("by_currency")
            initial = {"currency": usual[0]["currency"]} if usual else {}
            context["purchase_form"] = PurchaseForm(auto_id=PURCHASE_ID, initial=initial)
        return render(request, "customers/customer_detail.html", context, status=status)


@dataclass(frozen=True)
class TimelineRow:
    """A timeline entry with what the page shows about it and what the user may do to it."""

    entry: TimelineEntry
    can_change: bool = False  # edit an interaction, close a case; complete or cancel a task
    can_delete: bool = False
    overdue: bool = False
    effect: str = ""  # "force, weight 2"
    amount: str = ""  # "€1,200.00"


def _timeline_row(entry: TimelineEntry, user: Any, now: datetime) -> TimelineRow:
    record = entry.record
    if entry.kind == "interaction":
        return TimelineRow(
            entry=entry,
            can_change=can_change_interaction(user, record),
            can_delete=can_delete_interaction(user, record),
            effect=effect_words(record.effect, record.weight),
        )
    if entry.kind == "task":
        return TimelineRow(
            entry=entry,
            can_change=record.state == TaskState.OPEN and can_change_task(user, record),
            overdue=task_is_overdue(record, now=now),
        )
    if entry.kind == "purchase":
        return TimelineRow(entry=entry, amount=money(record.amount, record.currency))
    return TimelineRow(entry=entry)


def _timeline(
    request: HttpRequest, customer: Customer, *, now: datetime
) -> tuple[list[TimelineRow], str | None, bool]:
    """One page of the customer's timeline (`?before=` continues it), the next page's cursor,
    and whether the cursor asked for was valid (a mangled link shows the newest page)."""
    kinds = [kind for kind, perm in TIMELINE_KINDS.items() if request.user.has_perm(perm)]
    if not kinds:  # no kinds at all would mean every kind to customer_timeline
        return [], None, True
    cursor = request.GET.get("before") or None
    valid = True
    try:
        timeline = customer_timeline(
            customer_id=customer.pk, cursor=cursor, limit=TIMELINE_PAGE_SIZE, kinds=kinds
        )
    except ApplicationError:
        valid = False
        timeline = customer_timeline(customer_id=customer.pk, limit=TIMELINE_PAGE_SIZE, kinds=kinds)
    rows = [
        _timeline_row(entry, request.user, now)
        for entry in timeline.entries
        if entry.record is not None  # deleted between the two queries of the page
    ]
    return rows, timeline.next_cursor, valid


def _customer_value(customer: Customer) -> dict[str, Any]:
    """Lifetime value per currency, formatted; currencies are never added together."""
    value = customer_value(customer_id=customer.pk)
    return {
        "purchase_count": value.purchase_count,
        "by_currency": [
            {
                "currency": row.currency,
                "total": money(row.total, row.currency),
                "count": row.count,
                "average": money(row.average, row.currency),
            }
            for row in value.by_currency
        ],
    }


class CustomerCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A new customer, entered in the chosen stage; the entry is recorded as done by the user."""

    permission_required = "customers.add_customer"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, CustomerForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CustomerForm(request.POST)
        if form.is_valid():
            try:
                customer = customer_create_with_consent(
                    consent_method=ConsentMethod.DASHBOARD,
                    actor_kind=ActorKind.USER,
                    actor_user=request_actor(request),
                    **form.cleaned_data,
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(request, f"Created {customer}.")
                return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
        return self._render(request, form, status=400)

    def _render(self, request: HttpRequest, form: CustomerForm, status: int = 200) -> HttpResponse:
        return render(
            request, "customers/customer_form.html", {"form": form, "customer": None}, status=status
        )


class CustomerUpdateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Edit a customer's details; the stage is not here (it changes by a move)."""

    permission_required = "customers.change_customer"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(customer_queryset(), pk=pk)
        return self._render(request, customer, CustomerForm(customer=customer))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(customer_queryset(), pk=pk)
        form = CustomerForm(request.POST, customer=customer)
        if form.is_valid():
            try:
                customer_update_with_consent(
                    customer=customer,
                    data=dict(form.cleaned_data),
                    consent_method=ConsentMethod.DASHBOARD,
                    actor_user=request_actor(request),
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(request, f"Saved {customer}.")
                return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
        return self._render(request, customer, form, status=400)

    def _render(
        self, request: HttpRequest, customer: Customer, form: CustomerForm, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "customers/customer_form.html",
            {"form": form, "customer": customer},
            status=status,
        )


class CustomerDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Delete a customer and their history, after a confirmation page (GET) by a POST."""

    permission_required = "customers.delete_customer"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(customer_queryset(), pk=pk)
        context = {
            "customer": customer,
            "transition_count": customer.transitions.count(),
            "referral_count": customer.referrals.count(),
        }
        return render(request, "customers/customer_confirm_delete.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(customer_queryset(), pk=pk)
        name = str(customer)
        customer_delete(customer=customer)
        messages.success(request, f"Deleted {name}.")
        return HttpResponseRedirect(reverse("customers:list"))
