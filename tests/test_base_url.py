"""The links in emails follow the server `make run` starts: `PORT=8765 make run` links to 8765.

Settings load once per process, so each test reads them in a subprocess, as the web server,
the worker and beat each do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
READ_BASE_URL = "from django.conf import settings; print(settings.FLYWHEEL_BASE_URL)"


def clean_env(**extra: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env["DJANGO_SETTINGS_MODULE"] = "flywheel_crm.settings.local"
    return {**env, **extra}


def test_every_process_of_make_run_links_to_the_web_servers_port() -> None:
    # honcho gives each process its own PORT (the worker's is the web's + 100); the worker
    # is imitated with such a PORT, under the environment the Makefile exports.
    probe = f"probe:\n\tPORT=8865 {sys.executable} -c '{READ_BASE_URL}'\n"
    result = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", "-", "probe", "PORT=8765"],
        input=probe,
        cwd=PROJECT_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.strip() == "http://127.0.0.1:8765"


def test_a_set_base_url_wins_and_the_default_is_port_8000() -> None:
    def base_url(**env: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", READ_BASE_URL],
            cwd=PROJECT_ROOT,
            env=clean_env(**env),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()

    assert base_url() == "http://127.0.0.1:8000"
    assert (
        base_url(FLYWHEEL_WEB_PORT="8765", FLYWHEEL_BASE_URL="https://crm.example.com")
        == "https://crm.example.com"
    )
