"""Install the triggers that keep the rollups, and fill the rollups from existing records.

The SQL is written out here as it stood when this migration was made, so that the migration
does the same thing whatever later becomes of `analytics.rollups` (the current definition,
used by the rebuild and the check). A change to the triggers or to a rollup's query goes in a
new migration.
"""

from django.db import migrations

# fmt: off
INSTALL_SQL = r'''
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
'''

UNINSTALL_SQL = r'''
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
'''

BACKFILL_SQL = [
    r'''INSERT INTO analytics_transitionday (day, from_stage_id, to_stage_id, direction, transitions) 
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, from_stage_id, to_stage_id,
               direction, COUNT(*) AS transitions
        FROM stages_stagetransition
        GROUP BY 1, 2, 3, 4
    ''',
    r'''INSERT INTO analytics_effectday (day, stage_id, user_id, effect, interactions, weight) 
        SELECT (i.occurred_at AT TIME ZONE 'UTC')::date AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               i.logged_by_id AS user_id, i.effect,
               COUNT(*) AS interactions, SUM(i.weight) AS weight
        FROM interactions_interaction AS i
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = i.customer_id AND t.occurred_at <= i.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = i.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        GROUP BY 1, 2, 3, 4
    ''',
    r'''INSERT INTO analytics_effectmonth (month, stage_id, user_id, effect, interactions, weight) 
        SELECT date_trunc('month', i.occurred_at AT TIME ZONE 'UTC')::date AS month,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               i.logged_by_id AS user_id, i.effect,
               COUNT(*) AS interactions, SUM(i.weight) AS weight
        FROM interactions_interaction AS i
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = i.customer_id AND t.occurred_at <= i.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = i.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        GROUP BY 1, 2, 3, 4
    ''',
    r'''INSERT INTO analytics_effectstageday (day, stage_id, effect, interactions, weight) 
        SELECT (i.occurred_at AT TIME ZONE 'UTC')::date AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               i.effect,
               COUNT(*) AS interactions, SUM(i.weight) AS weight
        FROM interactions_interaction AS i
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = i.customer_id AND t.occurred_at <= i.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = i.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        GROUP BY 1, 2, 3
    ''',
    r'''INSERT INTO analytics_surveyday (day, stage_id, kind, score, category, effect, answers, weight) 
        SELECT (answered_at AT TIME ZONE 'UTC')::date AS day, stage_id, kind, score, category,
               effect, COUNT(*) AS answers, SUM(weight) AS weight
        FROM surveys_response
        GROUP BY 1, 2, 3, 4, 5, 6
    ''',
    r'''INSERT INTO analytics_stayday (day, stage_id, bucket, stays, seconds) 
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
    ''',
]

CLEAR_SQL = [
    r'''DELETE FROM analytics_transitionday; DELETE FROM analytics_transitiondelta;''',
    r'''DELETE FROM analytics_effectday; DELETE FROM analytics_effectdelta;''',
    r'''DELETE FROM analytics_effectmonth; DELETE FROM analytics_effectmonthdelta;''',
    r'''DELETE FROM analytics_effectstageday; DELETE FROM analytics_effectstagedelta;''',
    r'''DELETE FROM analytics_surveyday; DELETE FROM analytics_surveydelta;''',
    r'''DELETE FROM analytics_stayday; DELETE FROM analytics_staydelta;''',
]
# fmt: on


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("stages", "0002_default_stages"),
        ("interactions", "0002_alter_interaction_options"),
        ("surveys", "0002_default_surveys"),
    ]

    operations = [
        migrations.RunSQL(INSTALL_SQL, UNINSTALL_SQL),
        migrations.RunSQL(BACKFILL_SQL, CLEAR_SQL),
    ]
