"""The address a request came from, as rate limits, lockouts and consent evidence need it.

Behind a reverse proxy every request reaches the app from the proxy's address, so
`REMOTE_ADDR` alone would count every visitor as one. `X-Forwarded-For` carries the real
address, but anybody can send that header: it is believed only when the request arrives from
a proxy listed in `FLYWHEEL_TRUSTED_PROXIES` (addresses or networks), and then read from the
right, skipping the trusted proxies' own entries, so that a visitor cannot forge an address by
putting one at the left of the header they send.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies)


def trusted_networks() -> tuple[Network, ...]:
    """`FLYWHEEL_TRUSTED_PROXIES` parsed once (a list of addresses or CIDR networks)."""
    return _networks(tuple(getattr(settings, "FLYWHEEL_TRUSTED_PROXIES", ()) or ()))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in trusted_networks())


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address, or None when the request carries no usable one."""
    remote = _address(str(request.META.get("REMOTE_ADDR") or ""))
    if remote is None:
        return None
    if not _trusted(remote):
        return str(remote)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop for hop in (h.strip() for h in forwarded.split(",")) if hop]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # A malformed entry from beyond our proxies: stop believing the header there.
            break
        if not _trusted(address):
            return str(address)
    # Every hop is one of ours (or the header is empty): the last trusted one is the client.
    return str(remote)


def client_key(request: HttpRequest) -> str:
    """The address as a key for counting (rate limits, lockouts): never empty."""
    return client_ip(request) or UNKNOWN
