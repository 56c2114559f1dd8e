"""Rollups for the friction terms and a year of velocity: unsubscribes against the stage of
the moment (statement triggers on transitions and consent events), open tasks by stage now
and assignee and per due day (row triggers on tasks and on a customer's stage), and the stays
per month (the stay trigger writes both). Filled from the existing records. The SQL is
written out as it stood when this migration was made (see 0002).
"""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# fmt: off
INSTALL_SQL = r'''
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

CREATE OR REPLACE FUNCTION analytics_unsubscribes_stages_stagetransition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_unsubscribedelta (day, stage_id, unsubscribes)
        SELECT day, stage_id, SUM(unsubscribes) FROM (
            SELECT day, stage_id, -unsubscribes AS unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows) AND id NOT IN (SELECT id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows) AND id NOT IN (SELECT id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS before
            UNION ALL
            SELECT day, stage_id, unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS after
        ) AS x
        GROUP BY day, stage_id HAVING SUM(unsubscribes) <> 0;
    
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_unsubscribedelta (day, stage_id, unsubscribes)
        SELECT day, stage_id, SUM(unsubscribes) FROM (
            SELECT day, stage_id, -unsubscribes AS unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows) AND id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT id, customer_id, occurred_at, to_stage_id FROM old_rows) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows) AND id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT id, customer_id, occurred_at, to_stage_id FROM old_rows) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS before
            UNION ALL
            SELECT day, stage_id, unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS after
        ) AS x
        GROUP BY day, stage_id HAVING SUM(unsubscribes) <> 0;
    
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_unsubscribedelta (day, stage_id, unsubscribes)
        SELECT day, stage_id, SUM(unsubscribes) FROM (
            SELECT day, stage_id, -unsubscribes AS unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows) UNION ALL SELECT id, customer_id, occurred_at, to_stage_id FROM old_rows) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows) UNION ALL SELECT id, customer_id, occurred_at, to_stage_id FROM old_rows) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS before
            UNION ALL
            SELECT day, stage_id, unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS after
        ) AS x
        GROUP BY day, stage_id HAVING SUM(unsubscribes) <> 0;
    
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_unsubscribes_stages_stagetransition_insert AFTER INSERT ON stages_stagetransition REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_unsubscribes_stages_stagetransition();
CREATE TRIGGER analytics_unsubscribes_stages_stagetransition_update AFTER UPDATE ON stages_stagetransition REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_unsubscribes_stages_stagetransition();
CREATE TRIGGER analytics_unsubscribes_stages_stagetransition_delete AFTER DELETE ON stages_stagetransition REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_unsubscribes_stages_stagetransition();

CREATE OR REPLACE FUNCTION analytics_unsubscribes_consent_consentevent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_unsubscribedelta (day, stage_id, unsubscribes)
        SELECT day, stage_id, SUM(unsubscribes) FROM (
            SELECT day, stage_id, -unsubscribes AS unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows) AND id NOT IN (SELECT id FROM new_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS before
            UNION ALL
            SELECT day, stage_id, unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS after
        ) AS x
        GROUP BY day, stage_id HAVING SUM(unsubscribes) <> 0;
    
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_unsubscribedelta (day, stage_id, unsubscribes)
        SELECT day, stage_id, SUM(unsubscribes) FROM (
            SELECT day, stage_id, -unsubscribes AS unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows) AND id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT id, customer_id, occurred_at, granted, method FROM old_rows) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS before
            UNION ALL
            SELECT day, stage_id, unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS after
        ) AS x
        GROUP BY day, stage_id HAVING SUM(unsubscribes) <> 0;
    
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_unsubscribedelta (day, stage_id, unsubscribes)
        SELECT day, stage_id, SUM(unsubscribes) FROM (
            SELECT day, stage_id, -unsubscribes AS unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM old_rows) UNION ALL SELECT id, customer_id, occurred_at, granted, method FROM old_rows) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS before
            UNION ALL
            SELECT day, stage_id, unsubscribes FROM (
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ) AS after
        ) AS x
        GROUP BY day, stage_id HAVING SUM(unsubscribes) <> 0;
    
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_unsubscribes_consent_consentevent_insert AFTER INSERT ON consent_consentevent REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_unsubscribes_consent_consentevent();
CREATE TRIGGER analytics_unsubscribes_consent_consentevent_update AFTER UPDATE ON consent_consentevent REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_unsubscribes_consent_consentevent();
CREATE TRIGGER analytics_unsubscribes_consent_consentevent_delete AFTER DELETE ON consent_consentevent REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_unsubscribes_consent_consentevent();
'''

