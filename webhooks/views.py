"""Dashboard pages for webhooks: subscriptions (admins), their delivery log, retries, tests.

Each view checks the permission of the role matrix (accounts.roles), validates a form, calls
one service and redirects. A service's ApplicationError becomes an error on the field it
names, or an error message for a one-click action.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from accounts.permissions import WEBHOOK_TARGETS_PERMISSION
from common.exceptions import ApplicationError
from webhooks.filters import DELIVERY_EVENTS
from webhooks.forms import SubscriptionForm
from webhooks.models import Delivery, DeliveryState, Subscription
from webhooks.selectors import delivery_list, delivery_queryset, subscription_list
from webhooks.services import (
    delivery_envelope,
    delivery_retry,
    subscription_create,
    subscription_delete,
    subscription_secret_rotate,
    subscription_send_test,
    subscription_update,
)
from webhooks.signing import body_encode

PAGE_SIZE = 50


def _actor(request: HttpRequest) -> User:
    if not isinstance(request.user, User):  # every view requires a login
        raise PermissionDenied
    return request.user


def _log_filters(request: HttpRequest) -> dict[str, str]:
    """The delivery log's filters from the query string, unknown values dropped."""
    state = request.GET.get("state", "")
    event = request.GET.get("event", "")
    return {
        "state": state if state in DeliveryState.values else "",
        "event": event if event in dict(DELIVERY_EVENTS) else "",
    }


def _log_context(request: HttpRequest, deliveries: Any) -> dict[str, Any]:
    filters = _log_filters(request)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "page": page,
        **filters,
        "states": DeliveryState.choices,
        "events": DELIVERY_EVENTS,
    }


class SubscriptionListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Every subscription with its events and its count of failed deliveries."""

    permission_required = "webhooks.view_subscription"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request, "webhooks/subscription_list.html", {"subscriptions": subscription_list()}
        )


class SubscriptionCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A new subscription; its secret is shown on the page it leads to."""

    permission_required = WEBHOOK_TARGETS_PERMISSION

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, SubscriptionForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                subscription = subscription_create(created_by=_actor(request), **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(
                    request, "Subscription created. Copy its secret now to verify signatures."
                )
                url = reverse("webhooks:detail", args=[subscription.pk])
                return HttpResponseRedirect(f"{url}?created=1")
        return self._page(request, form, status=400)

    def _page(
        self, request: HttpRequest, form: SubscriptionForm, status: int = 200
    ) -> HttpResponse:
        return render(request, "webhooks/subscription_form.html", {"form": form}, status=status)


class SubscriptionDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A subscription, its secret (for those who may edit it) and its delivery log."""

    permission_required = "webhooks.view_subscription"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        context: dict[str, Any] = {
            "subscription": subscription,
            "just_created": request.GET.get("created") == "1",
        }
        if request.user.has_perm("webhooks.view_delivery"):
            filters = _log_filters(request)
            deliveries = delivery_list(
                subscription=subscription, state=filters["state"], event=filters["event"]
            )
            context |= _log_context(request, deliveries)
        return render(request, "webhooks/subscription_detail.html", context)


class SubscriptionEditView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "webhooks.change_subscription"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        form = SubscriptionForm(
            initial={
                "name": subscription.name,
                "url": subscription.url,
                "events": subscription.events,
                "is_active": subscription.is_active,
            }
        )
        return self._page(request, subscription, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                subscription_update(subscription=subscription, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, "Subscription saved.")
                return HttpResponseRedirect(reverse("webhooks:detail", args=[subscription.pk]))
        return self._page(request, subscription, form, status=400)

    def _page(
        self,
        request: HttpRequest,
        subscription: Subscription,
        form: SubscriptionForm,
        status: int = 200,
    ) -> HttpResponse:
        return render(
            request,
            "webhooks/subscription_form.html",
            {"form": form, "subscription": subscription},
            status=status,
        )


class SubscriptionDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "webhooks.delete_subscription"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        pending = subscription.deliveries.filter(state=DeliveryState.PENDING).count()
        return render(
            request,
            "webhooks/subscription_confirm_delete.html",
            {
                "subscription": subscription,
                "delivery_count": subscription.deliveries.count(),
                "pending_count": pending,
            },
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        subscription_delete(subscription=subscription)
        messages.success(request, f"The subscription “{subscription.name}” was deleted.")
        return HttpResponseRedirect(reverse("webhooks:list"))


class SubscriptionSecretRotateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A new secret; the old one stops working at once."""

    permission_required = "webhooks.change_subscription"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        subscription_secret_rotate(subscription=subscription)
        messages.success(request, "A new secret is in force; give it to the receiver.")
        url = reverse("webhooks:detail", args=[subscription.pk])
        return HttpResponseRedirect(f"{url}?created=1")


class SubscriptionTestView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Send a `webhook.test` event to the subscription now."""

    permission_required = "webhooks.change_delivery"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        subscription_send_test(subscription=subscription, sent_by=_actor(request))
        messages.success(request, "A test event is on its way; its delivery is in the log below.")
        return HttpResponseRedirect(reverse("webhooks:detail", args=[subscription.pk]))


class DeliveryListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Every delivery newest first, the automation's one-off calls included."""

    permission_required = "webhooks.view_delivery"

    def get(self, request: HttpRequest) -> HttpResponse:
        calls_only = request.GET.get("calls") == "1"
        filters = _log_filters(request)
        deliveries = delivery_list(
            calls_only=calls_only, state=filters["state"], event=filters["event"]
        )
        context = {**_log_context(request, deliveries), "calls_only": calls_only}
        return render(request, "webhooks/delivery_list.html", context)


class DeliveryDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """One delivery: the body as sent, and every attempt with what came back."""

    permission_required = "webhooks.view_delivery"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        delivery = get_object_or_404(delivery_queryset(), pk=pk)
        return render(
            request,
            "webhooks/delivery_detail.html",
            {
                "delivery": delivery,
                "body": body_encode(delivery_envelope(delivery)).decode(),
                "attempts": delivery.attempt_log.all(),
            },
        )


class DeliveryRetryView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Queue a failed delivery again."""

    permission_required = "webhooks.change_delivery"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        delivery: Delivery = get_object_or_404(delivery_queryset(), pk=pk)
        try:
            delivery_retry(delivery=delivery)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "The delivery is queued again.")
        back = request.POST.get("next")
        if back == "subscription" and delivery.subscription_id:
            return HttpResponseRedirect(reverse("webhooks:detail", args=[delivery.subscription_id]))
        return HttpResponseRedirect(reverse("webhooks:delivery", args=[delivery.pk]))
