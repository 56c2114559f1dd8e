"""Settings for a developer's machine: `make run` uses these."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env(
    "DJANGO_SECRET_KEY",
    default="local-development-only-not-secret-3a1f9c0e7b5d4e2a8c6b0d9f1e3a5c7b9d1f3e5a",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Links in emails (survey, unsubscribe, referral) point at the server `make run` started:
# the Makefile exports its PORT as FLYWHEEL_WEB_PORT to every process. Not PORT itself:
# honcho gives each process its own PORT (the worker's is the web's + 100).
FLYWHEEL_BASE_URL = env(
    "FLYWHEEL_BASE_URL", default=f"http://127.0.0.1:{env('FLYWHEEL_WEB_PORT', default='8000')}"
)
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [  # noqa: F405
    "rest_framework.renderers.JSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
]
# Webhooks may go to a receiver on this machine (production refuses private targets).
FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool(
    "FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=True
)
