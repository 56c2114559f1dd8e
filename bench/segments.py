"""Segment counts at scale: how long COUNT(*) of a representative segment takes.

    from bench.segments import segment_count_bench
    segment_count_bench(1_000_000)

Generates `scale` customers with varied stages, tags, attributes, sources, owners and
activity (COPY, in chunks, with a progress bar), purchases for about a third of them,
ANALYZEs, then times the count of three segments: the median of 5 runs after a warm-up.
Customers are written with COPY rather than `customer_create` (no entry transitions): the
benchmark measures segment queries, not the write path.
"""

from __future__ import annotations

import io
import random
import statistics
import sys
import time
from datetime import timedelta

from bench.harness import Measurement

CHUNK = 50_000
RUNS = 5
TAGS = ["vip", "newsletter", "churny", "beta", "partner", "event", "trial", "b2b"]
SOURCES = ["ads", "web", "referral", "event", "import", ""]
PLANS = ["solo", "team", "business", "enterprise"]

SEGMENTS = {
    "engage_and_vip": {
        "op": "and",
        "rules": [
            {"field": "phase", "op": "in", "value": ["engage"]},
            {"field": "tags", "op": "has_any", "value": ["vip"]},
        ],
    },
    "team_plan_or_referral": {
        "op": "or",
        "rules": [
            {"field": "attribute", "key": "plan", "op": "eq", "value": "team"},
            {"field": "source", "op": "eq", "value": "referral"},
        ],
    },
    "buyers_active_30d": {
        "op": "and",
        "rules": [
            {"field": "purchase_count", "op": "gte", "value": 1},
            {"field": "last_activity_at", "op": "within_days", "value": 30},
        ],
    },
}


def _copy(cursor, table: str, columns: list[str], buffer: io.StringIO) -> None:  # type: ignore[no-untyped-def]
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def customers_generate_varied(*, scale: int, seed: int = 7) -> None:
    """COPY `scale` customers (and purchases for ~1/3 of them) into the current database."""
    from django.db import connection
    from django.utils import timezone

    from common.progress import Progress
    from customers.models import Customer, new_referral_code
    from interactions.models import Purchase
    from stages.models import Stage

    rng = random.Random(seed)  # noqa: S311 - reproducible bench data, not secrets
    stage_ids = list(Stage.objects.values_list("pk", flat=True))
    now = timezone.now()
    start_id = (Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    columns = [
        "id", "email", "first_name", "last_name", "phone", "company", "source", "utm_source",
        "utm_medium", "utm_campaign", "utm_term", "utm_content", "tags", "attributes",
        "email_consent", "sms_consent", "stage_id", "stage_entered_at", "last_activity_at",
        "referral_code", "created_at", "updated_at",
    ]  # fmt: skip
    purchase_columns = ["customer_id", "amount", "currency", "occurred_at", "description",
                        "source", "created_at", "updated_at"]  # fmt: skip
    with (
        connection.cursor() as django_cursor,
        Progress(scale, label="Segment customers", stream=sys.stderr) as bar,
    ):
        cursor = django_cursor.cursor  # psycopg2's own, for copy_expert
        for offset in range(0, scale, CHUNK):
            size = min(CHUNK, scale - offset)
            rows, purchases = io.StringIO(), io.StringIO()
            for i in range(size):
                pk = start_id + offset + i
                tags = rng.sample(TAGS, rng.randint(0, 3))
                plan = rng.choice(PLANS)
                created = now - timedelta(days=rng.randint(0, 1000))
                active = (
                    "\\N"
                    if rng.random() < 0.2
                    else (now - timedelta(days=rng.randint(0, 365))).isoformat()
                )
                rows.write(
                    "\t".join(
                        [
                            str(pk),
                            f"seg{pk}@bench.example",
                            f"Seg{pk}",
                            "Bench",
                            "",
                            "",
                            rng.choice(SOURCES),
                            "",
                            "",
                            "",
                            "",
                            "",
                            "{" + ",".join(tags) + "}",
                            f'{{"plan": "{plan}", "seats": {rng.randint(1, 200)}}}',
                            "t" if rng.random() < 0.6 else "f",
                            "f",
                            str(rng.choice(stage_ids)),
                            created.isoformat(),
                            active,
                            new_referral_code(),
                            created.isoformat(),
                            created.isoformat(),
                        ]
                    )
                    + "\n"
                )
                if rng.random() < 0.33:
                    for _ in range(rng.randint(1, 3)):
                        purchases.write(
                            f"{pk}\t{rng.randint(5, 500)}.00\tEUR\t{created.isoformat()}"
                            f"\t\tbench\t{created.isoformat()}\t{created.isoformat()}\n"
                        )
            _copy(cursor, Customer._meta.db_table, columns, rows)
            _copy(cursor, Purchase._meta.db_table, purchase_columns, purchases)
            bar.advance(size)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{Customer._meta.db_table}', 'id'), "
            f"(SELECT MAX(id) FROM {Customer._meta.db_table}))"
        )
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")
        cursor.execute(f"ANALYZE {Purchase._meta.db_table}")


def segment_count_bench(scale: int) -> list[Measurement]:
    """Generate `scale` customers, then time the count of each of SEGMENTS (median of 5).

    Each Measurement's `count` is the segment's size and `seconds` the median count time.
    """
    from segments.selectors import definition_customers

    customers_generate_varied(scale=scale)
    results = []
    for name, definition in SEGMENTS.items():
        size = definition_customers(definition).count()  # warm-up
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            definition_customers(definition).count()
            timings.append(time.perf_counter() - started)
        seconds = statistics.median(timings)
        print(f"segment_count {name}: {size:,} of {scale:,} in {seconds * 1000:.1f} ms",
              file=sys.stderr)  # fmt: skip
        results.append(Measurement(f"segment_count:{name}", size, seconds))
    return results
