"""The dashboard's numbers at scale: p50/p95 of every analytics endpoint and the home page.

    python -m bench.run --only analytics [--analytics-scale 1.0]

At scale 1.0: 1,000,000 customers (created over two years, each with its chain of stage
transitions), ~700,000 purchases, ~50,000 referrals, ~300,000 survey answers, ~500,000
tasks, consent events with ~3% unsubscribes, and two states measured one after the other in
the same run:

1. 100,000 interactions;
2. 10,000,000 interactions (the 9,900,000 others added).

Only the interactions grow between the two states: the target is that the dashboard's
response time does not grow with the interactions logged (rollups, not scans). Every
endpoint is timed with its default period (the last 30 days) and with the last 12 months
(weekly buckets, as the dashboard's filter bar asks for a year), 30 requests each after two
warm-ups (round robin over the URLs), through Django's test client logged in as an Admin
user, like a browser would.

Data is written raw (COPY, INSERT … SELECT generate_series) with the triggers off
(`session_replication_role = replica`): through the triggers 10M interactions would take
hours. The rollups are then rebuilt from the raw records with the rollups' own definitions
(`analytics.rollups.ROLLUPS[…].raw_sql`, what `check_rollups` compares with), every rollup
but the three interaction ones is compared in full with `compare_sql`, and the interaction
ones on sampled days with the same stage-at definition. Then `VACUUM ANALYZE`, as autovacuum
would have done after such a load: measured on a freshly bulk-loaded database, PostgreSQL
plans without statistics and reads the heap where the index alone would do, which is not
the state a running CRM's database is in.
"""

from __future__ import annotations

import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

CHUNK = 50_000
REQUESTS = 30
WARMUP = 2
SPAN_DAYS = 730
USERS_PER_ROLE = 8
EFFECT_ROLLUPS = ("effects", "effect_months", "effect_stages")
NULL = "\\N"  # COPY's NULL

ENDPOINTS = (
    "stage-counts",
    "phase-counts",
    "transitions",
    "phase-conversion",
    "velocity",
    "force-friction",
    "momentum",
    "surveys",
    "loop-completion",
    "lifetime-value",
    "costs",
    "campaigns",
)
SERIES = {"stage-counts", "phase-counts", "momentum", "surveys"}


@dataclass(frozen=True)
class Timing:
    """p50 and p95 of one URL, in milliseconds (None: skipped)."""

    name: str
    period: str
    p50: float | None
    p95: float | None
    note: str = ""


@dataclass(frozen=True)
class Sizes:
    customers: int
    interactions: int


