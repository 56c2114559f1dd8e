"""bin/restart-on-exit, which `make run` starts the Celery worker through: a worker that dies
is started again (honcho would otherwise stop web and beat too), and Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.realworld import ROOT

pytestmark = pytest.mark.slow

# Counts its runs in a file; dies the first time, then runs until SIGTERM.
COMMAND = """
import pathlib, signal, sys, time
runs = pathlib.Path(sys.argv[1])
runs.write_text(runs.read_text() + "run\\n" if runs.exists() else "run\\n")
if runs.read_text().count("run") == 1:
    sys.exit(1)
def stop(*_):
    runs.write_text(runs.read_text() + "stopped\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.1)
"""


def _wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_command_that_dies_is_started_again_and_sigterm_stops_it(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    loop = subprocess.Popen(
        [str(ROOT / "bin" / "restart-on-exit"), sys.executable, "-c", COMMAND, str(runs)],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: runs.exists() and runs.read_text().count("run") == 2)
        assert loop.poll() is None  # it restarted the command instead of exiting

        loop.send_signal(signal.SIGTERM)  # as honcho does on Ctrl-C

        assert loop.wait(timeout=10) == 0
        assert runs.read_text().endswith("stopped\n")  # the command was stopped, not orphaned
        assert "exited with status 1; starting it again" in (
            loop.stderr.read() if loop.stderr else ""
        )
    finally:
        if loop.poll() is None:
            os.killpg(loop.pid, signal.SIGKILL)
