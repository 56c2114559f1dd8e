"""The loop rollup: Delight spans and loop events reduced to days, so that loop completion
counts distinct customers over any period without reading the raw records; statement
triggers on transitions, purchases and referrals keep it, and it is filled from the existing
records. The SQL is written out as it stood when this migration was made (see 0002).
"""


from django.db import migrations, models

# fmt: off
INSTALL_SQL = r'''
CREATE OR REPLACE FUNCTION analytics_loop_stages_stagetransition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows) AND id NOT IN (SELECT id FROM new_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows) AND id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT id, customer_id, occurred_at, to_stage_id FROM old_rows) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows) UNION ALL SELECT id, customer_id, occurred_at, to_stage_id FROM old_rows) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_loop_stages_stagetransition_insert AFTER INSERT ON stages_stagetransition REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_stages_stagetransition();
CREATE TRIGGER analytics_loop_stages_stagetransition_update AFTER UPDATE ON stages_stagetransition REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_stages_stagetransition();
CREATE TRIGGER analytics_loop_stages_stagetransition_delete AFTER DELETE ON stages_stagetransition REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_stages_stagetransition();

CREATE OR REPLACE FUNCTION analytics_loop_interactions_purchase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows) AND id NOT IN (SELECT id FROM new_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows) AND id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT id, customer_id, occurred_at FROM old_rows) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM old_rows) UNION ALL SELECT id, customer_id, occurred_at FROM old_rows) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT customer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT customer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_loop_interactions_purchase_insert AFTER INSERT ON interactions_purchase REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_interactions_purchase();
CREATE TRIGGER analytics_loop_interactions_purchase_update AFTER UPDATE ON interactions_purchase REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_interactions_purchase();
CREATE TRIGGER analytics_loop_interactions_purchase_delete AFTER DELETE ON interactions_purchase REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_interactions_purchase();

CREATE OR REPLACE FUNCTION analytics_loop_customers_referral() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT referrer_id FROM new_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT referrer_id FROM new_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT referrer_id FROM new_rows) AND id NOT IN (SELECT id FROM new_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT referrer_id FROM new_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT referrer_id FROM new_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT referrer_id FROM new_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT referrer_id FROM new_rows UNION SELECT referrer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT referrer_id FROM new_rows UNION SELECT referrer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT referrer_id FROM new_rows UNION SELECT referrer_id FROM old_rows) AND id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM old_rows) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT referrer_id FROM new_rows UNION SELECT referrer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT referrer_id FROM new_rows UNION SELECT referrer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT referrer_id FROM new_rows UNION SELECT referrer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
        SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
            SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT referrer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT referrer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT referrer_id FROM old_rows) UNION ALL SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM old_rows) AS r WHERE referrer_phase = 'delight'
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
    ) AS before
            UNION ALL
            SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM (SELECT id, customer_id, occurred_at, to_stage_id FROM stages_stagetransition WHERE customer_id IN (SELECT referrer_id FROM old_rows)) AS c
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
                FROM (SELECT id, customer_id, occurred_at FROM interactions_purchase WHERE customer_id IN (SELECT referrer_id FROM old_rows)) AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral WHERE referrer_id IN (SELECT referrer_id FROM old_rows)) AS r WHERE referrer_phase = 'delight'
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
    ) AS after
        ) AS x
        GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0;
    
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_loop_customers_referral_insert AFTER INSERT ON customers_referral REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_customers_referral();
CREATE TRIGGER analytics_loop_customers_referral_update AFTER UPDATE ON customers_referral REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_customers_referral();
CREATE TRIGGER analytics_loop_customers_referral_delete AFTER DELETE ON customers_referral REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_loop_customers_referral();

CREATE OR REPLACE FUNCTION analytics_loop_stage_phase() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    
    INSERT INTO analytics_loopdelta (kind, day, prev_day, last_delight, next_entry, customers)
    SELECT kind, day, prev_day, last_delight, next_entry, SUM(customers) FROM (
        SELECT kind, day, prev_day, last_delight, next_entry, -customers AS customers FROM analytics_loopday
        UNION ALL
        SELECT kind, day, prev_day, last_delight, next_entry, -customers FROM analytics_loopdelta
        UNION ALL
        SELECT kind, day, prev_day, last_delight, next_entry, customers FROM (
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM stages_stagetransition AS c
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
                FROM interactions_purchase AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral) AS r WHERE referrer_phase = 'delight'
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
    ) AS raw
    ) AS x
    GROUP BY kind, day, prev_day, last_delight, next_entry HAVING SUM(customers) <> 0
;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_loop_stage_phase AFTER UPDATE OF phase ON stages_stage
FOR EACH ROW WHEN (OLD.phase IS DISTINCT FROM NEW.phase)
EXECUTE FUNCTION analytics_loop_stage_phase();
'''

