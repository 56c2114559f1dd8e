"""Tracking links and the open pixel: signed tokens, and the rewriting of an email's links.

A click link is `/t/c/<token>/` where the token is (recipient id, target URL) signed with the
site's key: the redirect target is read from inside the signature and nowhere else, so a
changed character anywhere — in the id or in the URL — breaks it and the link is a 404. There
is no parameter to point the redirect elsewhere: no open redirect. Only http and https targets
are ever signed or followed. The open pixel `/t/o/<token>.gif` carries the recipient id signed
with another salt, so a click token can never be used as an open token or the reverse.
"""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.html import escape

OPEN_SALT = "campaigns.open"
CLICK_SALT = "campaigns.click"
TRACKED_SCHEMES = ("http", "https")

LINK = re.compile(
    r"""(?P<start><a\b[^>]*?\bhref\s*=\s*)(?P<quote>["'])(?P<href>.*?)(?P=quote)""", re.I | re.S
)
BODY_END = re.compile(r"</body\s*>", re.I)


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt, algorithm="sha256")


def _base() -> str:
    return settings.FLYWHEEL_BASE_URL.rstrip("/")


def is_trackable(url: str) -> bool:
    """An absolute http(s) URL with a host, and not an unsubscribe link."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme.lower() in TRACKED_SCHEMES
        and bool(parts.netloc)
        and "unsubscribe" not in url.lower()
        and "\\" not in url
    )


def open_token(recipient_id: int) -> str:
    return _signer(OPEN_SALT).sign(str(recipient_id))


def recipient_id_from_open_token(token: str) -> int | None:
    try:
        value = _signer(OPEN_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def click_token(recipient_id: int, url: str) -> str:
    return _signer(CLICK_SALT).sign_object([recipient_id, url], compress=True)


def click_from_token(token: str) -> tuple[int, str] | None:
    """The (recipient id, target URL) a click token signs, or None when it is forged,
    tampered with or names anything but an http(s) URL."""
    try:
        value = _signer(CLICK_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or isinstance(value[0], bool)
        or not isinstance(value[1], str)
        or not is_trackable(value[1])
    ):
        return None
    return value[0], value[1]


def open_url(recipient_id: int) -> str:
    return _base() + reverse("campaigns:track-open", args=[open_token(recipient_id)])


def click_url(recipient_id: int, target: str) -> str:
    return _base() + reverse("campaigns:track-click", args=[click_token(recipient_id, target)])


def with_utm(url: str, *, source: str, medium: str, campaign: str) -> str:
    """`url` with utm_source/medium/campaign added where it has none of its own."""
    if not campaign:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    for key, value in (
        ("utm_source", source),
        ("utm_medium", medium),
        ("utm_campaign", campaign),
    ):
        if value and key not in present:
            query.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def html_track(
    body_html: str,
    *,
    recipient_id: int,
    utm: dict[str, str] | None = None,
) -> str:
    """Rewrite every http(s) link of an HTML body to its click link and add the open pixel.

    mailto:, tel:, relative and unsubscribe links are left as they are.
    """

    def rewrite(match: re.Match[str]) -> str:
        target = html_lib.unescape(match["href"]).strip()
        if not is_trackable(target):
            return match.group(0)
        if utm:
            target = with_utm(target, **utm)
        tracked = escape(click_url(recipient_id, target))
        return f"{match['start']}{match['quote']}{tracked}{match['quote']}"

    body_html = LINK.sub(rewrite, body_html)
    pixel = (
        f'<img src="{escape(open_url(recipient_id))}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    found = list(BODY_END.finditer(body_html))
    if found:
        at = found[-1].start()
        return body_html[:at] + pixel + body_html[at:]
    return body_html + pixel


# A transparent 1x1 GIF.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
