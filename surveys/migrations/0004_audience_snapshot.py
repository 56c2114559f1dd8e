"""Bulk survey sends go to an audience fixed when they are asked for
(segments.AudienceSnapshot).

A send still in progress when this runs is given the audience it would have reached: the
customers it has already invited, and those its filters, ids or segment hold now who existed
when it was asked for (`customer_id_max`, which the snapshot replaces) and are still ahead of
its cursor. One whose filters or segment no longer resolve fails, as it would have.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


def fix_audiences_in_flight(apps, schema_editor):
    SurveyBatch = apps.get_model("surveys", "SurveyBatch")
    Invitation = apps.get_model("surveys", "Invitation")
    in_flight = SurveyBatch.objects.filter(
        state__in=["queued", "preparing", "sending"], audience_snapshot__isnull=True
    )
    if not in_flight.exists():
        return
    # The live code resolves filters and segments (customers.filters, segments.definition).
    from django.utils import timezone

    from customers.filters import CustomerFilter
    from customers.models import Customer
    from segments.models import Segment
    from segments.selectors import segment_customers
    from segments.services import audience_freeze

    for batch in in_flight.order_by("pk"):
        try:
            if batch.customer_ids is not None:
                audience = Customer.objects.filter(pk__in=batch.customer_ids)
            elif batch.segment_name:
                audience = segment_customers(Segment.objects.get(pk=batch.segment_id))
            else:
                filterset = CustomerFilter(batch.filters, queryset=Customer.objects.all())
                if not filterset.is_valid():
                    raise ValueError(f"The filters are no longer valid: {dict(filterset.errors)}")
                audience = filterset.qs
            invited = Invitation.objects.filter(batch_id=batch.pk).values("customer_id")
            ahead = audience.filter(pk__gt=batch.cursor, pk__lte=batch.customer_id_max)
            customers = Customer.objects.filter(Q(pk__in=invited) | Q(pk__in=ahead.values("pk")))
            snapshot = audience_freeze(customers=customers, at=batch.created_at)
        except Exception as error:  # a segment deleted, rules or filters no longer valid
            batch.state = "failed"
            batch.error = f"Its audience could not be fixed: {error}"[:2000]
            batch.finished_at = timezone.now()
            batch.save(update_fields=["state", "error", "finished_at"])
            continue
        batch.audience_snapshot_id = snapshot.pk
        batch.total = snapshot.total
        batch.save(update_fields=["audience_snapshot", "total"])


class Migration(migrations.Migration):

    dependencies = [
        ('segments', '0002_audience_snapshot'),
        ('surveys', '0003_batch_segment'),
        ('customers', '0006_export_permission'),
    ]

    operations = [
        migrations.AddField(
            model_name='surveybatch',
            name='audience_snapshot',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='segments.audiencesnapshot'),
        ),
        migrations.RunPython(fix_audiences_in_flight, migrations.RunPython.noop),
    ]