def _copy(cursor: Any, table: str, columns: list[str], buffer: io.StringIO) -> None:
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def _users() -> tuple[list[int], int]:
    """Users of every role (who log interactions and own tasks); returns ids and the admin."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import ADMIN, ROLES

    user_model = get_user_model()
    ids = []
    for role in ROLES:
        group = Group.objects.get(name=role)
        for n in range(USERS_PER_ROLE):
            user = user_model.objects.create_user(username=f"bench-{role}-{n}", password=None)
            user.groups.add(group)
            ids.append(user.pk)
    for n in range(USERS_PER_ROLE // 2):
        ids.append(user_model.objects.create_user(username=f"bench-none-{n}").pk)
    admin = user_model.objects.create_user(username="bench-admin", is_staff=True)
    admin.groups.add(Group.objects.get(name=ADMIN))
    return ids, admin.pk


def generate_people(*, customers: int, now: datetime, seed: int = 11) -> dict[str, Any]:
    """COPY customers with their chains of transitions, purchases, referrals, survey answers,
    tasks and consent events; returns what the interaction generator needs."""
    from django.db import connection

    from common.progress import Progress
    from stages.models import Stage

    rng = random.Random(seed)  # noqa: S311 - reproducible bench data, not secrets
    user_ids, admin_id = _users()
    stages = list(Stage.objects.filter(is_archived=False).order_by("position", "pk"))
    phase_of = {s.pk: s.phase for s in stages}
    attract = [i for i, s in enumerate(stages) if s.phase == "attract"] or [0]
    t0 = now - timedelta(days=SPAN_DAYS)
    span = (now - t0).total_seconds()
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers_customer")
        base = c.fetchone()[0]
        c.execute("SELECT id, kind FROM surveys_survey WHERE is_active ORDER BY id")
        surveys = c.fetchall()
    customer_cols = [
        "id", "email", "first_name", "last_name", "phone", "company", "source", "utm_source",
        "utm_medium", "utm_campaign", "utm_term", "utm_content", "tags", "attributes",
        "email_consent", "sms_consent", "stage_id", "stage_entered_at", "referral_code",
        "created_at", "updated_at", "owner_id",
    ]  # fmt: skip
    transition_cols = ["customer_id", "from_stage_id", "to_stage_id", "occurred_at",
                       "actor_kind", "reason", "direction"]  # fmt: skip
    purchase_cols = ["customer_id", "amount", "currency", "occurred_at", "description",
                     "source", "created_at", "updated_at"]  # fmt: skip
    referral_cols = ["referrer_id", "referred_id", "referrer_stage_id", "referrer_phase",
                     "occurred_at"]  # fmt: skip
    task_cols = ["customer_id", "assignee_id", "title", "notes", "due_at", "state",
                 "completed_at", "created_by_kind", "created_at", "updated_at"]  # fmt: skip
    consent_cols = ["customer_id", "channel", "granted", "method", "source", "user_agent",
                    "occurred_at"]  # fmt: skip
    response_cols = ["invitation_id", "survey_id", "customer_id", "kind", "score", "comment",
                     "category", "effect", "weight", "stage_id", "answered_at"]  # fmt: skip
    invitation_cols = ["id", "created_at", "updated_at", "survey_id", "customer_id", "state",
                       "source", "idempotency_key", "expires_at", "answered_at", "sent_at",
                       "reason"]  # fmt: skip
    scales = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    delight_now: list[tuple[int, int]] = []  # (customer, stage) standing in Delight now
    invitation_id = 1
    with (
        connection.cursor() as outer,
        Progress(customers, label="Customers", stream=sys.stderr) as bar,
    ):
        cursor = outer.cursor
        cursor.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM surveys_invitation")
        invitation_id = cursor.fetchone()[0]
        for offset in range(0, customers, CHUNK):
            size = min(CHUNK, customers - offset)
            bufs = {name: io.StringIO() for name in
                    ("c", "t", "p", "r", "k", "e", "s", "i")}  # fmt: skip
            for n in range(offset, offset + size):
                pk = base + n
                created = t0 + timedelta(seconds=span * n / customers + rng.uniform(0, 60))
                index = rng.choice(attract)
                moves = rng.choices(range(6), weights=(25, 25, 20, 15, 10, 5))[0]
                left = (now - created).total_seconds()
                moments = [
                    created,
                    *sorted(
                        created + timedelta(seconds=rng.uniform(0, left)) for _ in range(moves)
                    ),
                ]
                previous = 0
                for j, moment in enumerate(moments):
                    if j == 0:
                        direction = "entry"
                    else:
                        roll = rng.random()
                        if roll < 0.1 and index > 0:
                            index, direction = index - 1, "backward"
                        elif roll < 0.2 and index + 2 < len(stages):
                            index, direction = index + 2, "skip"
                        elif index + 1 < len(stages):
                            index, direction = index + 1, "forward"
                        else:
                            index, direction = rng.choice(attract), "new_cycle"
                    stage_id = stages[index].pk
                    bufs["t"].write(
                        f"{pk}\t{previous if previous else NULL}\t{stage_id}\t{_ts(moment)}"
                        f"\t{'import' if j == 0 else 'user'}\t\t{direction}\n"
                    )
                    previous = stage_id
                entered = moments[-1]
                if phase_of[previous] == "delight":
                    delight_now.append((pk, previous))
                owner = rng.choice(user_ids) if rng.random() < 0.7 else NULL
                bufs["c"].write(
                    f"{pk}\tb{pk}@bench.example\tB{pk}\tBench\t\t\t"
                    f"{rng.choice(['ads', 'web', 'referral', 'event', ''])}\t\t\t\t\t\t{{}}\t{{}}"
                    f"\tt\tf\t{previous}\t{_ts(entered)}\tR{pk:09d}\t{_ts(created)}"
                    f"\t{_ts(created)}\t{owner}\n"
                )
                bufs["e"].write(f"{pk}\temail\tt\tform\t\t\t{_ts(created)}\n")
                if rng.random() < 0.03:
                    gone = created + timedelta(seconds=rng.uniform(0, left))
                    method = rng.choice(["unsubscribe_link", "one_click"])
                    bufs["e"].write(f"{pk}\temail\tf\t{method}\t\t\t{_ts(gone)}\n")
                if rng.random() < 0.4:
                    for _ in range(rng.choices((1, 2, 3), weights=(50, 30, 20))[0]):
                        when = created + timedelta(seconds=rng.uniform(0, left))
                        bufs["p"].write(
                            f"{pk}\t{rng.randint(5, 500)}.00\t{rng.choice(['EUR', 'USD'])}"
                            f"\t{_ts(when)}\t\tbench\t{_ts(when)}\t{_ts(when)}\n"
                        )
                if rng.random() < 0.05 and delight_now:
                    referrer, referrer_stage = rng.choice(delight_now)
                    phase = "delight" if rng.random() < 0.85 else "engage"
                    bufs["r"].write(
                        f"{referrer}\t{pk}\t{referrer_stage}\t{phase}\t{_ts(created)}\n"
                    )
                for _ in range(rng.choices((0, 1, 2), weights=(60, 25, 15))[0]):
                    due = created + timedelta(seconds=rng.uniform(0, left + 14 * 86400))
                    state = "open" if rng.random() < 0.2 else "done"
                    done = _ts(due) if state == "done" else NULL
                    bufs["k"].write(
                        f"{pk}\t{rng.choice(user_ids)}\tFollow up\t\t{_ts(due)}\t{state}"
                        f"\t{done}\tuser\t{_ts(created)}\t{_ts(created)}\n"
                    )
                if rng.random() < 0.3 and surveys:
                    survey_id, kind = rng.choice(surveys)
                    low, high = scales[kind]
                    score = rng.randint(low, high)
                    category, effect = _category(kind, score)
                    when = created + timedelta(seconds=rng.uniform(0, left))
                    bufs["i"].write(
                        f"{invitation_id}\t{_ts(when)}\t{_ts(when)}\t{survey_id}\t{pk}\tanswered"
                        f"\tbulk\tbench-{invitation_id}\t{_ts(when + timedelta(days=30))}"
                        f"\t{_ts(when)}\t{_ts(when)}\t\n"
                    )
                    bufs["s"].write(
                        f"{invitation_id}\t{survey_id}\t{pk}\t{kind}\t{score}\t\t{category}"
                        f"\t{effect}\t{1 if effect != 'neutral' else 0}\t{previous}\t{_ts(when)}\n"
                    )
                    invitation_id += 1
            _copy(cursor, "customers_customer", customer_cols, bufs["c"])
            _copy(cursor, "stages_stagetransition", transition_cols, bufs["t"])
            _copy(cursor, "interactions_purchase", purchase_cols, bufs["p"])
            _copy(cursor, "customers_referral", referral_cols, bufs["r"])
            _copy(cursor, "interactions_task", task_cols, bufs["k"])
            _copy(cursor, "consent_consentevent", consent_cols, bufs["e"])
            _copy(cursor, "surveys_invitation", invitation_cols, bufs["i"])
            _copy(cursor, "surveys_response", response_cols, bufs["s"])
            bar.advance(size)
        for table in ("customers_customer", "surveys_invitation"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
    return {"base": base, "customers": customers, "t0": t0, "users": user_ids, "admin": admin_id}


def _category(kind: str, score: int) -> tuple[str, str]:
    from surveys.scoring import score_summary

    summary = score_summary(kind, {score: 1})
    if summary.promoters:
        return "promoter", "force"
    if summary.detractors:
        return "detractor", "friction"
    return "passive", "neutral"


def generate_interactions(*, count: int, people: dict[str, Any], now: datetime) -> None:
    """INSERT … SELECT generate_series: `count` interactions, each dated between its
    customer's creation and now, logged by one of the users (or nobody)."""
    from django.db import connection

    from common.progress import Progress

    users = people["users"]
    step = 500_000
    with (
        connection.cursor() as cursor,
        Progress(count, label="Interactions", stream=sys.stderr) as bar,
    ):
        for offset in range(0, count, step):
            size = min(step, count - offset)
            cursor.execute(
                """
                INSERT INTO interactions_interaction
                    (created_at, updated_at, customer_id, kind, direction, channel, occurred_at,
                     summary, outcome, effect, weight, logged_by_id, case_state)
                SELECT at, at, cid, (ARRAY['call','email','meeting','note','chat',
                       'support_case'])[1 + (g %% 6)], 'outbound', 'email', at, 'Bench',
                       (ARRAY['positive','neutral','negative','no_answer'])[1 + (g %% 4)],
                       (ARRAY['force','neutral','friction','neutral'])[1 + (g %% 4)],
                       (ARRAY[2, 0, 1, 0])[1 + (g %% 4)],
                       CASE WHEN g %% 10 = 0 THEN NULL
                            ELSE (%(users)s::int[])[1 + (g / 10) %% %(nusers)s] END,
                       ''
                FROM (
                    SELECT g, cid, %(t0)s::timestamptz
                           + (cid - %(base)s) * %(per)s * interval '1 second'
                           + random() * (%(now)s::timestamptz - %(t0)s::timestamptz
                             - (cid - %(base)s) * %(per)s * interval '1 second') AS at
                    FROM (
                        SELECT g, %(base)s + floor(random() * %(customers)s)::bigint AS cid
                        FROM generate_series(%(first)s, %(last)s) AS g
                    ) AS picked
                ) AS x
                """,
                {
                    "users": users,
                    "nusers": len(users),
                    "t0": people["t0"],
                    "now": now,
                    "base": people["base"],
                    "customers": people["customers"],
                    "per": (now - people["t0"]).total_seconds() / people["customers"],
                    "first": offset,
                    "last": offset + size - 1,
                },
            )
            bar.advance(size)


