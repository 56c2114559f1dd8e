"""Daily rollups of the flywheel's raw records, and the deltas not yet folded into them.

Each rollup has a twin *delta* table with the same columns and no uniqueness. Triggers on
the raw tables (migration 0002, SQL in `analytics.rollups`) append a signed delta row in the
writing transaction for every insert, relevant update and delete; `rollups_fold` moves
deltas into the rollup rows. A number is always read as rollup + pending deltas, in one
statement, so it is exact the moment the write commits. Days are UTC days.

Stage and user columns keep the raw ids without a database constraint: a rollup must never
block or lock a stage or a user, and a deleted user's interactions are re-keyed by the
trigger when Django sets their `logged_by` to NULL.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


def _stage(null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        "stages.Stage",
        null=null,
        blank=null,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


def _user() -> models.ForeignKey:
    """The user a count belongs to (who logged it, whose task): kept, like the stage, without
    a constraint, so that a rollup row never blocks deleting a user."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class TransitionCounts(models.Model):
    """Stage moves of one UTC day from one stage to another in one direction.

    `from_stage` is empty for entries. Entries into a stage = Σ over `to_stage`; exits = Σ
    over `from_stage`; customers in a stage at the end of a day = Σ entries - exits up to it.
    """

    day = models.DateField()
    from_stage = _stage()
    to_stage = _stage(null=False)
    direction = models.CharField(max_length=16)
    transitions = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} {self.from_stage_id}→{self.to_stage_id} {self.direction}"


class TransitionDay(TransitionCounts):
    """Rollup of `StageTransition`: one row per (day, from, to, direction)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "from_stage", "to_stage", "direction"],
                name="transition_day_key",
                nulls_distinct=False,
            )
        ]
        permissions = [
            (
                "view_flywheel",
                "See the flywheel numbers (counts, flow, velocity, force, surveys, value)",
            ),
            ("view_costs", "See acquisition versus retention cost"),
        ]


class TransitionDelta(TransitionCounts):
    """A signed change to `TransitionDay` not yet folded in (+1 per move, -1 per deletion)."""

    class Meta:
        default_permissions = ()


class EffectCounts(models.Model):
    """Interactions of one UTC day against one stage, logged by one user, with one effect.

    The stage is where the customer stood at the interaction's `occurred_at` (the `to_stage`
    of their latest transition at or before it; before their first move, their entry stage).
    `user` is `logged_by` (empty for integrations and deleted users).
    """

    day = models.DateField()
    stage = _stage()
    user = _user()
    effect = models.CharField(max_length=16)
    interactions = models.BigIntegerField(default=0)
    weight = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} stage {self.stage_id} user {self.user_id} {self.effect}"


class EffectDay(EffectCounts):
    """Rollup of `Interaction` by effect: the count and the Σ weight per key."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage", "user", "effect"],
                name="effect_day_key",
                nulls_distinct=False,
            )
        ]


class EffectDelta(EffectCounts):
    """A signed change to `EffectDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class EffectMonthCounts(models.Model):
    """`EffectCounts` summed over a calendar month (UTC; `month` is its first day): a long
    period reads its whole months here and only its partial months day by day."""

    month = models.DateField()
    stage = _stage()
    user = _user()
    effect = models.CharField(max_length=16)
    interactions = models.BigIntegerField(default=0)
    weight = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} stage {self.stage_id} user {self.user_id} {self.effect}"


class EffectMonth(EffectMonthCounts):
    """Rollup of `Interaction` by month, stage, user and effect."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["month", "stage", "user", "effect"],
                name="effect_month_key",
                nulls_distinct=False,
            )
        ]


class EffectMonthDelta(EffectMonthCounts):
    """A signed change to `EffectMonth` not yet folded in."""

    class Meta:
        default_permissions = ()


class EffectStageCounts(models.Model):
    """Interactions of one UTC day against one stage with one effect, whoever logged them:
    `EffectCounts` without the user, so that series over long periods read a few rows a
    day (the stage is attributed the same way)."""

    day = models.DateField()
    stage = _stage()
    effect = models.CharField(max_length=16)
    interactions = models.BigIntegerField(default=0)
    weight = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} stage {self.stage_id} {self.effect}"


