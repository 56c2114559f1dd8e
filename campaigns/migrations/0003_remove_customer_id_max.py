"""The audience snapshot replaced `customer_id_max` (the previous migration used it last).

A migration of its own: altering the table in the transaction that filled the new foreign
key would meet its deferred constraint checks.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0002_audience_snapshot'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='campaign',
            name='customer_id_max',
        ),
    ]
