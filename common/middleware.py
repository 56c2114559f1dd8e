"""Tell the person whose write was saved that its sending waits for the queue."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from common.queue import DELAYED_MESSAGE, publish_tracking_start

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
