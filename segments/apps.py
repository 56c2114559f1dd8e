from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    """Saved customer segments: dynamic filters (AND/OR) and static lists."""

    name = "segments"
    verbose_name = "Segments"
