"""The rollups' SQL: the triggers that keep them, their definitions from the raw tables, and
the fold that moves pending deltas into them.

Why triggers and deltas. A rollup must be exact under concurrency, after redelivery and
whatever path wrote the raw record: a service, the admin, a bulk import (`bulk_create`),
a cascade when a customer is deleted. A row trigger sees every one of those writes inside the
writing transaction, so its delta commits or rolls back with the write itself: nothing to
redeliver, nothing counted twice. Triggers append to delta tables instead of updating the
rollup rows directly so that concurrent writers never wait on (or deadlock over) the same
hot rollup row; `rollups_fold` (Celery beat, every minute) folds deltas in with one
`DELETE … RETURNING` + `INSERT … ON CONFLICT DO UPDATE` statement, so each delta is counted
exactly once even with several folds running. Readers add the pending deltas to the rollup
in the same statement, so numbers are current the moment a write commits.

`ROLLUPS[…].raw_sql` is the definition of each rollup from the raw records, written
independently of the triggers: `rollups_rebuild` loads it and `check_rollups` compares it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Advisory lock key of the fold ("FLYWHEEL" folded into 63 bits): one fold at a time.
FOLD_LOCK_KEY = 0x464C5957_4845454C & 0x7FFFFFFFFFFFFFFF


@dataclass(frozen=True)
class Rollup:
    """One rollup table, its delta table, its key and value columns, and its definition."""

    name: str
    table: str
    delta_table: str
    keys: tuple[str, ...]
    values: tuple[str, ...]
    raw_sql: str

    def fold_sql(self) -> str:
        keys = ", ".join(self.keys)
        vals = ", ".join(self.values)
        sums = ", ".join(f"SUM({v})" for v in self.values)
        updates = ", ".join(f"{v} = r.{v} + EXCLUDED.{v}" for v in self.values)
        return f"""
            WITH moved AS (
                DELETE FROM {self.delta_table}
                WHERE id IN (
                    SELECT id FROM {self.delta_table} ORDER BY id LIMIT %s
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING {keys}, {vals}
            )
            INSERT INTO {self.table} AS r ({keys}, {vals})
            SELECT {keys}, {sums} FROM moved GROUP BY {keys} ORDER BY {keys}
            ON CONFLICT ({keys}) DO UPDATE SET {updates}
        """  # noqa: S608 - table and column names are our constants; values are bound

    def compare_sql(self) -> str:
        """Keys whose raw total differs from rollup + pending deltas, in ONE statement (one
        snapshot, whatever the isolation level): key columns, then each value expected and
        found."""
        keys = ", ".join(self.keys)
        zeros = ", ".join("0" for _ in self.values)
        vals = ", ".join(self.values)
        pairs = ", ".join(f"SUM(e_{v}), SUM(a_{v})" for v in self.values)
        expected = ", ".join(f"{v} AS e_{v}" for v in self.values)
        found = ", ".join(f"0 AS a_{v}" for v in self.values)
        differ = " OR ".join(f"SUM(e_{v}) <> SUM(a_{v})" for v in self.values)
        return f"""
            SELECT {keys}, {pairs} FROM (
                SELECT {keys}, {expected}, {found} FROM ({self.raw_sql}) AS raw
                UNION ALL
                SELECT {keys}, {zeros}, {vals} FROM {self.table}
                UNION ALL
                SELECT {keys}, {zeros}, {vals} FROM {self.delta_table}
            ) AS x
            GROUP BY {keys} HAVING {differ}
            ORDER BY {keys}
        """  # noqa: S608 - table and column names are our constants

    def current_sql(self) -> str:
        """Rollup + pending deltas, one row per key with a non-zero value."""
        keys = ", ".join(self.keys)
        vals = ", ".join(self.values)
        sums = ", ".join(f"SUM({v})" for v in self.values)
        nonzero = " OR ".join(f"SUM({v}) <> 0" for v in self.values)
        return f"""
            SELECT {keys}, {sums} FROM (
                SELECT {keys}, {vals} FROM {self.table}
                UNION ALL
                SELECT {keys}, {vals} FROM {self.delta_table}
            ) AS x
            GROUP BY {keys} HAVING {nonzero}
        """  # noqa: S608 - table and column names are our constants; values are bound


TRANSITIONS = Rollup(
    name="transitions",
    table="analytics_transitionday",
    delta_table="analytics_transitiondelta",
    keys=("day", "from_stage_id", "to_stage_id", "direction"),
    values=("transitions",),
    raw_sql="""
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, from_stage_id, to_stage_id,
               direction, COUNT(*) AS transitions
        FROM stages_stagetransition
        GROUP BY 1, 2, 3, 4
    """,
)


def stage_at_joins(alias: str) -> str:
    """The joins that find the stage the customer of row `alias` stood in at its
    `occurred_at`; select it as `STAGE_AT`.

    That is the `to_stage` of their latest transition at or before the moment (ties: the
    greater id) or, for a moment before their first move, their entry stage. One definition
    for the rollups, their checks and the filtered reads, so that they always agree.
    """
    return f"""
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = {alias}.customer_id AND t.occurred_at <= {alias}.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = {alias}.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
    """  # noqa: S608 - only our own table, column and alias names are interpolated


STAGE_AT = "COALESCE(latest.to_stage_id, first.to_stage_id)"
STAGE_AT_JOINS_I = stage_at_joins("i")


# An interaction counts against the stage its customer stood in at `occurred_at`: the
# `to_stage` of their latest transition at or before it (ties: the greater id), or, for one
# dated before their first move, their entry stage.
EFFECTS = Rollup(
    name="effects",
    table="analytics_effectday",
    delta_table="analytics_effectdelta",
    keys=("day", "stage_id", "user_id", "effect"),
    values=("interactions", "weight"),
    raw_sql=f"""
        SELECT (i.occurred_at AT TIME ZONE 'UTC')::date AS day,
               {STAGE_AT} AS stage_id,
               i.logged_by_id AS user_id, i.effect,
               COUNT(*) AS interactions, SUM(i.weight) AS weight
        FROM interactions_interaction AS i
        {STAGE_AT_JOINS_I}
        GROUP BY 1, 2, 3, 4
    """,  # noqa: S608 - only our own table, column and alias names are interpolated
)

EFFECT_MONTHS = Rollup(
    name="effect_months",
    table="analytics_effectmonth",
    delta_table="analytics_effectmonthdelta",
    keys=("month", "stage_id", "user_id", "effect"),
    values=("interactions", "weight"),
    raw_sql=f"""
        SELECT date_trunc('month', i.occurred_at AT TIME ZONE 'UTC')::date AS month,
               {STAGE_AT} AS stage_id,
               i.logged_by_id AS user_id, i.effect,
               COUNT(*) AS interactions, SUM(i.weight) AS weight
        FROM interactions_interaction AS i
        {STAGE_AT_JOINS_I}
        GROUP BY 1, 2, 3, 4
    """,  # noqa: S608 - only our own table, column and alias names are interpolated
)

EFFECT_STAGES = Rollup(
    name="effect_stages",
    table="analytics_effectstageday",
    delta_table="analytics_effectstagedelta",
    keys=("day", "stage_id", "effect"),
    values=("interactions", "weight"),
    raw_sql=f"""
        SELECT (i.occurred_at AT TIME ZONE 'UTC')::date AS day,
               {STAGE_AT} AS stage_id,
               i.effect,
               COUNT(*) AS interactions, SUM(i.weight) AS weight
        FROM interactions_interaction AS i
        {STAGE_AT_JOINS_I}
        GROUP BY 1, 2, 3
    """,  # noqa: S608 - only our own table, column and alias names are interpolated
)

SURVEYS = Rollup(
    name="surveys",
    table="analytics_surveyday",
    delta_table="analytics_surveydelta",
    keys=("day", "stage_id", "kind", "score", "category", "effect"),
    values=("answers", "weight"),
    raw_sql="""
        SELECT (answered_at AT TIME ZONE 'UTC')::date AS day, stage_id, kind, score, category,
               effect, COUNT(*) AS answers, SUM(weight) AS weight
        FROM surveys_response
        GROUP BY 1, 2, 3, 4, 5, 6
    """,
)

SURVEY_KINDS = Rollup(
    name="survey_kinds",
    table="analytics_surveykindday",
    delta_table="analytics_surveykinddelta",
    keys=("day", "kind", "score", "category", "effect"),
    values=("answers", "weight"),
    raw_sql="""
        SELECT (answered_at AT TIME ZONE 'UTC')::date AS day, kind, score, category, effect,
               COUNT(*) AS answers, SUM(weight) AS weight
        FROM surveys_response
        GROUP BY 1, 2, 3, 4, 5
    """,
)

SURVEY_MONTHS = Rollup(
    name="survey_months",
    table="analytics_surveymonth",
    delta_table="analytics_surveymonthdelta",
    keys=("month", "stage_id", "kind", "score", "category", "effect"),
    values=("answers", "weight"),
    raw_sql="""
        SELECT date_trunc('month', answered_at AT TIME ZONE 'UTC')::date AS month, stage_id,
               kind, score, category, effect, COUNT(*) AS answers, SUM(weight) AS weight
        FROM surveys_response
        GROUP BY 1, 2, 3, 4, 5, 6
    """,
)

# A stay in a stage ends at the customer's next transition: pair each transition with the
# previous one of the chain (ordered by occurred_at, then id).
STAYS = Rollup(
    name="stays",
    table="analytics_stayday",
    delta_table="analytics_staydelta",
    keys=("day", "stage_id", "bucket"),
    values=("stays", "seconds"),
    raw_sql="""
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, stage_id,
               analytics_stay_bucket(seconds) AS bucket, COUNT(*) AS stays,
               SUM(floor(seconds))::bigint AS seconds
        FROM (
            SELECT occurred_at, LAG(to_stage_id) OVER chain AS stage_id,
                   EXTRACT(EPOCH FROM occurred_at - LAG(occurred_at) OVER chain) AS seconds
            FROM stages_stagetransition
            WINDOW chain AS (PARTITION BY customer_id ORDER BY occurred_at, id)
        ) AS stay
        WHERE stage_id IS NOT NULL
        GROUP BY 1, 2, 3
    """,
)


def loop_keys_sql(transitions: str, purchases: str, referrals: str) -> str:
    """The loop rollup's rows for the customers of three sources: `transitions` (id,
    customer_id, occurred_at, to_stage_id), `purchases` (id, customer_id, occurred_at) and
    `referrals` (id, customer_id = the referrer, occurred_at, referrer_phase), each a table
    or a parenthesised query over the same customers. Every row counts 1 (summed by key).

    Loop completion counts distinct customers over any period, which a per-day count cannot
    add up. What can: per customer, their stays in Delight (a span from a move into a
    Delight stage out of another phase, or an entry, to the next move out of Delight) and
    their loop events (a Delight referral, a purchase that is not their first), each
    reduced to a few days:

    - kind "enter": a span's first day (`day`) and the day the customer's previous span
      ended (`prev_day`, empty for their first);
    - kind "exit": a span's last day (`day`);
    - kinds "referred", "bought" and "closed" (either): the event's day, the day of the
      customer's previous event of that kind (`prev_day`), `last_delight` = the event's day
      if they stood in Delight then, else the day their latest span before it ended, and
      `next_entry` = the day of their next move into Delight after it. Customers never in
      Delight have no rows: they can never count.

    With s, e the period's first and last days, `analytics.selectors.loop_completion` reads:
    Delight customers = enters before s - exits before s (in Delight at its start) + enters
    in [s, e] with prev_day < s or empty (their first entry of the period, from outside);
    customers of an event kind = events in [s, e] with prev_day < s or empty (their first
    of the period) and last_delight >= s or next_entry <= e (in Delight at some moment of
    the period).
    """
    return f"""
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM {transitions} AS c
        ), edges AS (
            SELECT customer_id, id, occurred_at, inside AS enters,
                   LAG(occurred_at) OVER (PARTITION BY customer_id ORDER BY occurred_at, id)
                       AS prev_at
            FROM chain WHERE inside <> COALESCE(was_inside, FALSE)
        ), events AS (
            SELECT customer_id, id, occurred_at, 'bought' AS kind, 1 AS source
            FROM (
                SELECT customer_id, id, occurred_at, ROW_NUMBER() OVER (
                    PARTITION BY customer_id ORDER BY occurred_at, id) AS n
                FROM {purchases} AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM {referrals} AS r WHERE referrer_phase = 'delight'
        ), tagged AS (
            SELECT customer_id, id, occurred_at, kind, source FROM events
            UNION ALL
            SELECT customer_id, id, occurred_at, 'closed', source FROM events
        ), timeline AS (
            -- Edges and events in one order per customer; an edge at the same moment as an
            -- event comes first (where one stands at t includes moves at t).
            SELECT customer_id, occurred_at, 0 AS ord, id, enters, NULL AS kind, 0 AS source
            FROM edges
            UNION ALL
            SELECT customer_id, occurred_at, 1, id, NULL, kind, source FROM tagged
        ), walked AS (
            SELECT *,
                   COUNT(enters) OVER (
                       PARTITION BY customer_id ORDER BY occurred_at, ord, id
                       ROWS UNBOUNDED PRECEDING) AS edge_no,
                   MIN(CASE WHEN enters THEN occurred_at END) OVER (
                       PARTITION BY customer_id ORDER BY occurred_at, ord, id
                       ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_at,
                   COUNT(enters) OVER (PARTITION BY customer_id) AS spans
            FROM timeline
        ), latest AS (
            SELECT *,
                   FIRST_VALUE(enters) OVER edge AS latest_enters,
                   FIRST_VALUE(occurred_at) OVER edge AS latest_at
            FROM walked
            WINDOW edge AS (PARTITION BY customer_id, edge_no ORDER BY occurred_at, ord, id)
        ), placed AS (
            SELECT kind, occurred_at, next_at,
                   LAG(occurred_at) OVER (
                       PARTITION BY customer_id, kind ORDER BY occurred_at, source, id
                   ) AS prev_at,
                   CASE WHEN edge_no = 0 THEN NULL
                        WHEN latest_enters THEN occurred_at ELSE latest_at END AS last_at
            FROM latest
            WHERE kind IS NOT NULL AND spans > 0
        )
        SELECT CASE WHEN enters THEN 'enter' ELSE 'exit' END AS kind,
               analytics_day(occurred_at) AS day,
               CASE WHEN enters THEN analytics_day(prev_at) END AS prev_day,
               NULL::date AS last_delight, NULL::date AS next_entry, COUNT(*) AS customers
        FROM edges GROUP BY 1, 2, 3
        UNION ALL
        SELECT kind, analytics_day(occurred_at), analytics_day(prev_at),
               analytics_day(last_at),
               CASE WHEN last_at = occurred_at THEN NULL ELSE analytics_day(next_at) END,
               COUNT(*)
        FROM placed GROUP BY 1, 2, 3, 4, 5
    """  # noqa: S608 - only our own table, column and alias names are interpolated


LOOP = Rollup(
    name="loop",
    table="analytics_loopday",
    delta_table="analytics_loopdelta",
    keys=("kind", "day", "prev_day", "last_delight", "next_entry"),
    values=("customers",),
    raw_sql=loop_keys_sql(
        "stages_stagetransition",
        "interactions_purchase",
        "(SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase"
        " FROM customers_referral)",
    ),
)

# Unsubscribes (friction) against the stage of the moment, like interactions.
UNSUBSCRIBE_METHODS = ("unsubscribe_link", "one_click")


def unsubscribe_keys_sql(transitions: str, consents: str) -> str:
    """Unsubscribes per (day, stage of the moment) for the customers of the sources given
    (`transitions` as for `loop_keys_sql`; `consents`: id, customer_id, occurred_at,
    granted, method)."""
    methods = ", ".join(f"'{method}'" for method in UNSUBSCRIBE_METHODS)
    return f"""
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM {consents} AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM {transitions} AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM {transitions} AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ({methods})
        GROUP BY 1, 2
    """  # noqa: S608 - only our own table, column and alias names are interpolated


UNSUBSCRIBES = Rollup(
    name="unsubscribes",
    table="analytics_unsubscribeday",
    delta_table="analytics_unsubscribedelta",
    keys=("day", "stage_id"),
    values=("unsubscribes",),
    raw_sql=unsubscribe_keys_sql(
        "stages_stagetransition",
        "(SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent)",
    ),
)

# Open tasks by the customer's stage now and the assignee, and the same per due day: overdue
# follow-ups at any moment are all open tasks minus those due at or after it (the days to
# come of the second, the rest of today from the raw tasks).
OPEN_TASKS = Rollup(
    name="open_tasks",
    table="analytics_opentaskday",
    delta_table="analytics_opentaskdelta",
    keys=("stage_id", "user_id"),
    values=("tasks",),
    raw_sql="""
        SELECT c.stage_id, t.assignee_id AS user_id, COUNT(*) AS tasks
        FROM interactions_task AS t JOIN customers_customer AS c ON c.id = t.customer_id
        WHERE t.state = 'open'
        GROUP BY 1, 2
    """,
)

OPEN_TASK_DAYS = Rollup(
    name="open_task_days",
    table="analytics_opentaskdueday",
    delta_table="analytics_opentaskduedelta",
    keys=("day", "stage_id", "user_id"),
    values=("tasks",),
    raw_sql="""
        SELECT (t.due_at AT TIME ZONE 'UTC')::date AS day, c.stage_id, t.assignee_id AS user_id,
               COUNT(*) AS tasks
        FROM interactions_task AS t JOIN customers_customer AS c ON c.id = t.customer_id
        WHERE t.state = 'open'
        GROUP BY 1, 2, 3
    """,
)

STAY_MONTHS = Rollup(
    name="stay_months",
    table="analytics_staymonth",
    delta_table="analytics_staymonthdelta",
    keys=("month", "stage_id", "bucket"),
    values=("stays", "seconds"),
    raw_sql="""
        SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month, stage_id,
               analytics_stay_bucket(seconds) AS bucket, COUNT(*) AS stays,
               SUM(floor(seconds))::bigint AS seconds
        FROM (
            SELECT occurred_at, LAG(to_stage_id) OVER chain AS stage_id,
                   EXTRACT(EPOCH FROM occurred_at - LAG(occurred_at) OVER chain) AS seconds
            FROM stages_stagetransition
            WINDOW chain AS (PARTITION BY customer_id ORDER BY occurred_at, id)
        ) AS stay
        WHERE stage_id IS NOT NULL
        GROUP BY 1, 2, 3
    """,
)

# New customers per (creation day, acquisition source as campaigns name it: utm_source,
# else source, lower-cased), for acquisition cost per new customer.
ACQUISITION_SOURCE = "lower(COALESCE(NULLIF({t}.utm_source, ''), NULLIF({t}.source, ''), ''))"

NEW_CUSTOMERS = Rollup(
    name="new_customers",
    table="analytics_newcustomerday",
    delta_table="analytics_newcustomerdelta",
    keys=("day", "source"),
    values=("customers",),
    raw_sql=f"""
        SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day,
               {ACQUISITION_SOURCE.format(t="c")} AS source, COUNT(*) AS customers
        FROM customers_customer AS c
        GROUP BY 1, 2
    """,  # noqa: S608 - only our own table and column names are interpolated
)

ROLLUPS = (
    TRANSITIONS,
    EFFECTS,
    EFFECT_MONTHS,
    EFFECT_STAGES,
    SURVEYS,
    SURVEY_KINDS,
    SURVEY_MONTHS,
    STAYS,
    LOOP,
    UNSUBSCRIBES,
    OPEN_TASKS,
    OPEN_TASK_DAYS,
    STAY_MONTHS,
    NEW_CUSTOMERS,
)

# --- the triggers (installed by migration 0002) ---------------------------------------------

INSTALL_SQL = r"""
CREATE OR REPLACE FUNCTION analytics_day(p_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE AS $$ SELECT (p_at AT TIME ZONE 'UTC')::date $$;

-- The stage a customer stood in at p_at: the to_stage of their latest transition at or
-- before it (ties by id), else of their first one. p_exclude leaves one transition out;
-- p_extra_* add one not yet in the table (a BEFORE INSERT trigger's NEW row).
CREATE OR REPLACE FUNCTION analytics_stage_at(
    p_customer bigint, p_at timestamptz, p_exclude bigint DEFAULT NULL,
    p_extra_id bigint DEFAULT NULL, p_extra_at timestamptz DEFAULT NULL,
    p_extra_stage bigint DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    l_id bigint; l_at timestamptz; l_stage bigint;
    f_id bigint; f_at timestamptz; f_stage bigint;
BEGIN
    SELECT id, occurred_at, to_stage_id INTO l_id, l_at, l_stage
    FROM stages_stagetransition
    WHERE customer_id = p_customer AND occurred_at <= p_at AND id IS DISTINCT FROM p_exclude
    ORDER BY occurred_at DESC, id DESC LIMIT 1;
    IF p_extra_id IS NOT NULL AND p_extra_at <= p_at
       AND (l_id IS NULL OR (p_extra_at, p_extra_id) > (l_at, l_id)) THEN
        RETURN p_extra_stage;
    END IF;
    IF l_id IS NOT NULL THEN
        RETURN l_stage;
    END IF;
    SELECT id, occurred_at, to_stage_id INTO f_id, f_at, f_stage
    FROM stages_stagetransition
    WHERE customer_id = p_customer AND id IS DISTINCT FROM p_exclude
    ORDER BY occurred_at, id LIMIT 1;
    IF p_extra_id IS NOT NULL AND (f_id IS NULL OR (p_extra_at, p_extra_id) < (f_at, f_id)) THEN
        RETURN p_extra_stage;
    END IF;
    RETURN f_stage;
END $$;

-- One interaction counted (p_sign 1) or uncounted (-1) against a stage: every effect rollup.
CREATE OR REPLACE FUNCTION analytics_effect_delta(
    p_at timestamptz, p_stage bigint, p_user integer, p_effect varchar, p_sign integer,
    p_weight integer
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_effectdelta (day, stage_id, user_id, effect, interactions, weight)
    VALUES (analytics_day(p_at), p_stage, p_user, p_effect, p_sign, p_sign * p_weight);
    INSERT INTO analytics_effectstagedelta (day, stage_id, effect, interactions, weight)
    VALUES (analytics_day(p_at), p_stage, p_effect, p_sign, p_sign * p_weight);
    INSERT INTO analytics_effectmonthdelta
        (month, stage_id, user_id, effect, interactions, weight)
    VALUES (date_trunc('month', analytics_day(p_at))::date, p_stage, p_user, p_effect, p_sign,
            p_sign * p_weight);
END $$;

CREATE OR REPLACE FUNCTION analytics_transition_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO analytics_transitiondelta
            (day, from_stage_id, to_stage_id, direction, transitions)
        VALUES (analytics_day(OLD.occurred_at), OLD.from_stage_id, OLD.to_stage_id,
                OLD.direction, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_transitiondelta
            (day, from_stage_id, to_stage_id, direction, transitions)
        VALUES (analytics_day(NEW.occurred_at), NEW.from_stage_id, NEW.to_stage_id,
                NEW.direction, 1);
    END IF;
    RETURN NULL;
END $$;

-- A transition added or removed changes the stage of the customer's interactions dated at
-- or after it (all of them, when it is or was the first): move their counts over. BEFORE the
-- row changes, so that each row of a multi-row statement sees the ones before it.
CREATE OR REPLACE FUNCTION analytics_transition_reattribute() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t_customer bigint; t_id bigint; t_at timestamptz; has_earlier boolean;
    i record; old_stage bigint; new_stage bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        t_customer := NEW.customer_id; t_id := NEW.id; t_at := NEW.occurred_at;
    ELSE
        t_customer := OLD.customer_id; t_id := OLD.id; t_at := OLD.occurred_at;
    END IF;
    SELECT EXISTS (
        SELECT 1 FROM stages_stagetransition AS p
        WHERE p.customer_id = t_customer AND p.id <> t_id
          AND (p.occurred_at, p.id) < (t_at, t_id)
    ) INTO has_earlier;
    FOR i IN
        SELECT occurred_at, logged_by_id, effect, weight FROM interactions_interaction
        WHERE customer_id = t_customer AND (NOT has_earlier OR occurred_at >= t_at)
    LOOP
        old_stage := analytics_stage_at(t_customer, i.occurred_at);
        IF TG_OP = 'INSERT' THEN
            new_stage := analytics_stage_at(
                t_customer, i.occurred_at, NULL, NEW.id, NEW.occurred_at, NEW.to_stage_id);
        ELSE
            new_stage := analytics_stage_at(t_customer, i.occurred_at, OLD.id);
        END IF;
        IF old_stage IS DISTINCT FROM new_stage THEN
            PERFORM analytics_effect_delta(
                i.occurred_at, old_stage, i.logged_by_id, i.effect, -1, i.weight);
            PERFORM analytics_effect_delta(
                i.occurred_at, new_stage, i.logged_by_id, i.effect, 1, i.weight);
        END IF;
    END LOOP;
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION analytics_interaction_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND
       (OLD.customer_id, OLD.occurred_at, OLD.logged_by_id, OLD.effect, OLD.weight)
       IS NOT DISTINCT FROM
       (NEW.customer_id, NEW.occurred_at, NEW.logged_by_id, NEW.effect, NEW.weight) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM analytics_effect_delta(
            OLD.occurred_at, analytics_stage_at(OLD.customer_id, OLD.occurred_at),
            OLD.logged_by_id, OLD.effect, -1, OLD.weight);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM analytics_effect_delta(
            NEW.occurred_at, analytics_stage_at(NEW.customer_id, NEW.occurred_at),
            NEW.logged_by_id, NEW.effect, 1, NEW.weight);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION analytics_response_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND
       (OLD.answered_at, OLD.stage_id, OLD.kind, OLD.score, OLD.category, OLD.effect, OLD.weight)
       IS NOT DISTINCT FROM
       (NEW.answered_at, NEW.stage_id, NEW.kind, NEW.score, NEW.category, NEW.effect, NEW.weight)
    THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO analytics_surveydelta
            (day, stage_id, kind, score, category, effect, answers, weight)
        VALUES (analytics_day(OLD.answered_at), OLD.stage_id, OLD.kind, OLD.score,
                OLD.category, OLD.effect, -1, -OLD.weight);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_surveydelta
            (day, stage_id, kind, score, category, effect, answers, weight)
        VALUES (analytics_day(NEW.answered_at), NEW.stage_id, NEW.kind, NEW.score,
                NEW.category, NEW.effect, 1, NEW.weight);
    END IF;
    RETURN NULL;
END $$;

-- Durations in 2% buckets: bucket b holds [1.02^b, 1.02^(b+1)) seconds; -1 under a second.
CREATE OR REPLACE FUNCTION analytics_stay_bucket(p_seconds numeric) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_seconds < 1 THEN -1 ELSE floor(ln(p_seconds) / ln(1.02))::integer END
$$;

CREATE OR REPLACE FUNCTION analytics_stay_delta(
    p_exit_at timestamptz, p_stage bigint, p_entered_at timestamptz, p_sign integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    secs numeric := EXTRACT(EPOCH FROM p_exit_at - p_entered_at);
BEGIN
    INSERT INTO analytics_staydelta (day, stage_id, bucket, stays, seconds)
    VALUES (analytics_day(p_exit_at), p_stage, analytics_stay_bucket(secs), p_sign,
            p_sign * floor(secs)::bigint);
END $$;

-- A transition added to (or removed from) a chain between P and N splits (or joins) the stay
-- P → N into P → T and T → N. BEFORE the row changes, like the reattribution above.
CREATE OR REPLACE FUNCTION analytics_transition_stays() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t_customer bigint; t_id bigint; t_at timestamptz; t_stage bigint; sign integer;
    p_id bigint; p_at timestamptz; p_stage bigint; n_id bigint; n_at timestamptz;
BEGIN
    IF TG_OP = 'INSERT' THEN
        t_customer := NEW.customer_id; t_id := NEW.id; t_at := NEW.occurred_at;
        t_stage := NEW.to_stage_id; sign := 1;
    ELSE
        t_customer := OLD.customer_id; t_id := OLD.id; t_at := OLD.occurred_at;
        t_stage := OLD.to_stage_id; sign := -1;
    END IF;
    SELECT id, occurred_at, to_stage_id INTO p_id, p_at, p_stage
    FROM stages_stagetransition
    WHERE customer_id = t_customer AND id <> t_id AND (occurred_at, id) < (t_at, t_id)
    ORDER BY occurred_at DESC, id DESC LIMIT 1;
    SELECT id, occurred_at INTO n_id, n_at
    FROM stages_stagetransition
    WHERE customer_id = t_customer AND id <> t_id AND (occurred_at, id) > (t_at, t_id)
    ORDER BY occurred_at, id LIMIT 1;
    IF p_id IS NOT NULL AND n_id IS NOT NULL THEN
        PERFORM analytics_stay_delta(n_at, p_stage, p_at, -sign);
    END IF;
    IF p_id IS NOT NULL THEN
        PERFORM analytics_stay_delta(t_at, p_stage, p_at, sign);
    END IF;
    IF n_id IS NOT NULL THEN
        PERFORM analytics_stay_delta(n_at, t_stage, t_at, sign);
    END IF;
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER analytics_transition_stays
BEFORE INSERT OR DELETE ON stages_stagetransition
FOR EACH ROW EXECUTE FUNCTION analytics_transition_stays();

CREATE TRIGGER analytics_transition_delta
AFTER INSERT OR UPDATE OR DELETE ON stages_stagetransition
FOR EACH ROW EXECUTE FUNCTION analytics_transition_delta();

CREATE TRIGGER analytics_transition_reattribute
BEFORE INSERT OR DELETE ON stages_stagetransition
FOR EACH ROW EXECUTE FUNCTION analytics_transition_reattribute();

CREATE TRIGGER analytics_interaction_delta
AFTER INSERT OR UPDATE OR DELETE ON interactions_interaction
FOR EACH ROW EXECUTE FUNCTION analytics_interaction_delta();

CREATE TRIGGER analytics_response_delta
AFTER INSERT OR UPDATE OR DELETE ON surveys_response
FOR EACH ROW EXECUTE FUNCTION analytics_response_delta();
"""

UNINSTALL_SQL = """
DROP TRIGGER IF EXISTS analytics_transition_stays ON stages_stagetransition;
DROP FUNCTION IF EXISTS analytics_transition_stays();
DROP FUNCTION IF EXISTS analytics_stay_delta(timestamptz, bigint, timestamptz, integer);
DROP FUNCTION IF EXISTS analytics_stay_bucket(numeric);
DROP TRIGGER IF EXISTS analytics_response_delta ON surveys_response;
DROP TRIGGER IF EXISTS analytics_interaction_delta ON interactions_interaction;
DROP TRIGGER IF EXISTS analytics_transition_reattribute ON stages_stagetransition;
DROP TRIGGER IF EXISTS analytics_transition_delta ON stages_stagetransition;
DROP FUNCTION IF EXISTS analytics_response_delta();
DROP FUNCTION IF EXISTS analytics_interaction_delta();
DROP FUNCTION IF EXISTS analytics_transition_reattribute();
DROP FUNCTION IF EXISTS analytics_transition_delta();
DROP FUNCTION IF EXISTS analytics_effect_delta(
    timestamptz, bigint, integer, varchar, integer, integer);
DROP FUNCTION IF EXISTS analytics_stage_at(
    bigint, timestamptz, bigint, bigint, timestamptz, bigint);
DROP FUNCTION IF EXISTS analytics_day(timestamptz);
"""


# --- rollups kept per customer by statement triggers (installed by migrations 0003, 0004) ---

# The columns each source reads, per raw table (referrals: the referrer is the customer).
SOURCES = {
    "stages_stagetransition": ("customer_id", "id, customer_id, occurred_at, to_stage_id"),
    "interactions_purchase": ("customer_id", "id, customer_id, occurred_at"),
    "customers_referral": (
        "referrer_id",
        "id, referrer_id AS customer_id, occurred_at, referrer_phase",
    ),
    "consent_consentevent": ("customer_id", "id, customer_id, occurred_at, granted, method"),
}
_LOOP_SOURCES = ("stages_stagetransition", "interactions_purchase", "customers_referral")
_UNSUBSCRIBE_SOURCES = ("stages_stagetransition", "consent_consentevent")
_LOOP_COLUMNS = "kind, day, prev_day, last_delight, next_entry"


def _recount_sql(
    rollup: Rollup, sources: tuple[str, ...], keys_sql: Callable[..., str], table: str, op: str
) -> str:
    """One statement of a statement-level trigger on `table` (`op`: INSERT, UPDATE or
    DELETE, with its transition tables new_rows / old_rows): for every customer the statement
    touched, minus their rows of `rollup` as they were before it, plus their rows now.
    `keys_sql(*sources)` gives the rows of the customers of the sources given."""
    customer, _ = SOURCES[table]
    changed = {"INSERT": ["new_rows"], "UPDATE": ["new_rows", "old_rows"], "DELETE": ["old_rows"]}
    affected = " UNION ".join(f"SELECT {customer} FROM {rows}" for rows in changed[op])  # noqa: S608 - our names

    def source(name: str, before: bool) -> str:
        key, columns = SOURCES[name]
        current = f"SELECT {columns} FROM {name} WHERE {key} IN ({affected})"  # noqa: S608 - ours
        if not before or name != table:
            return f"({current})"
        if op != "DELETE":
            current += " AND id NOT IN (SELECT id FROM new_rows)"
        if op != "INSERT":
            current += f" UNION ALL SELECT {columns} FROM old_rows"  # noqa: S608 - ours
        return f"({current})"

    def keys(before: bool) -> str:
        return keys_sql(*(source(name, before) for name in sources))

    columns = ", ".join(rollup.keys)
    value = rollup.values[0]
    return f"""
        INSERT INTO {rollup.delta_table} ({columns}, {value})
        SELECT {columns}, SUM({value}) FROM (
            SELECT {columns}, -{value} AS {value} FROM ({keys(True)}) AS before
            UNION ALL
            SELECT {columns}, {value} FROM ({keys(False)}) AS after
        ) AS x
        GROUP BY {columns} HAVING SUM({value}) <> 0;
    """  # noqa: S608 - only our own table, column and alias names are interpolated


def _statement_triggers_sql(
    name: str, rollup: Rollup, sources: tuple[str, ...], keys_sql: Callable[..., str]
) -> str:
    """A trigger function and its three statement triggers per source table."""
    result = []
    for table in sources:
        function = f"analytics_{name}_{table}"
        branches = "\n".join(
            f"    {'IF' if i == 0 else 'ELSIF'} TG_OP = '{op}' THEN"
            f"{_recount_sql(rollup, sources, keys_sql, table, op)}"
            for i, op in enumerate(("INSERT", "UPDATE", "DELETE"))
        )
        triggers = "\n".join(
            f"CREATE TRIGGER {function}_{op.lower()} AFTER {op} ON {table} "
            f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
            for op, refs in (
                ("INSERT", "NEW TABLE AS new_rows"),
                ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
                ("DELETE", "OLD TABLE AS old_rows"),
            )
        )
        result.append(f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{branches}
    END IF;
    RETURN NULL;
END $$;
{triggers}
""")
    return "".join(result)


def _statement_triggers_uninstall_sql(name: str, sources: tuple[str, ...]) -> str:
    return "".join(
        f"DROP TRIGGER IF EXISTS analytics_{name}_{table}_{op} ON {table};\n"
        for table in sources
        for op in ("insert", "update", "delete")
    ) + "".join(f"DROP FUNCTION IF EXISTS analytics_{name}_{table}();\n" for table in sources)


# A stage changing phase changes every span through it: recount the whole rollup (rare: an
# admin's edit), as deltas so that it is exact whatever a concurrent fold does.
LOOP_RECOUNT_SQL = f"""
    INSERT INTO analytics_loopdelta ({_LOOP_COLUMNS}, customers)
    SELECT {_LOOP_COLUMNS}, SUM(customers) FROM (
        SELECT {_LOOP_COLUMNS}, -customers AS customers FROM analytics_loopday
        UNION ALL
        SELECT {_LOOP_COLUMNS}, -customers FROM analytics_loopdelta
        UNION ALL
        SELECT {_LOOP_COLUMNS}, customers FROM ({LOOP.raw_sql}) AS raw
    ) AS x
    GROUP BY {_LOOP_COLUMNS} HAVING SUM(customers) <> 0
"""  # noqa: S608 - only our own table and column names are interpolated

LOOP_INSTALL_SQL = (
    _statement_triggers_sql("loop", LOOP, _LOOP_SOURCES, loop_keys_sql)
    + f"""
CREATE OR REPLACE FUNCTION analytics_loop_stage_phase() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    {LOOP_RECOUNT_SQL};
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_loop_stage_phase AFTER UPDATE OF phase ON stages_stage
FOR EACH ROW WHEN (OLD.phase IS DISTINCT FROM NEW.phase)
EXECUTE FUNCTION analytics_loop_stage_phase();
"""
)

LOOP_UNINSTALL_SQL = (
    _statement_triggers_uninstall_sql("loop", _LOOP_SOURCES)
    + "DROP TRIGGER IF EXISTS analytics_loop_stage_phase ON stages_stage;\n"
    + "DROP FUNCTION IF EXISTS analytics_loop_stage_phase();\n"
)

_OPEN_TASK_SQL = r"""
-- A task counts while open, against its customer's stage now and its assignee.
-- The customer's row is read FOR SHARE: a concurrent move of the customer waits, or is
-- waited for, so that the task is counted against the stage the move leaves it in.
CREATE OR REPLACE FUNCTION analytics_task_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    stage bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND
       (OLD.customer_id, OLD.assignee_id, OLD.due_at, OLD.state)
       IS NOT DISTINCT FROM (NEW.customer_id, NEW.assignee_id, NEW.due_at, NEW.state) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'open' THEN
        SELECT c.stage_id INTO stage FROM customers_customer AS c
        WHERE c.id = OLD.customer_id FOR SHARE;
        IF FOUND THEN
            INSERT INTO analytics_opentaskdelta (stage_id, user_id, tasks)
            VALUES (stage, OLD.assignee_id, -1);
            INSERT INTO analytics_opentaskduedelta (day, stage_id, user_id, tasks)
            VALUES (analytics_day(OLD.due_at), stage, OLD.assignee_id, -1);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 'open' THEN
        SELECT c.stage_id INTO stage FROM customers_customer AS c
        WHERE c.id = NEW.customer_id FOR SHARE;
        IF FOUND THEN
            INSERT INTO analytics_opentaskdelta (stage_id, user_id, tasks)
            VALUES (stage, NEW.assignee_id, 1);
            INSERT INTO analytics_opentaskduedelta (day, stage_id, user_id, tasks)
            VALUES (analytics_day(NEW.due_at), stage, NEW.assignee_id, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- A customer changing stage takes their open tasks along.
CREATE OR REPLACE FUNCTION analytics_customer_tasks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_opentaskdelta (stage_id, user_id, tasks)
    SELECT stage, assignee_id, sign
    FROM interactions_task,
         (VALUES (OLD.stage_id, -1), (NEW.stage_id, 1)) AS moved (stage, sign)
    WHERE customer_id = NEW.id AND state = 'open';
    INSERT INTO analytics_opentaskduedelta (day, stage_id, user_id, tasks)
    SELECT analytics_day(due_at), stage, assignee_id, sign
    FROM interactions_task,
         (VALUES (OLD.stage_id, -1), (NEW.stage_id, 1)) AS moved (stage, sign)
    WHERE customer_id = NEW.id AND state = 'open';
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_task_delta
AFTER INSERT OR UPDATE OR DELETE ON interactions_task
FOR EACH ROW EXECUTE FUNCTION analytics_task_delta();

CREATE TRIGGER analytics_customer_tasks
AFTER UPDATE OF stage_id ON customers_customer
FOR EACH ROW WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id)
EXECUTE FUNCTION analytics_customer_tasks();

-- Stays go to the monthly rollup too.
CREATE OR REPLACE FUNCTION analytics_stay_delta(
    p_exit_at timestamptz, p_stage bigint, p_entered_at timestamptz, p_sign integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    secs numeric := EXTRACT(EPOCH FROM p_exit_at - p_entered_at);
BEGIN
    INSERT INTO analytics_staydelta (day, stage_id, bucket, stays, seconds)
    VALUES (analytics_day(p_exit_at), p_stage, analytics_stay_bucket(secs), p_sign,
            p_sign * floor(secs)::bigint);
    INSERT INTO analytics_staymonthdelta (month, stage_id, bucket, stays, seconds)
    VALUES (date_trunc('month', analytics_day(p_exit_at))::date, p_stage,
            analytics_stay_bucket(secs), p_sign, p_sign * floor(secs)::bigint);
END $$;
"""

FRICTION_INSTALL_SQL = _OPEN_TASK_SQL + _statement_triggers_sql(
    "unsubscribes", UNSUBSCRIBES, _UNSUBSCRIBE_SOURCES, unsubscribe_keys_sql
)

_OPEN_TASK_UNINSTALL_SQL = """
DROP TRIGGER IF EXISTS analytics_customer_tasks ON customers_customer;
DROP TRIGGER IF EXISTS analytics_task_delta ON interactions_task;
DROP FUNCTION IF EXISTS analytics_customer_tasks();
DROP FUNCTION IF EXISTS analytics_task_delta();
CREATE OR REPLACE FUNCTION analytics_stay_delta(
    p_exit_at timestamptz, p_stage bigint, p_entered_at timestamptz, p_sign integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    secs numeric := EXTRACT(EPOCH FROM p_exit_at - p_entered_at);
BEGIN
    INSERT INTO analytics_staydelta (day, stage_id, bucket, stays, seconds)
    VALUES (analytics_day(p_exit_at), p_stage, analytics_stay_bucket(secs), p_sign,
            p_sign * floor(secs)::bigint);
END $$;
"""

FRICTION_UNINSTALL_SQL = (
    _statement_triggers_uninstall_sql("unsubscribes", _UNSUBSCRIBE_SOURCES)
    + _OPEN_TASK_UNINSTALL_SQL
)

NEW_CUSTOMERS_INSTALL_SQL = f"""
CREATE OR REPLACE FUNCTION analytics_customer_source() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.created_at, OLD.utm_source, OLD.source)
       IS NOT DISTINCT FROM (NEW.created_at, NEW.utm_source, NEW.source) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO analytics_newcustomerdelta (day, source, customers)
        VALUES (analytics_day(OLD.created_at), {ACQUISITION_SOURCE.format(t="OLD")}, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_newcustomerdelta (day, source, customers)
        VALUES (analytics_day(NEW.created_at), {ACQUISITION_SOURCE.format(t="NEW")}, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_customer_source
AFTER INSERT OR UPDATE OR DELETE ON customers_customer
FOR EACH ROW EXECUTE FUNCTION analytics_customer_source();
"""  # noqa: S608 - only our own table and column names are interpolated

NEW_CUSTOMERS_UNINSTALL_SQL = """
DROP TRIGGER IF EXISTS analytics_customer_source ON customers_customer;
DROP FUNCTION IF EXISTS analytics_customer_source();
"""


def _response_delta_sql(extra: bool) -> str:
    """The survey answers' row trigger: every survey rollup (`extra`: the two added by
    migration 0006 besides `SurveyDay`)."""

    def inserts(row: str, sign: str) -> str:
        w = f"{sign}{row}.weight" if sign else f"{row}.weight"
        n = f"{sign}1"
        sql = f"""
        INSERT INTO analytics_surveydelta
            (day, stage_id, kind, score, category, effect, answers, weight)
        VALUES (analytics_day({row}.answered_at), {row}.stage_id, {row}.kind, {row}.score,
                {row}.category, {row}.effect, {n}, {w});"""  # noqa: S608 - our own names
        if extra:
            sql += f"""
        INSERT INTO analytics_surveykinddelta
            (day, kind, score, category, effect, answers, weight)
        VALUES (analytics_day({row}.answered_at), {row}.kind, {row}.score, {row}.category,
                {row}.effect, {n}, {w});
        INSERT INTO analytics_surveymonthdelta
            (month, stage_id, kind, score, category, effect, answers, weight)
        VALUES (date_trunc('month', analytics_day({row}.answered_at))::date, {row}.stage_id,
                {row}.kind, {row}.score, {row}.category, {row}.effect, {n}, {w});"""  # noqa: S608
        return sql

    return f"""
CREATE OR REPLACE FUNCTION analytics_response_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND
       (OLD.answered_at, OLD.stage_id, OLD.kind, OLD.score, OLD.category, OLD.effect, OLD.weight)
       IS NOT DISTINCT FROM
       (NEW.answered_at, NEW.stage_id, NEW.kind, NEW.score, NEW.category, NEW.effect, NEW.weight)
    THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN{inserts("OLD", "-")}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN{inserts("NEW", "")}
    END IF;
    RETURN NULL;
END $$;
"""


SURVEY_INSTALL_SQL = _response_delta_sql(extra=True)
SURVEY_UNINSTALL_SQL = _response_delta_sql(extra=False)
