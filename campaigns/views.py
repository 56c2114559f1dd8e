"""Campaign pages: the public tracking endpoints and the dashboard.

Public (no login):
- `/t/o/<token>.gif`: the open pixel; always a 1x1 GIF, records the first open.
- `/t/c/<token>/`: a tracked link; redirects to the URL signed inside the token, and only
  there. A forged or altered token is a 404 page: there is no open redirect.
- `POST /t/provider/`: the email provider's webhook for deliveries, bounces, complaints and
  unsubscribes, authenticated by the shared secret in the `X-Flywheel-Provider-Secret` header
  (setting FLYWHEEL_PROVIDER_WEBHOOK_SECRET; compared in constant time; unset = refused).
  Body: `{"event": "delivered"|"bounce"|"complaint"|"unsubscribe", "message_id":
  "<Message-ID>", "bounce_type": "hard"|"soft" (bounces; default hard), "occurred_at": ISO
  8601 (optional), "reason": "…" (optional)}`. Answers 200 `{"recorded": bool, "detail"}`
  for a known or unknown message (a provider must not retry those), 400 for bad input, 403
  for a wrong secret.

Dashboard (login and the role matrix): list, create and edit drafts with variants, preview
for a customer, test send to oneself, schedule / send now / pause / resume / cancel, the
progress page and the results page.
"""

from __future__ import annotations

import hmac
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from campaigns.forms import CampaignForm, PreviewForm, ScheduleForm, VariantFormSet
from campaigns.models import Campaign, CampaignState, Recipient, RecipientState
from campaigns.selectors import (
    acquisition_cost_by_source,
    campaign_audience,
    campaign_costs,
    campaign_list_rates,
    campaign_queryset,
    campaign_results,
    retention_cost,
)
from campaigns.services import (
    campaign_cancel,
    campaign_create,
    campaign_pause,
    campaign_preview,
    campaign_resume,
    campaign_schedule,
    campaign_send_now,
    campaign_test_send,
    campaign_update,
    provider_event_record,
    tracking_click,
    tracking_open,
    variant_texts_from_template,
)
from campaigns.tracking import PIXEL_GIF, click_from_token, recipient_id_from_open_token
from common.exceptions import ApplicationError
from common.page_policies import email_preview
from customers.models import Customer

# --- public tracking ---------------------------------------------------------------------------


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, max-age=0"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


class OpenPixelView(View):
    """`/t/o/<token>.gif`: a 1x1 GIF, whatever the token; a valid one records the open."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        recipient_id = recipient_id_from_open_token(token)
        if recipient_id is not None:
            tracking_open(recipient_id=recipient_id)
        return _no_store(HttpResponse(PIXEL_GIF, content_type="image/gif"))


class ClickView(View):
    """`/t/c/<token>/`: record the click and redirect to the URL signed in the token."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        found = click_from_token(token)
        if found is None:
            response = render(request, "campaigns/link_not_found.html", status=404)
            return _no_store(response)
        recipient_id, url = found
        tracking_click(recipient_id=recipient_id, url=url)
        return _no_store(HttpResponseRedirect(url))


PROVIDER_SECRET_HEADER = "HTTP_X_FLYWHEEL_PROVIDER_SECRET"  # noqa: S105 - a header name


@method_decorator(csrf_exempt, name="dispatch")
class ProviderWebhookView(View):
    """`POST /t/provider/`: the provider's events (see the module docstring)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        expected = getattr(settings, "FLYWHEEL_PROVIDER_WEBHOOK_SECRET", "") or ""
        given = request.META.get(PROVIDER_SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JsonResponse({"detail": "Wrong or missing provider secret."}, status=403)
        try:
            payload = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return JsonResponse({"body": ["Send a JSON object."]}, status=400)
        try:
            result = provider_event_record(payload=payload)
        except ApplicationError as error:
            return JsonResponse(error.as_dict(), status=400)
        return JsonResponse({"recorded": result.recorded, "detail": result.detail})


# --- dashboard ---------------------------------------------------------------------------------

PAGE_SIZE = 50
PROBLEM_LIMIT = 100


def _actor(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _campaign(pk: int) -> Campaign:
    return get_object_or_404(campaign_queryset(), pk=pk)


class CampaignListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/campaigns/`: every campaign with its state and key rates; costs by source."""

    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(campaign_queryset(), PAGE_SIZE).get_page(request.GET.get("page"))
        rates = campaign_list_rates(list(page.object_list))
        end = timezone.now()
        start = end - timedelta(days=90)
        context = {
            "page": page,
            "rows": [(c, rates[c.pk]) for c in page.object_list],
            "by_source": acquisition_cost_by_source(start=start, end=end),
            "retention": retention_cost(start=start, end=end),
        }
        return render(request, "campaigns/campaign_list.html", context)


