"""Reads for lead forms: how well a form captures customers (docs/metrics.md, "Lead forms")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from leadforms.models import LeadForm, Submission, SubmissionState
from stages.models import Phase

TOP_SOURCES = 10


@dataclass(frozen=True)
class SourceCount:
    """Submissions and the new customers they created, for one UTM source."""

    source: str
    submissions: int
    new_customers: int


@dataclass(frozen=True)
class LeadFormStats:
    """A form's numbers over a period (every submission when no period is given)."""

    submissions: int
    spam: int
    accepted: int
    pending_confirmation: int
    confirmed: int
    new_customers: int
    existing_customers: int
    consent_given: int
    advanced: int
    by_source: list[SourceCount] = field(default_factory=list)

    @property
    def confirmation_rate(self) -> float | None:
        """Confirmed ÷ (confirmed + still waiting); None when double opt-in never applied."""
        asked = self.confirmed + self.pending_confirmation
        return self.confirmed / asked if asked else None

    @property
    def advance_rate(self) -> float | None:
        """Customers the form created who have left Attract ÷ customers it created."""
        return self.advanced / self.new_customers if self.new_customers else None


def leadform_stats(
    *, form: LeadForm, start: datetime | None = None, end: datetime | None = None
) -> LeadFormStats:
    """The form's submissions in [start, end), counted in two queries.

    Spam (a filled honeypot) is counted apart and left out of every other number.
    """
    rows = Submission.objects.filter(form=form)
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    real = ~Q(state=SubmissionState.SPAM)
    totals = rows.aggregate(
        submissions=Count("pk", filter=real),
        spam=Count("pk", filter=Q(state=SubmissionState.SPAM)),
        accepted=Count("pk", filter=Q(state=SubmissionState.ACCEPTED)),
        pending_confirmation=Count("pk", filter=Q(state=SubmissionState.PENDING_CONFIRMATION)),
        confirmed=Count("pk", filter=Q(state=SubmissionState.CONFIRMED)),
        new_customers=Count("customer", filter=real & Q(created_customer=True), distinct=True),
        existing_customers=Count(
            "customer", filter=real & Q(created_customer=False), distinct=True
        ),
        consent_given=Count("pk", filter=real & Q(consent_given=True)),
        advanced=Count(
            "customer",
            filter=real & Q(created_customer=True) & ~Q(customer__stage__phase=Phase.ATTRACT),
            distinct=True,
        ),
    )
    by_source = [
        SourceCount(source=row["utm_source"], submissions=row["n"], new_customers=row["new"])
        for row in rows.filter(real)
        .values("utm_source")
        .annotate(n=Count("pk"), new=Count("pk", filter=Q(created_customer=True)))
        .order_by("-n", "utm_source")[:TOP_SOURCES]
    ]
    return LeadFormStats(**totals, by_source=by_source)