class EffectStageDay(EffectStageCounts):
    """Rollup of `Interaction` by day, stage and effect."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage", "effect"],
                name="effect_stage_day_key",
                nulls_distinct=False,
            )
        ]


class EffectStageDelta(EffectStageCounts):
    """A signed change to `EffectStageDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class SurveyCounts(models.Model):
    """Survey answers of one UTC day, per stage (`Response.stage`), kind and score."""

    day = models.DateField()
    stage = _stage()
    kind = models.CharField(max_length=8)
    score = models.SmallIntegerField()
    category = models.CharField(max_length=16)
    effect = models.CharField(max_length=16)
    answers = models.BigIntegerField(default=0)
    weight = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} stage {self.stage_id} {self.kind} {self.score}"


class SurveyDay(SurveyCounts):
    """Rollup of `surveys.Response`: the count and Σ weight per key."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage", "kind", "score", "category", "effect"],
                name="survey_day_key",
                nulls_distinct=False,
            )
        ]


class SurveyDelta(SurveyCounts):
    """A signed change to `SurveyDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class StayCounts(models.Model):
    """Stays in a stage that ended on one UTC day, by duration bucket.

    A stay runs from a customer's transition into `stage` to their next transition, and is
    dated by that next one. `bucket` = ⌊ln(seconds) ÷ ln(1.02)⌋ (-1 under a second): each
    bucket spans 2% of its durations, so a percentile read from the buckets is within 1% of
    the exact one. `seconds` is Σ whole seconds (for the mean).
    """

    day = models.DateField()
    stage = _stage()
    bucket = models.IntegerField()
    stays = models.BigIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} stage {self.stage_id} bucket {self.bucket}"


class StayDay(StayCounts):
    """Rollup of time in stage: the stays and Σ seconds per (exit day, stage, bucket)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage", "bucket"],
                name="stay_day_key",
                nulls_distinct=False,
                # Velocity sums a period's rows: read from the index alone.
                include=["stays", "seconds"],
            )
        ]


class StayDelta(StayCounts):
    """A signed change to `StayDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class LoopCounts(models.Model):
    """Delight spans and loop events reduced to days (`analytics.rollups.loop_keys_sql`):
    what loop completion needs to count distinct customers over any period."""

    kind = models.CharField(max_length=8)
    day = models.DateField()
    prev_day = models.DateField(null=True)
    last_delight = models.DateField(null=True)
    next_entry = models.DateField(null=True)
    customers = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.kind} {self.day}"


class LoopDay(LoopCounts):
    """Rollup of Delight entries, exits and loop events: one row per key."""

    class Meta:
        default_permissions = ()
        constraints = [
            # `customers` rides along in the index so that loop completion sums a
            # period's events from the index alone.
            models.UniqueConstraint(
                fields=["kind", "day", "prev_day", "last_delight", "next_entry"],
                include=["customers"],
                name="loop_day_key",
                nulls_distinct=False,
            )
        ]


class LoopDelta(LoopCounts):
    """A signed change to `LoopDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class OpenTaskCounts(models.Model):
    """Open tasks by the customer's stage now and the assignee: the overdue term of friction
    ("open past their due time now") is these minus the open tasks not yet due."""

    stage = _stage()
    user = _user()
    tasks = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"stage {self.stage_id} user {self.user_id}"


