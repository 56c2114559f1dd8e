"""The dashboard page where a person manages their own API tokens."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from accounts.selectors import api_token_list
from accounts.services import api_token_create, api_token_revoke, api_tokens_revoke_all


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="What the token is for (a script, a spreadsheet), to recognise it later.",
    )


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):  # the view requires a login
        raise PermissionDenied
    return request.user


class ApiTokensView(LoginRequiredMixin, View):
    """List one's tokens; issue one (shown once, on this page only); revoke one or all."""

    template_name = "accounts/api_tokens.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, ApiTokenForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        user = _user(request)
        action = request.POST.get("action")
        if action == "create":
            form = ApiTokenForm(request.POST)
            if not form.is_valid():
                return self._page(request, form, status=400)
            token, secret = api_token_create(user=user, name=form.cleaned_data["name"])
            # Rendered, not redirected: the token must not travel through the session.
            return self._page(request, ApiTokenForm(), issued=secret, issued_token=token)
        if action == "revoke":
            try:
                public_id = uuid.UUID(request.POST.get("id", ""))
            except ValueError:
                public_id = None
            if public_id is None or not api_token_revoke(user=user, public_id=public_id):
                messages.error(request, "No such token of yours: nothing was revoked.")
            else:
                messages.success(request, "Token revoked.")
        elif action == "revoke_all":
            count = api_tokens_revoke_all(user=user)
            messages.success(request, f"All your API tokens were revoked ({count}).")
        return HttpResponseRedirect(reverse("api-tokens"))

    def _page(
        self, request: HttpRequest, form: ApiTokenForm, status: int = 200, **extra: object
    ) -> HttpResponse:
        context = {"form": form, "tokens": api_token_list(user=_user(request)), **extra}
        return render(request, self.template_name, context, status=status)
