"""Survey answers without the stage per day (score series and survey force and friction
over long periods read a few rows a day) and with it per month (force and friction by stage
over a year): the answers' trigger writes all three. Filled from the existing answers; the
SQL as it stood when this migration was made (see 0002).
"""


import django.db.models.deletion
from django.db import migrations, models

# fmt: off
INSTALL_SQL = r'''
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
        INSERT INTO analytics_surveykinddelta
            (day, kind, score, category, effect, answers, weight)
        VALUES (analytics_day(OLD.answered_at), OLD.kind, OLD.score, OLD.category,
                OLD.effect, -1, -OLD.weight);
        INSERT INTO analytics_surveymonthdelta
            (month, stage_id, kind, score, category, effect, answers, weight)
        VALUES (date_trunc('month', analytics_day(OLD.answered_at))::date, OLD.stage_id,
                OLD.kind, OLD.score, OLD.category, OLD.effect, -1, -OLD.weight);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_surveydelta
            (day, stage_id, kind, score, category, effect, answers, weight)
        VALUES (analytics_day(NEW.answered_at), NEW.stage_id, NEW.kind, NEW.score,
                NEW.category, NEW.effect, 1, NEW.weight);
        INSERT INTO analytics_surveykinddelta
            (day, kind, score, category, effect, answers, weight)
        VALUES (analytics_day(NEW.answered_at), NEW.kind, NEW.score, NEW.category,
                NEW.effect, 1, NEW.weight);
        INSERT INTO analytics_surveymonthdelta
            (month, stage_id, kind, score, category, effect, answers, weight)
        VALUES (date_trunc('month', analytics_day(NEW.answered_at))::date, NEW.stage_id,
                NEW.kind, NEW.score, NEW.category, NEW.effect, 1, NEW.weight);
    END IF;
    RETURN NULL;
END $$;
'''

UNINSTALL_SQL = r'''
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
'''

BACKFILL_SQL = [
    r'''INSERT INTO analytics_surveykindday (day, kind, score, category, effect, answers, weight) 
        SELECT (answered_at AT TIME ZONE 'UTC')::date AS day, kind, score, category, effect,
               COUNT(*) AS answers, SUM(weight) AS weight
        FROM surveys_response
        GROUP BY 1, 2, 3, 4, 5
    ''',
    r'''INSERT INTO analytics_surveymonth (month, stage_id, kind, score, category, effect, answers, weight) 
        SELECT date_trunc('month', answered_at AT TIME ZONE 'UTC')::date AS month, stage_id,
               kind, score, category, effect, COUNT(*) AS answers, SUM(weight) AS weight
        FROM surveys_response
        GROUP BY 1, 2, 3, 4, 5, 6
    ''',
]

CLEAR_SQL = [
    r'''DELETE FROM analytics_surveykindday; DELETE FROM analytics_surveykinddelta;''',
    r'''DELETE FROM analytics_surveymonth; DELETE FROM analytics_surveymonthdelta;''',
]
# fmt: on


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0005_new_customer_rollup'),
        ('stages', '0002_default_stages'),
    ]

    operations = [
        migrations.CreateModel(
            name='SurveyKindDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('kind', models.CharField(max_length=8)),
                ('score', models.SmallIntegerField()),
                ('category', models.CharField(max_length=16)),
                ('effect', models.CharField(max_length=16)),
                ('answers', models.BigIntegerField(default=0)),
                ('weight', models.BigIntegerField(default=0)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='SurveyKindDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('kind', models.CharField(max_length=8)),
                ('score', models.SmallIntegerField()),
                ('category', models.CharField(max_length=16)),
                ('effect', models.CharField(max_length=16)),
                ('answers', models.BigIntegerField(default=0)),
                ('weight', models.BigIntegerField(default=0)),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('day', 'kind', 'score', 'category', 'effect'), name='survey_kind_day_key')],
            },
        ),
        migrations.CreateModel(
            name='SurveyMonthDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('kind', models.CharField(max_length=8)),
                ('score', models.SmallIntegerField()),
                ('category', models.CharField(max_length=16)),
                ('effect', models.CharField(max_length=16)),
                ('answers', models.BigIntegerField(default=0)),
                ('weight', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='SurveyMonth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('kind', models.CharField(max_length=8)),
                ('score', models.SmallIntegerField()),
                ('category', models.CharField(max_length=16)),
                ('effect', models.CharField(max_length=16)),
                ('answers', models.BigIntegerField(default=0)),
                ('weight', models.BigIntegerField(default=0)),
                ('stage', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='stages.stage')),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('month', 'stage', 'kind', 'score', 'category', 'effect'), name='survey_month_key', nulls_distinct=False)],
            },
        ),
        migrations.RunSQL(INSTALL_SQL, UNINSTALL_SQL),
        migrations.RunSQL(BACKFILL_SQL, CLEAR_SQL),
    ]
