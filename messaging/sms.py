"""SMS backends: an interface, a console backend for development, a memory one for tests.

Choose one with the SMS_BACKEND setting (a dotted path). A real gateway implements
`send(to=, body=, message_id=)` and raises `TransientSendError` for what is worth retrying.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string


class TransientSendError(Exception):
    """The gateway could not take the message now; try again later."""


class BaseSMSBackend:
    def send(self, *, to: str, body: str, message_id: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    """Writes each SMS to standard output (what `make run` uses)."""

    def send(self, *, to: str, body: str, message_id: str) -> None:
        sys.stdout.write(f"SMS {message_id} to {to}: {body}\n")
        sys.stdout.flush()


@dataclass(frozen=True)
class SentSMS:
    to: str
    body: str
    message_id: str


class LocmemSMSBackend(BaseSMSBackend):
    """Keeps sent messages in `LocmemSMSBackend.outbox` (tests)."""

    outbox: ClassVar[list[SentSMS]] = []

    def send(self, *, to: str, body: str, message_id: str) -> None:
        self.outbox.append(SentSMS(to=to, body=body, message_id=message_id))


def get_sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()
