"""Deleting a segment while a rule or a bulk send comes to use it: never a user of a segment
that is gone.

Real PostgreSQL connections in threads (transactional tests). The user's transaction holds the
segment's row lock until it commits; a delete started meanwhile waits for it, then finds the
new user and is refused.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from automation.models import Rule
from automation.services import rule_create
from segments.models import Segment
from segments.services import SegmentInUseError, segment_create, segment_delete
from surveys.models import Survey
from surveys.services import survey_send_bulk

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIP = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


def _delete_in_a_thread(segment: Segment) -> tuple[threading.Thread, dict[str, str]]:
    outcome: dict[str, str] = {}

    def run() -> None:
        try:
            segment_delete(segment=segment)
            outcome["result"] = "deleted"
        except SegmentInUseError as error:
            outcome["result"] = error.message
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_delete_waits_for_a_rule_being_saved_then_is_refused() -> None:
    segment = segment_create(name="VIPs", definition=VIP)

    with transaction.atomic():
        rule_create(
            name="Thank VIP buyers",
            trigger_type="stage_entered",
            trigger_config={"stage": "purchase"},
            conditions={"segment": segment.pk},
            actions=[{"type": "add_tag", "params": {"tag": "buyer"}}],
        )
        thread, outcome = _delete_in_a_thread(segment)
        thread.join(1)
        assert thread.is_alive(), "the delete did not wait for the rule's transaction"

    thread.join(30)
    assert "“Thank VIP buyers”" in outcome["result"]
    assert Segment.objects.filter(pk=segment.pk).exists()
    assert Rule.objects.filter(conditions__segment=segment.pk).exists()


def test_a_delete_waits_for_a_bulk_send_being_recorded_then_is_refused(monkeypatch) -> None:
    from surveys import tasks

    monkeypatch.setattr(tasks.survey_batch_process, "delay", lambda batch_id: None)
    segment = segment_create(name="VIPs", definition=VIP)
    survey = Survey.objects.filter(is_active=True).first()
    assert survey is not None

    with transaction.atomic():
        batch = survey_send_bulk(survey=survey, segment=segment, sent_by=None)
        thread, outcome = _delete_in_a_thread(segment)
        thread.join(1)
        assert thread.is_alive(), "the delete did not wait for the send's transaction"

    thread.join(30)
    assert f"#{batch.pk}" in outcome["result"]
    assert Segment.objects.filter(pk=segment.pk).exists()
