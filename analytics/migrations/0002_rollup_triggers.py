"""Install the triggers that keep the rollups, and fill the rollups from existing records.

The SQL lives in `analytics.rollups` (one definition, used by the rebuild and the check too).
"""

from django.db import migrations

from analytics.rollups import INSTALL_SQL, ROLLUPS, UNINSTALL_SQL

BACKFILL_SQL = [
    f"INSERT INTO {r.table} ({', '.join(r.keys + r.values)}) {r.raw_sql}" for r in ROLLUPS
]
CLEAR_SQL = [f"DELETE FROM {r.table}; DELETE FROM {r.delta_table};" for r in ROLLUPS]


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
