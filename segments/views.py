"""Dashboard pages for segments: list with live counts, editor with Preview, detail with the
first customers, CSV export, static list members and freeze.

Every page checks the role matrix's permission (accounts.roles). A service's refusal is
shown on the field it names (definition errors with their path).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from common.exceptions import ApplicationError
from customers.exports import customers_csv_response
from segments.definition import EXAMPLE_JSON, DefinitionInvalidError
from segments.forms import SegmentForm
from segments.models import Segment, SegmentKind
from segments.selectors import (
    definition_preview,
    segment_count_recent,
    segment_customers,
    segment_list,
    segment_preview,
    segment_users,
)
from segments.services import (
    segment_create,
    segment_delete,
    segment_freeze,
    segment_members_add,
    segment_members_remove,
    segment_update,
)


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _ids(text: str) -> list[int] | None:
    parts = [p for p in text.replace(",", " ").split() if p]
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None


class SegmentListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Every segment with its count, at most a few minutes old (`segment_count_recent`): one
    live COUNT per dynamic segment would make the page slower with every segment and customer."""

    permission_required = "segments.view_segment"

    def get(self, request: HttpRequest) -> HttpResponse:
        rows = [(segment, segment_count_recent(segment)) for segment in segment_list()]
        return render(request, "segments/segment_list.html", {"rows": rows})


class _EditorMixin:
    template_name = "segments/segment_form.html"

    def preview_or_none(self, form: SegmentForm) -> dict[str, Any] | None:
        if form.cleaned_data.get("kind") != SegmentKind.DYNAMIC:
            return None
        try:
            count, first = definition_preview(form.cleaned_data.get("definition"))
        except DefinitionInvalidError as error:
            form.add_service_errors(error.errors)
            return None
        return {"count": count, "customers": first}


class SegmentCreateView(LoginRequiredMixin, PermissionRequiredMixin, _EditorMixin, View):
    permission_required = "segments.add_segment"

    def get(self, request: HttpRequest) -> HttpResponse:
        kind = request.GET.get("kind", SegmentKind.DYNAMIC)
        initial = {"kind": kind, "definition": EXAMPLE_JSON if kind == "dynamic" else ""}
        return render(request, self.template_name, {"form": SegmentForm(initial=initial)})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SegmentForm(request.POST)
        context: dict[str, Any] = {"form": form}
        if form.is_valid():
            if "preview" in request.POST:
                context["preview"] = self.preview_or_none(form)
                return render(request, self.template_name, context)
            try:
                segment = segment_create(created_by=_user(request), **form.cleaned_data)
            except ApplicationError as error:
                form.add_service_errors(error.as_dict())
            else:
                messages.success(request, f"The segment '{segment.name}' is saved.")
                return HttpResponseRedirect(reverse("segments:detail", args=[segment.pk]))
        return render(request, self.template_name, context, status=400)


class SegmentUpdateView(LoginRequiredMixin, PermissionRequiredMixin, _EditorMixin, View):
    permission_required = "segments.change_segment"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        form = SegmentForm(initial=SegmentForm.initial_for(segment))
        form.fields["kind"].disabled = True
        return render(request, self.template_name, {"form": form, "segment": segment})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        form = SegmentForm(request.POST, initial={"kind": segment.kind})
        form.fields["kind"].disabled = True
        context: dict[str, Any] = {"form": form, "segment": segment}
        if form.is_valid():
            if "preview" in request.POST:
                context["preview"] = self.preview_or_none(form)
                return render(request, self.template_name, context)
            data = dict(form.cleaned_data)
            data.pop("kind")
            if not segment.is_dynamic:
                data.pop("definition")
            try:
                segment_update(segment=segment, data=data)
            except ApplicationError as error:
                form.add_service_errors(error.as_dict())
            else:
                messages.success(request, f"The segment '{segment.name}' is saved.")
                return HttpResponseRedirect(reverse("segments:detail", args=[segment.pk]))
        return render(request, self.template_name, context, status=400)


class SegmentDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The segment, its count and its newest 20 customers; list management for static ones."""

    permission_required = "segments.view_segment"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(segment_list(), pk=pk)
        count, first = segment_preview(segment)
        context = {
            "segment": segment,
            "count": count,
            "customers": first,
            "sources": segment_list().exclude(pk=segment.pk),
            "users": segment_users(segment),
        }
        return render(request, "segments/segment_detail.html", context)


class SegmentDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "segments.delete_segment"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        try:
            segment_delete(segment=segment)
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("segments:detail", args=[segment.pk]))
        messages.success(request, f"The segment '{segment.name}' is deleted.")
        return HttpResponseRedirect(reverse("segments:list"))


class SegmentMembersView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Add (ids, or everyone in another segment now) or remove members of a static list."""

    permission_required = "segments.change_segment"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        action = request.POST.get("action")
        try:
            if action == "remove":
                ids = _ids(request.POST.get("customer_ids", ""))
                if ids is None:
                    raise ApplicationError("Give customer ids.", field="customer_ids")
                changed = segment_members_remove(segment=segment, customer_ids=ids)
                messages.success(request, f"{changed} removed from the list.")
            elif request.POST.get("source"):
                source_id = request.POST["source"].strip()
                if not source_id.isdigit():  # the select's value; anything else is no segment
                    raise ApplicationError("Choose a segment to add from.", field="source")
                source = get_object_or_404(Segment, pk=int(source_id))
                changed = segment_members_add(segment=segment, source=source)
                messages.success(request, f"{changed} added from “{source.name}”.")
            else:
                ids = _ids(request.POST.get("customer_ids", ""))
                if not ids:
                    raise ApplicationError(
                        "Give customer ids, separated by commas or spaces.", field="customer_ids"
                    )
                changed = segment_members_add(segment=segment, customer_ids=ids)
                messages.success(request, f"{changed} added to the list.")
        except ApplicationError as error:
            for messages_ in error.as_dict().values():
                for message in messages_:
                    messages.error(request, message)
        return HttpResponseRedirect(reverse("segments:detail", args=[segment.pk]))


class SegmentFreezeView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "segments.add_segment"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        name = request.POST.get("name", "").strip() or f"{segment.name} (frozen)"
        try:
            frozen = segment_freeze(segment=segment, name=name, created_by=_user(request))
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("segments:detail", args=[segment.pk]))
        messages.success(request, f"“{frozen.name}” holds today's {segment.name}.")
        return HttpResponseRedirect(reverse("segments:detail", args=[frozen.pk]))


class SegmentExportView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The segment's customers as CSV, streamed in chunks (any size, flat memory), with
    formula-like cells neutralised (customers.exports)."""

    permission_required = (
        "segments.view_segment",
        "segments.export_segment",
        "customers.view_customer",
    )

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        segment = get_object_or_404(Segment, pk=pk)
        customers = segment_customers(segment).order_by("pk")
        return customers_csv_response(customers, filename=f"segment-{segment.pk}.csv")
