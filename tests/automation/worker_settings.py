"""Settings of a Celery worker started by the automation tests: the test settings, plus the
test-only action of tests/automation/slow_action.py."""

from flywheel_crm.settings.test import *  # noqa: F403

CELERY_IMPORTS = ["tests.automation.slow_action"]