def _variants_data(formset: Any) -> list[dict[str, Any]]:
    variants = []
    for form in formset.forms:
        if not form.cleaned_data or form.cleaned_data.get("DELETE"):
            continue
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("DELETE", "template")}
        if form.cleaned_data.get("template") is not None:
            data["template"] = form.cleaned_data["template"].pk
        variants.append(data)
    return variants


VARIANT_FORM_FIELDS = ("name", "split", "subject", "body_text", "body_html", "DELETE")


def _filled_from_template(
    request: HttpRequest, index: int
) -> tuple[CampaignForm, Any, ApplicationError | None]:
    """The campaign form as posted (nothing saved), with variant `index`'s texts replaced
    by a copy of its chosen template's — the "Fill from template" button."""
    post = request.POST
    initial = {name: post.get(name, "") for name in CampaignForm.base_fields}
    try:
        count = min(int(post.get("variants-TOTAL_FORMS", "1")), 10)
    except ValueError:
        count = 1
    variants = [
        {
            name: post.get(f"variants-{i}-{name}", "")
            for name in VARIANT_FORM_FIELDS
            if f"variants-{i}-{name}" in post
        }
        for i in range(max(count, 1))
    ]
    error = None
    if 0 <= index < len(variants):
        chosen = post.get(f"variants-{index}-template", "")
        try:
            if not chosen:
                raise ApplicationError(
                    "Choose a template to fill from.", field=f"variants[{index}].template"
                )
            texts = variant_texts_from_template(
                chosen, channel=post.get("channel", ""), where=f"variants[{index}]"
            )
        except ApplicationError as exc:
            error = exc
            variants[index]["template"] = chosen
        else:
            variants[index].update(texts)
    form = CampaignForm(initial=initial)
    formset = VariantFormSet(prefix="variants", initial=variants)
    return form, formset, error


def _form_error(form: Any, formset: Any, error: ApplicationError) -> None:
    name = error.field
    if name in form.fields:
        form.add_error(name, error.message)
    elif name.startswith("variants[") and "]." in name:
        index = int(name[len("variants[") : name.index("]")])
        field = name.split("].", 1)[1]
        target = formset.forms[index] if index < len(formset.forms) else None
        if target is not None and field in target.fields:
            target.add_error(field, error.message)
        else:
            form.add_error(None, error.message)
    else:
        form.add_error(None, error.message)


class CampaignFormView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/campaigns/new/` and `/campaigns/<id>/edit/`: a draft and its variants."""

    def get_permission_required(self) -> tuple[str, ...]:
        pk = self.kwargs.get("pk")
        return ("campaigns.change_campaign",) if pk else ("campaigns.add_campaign",)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        campaign = _campaign(pk) if pk else None
        if campaign is not None and campaign.state != CampaignState.DRAFT:
            messages.error(request, "Only a draft can be edited.")
            return HttpResponseRedirect(reverse("campaigns:detail", args=[campaign.pk]))
        if campaign is None:
            form = CampaignForm()
            formset = VariantFormSet(prefix="variants", initial=[{"name": "A", "split": 100}])
        else:
            form = CampaignForm(initial=CampaignForm.initial_for(campaign))
            formset = VariantFormSet(
                prefix="variants",
                initial=[
                    {
                        f: getattr(v, f)
                        for f in ("name", "split", "subject", "body_text", "body_html")
                    }
                    for v in campaign.variants.order_by("pk")
                ],
            )
        return self._render(request, form, formset, campaign)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        campaign = _campaign(pk) if pk else None
        fill = request.POST.get("fill_template", "")
        if fill.isdigit():
            form, formset, error = _filled_from_template(request, int(fill))
            if error is not None:
                messages.error(request, error.message)
            return self._render(request, form, formset, campaign, status=200 if not error else 400)
        form = CampaignForm(request.POST)
        formset = VariantFormSet(request.POST, prefix="variants")
        if form.is_valid() and formset.is_valid():
            data = dict(form.cleaned_data)
            segment = data.pop("segment")
            customer_ids = data.pop("customer_ids")
            variants = _variants_data(formset)
            try:
                if campaign is None:
                    campaign = campaign_create(
                        created_by=_actor(request),
                        segment=segment,
                        customer_ids=customer_ids,
                        variants=variants,
                        **data,
                    )
                    messages.success(request, f"Draft “{campaign.name}” created.")
                else:
                    campaign = campaign_update(
                        campaign=campaign,
                        data=data,
                        variants=variants,
                        segment=segment,
                        customer_ids=customer_ids,
                    )
                    messages.success(request, "Draft saved.")
            except ApplicationError as error:
                _form_error(form, formset, error)
            else:
                return HttpResponseRedirect(reverse("campaigns:detail", args=[campaign.pk]))
        return self._render(request, form, formset, campaign, status=400)

    def _render(
        self,
        request: HttpRequest,
        form: CampaignForm,
        formset: Any,
        campaign: Campaign | None,
        status: int = 200,
    ) -> HttpResponse:
        context = {"form": form, "formset": formset, "campaign": campaign}
        return render(request, "campaigns/campaign_form.html", context, status=status)


class CampaignDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/campaigns/<id>/`: the results — per-variant rates with intervals and the A/B
    verdict, conversions and costs — plus the actions its state allows."""

    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        context = {
            "campaign": campaign,
            "results": campaign_results(campaign=campaign),
            "costs": campaign_costs(campaign=campaign),
            "schedule_form": ScheduleForm(),
            "preview_form": PreviewForm(),
        }
        return render(request, "campaigns/campaign_detail.html", context)


class CampaignProgressView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/campaigns/<id>/progress/`: a progress bar that reloads itself while sending."""

    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        problems = list(
            Recipient.objects.filter(
                campaign=campaign, state__in=[RecipientState.SKIPPED, RecipientState.FAILED]
            )
            .select_related("customer")
            .order_by("pk")[:PROBLEM_LIMIT]
        )
        context = {"campaign": campaign, "problems": problems, "problem_limit": PROBLEM_LIMIT}
        response = render(request, "campaigns/campaign_progress.html", context)
        if campaign.is_running:
            response["Refresh"] = "2"
        return response


