"""Settings for the test suite: the real PostgreSQL and Redis, fast password hashing."""

import uuid

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-not-secret-7c2e9a4b1d6f8e0c3a5b7d9f2e4c6a8b0d1f3e5c7a9b"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A test that runs a real Celery worker points it at a local SMTP sink through these.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
SMS_BACKEND = env("SMS_BACKEND", default="messaging.sms.LocmemSMSBackend")
# Tests use their own Redis database so that they never touch a running app's queue or cache.
REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES["default"]["LOCATION"] = env("TEST_CACHE_URL", default="redis://127.0.0.1:6379/14")  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
# Each test run publishes to its own queue, and the workers it starts consume only that one,
# so that runs side by side never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default=f"test-{uuid.uuid4().hex[:12]}")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test sees the numbers of its own data: the dashboard computes them on every request,
# except in the tests of that cache (tests/dashboard/test_freshness.py), which turn it on.
FLYWHEEL_DASHBOARD_CACHE_SECONDS = 0
# Connections close after each use, so that none is left open (by the threads that read a
# dashboard page's numbers side by side, dashboard/concurrent.py) when the test database is
# dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
