"""The outbox page: every email and SMS the product sent or tried to send."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from messaging.models import Channel, MessageState, OutboundMessage
from messaging.selectors import message_list
from messaging.services import message_retry

PAGE_SIZE = 50


class OutboxView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Messages newest first, filterable by state and channel."""

    permission_required = "messaging.view_outboundmessage"

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state") if request.GET.get("state") in MessageState.values else ""
        channel = request.GET.get("channel") if request.GET.get("channel") in Channel.values else ""
        page = Paginator(message_list(state=state, channel=channel), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "messaging/outbox.html",
            {
                "page": page,
                "state": state,
                "channel": channel,
                "states": MessageState.choices,
                "channels": Channel.choices,
            },
        )


class MessageDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """One message as it was sent: headers, text and HTML source."""

    permission_required = "messaging.view_outboundmessage"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = get_object_or_404(OutboundMessage.objects.select_related("customer"), pk=pk)
        return render(request, "messaging/message_detail.html", {"message": message})


class MessageRetryView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Queue a failed message again."""

    permission_required = "messaging.change_outboundmessage"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = get_object_or_404(OutboundMessage, pk=pk)
        if message.state != MessageState.FAILED:
            messages.error(
                request, f"Only a failed message can be retried; this one is {message.state}."
            )
        else:
            message_retry(message=message)
            messages.success(request, "The message is queued again.")
        return HttpResponseRedirect(reverse("messaging:detail", args=[message.pk]))
