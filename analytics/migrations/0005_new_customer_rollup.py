"""New customers per (creation day, acquisition source): a row trigger on customers keeps it,
so acquisition cost per new customer no longer reads the customers created in the period.
Filled from the existing customers; the SQL as it stood when this migration was made.
"""


from django.db import migrations, models

# fmt: off
INSTALL_SQL = r'''
CREATE OR REPLACE FUNCTION analytics_customer_source() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.created_at, OLD.utm_source, OLD.source)
       IS NOT DISTINCT FROM (NEW.created_at, NEW.utm_source, NEW.source) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO analytics_newcustomerdelta (day, source, customers)
        VALUES (analytics_day(OLD.created_at), lower(COALESCE(NULLIF(OLD.utm_source, ''), NULLIF(OLD.source, ''), '')), -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_newcustomerdelta (day, source, customers)
        VALUES (analytics_day(NEW.created_at), lower(COALESCE(NULLIF(NEW.utm_source, ''), NULLIF(NEW.source, ''), '')), 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_customer_source
AFTER INSERT OR UPDATE OR DELETE ON customers_customer
FOR EACH ROW EXECUTE FUNCTION analytics_customer_source();
'''

UNINSTALL_SQL = r'''
DROP TRIGGER IF EXISTS analytics_customer_source ON customers_customer;
DROP FUNCTION IF EXISTS analytics_customer_source();
'''

BACKFILL_SQL = r'''INSERT INTO analytics_newcustomerday (day, source, customers) 
        SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day,
               lower(COALESCE(NULLIF(c.utm_source, ''), NULLIF(c.source, ''), '')) AS source, COUNT(*) AS customers
        FROM customers_customer AS c
        GROUP BY 1, 2
    '''

CLEAR_SQL = r'''DELETE FROM analytics_newcustomerday; DELETE FROM analytics_newcustomerdelta;'''
# fmt: on


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0004_friction_rollups'),
    ]

    operations = [
        migrations.CreateModel(
            name='NewCustomerDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('source', models.CharField(max_length=255)),
                ('customers', models.BigIntegerField(default=0)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='NewCustomerDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('source', models.CharField(max_length=255)),
                ('customers', models.BigIntegerField(default=0)),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('day', 'source'), name='new_customer_key')],
            },
        ),
        migrations.RunSQL(INSTALL_SQL, UNINSTALL_SQL),
        migrations.RunSQL(BACKFILL_SQL, CLEAR_SQL),
    ]