class OpenTaskDay(OpenTaskCounts):
    """Rollup of open tasks: one row per (stage now, assignee)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "user"], name="open_task_key", nulls_distinct=False
            )
        ]


class OpenTaskDelta(OpenTaskCounts):
    """A signed change to `OpenTaskDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class UnsubscribeCounts(models.Model):
    """Unsubscribes (consent withdrawn by the person's own click) of one UTC day against the
    stage the customer stood in then (the stage-at definition of the effect rollups)."""

    day = models.DateField()
    stage = _stage()
    unsubscribes = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} stage {self.stage_id}"


class UnsubscribeDay(UnsubscribeCounts):
    """Rollup of unsubscribes: one row per (day, stage)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage"], name="unsubscribe_day_key", nulls_distinct=False
            )
        ]


class UnsubscribeDelta(UnsubscribeCounts):
    """A signed change to `UnsubscribeDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class StayMonthCounts(models.Model):
    """`StayDay` summed per calendar month (of the exit day): a year of velocity reads
    twelve months of histograms instead of 365 days of them."""

    month = models.DateField()
    stage = _stage()
    bucket = models.IntegerField()
    stays = models.BigIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.month} stage {self.stage_id} bucket {self.bucket}"


class StayMonth(StayMonthCounts):
    """Rollup of time in stage per month: one row per (month, stage, bucket)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["month", "stage", "bucket"],
                name="stay_month_key",
                nulls_distinct=False,
                # Velocity sums a period's rows: read from the index alone.
                include=["stays", "seconds"],
            )
        ]


class StayMonthDelta(StayMonthCounts):
    """A signed change to `StayMonth` not yet folded in."""

    class Meta:
        default_permissions = ()


class NewCustomerCounts(models.Model):
    """Customers created on one UTC day with one acquisition source (`utm_source`, else
    `source`, lower-cased; empty without either): the denominator of acquisition cost."""

    day = models.DateField()
    source = models.CharField(max_length=255)
    customers = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} {self.source}"


class NewCustomerDay(NewCustomerCounts):
    """Rollup of new customers: one row per (day, source)."""

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["day", "source"], name="new_customer_key")]


class NewCustomerDelta(NewCustomerCounts):
    """A signed change to `NewCustomerDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class OpenTaskDueCounts(models.Model):
    """Open tasks by due day, the customer's stage now and the assignee: with `OpenTaskDay`,
    the open tasks not yet due are read from the days to come only."""

    day = models.DateField()
    stage = _stage()
    user = _user()
    tasks = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} stage {self.stage_id} user {self.user_id}"


class OpenTaskDueDay(OpenTaskDueCounts):
    """Rollup of open tasks per due day: one row per (due day, stage now, assignee)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage", "user"], name="open_task_due_key", nulls_distinct=False
            )
        ]


class OpenTaskDueDelta(OpenTaskDueCounts):
    """A signed change to `OpenTaskDueDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class SurveyKindCounts(models.Model):
    """`SurveyDay` without the stage: series of scores and of survey force and friction read
    a few rows a day."""

    day = models.DateField()
    kind = models.CharField(max_length=8)
    score = models.SmallIntegerField()
    category = models.CharField(max_length=16)
    effect = models.CharField(max_length=16)
    answers = models.BigIntegerField(default=0)
    weight = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.score}"


class SurveyKindDay(SurveyKindCounts):
    """Rollup of `surveys.Response` per (day, kind, score, category, effect)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "score", "category", "effect"], name="survey_kind_day_key"
            )
        ]


class SurveyKindDelta(SurveyKindCounts):
    """A signed change to `SurveyKindDay` not yet folded in."""

    class Meta:
        default_permissions = ()


class SurveyMonthCounts(models.Model):
    """`SurveyDay` per calendar month: force and friction by stage over a year read its whole
    months here."""

    month = models.DateField()
    stage = _stage()
    kind = models.CharField(max_length=8)
    score = models.SmallIntegerField()
    category = models.CharField(max_length=16)
    effect = models.CharField(max_length=16)
    answers = models.BigIntegerField(default=0)
    weight = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.month} stage {self.stage_id} {self.kind} {self.score}"


class SurveyMonth(SurveyMonthCounts):
    """Rollup of `surveys.Response` per (month, stage, kind, score, category, effect)."""

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["month", "stage", "kind", "score", "category", "effect"],
                name="survey_month_key",
                nulls_distinct=False,
            )
        ]


class SurveyMonthDelta(SurveyMonthCounts):
    """A signed change to `SurveyMonth` not yet folded in."""

    class Meta:
        default_permissions = ()
