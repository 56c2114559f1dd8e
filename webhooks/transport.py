"""One POST to a checked target, on the standard library's http.client.

The connection goes to the address the guard checked (Target.address), never to a second
lookup of the name, while the Host header and TLS (SNI and certificate) use the URL's host.
Redirects are never followed: a 3xx is an answer like any other non-2xx. No proxy from the
environment is used. The timeout bounds the connection and each read; the body read back is
capped, since only an excerpt is kept.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from webhooks.guard import Target

MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """What the receiver answered (or None and an error when it did not)."""

    status_code: int | None
    body: str
    error: str
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed address, whatever the host name resolves to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a fixed address, verified against the URL's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        context = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address
        self._context = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(*, target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to `target` once; never raises for network or protocol failures."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read(MAX_RESPONSE_BYTES)
        status: int | None = response.status
        error = ""
        if 300 <= response.status < 400:
            location = response.getheader("Location", "")
            error = f"Redirect to {location!r} not followed." if location else ""
    except TimeoutError:
        status, content, error = None, b"", f"Timed out after {timeout:g} s."
    except ssl.SSLError as exc:
        status, content, error = None, b"", f"TLS error: {exc}"
    except (OSError, http.client.HTTPException) as exc:
        status, content, error = None, b"", f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    duration_ms = round((time.monotonic() - started) * 1000)
    return Answer(
        status_code=status,
        body=content.decode("utf-8", errors="replace"),
        error=error,
        duration_ms=duration_ms,
    )