UNINSTALL_SQL = r'''DROP TRIGGER IF EXISTS analytics_loop_stages_stagetransition_insert ON stages_stagetransition;
DROP TRIGGER IF EXISTS analytics_loop_stages_stagetransition_update ON stages_stagetransition;
DROP TRIGGER IF EXISTS analytics_loop_stages_stagetransition_delete ON stages_stagetransition;
DROP TRIGGER IF EXISTS analytics_loop_interactions_purchase_insert ON interactions_purchase;
DROP TRIGGER IF EXISTS analytics_loop_interactions_purchase_update ON interactions_purchase;
DROP TRIGGER IF EXISTS analytics_loop_interactions_purchase_delete ON interactions_purchase;
DROP TRIGGER IF EXISTS analytics_loop_customers_referral_insert ON customers_referral;
DROP TRIGGER IF EXISTS analytics_loop_customers_referral_update ON customers_referral;
DROP TRIGGER IF EXISTS analytics_loop_customers_referral_delete ON customers_referral;
DROP FUNCTION IF EXISTS analytics_loop_stages_stagetransition();
DROP FUNCTION IF EXISTS analytics_loop_interactions_purchase();
DROP FUNCTION IF EXISTS analytics_loop_customers_referral();
DROP TRIGGER IF EXISTS analytics_loop_stage_phase ON stages_stage;
DROP FUNCTION IF EXISTS analytics_loop_stage_phase();
'''

BACKFILL_SQL = r'''INSERT INTO analytics_loopday (kind, day, prev_day, last_delight, next_entry, customers) 
        WITH delight AS (
            SELECT id FROM stages_stage WHERE phase = 'delight'
        ), chain AS (
            SELECT c.customer_id, c.id, c.occurred_at,
                   COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE) AS inside,
                   LAG(COALESCE(c.to_stage_id IN (SELECT id FROM delight), FALSE))
                       OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at, c.id)
                       AS was_inside
            FROM stages_stagetransition AS c
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
                FROM interactions_purchase AS p
            ) AS purchase
            WHERE n > 1
            UNION ALL
            SELECT customer_id, id, occurred_at, 'referred', 2
            FROM (SELECT id, referrer_id AS customer_id, occurred_at, referrer_phase FROM customers_referral) AS r WHERE referrer_phase = 'delight'
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
    '''

CLEAR_SQL = r'''DELETE FROM analytics_loopday; DELETE FROM analytics_loopdelta;'''
# fmt: on


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0002_rollup_triggers'),
        ('customers', '0004_referral'),
        ('interactions', '0002_alter_interaction_options'),
        ('stages', '0002_default_stages'),
    ]

    operations = [
        migrations.CreateModel(
            name='LoopDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=8)),
                ('day', models.DateField()),
                ('prev_day', models.DateField(null=True)),
                ('last_delight', models.DateField(null=True)),
                ('next_entry', models.DateField(null=True)),
                ('customers', models.BigIntegerField(default=0)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='LoopDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=8)),
                ('day', models.DateField()),
                ('prev_day', models.DateField(null=True)),
                ('last_delight', models.DateField(null=True)),
                ('next_entry', models.DateField(null=True)),
                ('customers', models.BigIntegerField(default=0)),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('kind', 'day', 'prev_day', 'last_delight', 'next_entry'), name='loop_day_key', nulls_distinct=False)],
            },
        ),
        migrations.RunSQL(INSTALL_SQL, UNINSTALL_SQL),
        migrations.RunSQL(BACKFILL_SQL, CLEAR_SQL),
    ]
