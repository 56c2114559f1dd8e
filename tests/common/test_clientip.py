"""The visitor's address behind a reverse proxy: X-Forwarded-For is believed only from the
proxies the installation trusts (FLYWHEEL_TRUSTED_PROXIES)."""

from __future__ import annotations

import pytest
from django.http import HttpRequest
from django.test import RequestFactory, override_settings

from common.clientip import client_ip, client_key

PROXY = "10.0.0.5"


def _request(remote: str, forwarded: str | None = None) -> HttpRequest:
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


@override_settings(FLYWHEEL_TRUSTED_PROXIES=[])
def test_without_trusted_proxies_the_header_is_ignored():
    assert client_ip(_request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@override_settings(FLYWHEEL_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_the_forwarded_address_counts():
    assert client_ip(_request(PROXY, "198.51.100.1")) == "198.51.100.1"


@override_settings(FLYWHEEL_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_forged_left_entry_is_not_believed():
    # The visitor sent "X-Forwarded-For: 1.2.3.4"; the proxy appended their real address.
    assert client_ip(_request(PROXY, "1.2.3.4, 198.51.100.1")) == "198.51.100.1"


@override_settings(FLYWHEEL_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_chained_trusted_proxies_are_skipped():
    assert client_ip(_request(PROXY, "198.51.100.1, 10.1.2.3")) == "198.51.100.1"


@override_settings(FLYWHEEL_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_client_not_behind_the_proxy_cannot_claim_an_address():
    assert client_ip(_request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@override_settings(FLYWHEEL_TRUSTED_PROXIES=["10.0.0.0/8"])
@pytest.mark.parametrize("header", ["", "not-an-address", "   ,  "])
def test_garbage_in_the_header_falls_back_to_the_proxy(header):
    assert client_ip(_request(PROXY, header)) == PROXY


@override_settings(FLYWHEEL_TRUSTED_PROXIES=["::1"])
def test_ipv6_proxies_and_clients():
    assert client_ip(_request("::1", "2001:db8::1")) == "2001:db8::1"


def test_no_address_at_all():
    request = _request("")
    assert client_ip(request) is None
    assert client_key(request) == "unknown"
