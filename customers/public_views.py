"""Public pages that need no login: the referral landing page behind every referral link.

`/r/<code>/` tells a visitor who invited them and lets them leave their details; the new
customer is linked to the referrer through `customer_create(referral_code=...)`, and a ticked
consent box is recorded with its evidence (method form, the visitor's address and user agent)
through `consent.services.customer_create_with_consent`. A honeypot
field and a per-address rate limit keep bots out. An email that is already a customer changes
nothing (no field, referrer or consent: anyone can type anyone's email) and gets the same
thank-you page, so the form does not reveal who is a customer.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from common.clientip import client_ip
from common.exceptions import ApplicationError
from common.ratelimit import RateLimit, rate_limit_exceeded, retry_after, wait_message
from consent.models import ConsentMethod
from consent.services import customer_create_with_consent
from customers.models import Customer
from stages.models import ActorKind

SIGNUP_LIMIT = RateLimit(group="referral-signup", count=10, period_seconds=60 * 60)


class ReferralSignupForm(forms.Form):
    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    email = forms.EmailField(max_length=254, label="Email")
    company = forms.CharField(max_length=200, required=False, label="Company")
    email_consent = forms.BooleanField(
        required=False, label="Send me news and offers by email (you can unsubscribe any time)"
    )
    # Hidden from people by CSS and aria-hidden; bots fill it in.
    website = forms.CharField(required=False, label="Leave this empty")


class ReferralLandingView(View):
    """`/r/<code>/`: who invited you, and a short form."""

    def _referrer(self, code: str) -> Customer | None:
        return Customer.objects.filter(referral_code=code.strip().upper()).first()

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        referrer = self._referrer(code)
        if referrer is None:
            return render(request, "customers/referral_unknown.html", status=404)
        return render(
            request,
            "customers/referral_landing.html",
            {"referrer": referrer, "form": ReferralSignupForm(), "code": code},
        )

    def post(self, request: HttpRequest, code: str) -> HttpResponse:
        referrer = self._referrer(code)
        if referrer is None:
            return render(request, "customers/referral_unknown.html", status=404)
        form = ReferralSignupForm(request.POST)
        context = {"referrer": referrer, "form": form, "code": code}
        wait = rate_limit_exceeded(request, limit=SIGNUP_LIMIT)
        if wait is not None:
            form.add_error(None, wait_message(wait))
            page = render(request, "customers/referral_landing.html", context, status=429)
            return retry_after(page, wait)
        if not form.is_valid():
            return render(request, "customers/referral_landing.html", context, status=400)
        if form.cleaned_data["website"]:
            # A bot: it is thanked like anyone else and nothing is stored.
            return render(request, "customers/referral_thanks.html", context)
        data = form.cleaned_data
        try:
            customer_create_with_consent(
                consent_method=ConsentMethod.FORM,
                email_consent=data["email_consent"],
                consent_source=f"referral:{referrer.referral_code}",
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                company=data["company"],
                source="referral",
                referral_code=referrer.referral_code,
                actor_kind=ActorKind.SYSTEM,
                entry_reason=f"Signed up through the referral link of customer {referrer.pk}",
            )
        except ApplicationError as error:
            if error.field != "email" or "already exists" not in error.message:
                form.add_error(error.field if error.field in form.fields else None, error.message)
                return render(request, "customers/referral_landing.html", context, status=400)
        return render(request, "customers/referral_thanks.html", context)
