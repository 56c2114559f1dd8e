"""Consent pages.

Public (no login): `/u/<token>/`, the unsubscribe link of every marketing email. GET shows a
confirmation button (mail scanners follow links: nothing changes on GET); a POST from that
button unsubscribes; a POST with the body `List-Unsubscribe=One-Click` is the RFC 8058
one-click unsubscribe a mail provider sends without cookies, answered 200. A forged token is a
404 page; repeating is harmless.

Dashboard: a customer's consent (state per channel, history, grant/withdraw) and the
suppression list.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from common.clientip import client_ip
from common.exceptions import ApplicationError
from common.views import form_add_service_error, request_actor
from consent.forms import ConsentChangeForm, SuppressionForm
from consent.models import ConsentMethod, Suppression
from consent.selectors import consent_current, consent_history, suppression_queryset
from consent.services import consent_record, suppression_add, suppression_remove, unsubscribe
from consent.tokens import UnsubscribeTarget, unsubscribe_target
from customers.models import Customer

PAGE_SIZE = 50
ONE_CLICK_BODY = "One-Click"

# --- public --------------------------------------------------------------------------------------


def _public(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def _resolve(token: str) -> tuple[UnsubscribeTarget, Customer | None] | None:
    target = unsubscribe_target(token)
    if target is None:
        return None
    if target.customer_id is None:
        return target, None
    customer = Customer.objects.filter(pk=target.customer_id).first()
    if customer is None:
        return None
    return target, customer


def _masked(address: str) -> str:
    """`a***@example.com`: enough to recognise one's address, not to harvest it."""
    name, at, domain = address.partition("@")
    if not at:
        return f"{address[:3]}***{address[-2:]}" if len(address) > 5 else "***"
    return f"{name[:1]}***@{domain}"


# The token is the credential; mail providers POST the one-click request without cookies.
@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """`/u/<token>/`: confirm, then unsubscribe; or the RFC 8058 one-click POST."""

    def _context(self, target: UnsubscribeTarget, customer: Customer | None) -> dict[str, Any]:
        if customer is not None:
            address = customer.email if target.channel == "email" else customer.phone
        else:
            address = target.address
        return {"channel": target.channel, "address": _masked(address or "")}

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        resolved = _resolve(token)
        if resolved is None:
            return _public(request, "consent/unsubscribe_not_found.html", {}, status=404)
        return _public(request, "consent/unsubscribe_confirm.html", self._context(*resolved))

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        resolved = _resolve(token)
        if resolved is None:
            return _public(request, "consent/unsubscribe_not_found.html", {}, status=404)
        target, customer = resolved
        one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK_BODY
        unsubscribe(
            channel=target.channel,
            method=ConsentMethod.ONE_CLICK if one_click else ConsentMethod.UNSUBSCRIBE_LINK,
            customer=customer,
            address=target.address,
            source="List-Unsubscribe header" if one_click else "unsubscribe link",
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        if one_click:
            response = HttpResponse("Unsubscribed.", content_type="text/plain; charset=utf-8")
            response["Cache-Control"] = "no-store"
            return response
        return _public(request, "consent/unsubscribe_done.html", self._context(target, customer))


# --- dashboard -----------------------------------------------------------------------------------


class CustomerConsentView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/customers/<id>/consent/`: consent per channel, its history, grant and withdraw."""

    permission_required = ("customers.view_customer", "consent.view_consentevent")

    def _render(
        self, request: HttpRequest, customer: Customer, form: ConsentChangeForm, status: int = 200
    ) -> HttpResponse:
        page = Paginator(consent_history(customer=customer), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        context = {
            "customer": customer,
            "channels": consent_current(customer=customer),
            "page": page,
            "form": form,
        }
        return render(request, "consent/customer_consent.html", context, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=pk)
        return self._render(request, customer, ConsentChangeForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("consent.add_consentevent"):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        form = ConsentChangeForm(request.POST)
        if not form.is_valid():
            return self._render(request, customer, form, status=400)
        data = form.cleaned_data
        try:
            consent_record(
                customer=customer,
                channel=data["channel"],
                granted=data["granted"],
                method=ConsentMethod.DASHBOARD,
                source=data["note"],
                recorded_by=request_actor(request),
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
            return self._render(request, customer, form, status=400)
        verb = "granted" if data["granted"] else "withdrawn"
        messages.success(request, f"{data['channel'].upper()} consent {verb}.")
        return HttpResponseRedirect(reverse("consent:customer", args=[customer.pk]), status=303)


class SuppressionListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/consent/suppressions/`: every suppressed address, searchable, with add and remove."""

    permission_required = "consent.view_suppression"

    def _render(
        self, request: HttpRequest, form: SuppressionForm, status: int = 200
    ) -> HttpResponse:
        rows = suppression_queryset()
        query = request.GET.get("q", "").strip()
        if query:
            rows = rows.filter(address__icontains=query)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"page": page, "form": form, "q": query}
        return render(request, "consent/suppression_list.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, SuppressionForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("consent.add_suppression"):
            raise PermissionDenied
        form = SuppressionForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            entry, created = suppression_add(**form.cleaned_data, created_by=request_actor(request))
        except ApplicationError as error:
            form_add_service_error(form, error)
            return self._render(request, form, status=400)
        if created:
            messages.success(request, f"{entry.address} suppressed.")
        else:
            messages.info(request, f"{entry.address} was already suppressed.")
        return HttpResponseRedirect(reverse("consent:suppressions"), status=303)


class SuppressionDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """POST only: lift one suppression."""

    permission_required = "consent.delete_suppression"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        entry = get_object_or_404(Suppression, pk=pk)
        suppression_remove(suppression=entry)
        messages.success(request, f"{entry.address} is no longer suppressed.")
        return HttpResponseRedirect(reverse("consent:suppressions"), status=303)
