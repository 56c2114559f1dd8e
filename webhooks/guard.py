"""The target guard: webhooks go to public HTTP(S) addresses only.

A webhook makes this server send a request wherever an admin (or an automation rule) says.
Left unguarded, that is a way into the private network the server sits in: the cloud
metadata service at 169.254.169.254, an admin port on 127.0.0.1, a database on 10.0.0.5.
So a target URL must be http or https, carry no credentials, and its host must resolve only
to public addresses: private, loopback, link-local, shared (CGNAT), reserved, multicast and
unspecified ones are refused, including IPv4 addresses wrapped in IPv6 (::ffff:127.0.0.1,
6to4, Teredo, NAT64).

The check runs when a subscription is saved and again at every delivery, and the delivery
connects to the very address that was checked (webhooks.http), so a name that resolves to a
public address at save time and to 127.0.0.1 later (DNS rebinding) is still refused.
Development settings set FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS to send to a local
receiver; scheme and credential rules apply there too.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from common.exceptions import ApplicationError

MAX_URL_LENGTH = 2000
PRIVATE_REFUSED = "Private and loopback addresses are refused."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefusedError(ApplicationError):
    """A target URL the guard refuses; a 400 on the field `url`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


@dataclass(frozen=True)
class Target:
    """A checked target: the URL's parts and the address the request must connect to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def url_check(url: str) -> tuple[str, str, int, str]:
    """Check the form of a target URL; return its scheme, host, port and request path.

    Raises TargetRefusedError for anything but an absolute http(s) URL without credentials.
    """
    if not url or len(url) > MAX_URL_LENGTH:
        raise TargetRefusedError(f"Enter a URL of at most {MAX_URL_LENGTH} characters.")
    if any(char.isspace() or ord(char) < 32 for char in url):
        raise TargetRefusedError("The URL may not contain spaces or control characters.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefusedError("Only http and https URLs are allowed.")
    if "@" in parts.netloc:
        raise TargetRefusedError("The URL may not contain credentials (user:password@).")
    host = parts.hostname
    if not host:
        raise TargetRefusedError("The URL has no host.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise TargetRefusedError("The URL's port is not a number from 1 to 65535.") from None
    if port == 0:
        raise TargetRefusedError("The URL's port is not a number from 1 to 65535.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port, path


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(ip: IPAddress) -> bool:
    """Whether `ip` (and any IPv4 address inside it) is a public unicast address."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None and not address_is_public(embedded):
        return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
    )


def host_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in resolver order (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def target_resolve(url: str) -> Target:
    """Check `url` and resolve its host; return the target with the address to connect to.

    Every address the host resolves to must be public (unless private targets are allowed):
    a name with one public and one private record is refused, since either could be used.
    Raises TargetRefusedError; a host that does not resolve is refused too (at delivery time the
    caller treats that as a temporary failure).
    """
    scheme, host, port, path = url_check(url)
    try:
        addresses = host_resolve(host, port)
    except (OSError, UnicodeError):
        raise TargetRefusedError(f"The host {host!r} could not be resolved.") from None
    if not addresses:
        raise TargetRefusedError(f"The host {host!r} could not be resolved.")
    if not settings.FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            # An IPv6 scope ("fe80::1%eth0") is not part of the address.
            if not address_is_public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise TargetRefusedError(PRIVATE_REFUSED)
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, address=addresses[0])
