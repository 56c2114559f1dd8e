"""Give every customer a unique referral code (existing rows get one each)."""

from django.db import migrations, models

import customers.models


def fill_codes(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    taken = set()
    batch = []
    for customer in Customer.objects.filter(referral_code__isnull=True).only("id").iterator():
        code = customers.models.new_referral_code()
        while code in taken:
            code = customers.models.new_referral_code()
        taken.add(code)
        customer.referral_code = code
        batch.append(customer)
        if len(batch) >= 1000:
            Customer.objects.bulk_update(batch, ["referral_code"])
            batch = []
    Customer.objects.bulk_update(batch, ["referral_code"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="referral_code",
            field=models.CharField(max_length=10, null=True, editable=False),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="customer",
            name="referral_code",
            field=models.CharField(
                default=customers.models.new_referral_code,
                editable=False,
                max_length=10,
                unique=True,
            ),
        ),
    ]