def rebuild(names: tuple[str, ...] | None = None) -> None:
    """Rebuild rollups from the raw records with their own definitions (`raw_sql`); the
    monthly and per-stage effect rollups are the daily one grouped (same definition, one
    pass over the interactions instead of three; the monthly stays likewise)."""
    from django.db import connection, transaction

    from analytics.rollups import ROLLUPS

    chosen = [r for r in ROLLUPS if names is None or r.name in names]
    by_name = {r.name: r for r in ROLLUPS}
    with transaction.atomic(), connection.cursor() as cursor:
        for rollup in chosen:
            print(f"  rebuilding {rollup.name}", file=sys.stderr)
            cursor.execute(f"DELETE FROM {rollup.delta_table}")
            cursor.execute(f"DELETE FROM {rollup.table}")
            columns = ", ".join(rollup.keys + rollup.values)
            if rollup.name == "effect_months":
                source = f"""
                    SELECT date_trunc('month', day)::date, stage_id, user_id, effect,
                           SUM(interactions), SUM(weight)
                    FROM {by_name["effects"].table} GROUP BY 1, 2, 3, 4"""
            elif rollup.name == "stay_months":
                source = f"""
                    SELECT date_trunc('month', day)::date, stage_id, bucket, SUM(stays),
                           SUM(seconds)
                    FROM {by_name["stays"].table} GROUP BY 1, 2, 3"""
            elif rollup.name == "effect_stages":
                source = f"""
                    SELECT day, stage_id, effect, SUM(interactions), SUM(weight)
                    FROM {by_name["effects"].table} GROUP BY 1, 2, 3"""
            else:
                source = rollup.raw_sql
            cursor.execute(f"INSERT INTO {rollup.table} ({columns}) {source}")
        cursor.execute("ANALYZE")


