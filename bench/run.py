"""`make bench`: throughput of the Celery pipelines, measured side by side in one run.

    python -m bench.run [--scale N] [--only NAME ...]

Scenarios (N = --scale, default 100,000):
- `celery_noop`: N no-op tasks through the broker and worker: the baseline.
- `survey_invitations`: a bulk send of a survey to N customers, from the API's service call
  to the last email handed to the email backend (a backend that accepts everything: the
  provider's network is not measured).
- `campaign_send`: an email campaign to N customers, from "send now" to the last message
  handed to the email backend.
- segment counts: three representative segments counted on --segment-scale customers
  (default 1,000,000), in milliseconds.
- `analytics`: p50/p95 of every analytics endpoint and the dashboard home at 1,000,000
  customers, first with 100,000 interactions then 10,000,000, in the same run (times
  --analytics-scale, default 1.0; bench/analytics.py). `--only analytics` runs it alone,
  without the Celery worker; `make bench` runs it after the others.
The ratio of the two rates is what matters: both ran on the same broker, the same worker
settings and the same machine minutes apart. Results go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Measurement, Worker, configure_environment, recreate_database, wait_until

RESULTS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def celery_noop(count: int) -> Measurement:
    import redis
    from django.conf import settings

    from common.tasks import noop

    key = f"bench:noop:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    started = time.monotonic()
    for _ in range(count):
        noop.delay(key)
    wait_until(lambda: int(client.get(key) or 0), total=count, label="No-op tasks")
    client.delete(key)
    return Measurement("celery_noop", count, time.monotonic() - started)


def survey_invitations(count: int) -> Measurement:
    from bench.generate import customers_generate
    from messaging.models import MessageState, OutboundMessage
    from surveys.models import Survey
    from surveys.services import survey_send_bulk

    customer_ids = customers_generate(count=count)
    survey = Survey.objects.filter(kind="nps", is_active=True).first()
    assert survey is not None, "the migrations seed an active NPS survey"
    started = time.monotonic()
    survey_send_bulk(survey=survey, sent_by=None, customer_ids=customer_ids)
    wait_until(
        lambda: OutboundMessage.objects.filter(state=MessageState.SENT).count(),
        total=count,
        label="Invitations sent",
    )
    return Measurement("survey_invitations", count, time.monotonic() - started)


def campaign_send(count: int) -> Measurement:
    from bench.campaigns import campaign_send_bench

    return campaign_send_bench(count)


SCENARIOS = {
    "celery_noop": celery_noop,
    "survey_invitations": survey_invitations,
    "campaign_send": campaign_send,
}


def segment_counts(scale: int) -> list[Measurement]:
    from bench.segments import segment_count_bench

    return segment_count_bench(scale)


def write_segment_results(measurements: list[Measurement], scale: int) -> str:
    rows = [f"| `{m.name}` | {m.count:,} | {m.seconds * 1000:,.0f} |" for m in measurements]
    return "\n".join(
        [
            f"### Segment counts on {scale:,} customers",
            "",
            "Median of 5 counts after a warm-up (bench/segments.py).",
            "",
            "| segment | customers matching | milliseconds |",
            "| --- | ---: | ---: |",
            *rows,
            "",
        ]
    )


def _load() -> str:
    load1, load5, load15 = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load1:.1f} / {load5:.1f} / {load15:.1f}"


def analytics(scale: float) -> str:
    from bench.analytics import analytics_bench, write_analytics_results

    print(f"\n== analytics (scale {scale:g})", file=sys.stderr)
    before = _load()
    result = analytics_bench(scale)
    return write_analytics_results(result, f"{before} at the start, {_load()} at the end")


def write_results(results: dict[str, Measurement], scale: int, extra: str = "") -> str:
    if not results:
        return _write_section(
            f"## Dashboard numbers — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}.\n{extra}"
        )
    noop = results.get("celery_noop")
    rows = []
    for m in results.values():
        ratio = f"{m.rate / noop.rate:.2f}" if noop and m is not noop and noop.rate else "—"
        rows.append(f"| `{m.name}` | {m.count:,} | {m.seconds:.1f} | {m.rate:,.0f} | {ratio} |")
    section = "\n".join(
        [
            f"## Celery throughput — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}; worker: prefork, concurrency 2, prefetch 1, "
            f"acks_late; broker Redis; scale {scale:,}.",
            "",
            "| scenario | count | seconds | per second | ratio to no-op |",
            "| --- | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            extra,
        ]
    )
    return _write_section(section)


HISTORY = RESULTS.with_name("BENCHMARKS-history.md")
_LATEST_HEADER = (
    "# Benchmarks\n\nWritten by `make bench` (bench/run.py): the latest run of each scenario, "
    "the newest first. Earlier runs are in [BENCHMARKS-history.md](BENCHMARKS-history.md).\n\n"
)
_HISTORY_HEADER = (
    "# Benchmarks: earlier runs\n\nWritten by `make bench` (bench/run.py): every run that a "
    "newer run of the same scenario replaced in [BENCHMARKS.md](BENCHMARKS.md), the newest "
    "first.\n\n"
)


def benchmark_sections(text: str) -> list[str]:
    """The runs in a results file, in order: each a "## <scenario> — <date>" block."""
    sections: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            sections.append(line)
        elif sections:
            sections[-1] += line
    return [section.rstrip("\n") + "\n" for section in sections]


def benchmarks_arrange(new: str, latest: str, history: str) -> tuple[str, str]:
    """BENCHMARKS.md and BENCHMARKS-history.md after the run `new`: the first keeps the
    latest run of each scenario (newest first), the second every run that was replaced."""
    current: list[str] = []
    older: list[str] = []
    seen: set[str] = set()
    for section in [
        *benchmark_sections(new),
        *benchmark_sections(latest),
        *benchmark_sections(history),
    ]:
        scenario = section.split("\n", 1)[0].removeprefix("## ").split(" — ", 1)[0].strip()
        if scenario in seen:
            older.append(section)
        else:
            seen.add(scenario)
            current.append(section)
    return (
        _LATEST_HEADER + "\n".join(current),
        _HISTORY_HEADER + "\n".join(older),
    )


def _write_section(section: str) -> str:
    latest, history = benchmarks_arrange(
        section.rstrip("\n") + "\n",
        RESULTS.read_text() if RESULTS.exists() else "",
        HISTORY.read_text() if HISTORY.exists() else "",
    )
    RESULTS.write_text(latest)
    HISTORY.write_text(history)
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument(
        "--only", nargs="*", choices=sorted([*SCENARIOS, "analytics"]), default=None
    )
    parser.add_argument(
        "--analytics-scale",
        type=float,
        default=1.0,
        help="Share of 1M customers / 10M interactions for the analytics scenario (0 skips).",
    )
    parser.add_argument(
        "--segment-scale",
        type=int,
        default=1_000_000,
        help="Customers for the segment counts (0 skips them).",
    )
    args = parser.parse_args()

    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command

    print(f"Bench database: recreating and migrating (scale {args.scale:,})", file=sys.stderr)
    recreate_database()
    call_command("migrate", verbosity=0)

    chosen = args.only if args.only is not None else [*SCENARIOS, "analytics"]
    celery = [name for name in chosen if name in SCENARIOS]
    results: dict[str, Measurement] = {}
    extra = ""
    if celery:
        with Worker(concurrency=2):
            for name in celery:
                print(f"\n== {name}", file=sys.stderr)
                results[name] = SCENARIOS[name](args.scale)
                m = results[name]
                print(f"{name}: {m.count:,} in {m.seconds:.1f}s = {m.rate:,.0f}/s", file=sys.stderr)
        if args.segment_scale:
            print(f"\n== segment counts ({args.segment_scale:,} customers)", file=sys.stderr)
            extra = write_segment_results(segment_counts(args.segment_scale), args.segment_scale)
    if "analytics" in chosen and args.analytics_scale:
        # Its own database: the Celery scenarios' customers would distort its sizes.
        if celery:
            recreate_database()
            call_command("migrate", verbosity=0)
        extra += "\n" + analytics(args.analytics_scale)
    print("\n" + write_results(results, args.scale, extra))


if __name__ == "__main__":
    main()