ACTIONS = {
    "send-now": (campaign_send_now, "Sending started."),
    "pause": (campaign_pause, "Paused."),
    "resume": (campaign_resume, "Resumed."),
    "cancel": (campaign_cancel, "Cancelled."),
}


class CampaignActionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`POST /campaigns/<id>/<action>/`: send now, schedule, pause, resume or cancel;
    `GET /campaigns/<id>/send-now/` asks to confirm, with how many customers that is.

    A second "Send now" (a double click) is refused by the state machine with a message;
    the database's one-message-per-recipient rule holds whatever happens."""

    permission_required = "campaigns.send_campaign"

    def get(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """The confirmation of "Send now": the customers the audience holds now are the ones
        sending fixes as the recipients."""
        if action != "send-now":
            raise Http404
        campaign = _campaign(pk)
        if campaign.state not in (CampaignState.DRAFT, CampaignState.SCHEDULED):
            return HttpResponseRedirect(reverse("campaigns:detail", args=[pk]))
        context: dict[str, Any] = {"campaign": campaign}
        try:
            context["count"] = campaign_audience(campaign).count()
        except ApplicationError as error:  # no audience, or a segment whose rules fail
            context["error"] = error.message
        return render(request, "campaigns/campaign_confirm.html", context)

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        campaign = _campaign(pk)
        try:
            if action == "schedule":
                form = ScheduleForm(request.POST)
                if not form.is_valid():
                    raise ApplicationError("Give a valid date and time.", field="scheduled_at")
                campaign_schedule(campaign=campaign, at=form.cleaned_data["scheduled_at"])
                messages.success(request, "Scheduled.")
            elif action in ACTIONS:
                service, done = ACTIONS[action]
                service(campaign=campaign)
                messages.success(request, done)
            else:
                raise ApplicationError("Unknown action.")
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("campaigns:detail", args=[pk]))
        target = "campaigns:progress" if action in ("send-now", "resume") else "campaigns:detail"
        return HttpResponseRedirect(reverse(target, args=[pk]))


@method_decorator(email_preview, name="get")
class CampaignPreviewView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/campaigns/<id>/preview/?customer=<id>`: each variant as that customer would get it;
    POST sends the chosen variant to oneself as a test."""

    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        form = PreviewForm(request.GET or None)
        previews = []
        customer = None
        if form.is_bound and form.is_valid():
            customer = form.cleaned_data["customer"]
            customer = Customer.objects.select_related("stage", "owner").get(pk=customer.pk)
            previews = [
                (v, campaign_preview(campaign=campaign, variant=v, customer=customer))
                for v in campaign.variants.order_by("pk")
            ]
        context = {
            "campaign": campaign,
            "form": form,
            "customer": customer,
            "previews": previews,
        }
        return render(
            request,
            "campaigns/campaign_preview.html",
            context,
            status=400 if form.is_bound and not form.is_valid() else 200,
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("campaigns.change_campaign"):
            raise PermissionDenied
        campaign = _campaign(pk)
        form = PreviewForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a customer to personalise the test for.")
            return HttpResponseRedirect(reverse("campaigns:preview", args=[pk]))
        variant = get_object_or_404(campaign.variants, pk=form.cleaned_data.get("variant") or 0)
        customer = Customer.objects.select_related("stage", "owner").get(
            pk=form.cleaned_data["customer"].pk
        )
        user = _actor(request)
        try:
            campaign_test_send(campaign=campaign, variant=variant, customer=customer, to=user.email)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Test of {variant.name} sent to {user.email}.")
        url = reverse("campaigns:preview", args=[pk]) + f"?customer={customer.pk}"
        return HttpResponseRedirect(url)
