"""The supervisor dashboard's figures, each computed by an aggregate query: a fixed number of
queries whatever the number of conversations (callers authorize first: conversations.access.
may_see_dashboard).

What the figures mean (docs/operations.md, "Supervisor dashboard"):

- waiting now and the longest wait: conversations in the queue now, and how long the oldest has
  waited since it joined the queue;
- opened, per hour, handed over: conversations opened in the period; of those, the share the bot
  handed to people (at any time since);
- first response: from the first hand-over (`handed_over_at`) to the first agent message
  (`first_response_at`), for the conversations first answered in the period;
- resolution: from the first hand-over to being resolved, for the conversations resolved in the
  period (a conversation that reopened counts from its first hand-over to its last resolution);
- per agent: by the agent the conversation is assigned to (who has it, or who resolved it).

Medians and 90th percentiles are PostgreSQL's `percentile_cont` (linear interpolation between the
two nearest values) computed in SQL; on another database (SQLite in development) the durations
alone are fetched and the same interpolation is done here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Min, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from accounts.models import User
from accounts.roles import console_q
from conversations.models import Conversation

PERIODS = {"today": "Today", "7d": "Last 7 days"}


class Percentile(Aggregate):
    """PostgreSQL's ordered-set `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction is between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), output_field=DurationField(), **extra)


