"""The few pages whose Content-Security-Policy differs from the strict one in settings.

Every page gets CONTENT_SECURITY_POLICY (flywheel_crm/settings/base.py): our own scripts and
styles only, nothing inline, no framing. Two kinds of page need more, and say so with these
decorators, each widening one thing for that page alone:

- `embeddable`: the public lead form (`/f/<slug>/`) is put in an iframe on customers' own
  websites, whose addresses we do not know: any site may frame it (frame-ancestors, and no
  X-Frame-Options). The page holds no one's data and takes only new submissions.
- `email_preview`: an email's HTML is previewed in `<iframe sandbox srcdoc=...>`. A srcdoc
  document inherits the policy of the page around it, and an email's HTML is styled inline
  (`style="..."`, the only styling mail clients keep) and shows images from wherever the
  marketer keeps them, so the page allows inline styles and https images. Scripts stay ours
  alone, and the sandbox runs none in the email.

`form_action_allow` lets a page's form post (or be redirected after posting) to one more
origin: the lead form that sends people on to the customer's own thank-you page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_replace, csp_update
from django.http import HttpResponseBase
from django.views.decorators.clickjacking import xframe_options_exempt

View = TypeVar("View", bound=Callable[..., Any])


def embeddable(view: View) -> View:
    """Let any website frame the page `view` answers with."""
    framed: Any = csp_replace({"frame-ancestors": ["*"]})(view)
    return xframe_options_exempt(framed)  # type: ignore[return-value]


def email_preview(view: View) -> View:
    """Let the page `view` answers with show an email's HTML as it is styled."""
    return csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["https:"]})(view)  # type: ignore[return-value]


def form_action_allow(response: HttpResponseBase, url: str) -> HttpResponseBase:
    """Let the page in `response` submit a form to `url`'s origin (or be sent there after a
    submission: browsers check redirects of a form post against form-action too)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        update = dict(getattr(response, "_csp_update", None) or {})
        update["form-action"] = [*update.get("form-action", []), f"{parts.scheme}://{parts.netloc}"]
        response._csp_update = update  # type: ignore[attr-defined]
    return response
