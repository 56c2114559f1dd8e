"""Campaigns send to an audience fixed when they start (segments.AudienceSnapshot).

A campaign already sending when this runs is given the audience it would have reached: the
customers it has already reached, and those of its segment or list now who existed when it
started (`customer_id_max`, which the snapshot replaces) and are still ahead of its cursor.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


def fix_audiences_in_flight(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    Recipient = apps.get_model("campaigns", "Recipient")
    in_flight = Campaign.objects.filter(
        state__in=["sending", "paused"], started_at__isnull=False, audience_snapshot__isnull=True
    )
    if not in_flight.exists():
        return
    # The live code resolves a segment (its definition is compiled by segments.definition).
    from customers.models import Customer
    from segments.models import Segment
    from segments.selectors import segment_customers
    from segments.services import audience_freeze

    for campaign in in_flight.order_by("pk"):
        if campaign.customer_ids is not None:
            audience = Customer.objects.filter(pk__in=campaign.customer_ids)
        elif campaign.segment_id is not None:
            audience = segment_customers(Segment.objects.get(pk=campaign.segment_id))
        else:
            audience = Customer.objects.none()
        reached = Recipient.objects.filter(campaign_id=campaign.pk).values("customer_id")
        ahead = audience.filter(pk__gt=campaign.cursor)
        if campaign.customer_id_max:  # 0: no bound, as the send itself read it
            ahead = ahead.filter(pk__lte=campaign.customer_id_max)
        customers = Customer.objects.filter(Q(pk__in=reached) | Q(pk__in=ahead.values("pk")))
        try:
            snapshot = audience_freeze(customers=customers, at=campaign.started_at)
        except Exception as error:  # e.g. a segment whose rules no longer validate
            campaign.state = "paused"
            campaign.error = f"Its audience could not be fixed: {error}"[:2000]
            campaign.save(update_fields=["state", "error"])
            continue
        campaign.audience_snapshot_id = snapshot.pk
        campaign.total = snapshot.total
        campaign.save(update_fields=["audience_snapshot", "total"])


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0001_initial'),
        ('segments', '0002_audience_snapshot'),
        ('customers', '0006_export_permission'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='audience_snapshot',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='segments.audiencesnapshot'),
        ),
        migrations.RunPython(fix_audiences_in_flight, migrations.RunPython.noop),
    ]
