"""Idempotency keys for every write of the REST API: a resend gets the first answer.

A client that sends `Idempotency-Key: <key>` with a POST, PUT, PATCH or DELETE under
/api/v1/ may resend that request as often as it likes: the view runs once, and every resend
gets the first answer again, marked `Idempotent-Replayed: true`.

How (the semantics of Stripe's idempotent requests, kept in PostgreSQL):
- The key belongs to the authenticated user; it is bound to the method, the path (query
  string included) and a hash of the body of its first request. The same key with another
  request is a 409 naming `Idempotency-Key`; keys of different users never meet.
- `IdempotencyKeyMiddleware` runs the view inside one transaction that first inserts the
  key's row and, once the view has answered, stores the answer in it. The row therefore
  commits exactly when the view's writes do: a process that dies after the commit left the
  answer for the resend to replay; one that dies before it left nothing, and the resend runs
  afresh. The services' own atomic blocks become savepoints inside it, and what they queue
  with `on_commit` waits for this commit.
- A second request with the same key while the first is running waits on the row's unique
  index until the first commits (then it replays) or rolls back (then it runs); after
  `WAIT_SECONDS` it gets a 409 "in progress" with `Retry-After`. Never both run.
- Only successful (2xx) answers are stored. Any other answer rolls the whole request back
  and stores nothing, so a request answered 4xx wrote nothing and may be corrected and sent
  again with the same key; a 5xx is retried with the same key.
- Rows are kept `RETENTION` (24 hours) at least; `idempotency_keys_prune`, an hourly beat
  task, deletes older ones.

Requests without the header, and requests whose credentials do not authenticate (the view
answers those with its 401 or 403), are not touched.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.views import APIView

from common.models import IdempotencyKey

API_PREFIX = "/api/v1/"
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
# Visible ASCII, no spaces: a UUID, a ULID or "order-1234:retry" all fit.
KEY_PATTERN = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")
RETENTION = timedelta(hours=24)
# How long a request waits for another one with its key to finish before a 409.
WAIT_SECONDS = 10.0

INVALID_KEY = (
    f"The key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters without spaces "
    "(a UUID is a good choice)."
)
KEY_REUSED = (
    "This key was already used for another request ({method} {path}, or another body). "
    "Use a new key for a new request."
)
IN_PROGRESS = "A request with this key is still in progress. Retry it in a moment."
# PostgreSQL's lock_not_available: the wait for the other request ran out.
_LOCK_NOT_AVAILABLE = "55P03"


class IdempotencyKeyMiddleware:
    """Answers a resent API write from its stored answer (see the module's docstring).

    Installed after AuthenticationMiddleware; it acts in `process_view`, so only on requests
    resolved to a DRF view, and calls that view itself inside the transaction.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        key = request.headers.get(HEADER)
        if (
            key is None
            or request.method not in WRITE_METHODS
            or not request.path_info.startswith(API_PREFIX)
        ):
            return None
        view_class = getattr(view_func, "cls", None)
        if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
            return None
        user = _authenticated_user(request, view_class, getattr(view_func, "initkwargs", {}))
        if user is None:
            return None  # the view refuses it (401/403), or it is public: POST /auth/token/
        if not KEY_PATTERN.fullmatch(key):
            return _error(400, INVALID_KEY)
        try:
            request_hash = _request_hash(request)
        except RequestDataTooBig:
            return None  # the view answers it with a 400 on `body` and writes nothing
        return _run_once(
            user=user,
            key=key,
            method=str(request.method),
            path=request.get_full_path(),
            request_hash=request_hash,
            run=lambda: view_func(request, *view_args, **view_kwargs),
        )


def _authenticated_user(
    request: HttpRequest, view_class: type[APIView], initkwargs: dict[str, Any]
) -> User | None:
    """The user the view's own authenticators find, without touching `request.user`."""
    view = view_class(**initkwargs)
    authenticators = view.get_authenticators()
    drf_request = Request(request, authenticators=authenticators)
    for authenticator in authenticators:
        try:
            found = authenticator.authenticate(drf_request)
        except APIException:
            return None
        if found is not None:
            user = found[0]
            return user if isinstance(user, User) and user.is_authenticated else None
    return None


def _request_hash(request: HttpRequest) -> str:
    """sha256 of the body; of its canonical form when it is JSON, so that a client that
    serialises the same data again (keys in another order, other spacing) matches."""
    body = request.body
    if request.content_type == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            pass  # the view answers it with a 400; hash the bytes
        else:
            body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(body).hexdigest()


def _run_once(
    *,
    user: User,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    run: Callable[[], HttpResponseBase],
) -> HttpResponseBase:
    with transaction.atomic():
        claimed = _claim(user=user, key=key, method=method, path=path, request_hash=request_hash)
        if not isinstance(claimed, IdempotencyKey):
            return claimed  # the stored answer, or a conflict
        response = run()
        render = getattr(response, "render", None)
        if callable(render):
            response = render()  # the content must be known before the commit
        if not 200 <= response.status_code < 300:
            # Nothing of a refused or failed request is kept: neither the key nor any write.
            transaction.set_rollback(True)
            return response
        if not isinstance(response, HttpResponse):
            # A streamed answer cannot be stored: the write stands, unkeyed.
            claimed.delete()
            return response
        claimed.response_status = response.status_code
        claimed.response_content_type = response.get("Content-Type", "")
        claimed.response_body = response.content
        claimed.save(update_fields=["response_status", "response_content_type", "response_body"])
    return response


def _claim(
    *, user: User, key: str, method: str, path: str, request_hash: str
) -> IdempotencyKey | HttpResponse:
    """Insert the key's row (ours until the commit), or answer from the row already there.

    The insert waits while another transaction holds an uncommitted row for the same key:
    it fails once that one commits, and succeeds if it rolls back.
    """
    for _ in range(2):
        try:
            with _lock_timeout(WAIT_SECONDS), transaction.atomic():
                return IdempotencyKey.objects.create(
                    user=user, key=key, method=method, path=path, request_hash=request_hash
                )
        except IntegrityError:
            pass
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) != _LOCK_NOT_AVAILABLE:
                raise
            return _error(409, IN_PROGRESS, retry_after=1)
        first = IdempotencyKey.objects.filter(user=user, key=key).first()
        if first is None:
            continue  # pruned in between: claim it afresh
        if (first.method, first.path, first.request_hash) != (method, path, request_hash):
            return _error(409, KEY_REUSED.format(method=first.method, path=first.path))
        return _replay(first)
    return _error(409, IN_PROGRESS, retry_after=1)


@contextmanager
def _lock_timeout(seconds: float) -> Iterator[None]:
    """Bound the lock waits of the block (in the current transaction), then restore."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true)", [f"{math.ceil(seconds * 1000)}ms"]
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.response_status)
    if record.response_content_type:
        response["Content-Type"] = record.response_content_type
    else:
        del response["Content-Type"]  # DRF sends none with an empty body (a 204)
    response[REPLAYED_HEADER] = "true"
    return response


def _error(status: int, message: str, *, retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse({HEADER: [message]}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def idempotency_keys_prune(*, older_than: timedelta = RETENTION) -> int:
    """Delete the idempotency keys stored more than `older_than` ago; how many."""
    cutoff = timezone.now() - older_than
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
