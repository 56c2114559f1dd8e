"""Lead form pages.

Public (no login, no CSRF: websites post to it from their own pages): `/f/<slug>/` shows the
form (GET) and takes a submission (POST, urlencoded or JSON; JSON back when the request's
Accept asks for it). UTM comes from the query string or hidden inputs, the referrer from the
hidden input or the Referer header. A honeypot and a per-address rate limit keep bots out.
`/f/confirm/<token>/` confirms a double opt-in (GET shows a button, POST confirms).

Dashboard: the forms, create and edit (fields as JSON), a form's submissions and its
copy-paste embed snippet.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from common.clientip import client_ip
from common.exceptions import ApplicationError
from common.page_policies import embeddable, form_action_allow
from common.ratelimit import RateLimit, rate_limit_exceeded, retry_after, wait_message
from common.validators import text_errors
from leadforms.models import LeadForm, Submission, SubmissionState
from leadforms.selectors import leadform_stats
from leadforms.services import (
    CONSENT_FIELD,
    EMAIL_FIELD,
    HONEYPOT_FIELD,
    UTM_FIELDS,
    InvalidInputError,
    form_create,
    form_submit,
    form_update,
    submission_confirm,
)
from leadforms.tokens import ConfirmLinkExpiredError, submission_id_from_token

SUBMIT_LIMIT = RateLimit(group="leadform-submit", count=20, period_seconds=60 * 60)

# --- public --------------------------------------------------------------------------------------


def _public(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def form_widgets(
    form: LeadForm, values: dict[str, Any], errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """What the template draws for each input: the email, the form's fields, the consent."""
    specs = [
        {"name": EMAIL_FIELD, "label": "Email", "type": "email", "required": True},
        *form.fields,
    ]
    if form.consent_text:
        specs.append(
            {
                "name": CONSENT_FIELD,
                "label": form.consent_text,
                "type": "checkbox",
                "required": False,
            }
        )
    widgets = []
    for spec in specs:
        value = values.get(spec["name"], "")
        widgets.append(
            {
                **spec,
                "id": f"lf-{spec['name']}",
                "value": "" if isinstance(value, bool) else value,
                "checked": value is True or str(value).lower() in ("on", "true", "1", "yes"),
                "errors": errors.get(spec["name"], []),
            }
        )
    return widgets


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )


