"""Survey pages: the public answer page behind every link, and the dashboard pages.

Public (no login): `/s/<token>/` shows the question and takes the answer; `/s/<token>/thanks/`
thanks the customer (and asks a promoter for a referral). A forged or unknown link is a 404
page, an expired one a 410, an answered one says so — never a 500. The pages are plain HTML
forms: they work on a phone, without JavaScript, and load nothing from elsewhere.

Dashboard (login and the role matrix): the surveys with their scores, one survey's results,
send to one customer, bulk send to the customers matching the customer list's filters, and a
bulk send's progress. Each view checks a permission, validates a form, calls one service.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from common.exceptions import ApplicationError
from customers.forms import CustomerListFilter
from customers.models import Customer
from customers.selectors import customer_queryset
from segments.selectors import segment_customers
from surveys.forms import AnswerForm, BulkSurveyForm, SendSurveyForm
from surveys.models import Invitation, InvitationSource, InvitationState, Survey
from surveys.scoring import Category, SurveyKind, scale_of
from surveys.selectors import (
    batch_queryset,
    invitation_from_token,
    response_queryset,
    survey_queryset,
    survey_results,
    survey_score,
)
from surveys.services import (
    FILTER_KEYS,
    InvitationAnsweredError,
    InvitationExpiredError,
    InvitationNotSentError,
    invitation_is_expired,
    survey_answer,
    survey_invite,
    survey_send_bulk,
)

# --- public pages --------------------------------------------------------------------------------


def _public(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a public page: never cached, never indexed, and the link's token never leaks
    to another site through the Referer header."""
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def _scale_context(invitation: Invitation) -> dict[str, Any]:
    survey = invitation.survey
    scale = scale_of(survey.kind)
    return {
        "invitation": invitation,
        "survey": survey,
        "scale": scale,
        "low_label": survey.low_label or scale.low_label,
        "high_label": survey.high_label or scale.high_label,
    }


def _referral_context(invitation: Invitation) -> dict[str, Any]:
    """A promoter is asked to bring others, with their own referral link."""
    response = getattr(invitation, "response", None)
    if response is None or response.category != Category.PROMOTER:
        return {}
    code = invitation.customer.referral_code
    return {
        "referral_code": code,
        "referral_url": f"{settings.FLYWHEEL_BASE_URL.rstrip('/')}/r/{code}/",
    }


def _not_found(request: HttpRequest) -> HttpResponse:
    return _public(request, "surveys/public_not_found.html", {}, status=404)


def _closed(request: HttpRequest, invitation: Invitation, *, posted: bool) -> HttpResponse | None:
    """The page for a link that takes no answer (answered, expired, never sent), or None."""
    if invitation.state == InvitationState.ANSWERED:
        context = {**_scale_context(invitation), **_referral_context(invitation)}
        return _public(
            request, "surveys/public_answered.html", context, status=409 if posted else 200
        )
    if invitation.state == InvitationState.SKIPPED:
        return _not_found(request)
    if invitation_is_expired(invitation):
        return _public(
            request, "surveys/public_expired.html", _scale_context(invitation), status=410
        )
    return None


