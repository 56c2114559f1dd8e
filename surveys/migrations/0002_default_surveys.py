"""Seed one survey of each kind, ready to send: NPS, CSAT after a support case, CES."""

from django.db import migrations

DEFAULT_SURVEYS = [
    (
        "nps",
        "Net Promoter Score",
        "How likely are you to recommend us to a friend or colleague?",
        "What is the main reason for your score? (optional)",
        "Would you recommend us?",
    ),
    (
        "csat",
        "Support satisfaction",
        "How satisfied are you with the help you received?",
        "What could we have done better? (optional)",
        "How did we do?",
    ),
    (
        "ces",
        "Customer effort",
        "How easy was it to get what you needed from us?",
        "What made it easy or hard? (optional)",
        "Was it easy?",
    ),
]


def create_default_surveys(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    for kind, name, question, comment_label, subject in DEFAULT_SURVEYS:
        Survey.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "question": question,
                "comment_label": comment_label,
                "email_subject": subject,
            },
        )


def remove_unused_default_surveys(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Survey.objects.filter(
        name__in=[survey[1] for survey in DEFAULT_SURVEYS], invitations__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(create_default_surveys, remove_unused_default_surveys)]
