"""Filters for the lead form lists of the API: forms, and a form's submissions."""

from __future__ import annotations

import django_filters

from common.filters import CreatedRangeFilterSet
from leadforms.models import LeadForm, Submission, SubmissionState


class LeadFormFilter(CreatedRangeFilterSet):
    """is_active, double_opt_in, created_after, created_before."""

    class Meta:
        model = LeadForm
        fields = ["is_active", "double_opt_in"]


class SubmissionFilter(CreatedRangeFilterSet):
    """state, created_customer, consent_given, created_after, created_before."""

    state = django_filters.ChoiceFilter(choices=SubmissionState.choices)

    class Meta:
        model = Submission
        fields = ["state", "created_customer", "consent_given"]