def percentile_cont(values: list[dt.timedelta], fraction: float) -> dt.timedelta | None:
    """`percentile_cont` of sorted `values`, as PostgreSQL computes it; None for no values."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


@dataclass(frozen=True)
class Times:
    """How many, and their median and 90th percentile (None when there are none)."""

    count: int = 0
    median: dt.timedelta | None = None
    p90: dt.timedelta | None = None


@dataclass(frozen=True)
class AgentFigures:
    agent_id: int
    name: str
    open_now: int
    first_response: Times
    resolution: Times


@dataclass(frozen=True)
class Bucket:
    start: dt.datetime  # in the site's time zone
    opened: int
    handed_over: int


@dataclass(frozen=True)
class Dashboard:
    period: str
    since: dt.datetime
    now: dt.datetime
    waiting_now: int
    longest_wait: dt.timedelta | None
    opened: int
    handed_over: int
    first_response: Times
    resolution: Times
    agents: list[AgentFigures]
    buckets: list[Bucket]
    hourly: bool  # buckets are hours (today) or days (7 days)

    @property
    def handoff_rate(self) -> float | None:
        return self.handed_over / self.opened if self.opened else None

    @property
    def per_hour(self) -> float:
        hours = max((self.now - self.since).total_seconds() / 3600, 1)
        return self.opened / hours


def period_start(period: str, now: dt.datetime) -> dt.datetime:
    """Midnight (site time zone) today, or six days before it: the last 7 calendar days."""
    days = 0 if period == "today" else 6
    day = timezone.localdate(now) - dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def dashboard_figures(*, period: str = "today", now: dt.datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for `period` ("today" or "7d"), up to `now`. Eight queries
    on PostgreSQL (six elsewhere), whatever the number of conversations."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    now = now or timezone.now()
    since = period_start(period, now)
    conversations = Conversation.objects.all()
    waiting = Q(state=Conversation.State.WAITING)
    opened = Q(created_at__gte=since, created_at__lte=now)
    head = conversations.filter(waiting | opened).aggregate(
        waiting_now=Count("pk", filter=waiting),
        oldest=Min("waiting_since", filter=waiting),
        opened=Count("pk", filter=opened),
        handed_over=Count("pk", filter=opened & Q(handed_over_at__isnull=False)),
    )
    answered = conversations.filter(
        handed_over_at__isnull=False, first_response_at__gte=since, first_response_at__lte=now
    )
    resolved = conversations.filter(handed_over_at__isnull=False, resolved_at__gte=since, resolved_at__lte=now)
    first_response = _times(answered, F("first_response_at") - F("handed_over_at"))
    resolution = _times(resolved, F("resolved_at") - F("handed_over_at"))
    agents = _agents(
        conversations.filter(assigned_agent__isnull=False, state=Conversation.State.AGENT),
        first_response,
        resolution,
    )
    oldest = head["oldest"]
    hourly = period == "today"
    return Dashboard(
        period=period,
        since=since,
        now=now,
        waiting_now=head["waiting_now"],
        longest_wait=max(now - oldest, dt.timedelta(0)) if oldest else None,
        opened=head["opened"],
        handed_over=head["handed_over"],
        first_response=first_response.get(None, Times()),
        resolution=resolution.get(None, Times()),
        agents=agents,
        buckets=_buckets(conversations.filter(opened), since=since, now=now, hourly=hourly),
        hourly=hourly,
    )


def sql_percentiles() -> bool:
    """Does the database compute percentiles itself (PostgreSQL's percentile_cont)?"""
    return connections[router.db_for_read(Conversation)].vendor == "postgresql"


def _times(queryset: QuerySet[Conversation], difference: Any) -> dict[int | None, Times]:
    """Count, median and p90 of `difference` over `queryset`, for the team (key None) and per
    assigned agent (key: the agent's id)."""
    duration = ExpressionWrapper(difference, output_field=DurationField())
    if sql_percentiles():
        figures = {"count": Count("pk"), "median": Percentile(duration, 0.5), "p90": Percentile(duration, 0.9)}
        result: dict[int | None, Times] = {None: Times(**queryset.aggregate(**figures))}
        per_agent = queryset.filter(assigned_agent__isnull=False).values("assigned_agent").annotate(**figures)
        for row in per_agent.order_by():
            agent_id = row.pop("assigned_agent")
            result[agent_id] = Times(**row)
        return result
    grouped: dict[int | None, list[dt.timedelta]] = defaultdict(list)
    for agent_id, value in queryset.annotate(duration=duration).values_list("assigned_agent", "duration"):
        grouped[None].append(value)
        if agent_id is not None:
            grouped[agent_id].append(value)
    return {
        key: Times(count=len(values), median=percentile_cont(values, 0.5), p90=percentile_cont(values, 0.9))
        for key, values in ((key, sorted(values)) for key, values in grouped.items())
    }


def _agents(
    open_now: QuerySet[Conversation], first_response: dict[int | None, Times], resolution: dict[int | None, Times]
) -> list[AgentFigures]:
    """Every active agent and supervisor, and anyone else with figures in the period."""
    counts = dict(
        open_now.values("assigned_agent").annotate(n=Count("pk")).order_by().values_list("assigned_agent", "n")
    )
    involved = {key for key in (*counts, *first_response, *resolution) if key is not None}
    people = User.objects.filter((console_q() & Q(is_active=True)) | Q(pk__in=involved)).order_by("username")
    return [
        AgentFigures(
            agent_id=person.pk,
            name=person.first_name or person.username,
            open_now=counts.get(person.pk, 0),
            first_response=first_response.get(person.pk, Times()),
            resolution=resolution.get(person.pk, Times()),
        )
        for person in people.only("pk", "username", "first_name")
    ]


def _buckets(opened: QuerySet[Conversation], *, since: dt.datetime, now: dt.datetime, hourly: bool) -> list[Bucket]:
    """Conversations opened per hour (or per day) of the site's time zone, from `since` to `now`,
    empty ones included."""
    zone = timezone.get_current_timezone()
    trunc = (TruncHour if hourly else TruncDay)("created_at", tzinfo=zone)
    rows = (
        opened.annotate(bucket=trunc)
        .values("bucket")
        .annotate(n=Count("pk"), handed=Count("pk", filter=Q(handed_over_at__isnull=False)))
    )
    found = {timezone.localtime(row["bucket"], zone): (row["n"], row["handed"]) for row in rows.order_by()}
    buckets, start = [], since
    while start <= now:
        n, handed = found.get(start, (0, 0))
        buckets.append(Bucket(start=start, opened=n, handed_over=handed))
        if hourly:  # an hour in absolute time (a DST change day has 23 or 25)
            start = timezone.localtime(start + dt.timedelta(hours=1), zone)
        else:
            start = dt.datetime.combine(start.date() + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return buckets