def _posted(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None
    return {key: request.POST.get(key) for key in request.POST}


@method_decorator([csrf_exempt, embeddable], name="dispatch")
class PublicFormView(View):
    """`/f/<slug>/`: the form, and where it posts."""

    def _form(self, slug: str) -> LeadForm | None:
        return LeadForm.objects.filter(slug=slug, is_active=True).first()

    def _page(
        self,
        request: HttpRequest,
        form: LeadForm,
        values: dict[str, Any],
        errors: dict[str, list[str]],
        status: int = 200,
    ) -> HttpResponse:
        utm = {key: values.get(key) or request.GET.get(key, "") for key in UTM_FIELDS}
        context = {
            "form": form,
            "widgets": form_widgets(form, values, errors),
            "non_field_errors": errors.get("non_field_errors", []),
            "utm": utm,
            "referrer": values.get("referrer") or request.headers.get("Referer", ""),
            "honeypot": HONEYPOT_FIELD,
        }
        response = _public(request, "leadforms/public_form.html", context, status=status)
        if form.redirect_url:
            # After a submission the visitor is sent on to the form's own thank-you page.
            form_action_allow(response, form.redirect_url)
        return response

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        form = self._form(slug)
        if form is None:
            return _public(request, "leadforms/public_not_found.html", {}, status=404)
        return self._page(request, form, {}, {})

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        form = self._form(slug)
        as_json = _wants_json(request)
        if form is None:
            if as_json:
                return JsonResponse({"detail": "No such form."}, status=404)
            return _public(request, "leadforms/public_not_found.html", {}, status=404)
        data = _posted(request)
        if data is None:
            errors = {"body": ["Send a JSON object or a form."]}
            return JsonResponse(errors, status=400)
        unstorable = text_errors(data)
        if unstorable:
            # Named on the field, and left out of the page drawn again: it cannot be shown.
            if as_json:
                return JsonResponse(unstorable, status=400)
            kept = {key: value for key, value in data.items() if not text_errors({key: value})}
            return self._page(request, form, kept, unstorable, status=400)
        wait = rate_limit_exceeded(request, limit=SUBMIT_LIMIT)
        if wait is not None:
            errors = {"non_field_errors": [wait_message(wait)]}
            if as_json:
                return retry_after(JsonResponse(errors, status=429), wait)
            return retry_after(self._page(request, form, data, errors, status=429), wait)
        utm = {key: data.get(key) or request.GET.get(key, "") for key in UTM_FIELDS}
        try:
            form_submit(
                form=form,
                data=data,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
                utm={key: str(value or "") for key, value in utm.items()},
                referrer=str(data.get("referrer") or request.headers.get("Referer", "")),
            )
        except InvalidInputError as error:
            if as_json:
                return JsonResponse(error.errors, status=400)
            return self._page(request, form, data, error.errors, status=400)
        except ApplicationError as error:
            if as_json:
                return JsonResponse(error.as_dict(), status=400)
            return self._page(request, form, data, error.as_dict(), status=400)
        if as_json:
            return JsonResponse({"ok": True, "message": form.success_message}, status=201)
        if form.redirect_url:
            return HttpResponseRedirect(form.redirect_url, status=303)
        return _public(request, "leadforms/public_thanks.html", {"form": form})


@method_decorator(csrf_exempt, name="dispatch")
class ConfirmView(View):
    """`/f/confirm/<token>/`: confirm the subscription (a button: mail scanners follow links)."""

    def _submission(self, request: HttpRequest, token: str) -> Submission | HttpResponse:
        try:
            submission_id = submission_id_from_token(token)
        except ConfirmLinkExpiredError:
            return _public(request, "leadforms/confirm_expired.html", {}, status=410)
        submission = (
            Submission.objects.select_related("form").filter(pk=submission_id).first()
            if submission_id
            else None
        )
        if submission is None or submission.customer_id is None:
            return _public(request, "leadforms/public_not_found.html", {}, status=404)
        return submission

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        submission = self._submission(request, token)
        if isinstance(submission, HttpResponse):
            return submission
        return _public(request, "leadforms/confirm.html", {"submission": submission})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        submission = self._submission(request, token)
        if isinstance(submission, HttpResponse):
            return submission
        submission = submission_confirm(
            submission=submission,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return _public(request, "leadforms/confirm_done.html", {"submission": submission})


# --- dashboard -----------------------------------------------------------------------------------

FIELDS_EXAMPLE = json.dumps(
    [
        {"name": "first_name", "label": "First name", "type": "text", "required": True,
         "maps_to": "first_name"},
        {"name": "company", "label": "Company", "type": "text", "maps_to": "company"},
        {"name": "team_size", "label": "Team size", "type": "select",
         "choices": ["1-10", "11-50", "51+"], "maps_to": "attributes.team_size"},
    ],
    indent=2,
)  # fmt: skip


class LeadFormForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(
        max_length=80, required=False, help_text="The address: /f/<slug>/. Blank: from the name."
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    # Django's metaclass moves declared fields into `base_fields`, so `.fields` stays the
    # form's own dict of fields; the stubs see only the class attribute.
    fields = forms.CharField(  # type: ignore[assignment]
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}),
        required=False,
        initial="[]",
        label="Fields (JSON)",
        help_text="The email is always asked. Each field: name, label, type (text, email, tel, "
        "textarea, select, checkbox), required, maps_to (first_name, last_name, phone, company "
        "or attributes.<key>), choices (select only).",
    )
    consent_text = forms.CharField(
        max_length=500,
        required=False,
        label="Consent checkbox text",
        help_text="Blank: no consent checkbox. Ticked by a new customer, it records email "
        "consent; by an existing one, it sends a confirmation email.",
    )
    double_opt_in = forms.BooleanField(
        required=False, help_text="Consent counts only after the email's confirm link is used."
    )
    success_message = forms.CharField(max_length=500, required=False)
    redirect_url = forms.CharField(
        max_length=500, required=False, help_text="Optional: send people here after submitting."
    )
    tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated.")
    default_source = forms.CharField(
        max_length=100, required=False, help_text="Source of new customers (else utm_source)."
    )

    def clean_fields(self) -> Any:
        try:
            return json.loads(self.cleaned_data["fields"] or "[]")
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["tags"] = [tag for tag in data["tags"].split(",") if tag.strip()]
        return data


def _form_initial(form: LeadForm) -> dict[str, Any]:
    return {
        "name": form.name,
        "slug": form.slug,
        "is_active": form.is_active,
        "fields": json.dumps(form.fields, indent=2),
        "consent_text": form.consent_text,
        "double_opt_in": form.double_opt_in,
        "success_message": form.success_message,
        "redirect_url": form.redirect_url,
        "tags": ", ".join(form.tags),
        "default_source": form.default_source,
    }


def _service_errors(django_form: forms.Form, error: ApplicationError) -> None:
    for path, messages_ in error.as_dict().items():
        target = path.split("[")[0].split(".")[0]
        for message in messages_:
            text = message if target == path else f"{path}: {message}"
            django_form.add_error(target if target in django_form.fields else None, text)


def embed_snippet(form: LeadForm) -> str:
    """Copy-paste HTML for a website: a plain form posting to /f/<slug>/, honeypot and
    hidden UTM inputs (filled by a tiny optional inline script)."""
    action = settings.FLYWHEEL_BASE_URL.rstrip("/") + reverse("leadforms:public", args=[form.slug])
    return render_to_string(
        "leadforms/embed_snippet.html",
        {
            "form": form,
            "action": action,
            "widgets": form_widgets(form, {}, {}),
            "utm_fields": list(UTM_FIELDS),
            "honeypot": HONEYPOT_FIELD,
        },
    ).strip()


class LeadFormListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "leadforms.view_leadform"

    def get(self, request: HttpRequest) -> HttpResponse:
        from django.db.models import Count

        rows = LeadForm.objects.annotate(submission_count=Count("submissions"))
        return render(request, "leadforms/form_list.html", {"forms": rows})


class LeadFormEditView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Create (no pk) or edit a form."""

    def get_permission_required(self) -> tuple[str, ...]:
        pk = self.kwargs.get("pk")
        return ("leadforms.change_leadform",) if pk else ("leadforms.add_leadform",)

    def _render(
        self,
        request: HttpRequest,
        form: LeadFormForm,
        lead_form: LeadForm | None,
        status: int = 200,
    ) -> HttpResponse:
        context = {"form": form, "lead_form": lead_form, "example": FIELDS_EXAMPLE}
        return render(request, "leadforms/form_edit.html", context, status=status)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        lead_form = get_object_or_404(LeadForm, pk=pk) if pk else None
        initial = _form_initial(lead_form) if lead_form else None
        return self._render(request, LeadFormForm(initial=initial), lead_form)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        lead_form = get_object_or_404(LeadForm, pk=pk) if pk else None
        form = LeadFormForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, lead_form, status=400)
        try:
            if lead_form is None:
                lead_form = form_create(**form.service_data())
            else:
                form_update(form=lead_form, data=form.service_data())
        except ApplicationError as error:
            _service_errors(form, error)
            return self._render(request, form, lead_form if pk else None, status=400)
        messages.success(request, f"Form '{lead_form.name}' saved.")
        return HttpResponseRedirect(reverse("leadforms:detail", args=[lead_form.pk]), status=303)


class LeadFormDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A form: its public link, the embed snippet and its submissions, newest first."""

    permission_required = ("leadforms.view_leadform", "leadforms.view_submission")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        lead_form = get_object_or_404(LeadForm, pk=pk)
        rows = lead_form.submissions.select_related("customer")
        state = request.GET.get("state", "")
        if state:
            rows = rows.filter(state=state)
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        context = {
            "lead_form": lead_form,
            "page": page,
            "state": state,
            "state_choices": SubmissionState.choices,
            "public_url": settings.FLYWHEEL_BASE_URL.rstrip("/")
            + reverse("leadforms:public", args=[lead_form.slug]),
            "snippet": embed_snippet(lead_form),
            "stats": leadform_stats(form=lead_form),
        }
        return render(request, "leadforms/form_detail.html", context)
