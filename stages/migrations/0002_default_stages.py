"""Seed the default lifecycle: Awareness → Evaluation → Purchase → Post-purchase → Advocacy."""

from django.db import migrations

DEFAULT_STAGES = [
    ("awareness", "Awareness", "attract", 10, "They have found us: content, ads, a form, a referral."),
    ("evaluation", "Engagement & Evaluation", "engage", 20, "In conversation with sales, weighing us up."),
    ("purchase", "Purchase", "engage", 30, "They have bought."),
    ("post_purchase", "Post-purchase", "delight", 40, "Using what they bought; support and onboarding."),
    ("advocacy", "Advocacy", "delight", 50, "Delighted: they recommend us and refer others."),
]


def create_default_stages(apps, schema_editor):
    Stage = apps.get_model("stages", "Stage")
    for slug, name, phase, position, description in DEFAULT_STAGES:
        Stage.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "phase": phase, "position": position, "description": description},
        )


def remove_unused_default_stages(apps, schema_editor):
    Stage = apps.get_model("stages", "Stage")
    Stage.objects.filter(slug__in=[s[0] for s in DEFAULT_STAGES], customers__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("stages", "0001_initial")]

    operations = [migrations.RunPython(create_default_stages, remove_unused_default_stages)]
