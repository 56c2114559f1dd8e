"""Target URLs: http(s) only, no credentials, no private or loopback addresses by default."""

from __future__ import annotations

import pytest

from webhooks import guard
from webhooks.guard import PRIVATE_REFUSED, TargetRefusedError, target_resolve, url_check

REFUSED_ADDRESSES = [
    "http://127.0.0.1/hook",
    "http://127.9.9.9:8080/hook",
    "http://localhost:8000/hook",
    "http://10.0.0.5/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0:8000/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[::1]/hook",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",  # 169.254.169.254 mapped
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a00:5]/",  # NAT64 of 10.0.0.5
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f.1/",  # 127.0.0.1 in hex shorthand
]


@pytest.mark.parametrize("url", REFUSED_ADDRESSES)
def test_private_loopback_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetRefusedError) as refused:
        target_resolve(url)

    assert refused.value.as_dict() == {"url": [PRIVATE_REFUSED]}


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]/", "http://10.1.2.3/"],
)
def test_the_setting_allows_private_targets(settings, url: str) -> None:
    settings.FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    assert target_resolve(url).address


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "Only http and https URLs are allowed."),
        ("file:///etc/passwd", "Only http and https URLs are allowed."),
        ("javascript:alert(1)", "Only http and https URLs are allowed."),
        ("example.com/hook", "Only http and https URLs are allowed."),
        ("https://user:secret@example.com/hook", "The URL may not contain credentials"),
        ("https://token@example.com/hook", "The URL may not contain credentials"),
        ("http:///hook", "The URL has no host."),
        ("http://example.com:99999/", "port"),
        ("http://exa mple.com/", "spaces"),
        ("", "Enter a URL"),
        ("https://example.com/" + "a" * 2000, "Enter a URL"),
    ],
)
def test_malformed_urls_are_refused_even_when_private_targets_are_allowed(
    settings, url: str, message: str
) -> None:
    settings.FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    with pytest.raises(TargetRefusedError) as refused:
        target_resolve(url)

    assert message in refused.value.message
    assert refused.value.field == "url"


def test_a_public_address_passes_and_is_the_one_to_connect_to() -> None:
    target = target_resolve("https://93.184.216.34/hooks/in?x=1")

    assert (target.scheme, target.host, target.port) == ("https", "93.184.216.34", 443)
    assert (target.path, target.address) == ("/hooks/in?x=1", "93.184.216.34")


def test_a_name_is_checked_by_every_address_it_resolves_to(monkeypatch) -> None:
    answers = {"public.example": ["93.184.216.34"], "mixed.example": ["93.184.216.34", "10.0.0.1"]}
    monkeypatch.setattr(guard, "host_resolve", lambda host, port: answers[host])

    assert target_resolve("https://public.example/hook").address == "93.184.216.34"
    with pytest.raises(TargetRefusedError, match="Private and loopback"):
        target_resolve("https://mixed.example/hook")


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(TargetRefusedError, match="could not be resolved"):
        target_resolve("https://no-such-host.invalid/hook")


def test_url_check_splits_the_url() -> None:
    assert url_check("http://Example.COM:8080") == ("http", "example.com", 8080, "/")
