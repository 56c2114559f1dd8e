"""The API's description of a timeline entry names every kind the timeline holds."""

from __future__ import annotations

from customers.api.serializers import TimelineEntryOutputSerializer
from customers.api.views import TIMELINE_KINDS
from customers.timeline import timeline_kinds


def test_the_kind_help_text_lists_every_registered_kind() -> None:
    help_text = str(TimelineEntryOutputSerializer().fields["kind"].help_text)
    named = {word.strip(" ,.") for word in help_text.replace(" or ", ", ").split(",")}

    assert named == set(timeline_kinds()) == set(TIMELINE_KINDS)
