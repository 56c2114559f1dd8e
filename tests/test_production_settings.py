"""The production settings keep docs/deploy.md's promise: `manage.py check --deploy` is clean.

Each test runs manage.py in a subprocess, because settings are loaded once per process. None
needs a database: `check` without `--database` does not connect, and DATABASE_URL points at a
port where nothing listens to prove it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CHECK_DEPLOY = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]

# What the process needs to run Python, and nothing of the caller's configuration.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")

# The settings fill what the environment leaves unset from PROJECT_ROOT/.env, where a
# developer may have DJANGO_SECURE_SSL_REDIRECT=false for a local compose try-out. Variables
# that .env could set are therefore given here, at the values production ships with.
PRODUCTION_DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "flywheel_crm.settings.production",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": str(60 * 60 * 24 * 365),
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
    "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nowhere",
    "REDIS_URL": "redis://127.0.0.1:9/0",
    "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
}


def run_manage(args: list[str], **settings_env: str) -> subprocess.CompletedProcess[str]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update(PRODUCTION_DEFAULTS)
    env.update(settings_env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_check_deploy_passes_with_a_strong_key_and_allowed_hosts() -> None:
    result = run_manage(
        CHECK_DEPLOY,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="crm.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
def test_production_refuses_to_start_without_a_secret_key() -> None:
    # Set but empty, so that a DJANGO_SECRET_KEY in PROJECT_ROOT/.env cannot fill it in.
    result = run_manage(CHECK_DEPLOY, DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS="crm.example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_check_deploy_rejects_a_weak_secret_key() -> None:
    result = run_manage(
        CHECK_DEPLOY, DJANGO_SECRET_KEY="too-short", DJANGO_ALLOWED_HOSTS="crm.example.com"
    )

    assert result.returncode != 0
    assert "security.W009" in result.stderr