UNINSTALL_SQL = r'''DROP TRIGGER IF EXISTS analytics_unsubscribes_stages_stagetransition_insert ON stages_stagetransition;
DROP TRIGGER IF EXISTS analytics_unsubscribes_stages_stagetransition_update ON stages_stagetransition;
DROP TRIGGER IF EXISTS analytics_unsubscribes_stages_stagetransition_delete ON stages_stagetransition;
DROP TRIGGER IF EXISTS analytics_unsubscribes_consent_consentevent_insert ON consent_consentevent;
DROP TRIGGER IF EXISTS analytics_unsubscribes_consent_consentevent_update ON consent_consentevent;
DROP TRIGGER IF EXISTS analytics_unsubscribes_consent_consentevent_delete ON consent_consentevent;
DROP FUNCTION IF EXISTS analytics_unsubscribes_stages_stagetransition();
DROP FUNCTION IF EXISTS analytics_unsubscribes_consent_consentevent();

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
'''

BACKFILL_SQL = [
    r'''INSERT INTO analytics_unsubscribeday (day, stage_id, unsubscribes) 
        SELECT analytics_day(e.occurred_at) AS day,
               COALESCE(latest.to_stage_id, first.to_stage_id) AS stage_id,
               COUNT(*) AS unsubscribes
        FROM (SELECT id, customer_id, occurred_at, granted, method FROM consent_consentevent) AS e
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = e.customer_id AND t.occurred_at <= e.occurred_at
            ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1
        ) AS latest ON TRUE
        LEFT JOIN LATERAL (
            SELECT t.to_stage_id FROM stages_stagetransition AS t
            WHERE t.customer_id = e.customer_id
            ORDER BY t.occurred_at, t.id LIMIT 1
        ) AS first ON TRUE
        WHERE NOT e.granted AND e.method IN ('unsubscribe_link', 'one_click')
        GROUP BY 1, 2
    ''',
    r'''INSERT INTO analytics_opentaskday (stage_id, user_id, tasks) 
        SELECT c.stage_id, t.assignee_id AS user_id, COUNT(*) AS tasks
        FROM interactions_task AS t JOIN customers_customer AS c ON c.id = t.customer_id
        WHERE t.state = 'open'
        GROUP BY 1, 2
    ''',
    r'''INSERT INTO analytics_staymonth (month, stage_id, bucket, stays, seconds) 
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
    ''',
]

CLEAR_SQL = [
    r'''DELETE FROM analytics_unsubscribeday; DELETE FROM analytics_unsubscribedelta;''',
    r'''DELETE FROM analytics_opentaskday; DELETE FROM analytics_opentaskdelta;''',
    r'''DELETE FROM analytics_staymonth; DELETE FROM analytics_staymonthdelta;''',
]
# fmt: on


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0003_loop_rollup'),
        ('consent', '0001_initial'),
        ('interactions', '0002_alter_interaction_options'),
        ('stages', '0002_default_stages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OpenTaskDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tasks', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='OpenTaskDueDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('tasks', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='StayMonthDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('bucket', models.IntegerField()),
                ('stays', models.BigIntegerField(default=0)),
                ('seconds', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='UnsubscribeDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('unsubscribes', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='OpenTaskDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tasks', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('stage', 'user'), name='open_task_key', nulls_distinct=False)],
            },
        ),
        migrations.CreateModel(
            name='OpenTaskDueDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('tasks', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('day', 'stage', 'user'), name='open_task_due_key', nulls_distinct=False)],
            },
        ),
        migrations.CreateModel(
            name='StayMonth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('bucket', models.IntegerField()),
                ('stays', models.BigIntegerField(default=0)),
                ('seconds', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('month', 'stage', 'bucket'), name='stay_month_key', nulls_distinct=False)],
            },
        ),
        migrations.CreateModel(
            name='UnsubscribeDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('unsubscribes', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('day', 'stage'), name='unsubscribe_day_key', nulls_distinct=False)],
            },
        ),
        migrations.RunSQL(INSTALL_SQL, UNINSTALL_SQL),
        migrations.RunSQL(BACKFILL_SQL, CLEAR_SQL),
    ]
