"""Dashboard pages for customers: the filtered list and the customer page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from common.exceptions import ApplicationError
from customers.filters import CustomerFilter
from customers.forms import MoveStageForm
from customers.models import Customer
from customers.selectors import customer_queryset
from stages.models import ActorKind
from stages.selectors import stage_list, transition_list
from stages.services import customer_move_stage

PAGE_SIZE = 50


class CustomerListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Customers with the same filters as the API, newest first, 50 a page."""

    permission_required = "customers.view_customer"

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = CustomerFilter(request.GET or None, queryset=customer_queryset())
        customers = (
            filterset.qs
            if filterset.is_bound and filterset.is_valid()
            else (customer_queryset().none() if filterset.is_bound else customer_queryset())
        )
        page = Paginator(customers.order_by("-id"), PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "customers/customer_list.html",
            {
                "filter": filterset,
                "page": page,
                "query": query.urlencode(),
                "stages": stage_list(),
            },
        )


class CustomerDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The customer page: where they stand, how they got there, and a form to move them."""

    permission_required = "customers.view_customer"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(customer_queryset(), pk=pk)
        return self._render(request, customer, MoveStageForm(customer=customer))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(customer_queryset(), pk=pk)
        if not request.user.has_perm("customers.move_customer"):
            return render(request, "403.html", status=403)
        form = MoveStageForm(request.POST, customer=customer)
        if form.is_valid():
            try:
                customer_move_stage(
                    customer=customer,
                    to_stage=form.cleaned_data["to_stage"],
                    reason=form.cleaned_data["reason"],
                    actor_kind=ActorKind.USER,
                    actor_user=request.user,
                )
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, f"Moved to {form.cleaned_data['to_stage'].name}.")
                return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
        return self._render(request, customer, form, status=400)

    def _render(
        self, request: HttpRequest, customer: Customer, form: MoveStageForm, status: int = 200
    ) -> HttpResponse:
        context: dict[str, Any] = {
            "customer": customer,
            "transitions": transition_list(customer_id=customer.pk).reverse(),
            "move_form": form,
            "can_move": request.user.has_perm("customers.move_customer"),
        }
        return render(request, "customers/customer_detail.html", context, status=status)