def verify(*, sample_days: int = 3, seed: int = 5) -> str:
    """Compare every rollup but the interaction ones in full (`compare_sql`), and those on
    `sample_days` random days, raw (the stage-at definition) against rollup + deltas."""
    from django.db import connection

    from analytics.rollups import ROLLUPS, STAGE_AT, stage_at_joins

    rng = random.Random(seed)  # noqa: S311 - a sample, not a secret
    differing = 0
    with connection.cursor() as cursor:
        for rollup in ROLLUPS:
            if rollup.name in EFFECT_ROLLUPS:
                continue
            cursor.execute(rollup.compare_sql())
            differing += len(cursor.fetchall())
        cursor.execute("SELECT MIN(day), MAX(day) FROM analytics_effectday")
        first, last = cursor.fetchone()
        if first is not None:
            for _ in range(sample_days):
                day = first + timedelta(days=rng.randint(0, (last - first).days))
                cursor.execute(
                    f"""
                    SELECT stage_id, user_id, effect, SUM(e), SUM(a) FROM (
                        SELECT {STAGE_AT} AS stage_id, i.logged_by_id AS user_id, i.effect,
                               COUNT(*) AS e, 0 AS a
                        FROM interactions_interaction AS i {stage_at_joins("i")}
                        WHERE i.occurred_at >= %s AND i.occurred_at < %s
                        GROUP BY 1, 2, 3
                        UNION ALL
                        SELECT stage_id, user_id, effect, 0, interactions
                        FROM analytics_effectday WHERE day = %s
                        UNION ALL
                        SELECT stage_id, user_id, effect, 0, interactions
                        FROM analytics_effectdelta WHERE day = %s
                    ) AS x GROUP BY 1, 2, 3 HAVING SUM(e) <> SUM(a)
                    """,
                    [
                        datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                        datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
                        day,
                        day,
                    ],
                )
                differing += len(cursor.fetchall())
    if differing:
        raise AssertionError(f"{differing} rollup key(s) differ from the raw records")
    return f"rollups match the raw records (interaction rollups on {sample_days} sampled days)"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def _check(response: Any, label: str) -> None:
    if response.status_code != 200:
        raise AssertionError(f"{label}: {response.status_code}")


