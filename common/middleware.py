"""Middleware of the whole site: a warning when a write's sending waits for the queue, and a
400 for a URL carrying text PostgreSQL cannot store."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from common.queue import DELAYED_MESSAGE, publish_tracking_start
from common.validators import printable, text_error

# The API's success responses carry this header when their work could not be queued yet.
DELAYED_HEADER = "Flywheel-Queue-Delayed"


class PublishDelayedMiddleware:
    """After a request whose tasks could not be published (common/queue.py): the API's
    response carries `Flywheel-Queue-Delayed: true`; a dashboard page shows a warning."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        note = publish_tracking_start()
        response = self.get_response(request)
        if note.delayed:
            response[DELAYED_HEADER] = "true"
            if not request.path.startswith("/api/") and hasattr(request, "_messages"):
                messages.warning(request, DELAYED_MESSAGE)
        return response


class UnstorableTextMiddleware:
    """A 400 naming the query parameter (or `path`) that holds a NUL character.

    Every filter, list and page reads the query string, and a NUL in a value (`?state=%00`)
    or in the path (`/r/AB%00CD/`) reaches a query as a 500. Checked once here: JSON on the
    API, a plain error page elsewhere. Lone surrogates cannot arrive this way: Django decodes
    URLs and form bodies replacing invalid UTF-8 (`%ED%A0%80`), so they are checked where JSON
    is parsed (common.api.parsers and the public form). Form bodies are left to the forms,
    which show the error on the field (Django's CharField rejects NUL).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = self._problem(request)
        if problem is None:
            return self.get_response(request)
        name, message = problem
        if request.path_info.startswith("/api/"):
            return JsonResponse({name: [message]}, status=400)
        context = {"name": name, "message": message}
        return render(request, "400.html", context, status=400)

    @staticmethod
    def _problem(request: HttpRequest) -> tuple[str, str] | None:
        message = text_error(request.path_info)
        if message:
            return "path", message
        for key, values in request.GET.lists():
            for text in (key, *values):
                message = text_error(text)
                if message:
                    return printable(key), message
        return None