# The link's token is the credential, and a site that does not know it cannot post an answer;
# a CSRF cookie would add nothing but failures in mail apps' browsers that drop cookies.
@method_decorator(csrf_exempt, name="dispatch")
class SurveyAnswerView(View):
    """`/s/<token>/`: the question, the scale as radio buttons, an optional comment."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = invitation_from_token(token)
        if invitation is None:
            return _not_found(request)
        closed = _closed(request, invitation, posted=False)
        if closed is not None:
            return closed
        initial = {}
        # The email's score links open the page with that score chosen; nothing is recorded
        # until the customer presses Send (mail scanners follow links too).
        chosen = request.GET.get("score", "")
        if chosen.isdigit() and int(chosen) in scale_of(invitation.survey.kind).scores:
            initial["score"] = int(chosen)
        form = AnswerForm(survey=invitation.survey, initial=initial)
        return _public(
            request, "surveys/public_answer.html", {**_scale_context(invitation), "form": form}
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = invitation_from_token(token)
        if invitation is None:
            return _not_found(request)
        closed = _closed(request, invitation, posted=True)
        if closed is not None:
            return closed
        form = AnswerForm(request.POST, survey=invitation.survey)
        context = {**_scale_context(invitation), "form": form}
        if not form.is_valid():
            return _public(request, "surveys/public_answer.html", context, status=400)
        try:
            survey_answer(
                invitation=invitation,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data.get("comment", ""),
            )
        except (InvitationAnsweredError, InvitationExpiredError, InvitationNotSentError):
            # Answered or expired between the check above and the lock (a double click).
            invitation.refresh_from_db()
            return _closed(request, invitation, posted=True) or _not_found(request)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            return _public(request, "surveys/public_answer.html", context, status=400)
        return HttpResponseRedirect(reverse("surveys:thanks", args=[token]), status=303)


class SurveyThanksView(View):
    """`/s/<token>/thanks/`: after an answer; a promoter is asked for a referral."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = invitation_from_token(token)
        if invitation is None:
            return _not_found(request)
        if invitation.state != InvitationState.ANSWERED:
            return HttpResponseRedirect(reverse("surveys:answer", args=[token]))
        context = {**_scale_context(invitation), **_referral_context(invitation)}
        return _public(request, "surveys/public_thanks.html", context)


# --- dashboard -----------------------------------------------------------------------------------

PAGE_SIZE = 50
PROBLEM_LIMIT = 100  # skipped and failed invitations listed on a bulk send's page
PERIODS = {"30": 30, "90": 90, "365": 365}


def _actor(request: HttpRequest) -> User:
    """The logged-in user, recorded as the sender (the views all require a login)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


class SurveyListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/surveys/`: every survey with its sends, answers and score so far; recent bulk sends."""

    permission_required = "surveys.view_survey"

    def get(self, request: HttpRequest) -> HttpResponse:
        context: dict[str, Any] = {
            "rows": [
                {"survey": survey, "summary": survey_score(kind=survey.kind, survey=survey)}
                for survey in survey_queryset()
            ],
            "overall": [survey_score(kind=kind) for kind in SurveyKind.values],
        }
        if request.user.has_perm("surveys.view_surveybatch"):
            context["batches"] = list(batch_queryset()[:10])
        return render(request, "surveys/survey_list.html", context)


class SurveyDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/surveys/<id>/`: the score, the answers per score, invitations by state, and the
    latest answers with their comments. `?days=30|90|365` limits it to a recent period."""

    permission_required = "surveys.view_survey"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = get_object_or_404(Survey, pk=pk)
        days = request.GET.get("days", "")
        since = timezone.now() - timedelta(days=PERIODS[days]) if days in PERIODS else None
        results = survey_results(survey=survey, answered_after=since)
        most = max((count for _, count, _ in results.distribution), default=0)
        context: dict[str, Any] = {
            "survey": survey,
            "results": results,
            "bars": [
                {
                    "score": score,
                    "count": count,
                    "category": category,
                    "width": round(100 * count / most) if most else 0,
                }
                for score, count, category in results.distribution
            ],
            "days": days if days in PERIODS else "",
            "periods": list(PERIODS),
        }
        if request.user.has_perm("surveys.view_response"):
            responses = response_queryset().filter(survey=survey)
            if since is not None:
                responses = responses.filter(answered_at__gte=since)
            context["page"] = Paginator(responses, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "surveys/survey_detail.html", context)


class SurveySendView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/surveys/send/?customer=<id>`: send a survey to one customer (from their page)."""

    permission_required = "surveys.add_invitation"

    def get(self, request: HttpRequest) -> HttpResponse:
        customer = self._customer(request.GET.get("customer"))
        form = SendSurveyForm(initial={"customer": customer.pk})
        return self._render(request, form, customer)

    def post(self, request: HttpRequest) -> HttpResponse:
        customer = self._customer(request.POST.get("customer"))
        form = SendSurveyForm(request.POST)
        if form.is_valid():
            try:
                invitation = survey_invite(
                    survey=form.cleaned_data["survey"],
                    customer=customer,
                    source=InvitationSource.MANUAL,
                    sent_by=_actor(request),
                    idempotency_key=f"manual:{form.cleaned_data['key']}",
                )
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                survey = invitation.survey
                if invitation.state == InvitationState.SKIPPED:
                    messages.error(request, f"{survey.name} was not sent: {invitation.reason}")
                else:
                    messages.success(request, f"{survey.name} sent to {customer.email}.")
                return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
        return self._render(request, form, customer, status=400)

    def _customer(self, value: str | None) -> Customer:
        if value is None or not value.isdigit():
            raise Http404("No such customer.")
        return get_object_or_404(customer_queryset(), pk=int(value))

    def _render(
        self, request: HttpRequest, form: SendSurveyForm, customer: Customer, status: int = 200
    ) -> HttpResponse:
        recent = (
            Invitation.objects.filter(customer=customer)
            .select_related("survey", "response")
            .order_by("-created_at", "-id")[:10]
        )
        context = {"form": form, "customer": customer, "recent": recent}
        return render(request, "surveys/send.html", context, status=status)


def _filter_params(query: QueryDict) -> dict[str, str]:
    """The customer list's filters present in a query, as the bulk send service takes them."""
    return {key: str(query[key]) for key in sorted(FILTER_KEYS) if query.get(key)}