def measure(admin_id: int) -> list[Timing]:
    """p50/p95 of every analytics endpoint (default period; last 12 months by week) and of
    the dashboard home page "/" when it is the dashboard's (skipped otherwise)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import Resolver404, resolve
    from django.utils import timezone

    from common.progress import Progress

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    client = Client()
    client.force_login(get_user_model().objects.get(pk=admin_id))
    today = timezone.now().date()
    year = f"start={today - timedelta(days=364)}&end={today}"
    urls: list[tuple[str, str, str]] = []
    for name in ENDPOINTS:
        urls.append((name, "30 days", f"/api/v1/analytics/{name}/"))
        extra = "&granularity=week" if name in SERIES else ""
        urls.append((name, "12 months", f"/api/v1/analytics/{name}/?{year}{extra}"))
    try:
        home = resolve("/").func.__module__.startswith("dashboard")
    except Resolver404:
        home = False
    gets: list[tuple[str, str, str, Callable[[], Any]]] = [
        (name, period, url, partial(client.get, url, HTTP_ACCEPT="application/json"))
        for name, period, url in urls
    ]
    if home:
        # The home page as people meet it (its numbers shared for a minute, see
        # dashboard/freshness.py), and recomputed on every request (?refresh=1): the cost of
        # the first visit of a view in a minute.
        for period, url in (("30 days", "/"), ("12 months", f"/?{year}")):
            gets.append(("home /", period, url, partial(client.get, url)))
            cold = f"{url}{'&' if '?' in url else '?'}refresh=1"
            gets.append(("home / recomputed", period, cold, partial(client.get, cold)))
    # Round robin: a burst of load from the machine's other work falls on every URL alike
    # instead of on whichever one was being measured then.
    samples: dict[str, list[float]] = {url: [] for _, _, url, _ in gets}
    for _, _, url, get in gets:
        for _ in range(WARMUP):
            _check(get(), url)
    with Progress(len(gets) * REQUESTS, label="Requests", stream=sys.stderr) as bar:
        for _ in range(REQUESTS):
            for _, _, url, get in gets:
                started = time.perf_counter()
                response = get()
                samples[url].append((time.perf_counter() - started) * 1000)
                _check(response, url)
                bar.advance(1)
    results = [
        Timing(name, period, statistics.median(samples[url]), _percentile(samples[url], 0.95))
        for name, period, url, _ in gets
    ]
    if not home:
        note = "skipped: / is not the dashboard home in this build"
        results.extend(
            Timing(name, p, None, None, note)
            for name in ("home /", "home / recomputed")
            for p in ("30 days", "12 months")
        )
    return results


def _counts() -> Sizes:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM customers_customer")
        customers = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM interactions_interaction")
        interactions = cursor.fetchone()[0]
    return Sizes(customers, interactions)


def _raw(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)


def analytics_bench(scale: float = 1.0) -> dict[str, Any]:
    """Generate, measure at 100k interactions, grow to 10M, measure again (times `scale`)."""
    from django.db import connection
    from django.utils import timezone

    customers = max(100, int(1_000_000 * scale))
    small = max(100, int(100_000 * scale))
    large = max(small, int(10_000_000 * scale))
    now = timezone.now()
    phases: dict[str, float] = {}

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        phases[name] = time.monotonic() - started

    def settle(again: str = "") -> str:
        """As a running database would be: statistics and visibility map up to date
        (autovacuum's work), then every rollup checked against the raw records."""
        with phase(f"vacuum analyze{again}"):
            _raw("VACUUM ANALYZE")
        with phase(f"verify{again}"):
            checked = verify()
        print(f"  {checked}", file=sys.stderr)
        return checked

    with phase("generate small"):
        _raw("SET session_replication_role = replica")
        people = generate_people(customers=customers, now=now)
        generate_interactions(count=small, people=people, now=now)
        _raw("SET session_replication_role = DEFAULT")
    with phase("rebuild rollups"):
        rebuild()
    settle()
    small_sizes = _counts()
    with phase("measure small"):
        small_timings = measure(people["admin"])

    with phase("add interactions"):
        _raw("SET session_replication_role = replica")
        people_now = timezone.now()
        generate_interactions(count=large - small, people=people, now=min(now, people_now))
        _raw("SET session_replication_role = DEFAULT")
    with phase("rebuild interaction rollups"):
        rebuild(EFFECT_ROLLUPS)
    checked = settle(" again")
    large_sizes = _counts()
    with phase("measure large"):
        large_timings = measure(people["admin"])
    connection.close()
    return {
        "small": (small_sizes, small_timings),
        "large": (large_sizes, large_timings),
        "phases": phases,
        "checked": checked,
    }


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def write_analytics_results(result: dict[str, Any], load: str) -> str:
    small_sizes, small = result["small"]
    large_sizes, large = result["large"]
    rows = []
    worst = 0.0
    for a, b in zip(small, large, strict=True):
        ratio = b.p95 / a.p95 if a.p95 and b.p95 else None
        if ratio is not None:
            worst = max(worst, ratio)
        verdict = "" if b.p95 is None else ("ok" if b.p95 < 100 and (ratio or 0) <= 1.5 else "MISS")
        rows.append(
            f"| `{a.name}` | {a.period} | {_ms(a.p50)} | {_ms(a.p95)} | {_ms(b.p50)} "
            f"| {_ms(b.p95)} | {'—' if ratio is None else f'{ratio:.2f}'} | {verdict or a.note} |"
        )
    phases = ", ".join(f"{k} {v:,.0f}s" for k, v in result["phases"].items())
    return "\n".join(
        [
            "### Dashboard numbers (analytics endpoints and home) at scale",
            "",
            f"{small_sizes.customers:,} customers; first {small_sizes.interactions:,} "
            f"interactions, then {large_sizes.interactions:,} (bench/analytics.py). "
            f"{REQUESTS} requests per URL after {WARMUP} warm-ups, Django test client as an "
            "Admin, JSON. Periods: the default (last 30 days) and the last 12 months "
            "(weekly buckets for series). Target: p95 < 100 ms at the large size, and at "
            "most 1.5 times the p95 at the small size.",
            "",
            f"Load: {load}. Phases: {phases}. Check: {result['checked']}.",
            "",
            "| endpoint | period | p50 small (ms) | p95 small | p50 large | p95 large "
            "| p95 ratio | target |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
            *rows,
            "",
            f"Worst p95 ratio: {worst:.2f}.",
            "",
        ]
    )
