"""Helpers every dashboard view shares."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from common.exceptions import ApplicationError


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where to go back to: the `next` the page sent, if it stays on this site; else fallback."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def request_actor(request: HttpRequest) -> User:
    """The logged-in user, who is recorded as having made the change."""
    if not isinstance(request.user, User):  # the views all require a login
        raise PermissionDenied
    return request.user


def form_add_service_error(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's refusal on the field it names, or above the form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)
