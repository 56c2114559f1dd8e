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

ROLLUPS = (TRANSITIONS, EFFECTS, EFFECT_MONTHS, EFFECT_STAGES, SURVEYS, STAYS)

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
