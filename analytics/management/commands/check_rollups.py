"""`manage.py check_rollups`: recompute every rollup from the raw records and compare."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.selectors import rollup_differences
from analytics.services import rollups_rebuild

MAX_LISTED = 50


class Command(BaseCommand):
    help = (
        "Recompute every analytics rollup from the raw records and report each key whose "
        "rollup total differs. Exits non-zero when there is a difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="After reporting differences, rebuild the rollups from the raw records.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        differences = rollup_differences()
        if not differences:
            self.stdout.write(self.style.SUCCESS("Rollups match the raw records."))
            return
        for difference in differences[:MAX_LISTED]:
            key = json.dumps(difference.key, default=str, sort_keys=True)
            self.stdout.write(
                f"{difference.rollup} {key}: expected {difference.expected}, "
                f"found {difference.actual}"
            )
        if len(differences) > MAX_LISTED:
            self.stdout.write(f"… and {len(differences) - MAX_LISTED} more.")
        if options["rebuild"]:
            rollups_rebuild()
            self.stdout.write("Rebuilt the rollups from the raw records.")
        raise CommandError(f"{len(differences)} rollup row(s) differ from the raw records.")