class SurveyBulkView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/surveys/bulk/`: choose a survey and the customers (the customer list's filters);
    "Preview" shows how many customers that is, "Send" starts the bulk send."""

    permission_required = "surveys.add_surveybatch"

    def get(self, request: HttpRequest) -> HttpResponse:
        bound = "preview" in request.GET
        form = BulkSurveyForm(
            request.GET if bound else None,
            initial={"survey": request.GET.get("survey"), "segment": request.GET.get("segment")},
        )
        filterset = CustomerListFilter(request.GET if bound else None, queryset=customer_queryset())
        context: dict[str, Any] = {"form": form, "filter": filterset}
        status = 200
        if bound:
            if self._audience_is_valid(form, filterset, request.GET):
                segment = form.cleaned_data["segment"]
                if segment is not None:
                    try:
                        context["count"] = segment_customers(segment).count()
                    except ApplicationError as error:  # its rules no longer validate
                        form.add_error("segment", error.message)
                        status = 400
                    context["params"] = {"segment": segment.pk}
                else:
                    context["count"] = filterset.qs.count()
                    context["params"] = _filter_params(request.GET)
            else:
                status = 400
        return render(request, "surveys/bulk.html", context, status=status)

    @staticmethod
    def _audience_is_valid(
        form: BulkSurveyForm, filterset: CustomerListFilter, query: QueryDict
    ) -> bool:
        """The survey, and either a segment or valid filters (a segment with filters is an
        error on the segment: which of the two was meant cannot be guessed)."""
        if not (form.is_valid() and filterset.is_valid()):
            return False
        if form.cleaned_data["segment"] is not None and _filter_params(query):
            form.add_error("segment", "Choose a segment or filters, not both.")
            return False
        return True

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BulkSurveyForm(request.POST)
        filterset = CustomerListFilter(request.POST, queryset=customer_queryset())
        if self._audience_is_valid(form, filterset, request.POST):
            segment = form.cleaned_data["segment"]
            try:
                batch = survey_send_bulk(
                    survey=form.cleaned_data["survey"],
                    filters=None if segment else _filter_params(request.POST),
                    segment=segment,
                    sent_by=_actor(request),
                )
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(
                    request, f"Sending {batch.survey.name} to {batch.total} customers."
                )
                return HttpResponseRedirect(reverse("surveys:batch", args=[batch.pk]))
        context = {"form": form, "filter": filterset}
        return render(request, "surveys/bulk.html", context, status=400)


class BatchDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """`/surveys/batches/<id>/`: a bulk send's progress bar (the page reloads itself every
    two seconds while it runs, without JavaScript) and its final counts."""

    permission_required = "surveys.view_surveybatch"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        batch = get_object_or_404(batch_queryset(), pk=pk)
        problems = list(
            batch.invitations.filter(state__in=[InvitationState.SKIPPED, InvitationState.FAILED])
            .select_related("customer")
            .order_by("pk")[:PROBLEM_LIMIT]
        )
        context = {"batch": batch, "problems": problems, "problem_limit": PROBLEM_LIMIT}
        response = render(request, "surveys/batch_detail.html", context)
        if batch.is_running:
            response["Refresh"] = "2"  # as the page's meta refresh, for any browser
        return response
