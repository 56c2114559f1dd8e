"""`manage.py preflight`: a missing service is one plain sentence, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _preflight(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "flywheel_crm.settings.local", **env}
    return subprocess.run(
        [sys.executable, "manage.py", "preflight", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_unreachable_postgres_is_named_with_how_to_start_it():
    port = _free_port()
    result = _preflight(DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/flywheel_crm")

    assert result.returncode == 1
    assert f"PostgreSQL is not reachable at 127.0.0.1:{port}" in result.stderr
    assert "docker compose up -d db redis" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unreachable_redis_is_named_with_how_to_start_it():
    port = _free_port()
    result = _preflight(REDIS_URL=f"redis://127.0.0.1:{port}/0")

    assert result.returncode == 1
    assert f"Redis is not reachable at redis://127.0.0.1:{port}/0" in result.stderr
    assert "docker compose up -d redis" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_reachable_services_pass():
    # The maintenance database exists on every server, whether or not the app's does.
    result = _preflight(DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres")

    assert result.returncode == 0, result.stderr
    assert "PostgreSQL: ok" in result.stdout
    assert "Redis: ok" in result.stdout


@pytest.mark.slow
def test_a_missing_database_is_named_unless_only_the_server_matters():
    missing = "postgres://postgres@127.0.0.1:5432/flywheel_no_such_database"

    named = _preflight(DATABASE_URL=missing)
    server_only = _preflight("--server-only", DATABASE_URL=missing)

    assert named.returncode == 1
    assert "The database flywheel_no_such_database does not exist" in named.stderr
    assert server_only.returncode == 0, server_only.stderr
