"""The template library in the dashboard: list, create, edit, delete, preview, test send.

Every write goes through messaging.services; a template that cannot be saved comes back with
each problem on its field and everything typed kept. The HTML preview is shown in an iframe
with an empty `sandbox` attribute and `srcdoc`: the template's HTML can never run script or
reach the dashboard.
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
from django.utils.decorators import method_decorator
from django.views import View

from common.exceptions import ApplicationError
from common.page_policies import email_preview
from customers.models import Customer
from customers.selectors import customer_list
from messaging.filters import TemplateFilter
from messaging.forms import PreviewCustomerForm, TemplateForm
from messaging.models import Channel, MessageTemplate
from messaging.selectors import template_list
from messaging.services import (
    TemplateInvalidError,
    template_create,
    template_delete,
    template_preview,
    template_test_send,
    template_update,
)
from messaging.templating import TEMPLATE_FIELDS, sms_length

PAGE_SIZE = 50
SEARCH_LIMIT = 10


def _template(pk: int) -> MessageTemplate:
    return get_object_or_404(template_list(), pk=pk)


def _help_context() -> dict[str, Any]:
    """What the help panel lists: the fields, the stages for blocks, the syntax."""
    from stages.models import Stage

    return {
        "template_fields": TEMPLATE_FIELDS.items(),
        "block_stages": Stage.objects.order_by("position").values_list("slug", "name"),
    }


class TemplateListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/templates/`: the library by name, filtered by channel, kind and a search."""

    permission_required = "messaging.view_messagetemplate"

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = TemplateFilter(request.GET or None, queryset=template_list())
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [(t, sms_length(t.body_text) if t.channel == Channel.SMS else None) for t in page]
        query = request.GET.copy()
        query.pop("page", None)
        context = {"filter": filterset, "page": page, "rows": rows, "query": query.urlencode()}
        return render(request, "messaging/template_list.html", context)


class TemplateFormView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/templates/new/` and `/templates/<id>/edit/`."""

    def get_permission_required(self) -> tuple[str, ...]:
        if self.kwargs.get("pk"):
            return ("messaging.change_messagetemplate",)
        return ("messaging.add_messagetemplate",)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        template = _template(pk) if pk else None
        if template is None:
            form = TemplateForm()
        else:
            form = TemplateForm(
                initial={name: getattr(template, name) for name in TemplateForm.base_fields}
            )
        return self._render(request, form, template)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        template = _template(pk) if pk else None
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                if template is None:
                    template = template_create(**form.cleaned_data)
                    messages.success(request, f"Template “{template.name}” created.")
                else:
                    template = template_update(template=template, data=form.cleaned_data)
                    messages.success(request, "Template saved.")
            except TemplateInvalidError as error:
                for field, problems in error.errors.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                return HttpResponseRedirect(
                    reverse("messaging:template-detail", args=[template.pk])
                )
        return self._render(request, form, template, status=400)

    def _render(
        self,
        request: HttpRequest,
        form: TemplateForm,
        template: MessageTemplate | None,
        status: int = 200,
    ) -> HttpResponse:
        channel = form["channel"].value()
        text = form["body_text"].value() or ""
        context = {
            "form": form,
            "template": template,
            "sms": sms_length(text) if channel == Channel.SMS else None,
            **_help_context(),
        }
        return render(request, "messaging/template_form.html", context, status=status)


@method_decorator(email_preview, name="get")
class TemplateDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/templates/<id>/`: the template, and its preview for a customer chosen by id or by
    a search (`?customer=<id>` or `?q=<text>`)."""

    permission_required = ("messaging.view_messagetemplate", "customers.view_customer")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = _template(pk)
        form = PreviewCustomerForm(request.GET or None)
        customer = rendered = None
        matches: list[Customer] = []
        status = 200
        if form.is_bound and form.is_valid():
            customer_id, q = form.cleaned_data["customer"], form.cleaned_data["q"].strip()
            if customer_id:
                customer = (
                    Customer.objects.select_related("stage", "owner").filter(pk=customer_id).first()
                )
                if customer is None:
                    form.add_error("customer", f"No customer has the id {customer_id}.")
            elif q:
                matches = list(customer_list(filters={"q": q})[:SEARCH_LIMIT])
                if not matches:
                    form.add_error("q", f"No customer matches “{q}”.")
            else:
                form.add_error("customer", "Give a customer id, or search for one.")
        if form.errors:
            status = 400
        if customer is not None:
            rendered = template_preview(template=template, customer=customer)
        context = {
            "template": template,
            "form": form,
            "customer": customer,
            "matches": matches,
            "search_limit": SEARCH_LIMIT,
            "rendered": rendered,
            "sms": sms_length(template.body_text) if template.channel == Channel.SMS else None,
            "rendered_sms": (
                sms_length(rendered.body_text)
                if rendered is not None and template.channel == Channel.SMS
                else None
            ),
        }
        return render(request, "messaging/template_detail.html", context, status=status)


class TemplateTestSendView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`POST /templates/<id>/test-send/`: the preview, emailed to the logged-in user."""

    permission_required = ("messaging.change_messagetemplate", "customers.view_customer")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = _template(pk)
        user = request.user
        if not isinstance(user, User):
            raise PermissionDenied
        url = reverse("messaging:template-detail", args=[pk])
        raw = request.POST.get("customer", "")
        customer = (
            Customer.objects.select_related("stage", "owner").filter(pk=int(raw)).first()
            if raw.isdigit()
            else None
        )
        if customer is None:
            messages.error(request, "Choose a customer to personalise the test for.")
            return HttpResponseRedirect(url)
        try:
            message = template_test_send(template=template, customer=customer, to=user.email)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Test sent to {message.to}; it is in the outbox.")
        return HttpResponseRedirect(f"{url}?customer={customer.pk}")


class TemplateDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/templates/<id>/delete/`: confirm, then delete — unless an automation rule sends it."""

    permission_required = "messaging.delete_messagetemplate"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        from automation.selectors import rules_using_template

        template = _template(pk)
        context = {"template": template, "rules": list(rules_using_template(template_id=pk))}
        return render(request, "messaging/template_confirm_delete.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = _template(pk)
        try:
            template_delete(template=template)
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("messaging:template-detail", args=[pk]))
        messages.success(request, f"Template “{template.name}” deleted.")
        return HttpResponseRedirect(reverse("messaging:template-list"))
