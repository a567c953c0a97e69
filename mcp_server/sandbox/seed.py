"""Deterministic demo data for "Hedgebox", a file-sharing SaaS: users, dashboards, insights with history,
views and cached results, and autocapture elements with click statistics.

Content is fixed (one seeded generator); timestamps are relative to the time of seeding, and click
statistics are stored by days-ago, so "last 7 days" stays populated however old the database is.
"""

from __future__ import annotations

import copy
import hashlib
import random
import re
import string
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mcp_server.sandbox.activity import changes, dashboards_change, log_insight
from mcp_server.sandbox.dates import iso, utc_now
from mcp_server.sandbox.queries import source_of
from mcp_server.sandbox.results import WEEKDAY_SHAPE, compute, query_hash
from mcp_server.sandbox.store import Store

SEED = 20240304
SITE = "https://hedgebox.example"
PROJECTS = (
    (1, "0190a000-0000-7000-8000-0000000000p1", "Hedgebox", "phc_sandbox_hedgebox_demo_project_token"),
    (2, "0190a000-0000-7000-8000-0000000000p2", "Hedgebox (staging)", "phc_sandbox_hedgebox_staging_token"),
)
USERS = (
    (1, "Ava", "Martinez", "ava@hedgebox.example", "founder"),
    (2, "Ben", "Okafor", "ben@hedgebox.example", "engineering"),
    (3, "Chloé", "Dubois", "chloe@hedgebox.example", "marketing"),
    (4, "Dev", "Patel", "dev@hedgebox.example", "product"),
)
DASHBOARDS = (
    (1, 1, "Product KPIs"),
    (2, 1, "Growth & acquisition"),
    (3, 1, "Activation review"),
    (4, 1, "Weekly review"),
    (5, 1, "File sharing health"),
    (6, 2, "Staging smoke checks"),
)
FIRST_INSIGHT_ID = 101


def event(name: str, math: str = "total", custom_name: str | None = None, **extra: Any) -> dict[str, Any]:
    """An EventsNode."""
    node: dict[str, Any] = {"kind": "EventsNode", "event": name, "name": name, "math": math}
    if custom_name:
        node["custom_name"] = custom_name
    return {**node, **extra}


def viz(source: dict[str, Any]) -> dict[str, Any]:
    """Wrap an insight query in an InsightVizNode."""
    return {"kind": "InsightVizNode", "source": {**source, "filterTestAccounts": True, "version": 2}}


def trends(
    *series: dict[str, Any],
    date_from: str = "-30d",
    interval: str = "day",
    display: str = "ActionsLineGraph",
    breakdown: str | None = None,
    formula: str | None = None,
    compare: bool = False,
) -> dict[str, Any]:
    """A TrendsQuery in an InsightVizNode."""
    trends_filter: dict[str, Any] = {"display": display}
    if formula:
        trends_filter["formula"] = formula
    source: dict[str, Any] = {
        "kind": "TrendsQuery",
        "series": list(series),
        "interval": interval,
        "dateRange": {"date_from": date_from},
        "trendsFilter": trends_filter,
    }
    if breakdown:
        source["breakdownFilter"] = {"breakdown": breakdown, "breakdown_type": "event"}
    if compare:
        source["compareFilter"] = {"compare": True}
    return viz(source)


def funnel(
    *steps: dict[str, Any], date_from: str = "-30d", viz_type: str = "steps", breakdown: str | None = None
) -> dict[str, Any]:
    """A FunnelsQuery in an InsightVizNode."""
    source: dict[str, Any] = {
        "kind": "FunnelsQuery",
        "series": list(steps),
        "dateRange": {"date_from": date_from},
        "funnelsFilter": {"funnelVizType": viz_type, "funnelWindowInterval": 14, "funnelWindowIntervalUnit": "day"},
    }
    if breakdown:
        source["breakdownFilter"] = {"breakdown": breakdown, "breakdown_type": "person"}
    return viz(source)


def retention(target: str, returning: str, period: str = "Week", intervals: int = 8) -> dict[str, Any]:
    """A RetentionQuery in an InsightVizNode."""
    return viz(
        {
            "kind": "RetentionQuery",
            "dateRange": {"date_from": f"-{intervals}{period[0].lower()}"},
            "retentionFilter": {
                "period": period,
                "totalIntervals": intervals,
                "retentionType": "retention_first_time",
                "targetEntity": {"id": target, "name": target, "type": "events"},
                "returningEntity": {"id": returning, "name": returning, "type": "events"},
            },
        }
    )


def paths(start: str | None = None, date_from: str = "-14d") -> dict[str, Any]:
    """A PathsQuery over pageviews in an InsightVizNode."""
    paths_filter: dict[str, Any] = {"includeEventTypes": ["$pageview"], "stepLimit": 5}
    if start:
        paths_filter["startPoint"] = start
    return viz({"kind": "PathsQuery", "dateRange": {"date_from": date_from}, "pathsFilter": paths_filter})


def stickiness(name: str, date_from: str = "-30d", interval: str = "day") -> dict[str, Any]:
    """A StickinessQuery in an InsightVizNode."""
    return viz(
        {
            "kind": "StickinessQuery",
            "series": [event(name)],
            "interval": interval,
            "dateRange": {"date_from": date_from},
        }
    )


def lifecycle(name: str, date_from: str = "-30d", interval: str = "day") -> dict[str, Any]:
    """A LifecycleQuery (unique users) in an InsightVizNode."""
    return viz(
        {
            "kind": "LifecycleQuery",
            "series": [event(name, "dau")],
            "interval": interval,
            "dateRange": {"date_from": date_from},
            "lifecycleFilter": {"showLegend": True},
        }
    )


def sql(text: str, display: str = "ActionsTable") -> dict[str, Any]:
    """A HogQLQuery in a DataVisualizationNode."""
    return {
        "kind": "DataVisualizationNode",
        "source": {"kind": "HogQLQuery", "query": text},
        "display": display,
    }


@dataclass(frozen=True)
class Spec:
    """One demo insight: its content, who made it when (days ago), and how much history it has."""

    name: str | None
    query: dict[str, Any]
    description: str | None = None
    tags: tuple[str, ...] = ()
    dashboards: tuple[int, ...] = ()
    favorited: bool = False
    saved: bool = True
    creator: int = 1
    editor: int | None = None
    created: int = 60
    modified: int = 10
    updates: int = 1
    cached: bool = True
    deleted: bool = False
    derived_name: str | None = None
    team: int = 1
    views: tuple[tuple[int, float], ...] = field(default_factory=tuple)


INSIGHTS = (
    Spec(
        "Weekly active users",
        trends(event("$pageview", "weekly_active"), date_from="-90d"),
        "Users with at least one pageview in the trailing 7 days. Our north-star engagement metric.",
        ("growth", "weekly-review"),
        (1, 4),
        favorited=True,
        creator=1,
        editor=4,
        created=210,
        modified=2,
        updates=14,
        views=((1, 2), (2, 20), (4, 30)),
    ),
    Spec(
        "Daily signups",
        trends(event("signed_up"), date_from="-30d"),
        "New accounts created per day, excluding internal and test users.",
        ("growth", "activation"),
        (1, 2),
        favorited=True,
        creator=3,
        created=180,
        modified=6,
        updates=3,
        views=((1, 5), (3, 9)),
    ),
    Spec(
        "Pageviews by browser",
        trends(event("$pageview"), date_from="-14d", breakdown="$browser"),
        "Where our visitors come from, browser-wise. Watch Safari when shipping CSS changes.",
        ("marketing",),
        (),
        creator=3,
        created=95,
        modified=40,
        updates=2,
        views=((1, 26),),
    ),
    Spec(
        "Signup conversion rate",
        trends(event("signed_up", "dau"), event("$pageview", "dau"), formula="A/B*100"),
        "Unique signups as a share of unique visitors, in percent.",
        ("growth", "activation"),
        (2,),
        creator=4,
        created=120,
        modified=12,
        updates=2,
        views=((1, 40),),
    ),
    Spec(
        "Files uploaded vs downloaded",
        trends(event("uploaded_file"), event("downloaded_file")),
        "Daily volume of uploads and downloads across all plans.",
        ("product",),
        (5,),
        creator=2,
        created=150,
        modified=30,
        updates=1,
        views=((1, 52), (2, 3)),
    ),
    Spec(
        "Total storage uploaded (MB)",
        trends(event("uploaded_file", "sum", math_property="file_size_mb"), display="BoldNumber"),
        "Sum of uploaded file sizes in the last 30 days.",
        ("product", "revenue"),
        (5,),
        creator=2,
        created=140,
        modified=50,
        views=((2, 8),),
    ),
    Spec(
        "Average file size",
        trends(event("uploaded_file", "avg", math_property="file_size_mb"), interval="week", date_from="-90d"),
        "Average size of an uploaded file, per week.",
        ("product",),
        creator=2,
        created=100,
        modified=100,
        updates=0,
    ),
    Spec(
        "Signup → first upload funnel",
        funnel(event("signed_up"), event("uploaded_file"), event("shared_file_link")),
        "Activation: new users who upload a file and then share it within 14 days.",
        ("activation",),
        (1, 3),
        favorited=True,
        creator=4,
        created=170,
        modified=4,
        updates=3,
        views=((1, 8), (4, 1)),
    ),
    Spec(
        "Pricing page → upgrade funnel",
        funnel(
            event(
                "$pageview",
                custom_name="Viewed pricing",
                properties=[{"key": "$current_url", "value": "/pricing", "operator": "icontains", "type": "event"}],
            ),
            event("upgraded_plan"),
            event("paid_bill"),
        ),
        "How many pricing page visitors upgrade and pay.",
        ("revenue", "growth"),
        (2,),
        creator=1,
        created=130,
        modified=20,
        updates=2,
        views=((1, 60),),
    ),
    Spec(
        "Team invite acceptance by plan",
        funnel(event("invited_team_member"), event("signed_up"), breakdown="plan"),
        "Invited teammates who sign up, split by the inviter's plan.",
        ("growth",),
        creator=4,
        created=75,
        modified=22,
        updates=1,
    ),
    Spec(
        "Activation conversion over time",
        funnel(event("signed_up"), event("uploaded_file"), viz_type="trends", date_from="-90d"),
        "Daily conversion rate from signup to first upload.",
        ("activation", "weekly-review"),
        (4,),
        creator=4,
        created=60,
        modified=15,
        updates=1,
    ),
    Spec(
        "Time to first share",
        funnel(event("signed_up"), event("shared_file_link"), viz_type="time_to_convert"),
        "Distribution of time between signing up and sharing the first link.",
        ("activation",),
        creator=1,
        created=45,
        modified=45,
        updates=0,
    ),
    Spec(
        "Weekly retention: signup → upload",
        retention("signed_up", "uploaded_file"),
        "Of the users who signed up in a week, how many keep uploading in the following weeks.",
        ("activation", "retention"),
        (1, 3),
        favorited=True,
        creator=1,
        created=160,
        modified=9,
        updates=2,
        views=((1, 12), (2, 100)),
    ),
    Spec(
        "Daily retention of active users",
        retention("$pageview", "$pageview", period="Day", intervals=14),
        None,
        ("retention",),
        creator=2,
        created=80,
        modified=33,
        updates=1,
    ),
    Spec(
        "Paying customer retention",
        retention("paid_bill", "paid_bill", period="Month", intervals=6),
        "Monthly retention of paying customers.",
        ("revenue", "retention"),
        (1,),
        creator=1,
        created=200,
        modified=25,
        updates=2,
    ),
    Spec(
        "User paths from the homepage",
        paths("/"),
        "Where visitors go after landing on the homepage.",
        ("marketing",),
        (3,),
        creator=3,
        created=90,
        modified=19,
        updates=1,
        views=((3, 4),),
    ),
    Spec(
        "Paths from pricing",
        paths("/pricing", date_from="-30d"),
        "What people do after looking at prices.",
        ("marketing", "revenue"),
        creator=3,
        created=55,
        modified=55,
        updates=0,
    ),
    Spec(
        "Upload stickiness",
        stickiness("uploaded_file"),
        "On how many days in the month users upload files.",
        ("product", "engagement"),
        (5,),
        creator=2,
        created=70,
        modified=18,
        updates=1,
    ),
    Spec(
        "Login stickiness",
        stickiness("logged_in", date_from="-14d"),
        None,
        ("engagement",),
        creator=4,
        created=35,
        modified=35,
        updates=0,
    ),
    Spec(
        "Lifecycle of active users",
        lifecycle("$pageview"),
        "New, returning, resurrecting and dormant visitors per day.",
        ("growth", "weekly-review"),
        (4,),
        creator=1,
        created=110,
        modified=7,
        updates=2,
        views=((1, 3),),
    ),
    Spec(
        "Uploader lifecycle",
        lifecycle("uploaded_file", date_from="-8w", interval="week"),
        "Weekly lifecycle of users who upload.",
        ("product",),
        creator=2,
        created=65,
        modified=28,
        updates=1,
    ),
    Spec(
        "Top pages last 7 days",
        sql(
            "SELECT properties.$pathname AS pathname, count() AS pageviews\nFROM events\n"
            "WHERE event = '$pageview' AND timestamp > now() - INTERVAL 7 DAY\n"
            "GROUP BY pathname\nORDER BY pageviews DESC\nLIMIT 10"
        ),
        "The ten most viewed paths this week.",
        ("marketing", "sql"),
        (3,),
        creator=3,
        created=50,
        modified=11,
        updates=2,
        views=((1, 7), (3, 2)),
    ),
    Spec(
        "Revenue by plan",
        sql(
            "SELECT properties.plan AS plan, sum(toFloat(properties.amount_usd)) AS revenue_usd\nFROM events\n"
            "WHERE event = 'paid_bill' AND timestamp > now() - INTERVAL 30 DAY\n"
            "GROUP BY plan\nORDER BY revenue_usd DESC"
        ),
        "Billed revenue per plan over the last 30 days.",
        ("revenue", "sql"),
        (1, 2),
        favorited=True,
        creator=1,
        created=140,
        modified=5,
        updates=2,
        views=((1, 10),),
    ),
    Spec(
        "Most active sharers this month",
        sql(
            "SELECT person.properties.email AS email, count() AS links_shared\nFROM events\n"
            "WHERE event = 'shared_file_link' AND timestamp >= toStartOfMonth(now())\n"
            "GROUP BY email\nORDER BY links_shared DESC\nLIMIT 20"
        ),
        "Power users by number of share links created.",
        ("engagement", "sql"),
        creator=4,
        created=40,
        modified=16,
        updates=1,
    ),
    Spec(
        "Signups by country",
        trends(event("signed_up"), breakdown="$geoip_country_code", display="WorldMap"),
        "Signups per country over the last 30 days.",
        ("marketing",),
        (2,),
        creator=3,
        created=85,
        modified=27,
        updates=1,
    ),
    Spec(
        "Pageviews this week vs last week",
        trends(event("$pageview"), date_from="-7d", compare=True),
        "Week-over-week traffic comparison for the Monday review.",
        ("weekly-review", "marketing"),
        (4,),
        favorited=True,
        creator=1,
        created=100,
        modified=3,
        updates=1,
        views=((1, 1), (2, 6), (3, 30)),
    ),
    Spec(
        "Hourly uploads (last 24h)",
        trends(event("uploaded_file"), event("upload_failed"), date_from="-24h", interval="hour"),
        "Uploads and failed uploads per hour; a spike in failures usually means a storage incident.",
        ("reliability",),
        (5,),
        creator=2,
        created=30,
        modified=1,
        updates=2,
        views=((2, 1),),
    ),
    Spec(
        "Rage clicks per day",
        trends(event("$rageclick"), date_from="-14d"),
        "Rage clicks across the app. Spikes point at broken or slow buttons.",
        ("ux",),
        creator=4,
        created=25,
        modified=8,
        updates=1,
        views=((4, 5),),
    ),
    Spec(
        "Dead clicks by page",
        trends(event("$dead_click"), date_from="-14d", breakdown="$pathname", display="ActionsTable"),
        "Clicks on things that do not react, per page.",
        ("ux",),
        creator=4,
        created=20,
        modified=8,
        updates=0,
    ),
    Spec(
        "Plan upgrades (cumulative)",
        trends(event("upgraded_plan"), date_from="-90d", display="ActionsLineGraphCumulative"),
        "Running total of upgrades over the quarter.",
        ("revenue",),
        (1,),
        creator=1,
        created=95,
        modified=13,
        updates=1,
    ),
    Spec(
        "Downloads by device type",
        trends(event("downloaded_file"), breakdown="$device_type", display="ActionsPie"),
        None,
        ("product",),
        creator=2,
        created=48,
        modified=48,
        updates=0,
    ),
    Spec(
        None,
        trends(event("$pageview"), date_from="-7d"),
        derived_name="Pageview count",
        saved=False,
        creator=1,
        created=3,
        modified=3,
        updates=0,
        cached=False,
        views=((1, 30),),
    ),
    Spec(
        None,
        trends(event("deleted_file"), date_from="-14d"),
        derived_name="deleted_file count",
        saved=False,
        creator=2,
        created=9,
        modified=9,
        updates=0,
        cached=False,
    ),
    Spec(
        "Share links created per week",
        trends(event("shared_file_link"), interval="week", date_from="-90d"),
        "Weekly count of share links.",
        ("engagement",),
        creator=3,
        created=14,
        modified=14,
        updates=0,
        cached=False,
    ),
    Spec(
        "Team invites per week",
        trends(event("invited_team_member"), interval="week", date_from="-90d"),
        None,
        ("growth",),
        creator=4,
        created=12,
        modified=12,
        updates=0,
        cached=False,
    ),
    Spec(
        "Cancelled subscriptions",
        trends(event("cancelled_subscription"), interval="month", date_from="-6m"),
        "Monthly churned subscriptions.",
        ("revenue",),
        creator=1,
        created=10,
        modified=10,
        updates=0,
        cached=False,
    ),
    Spec(
        "Old onboarding funnel (v1)",
        funnel(event("signed_up"), event("logged_in")),
        "Superseded by the signup → first upload funnel.",
        ("activation",),
        creator=4,
        editor=1,
        created=300,
        modified=26,
        updates=1,
        deleted=True,
    ),
    Spec(
        "Staging: signups smoke test",
        trends(event("signed_up"), date_from="-7d"),
        "Should be flat and small; anything else means test traffic leaked.",
        ("staging",),
        (6,),
        creator=2,
        created=60,
        modified=20,
        updates=0,
        team=2,
    ),
    Spec(
        "Staging: upload errors",
        trends(event("upload_failed"), date_from="-7d"),
        None,
        ("staging", "reliability"),
        (6,),
        creator=2,
        created=58,
        modified=20,
        updates=0,
        team=2,
    ),
)


def _short_id(rng: random.Random, taken: set[str]) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(rng.choice(alphabet) for _ in range(8))
        if not candidate.isdigit() and candidate not in taken:
            taken.add(candidate)
            return candidate


def _variant(query: dict[str, Any]) -> dict[str, Any]:
    """An earlier draft of a query: another date range (or, for SQL, another limit)."""
    draft = copy.deepcopy(query)
    source = source_of(draft) or draft
    if source.get("kind") == "HogQLQuery":
        source["query"] = str(source["query"]).replace("LIMIT 10", "LIMIT 25") + (
            "" if "LIMIT" in source["query"] else "\nLIMIT 100"
        )
        return draft
    current = (source.get("dateRange") or {}).get("date_from")
    source["dateRange"] = {"date_from": "-30d" if current != "-30d" else "-90d"}
    return draft


def _history(spec: Spec, final: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any], list[int], list[int]]]:
    """The states an insight went through: (before, after, dashboards before, dashboards after) per update."""
    kinds = ["name", "query", "description", "tags", "dashboards", "favorited"]
    usable = [
        kind
        for kind in kinds
        if (kind != "name" or final["name"])
        and (kind != "description" or final["description"])
        and (kind != "tags" or final["tags"])
        and (kind != "dashboards" or spec.dashboards)
        and (kind != "favorited" or final["favorited"])
    ]
    plan = usable[: spec.updates] + ["query"] * max(0, spec.updates - len(usable))
    state = {**final, "dashboards": list(spec.dashboards)}
    steps: list[tuple[dict[str, Any], dict[str, Any], list[int], list[int]]] = []
    for kind in reversed(plan):
        before = dict(state)
        if kind == "name":
            before["name"] = f"{final['name']} (draft)"
        elif kind == "query":
            before["query"] = _variant(final["query"]) if state["query"] == final["query"] else final["query"]
        elif kind == "description":
            before["description"] = None
        elif kind == "tags":
            before["tags"] = []
        elif kind == "dashboards":
            before["dashboards"] = []
        elif kind == "favorited":
            before["favorited"] = False
        steps.append((before, state, before["dashboards"], state["dashboards"]))
        state = before
    steps.reverse()
    return steps


def _base(store: Store, now: datetime) -> None:
    for project_id, uuid, name, token in PROJECTS:
        created = iso(now - timedelta(days=400))
        store.add_project(
            {"id": project_id, "uuid": uuid, "name": name, "timezone": "UTC", "api_token": token, "created_at": created}
        )
    for user_id, first, last, email, role in USERS:
        digest = hashlib.sha256(email.encode()).hexdigest()
        store.add_user(
            {
                "id": user_id,
                "uuid": f"0190a000-0000-7000-8000-{digest[:12]}",
                "distinct_id": digest[12:44],
                "first_name": first,
                "last_name": last,
                "email": email,
                "role_at_organization": role,
                "date_joined": iso(now - timedelta(days=400 - user_id * 20)),
            }
        )
    for dashboard_id, team_id, name in DASHBOARDS:
        store.add_dashboard(dashboard_id, team_id, name)


def _insights(store: Store, now: datetime, rng: random.Random) -> None:
    taken: set[str] = set()
    dashboards = store.dashboards()
    for index, spec in enumerate(INSIGHTS):
        insight_id = FIRST_INSIGHT_ID + index
        created = now - timedelta(days=spec.created, hours=rng.uniform(1, 9))
        modified = (
            now - timedelta(days=spec.modified, hours=rng.uniform(0, 6)) if spec.modified < spec.created else created
        )
        editor = spec.editor or spec.creator
        final = {
            "id": insight_id,
            "team_id": spec.team,
            "short_id": _short_id(rng, taken),
            "name": spec.name,
            "derived_name": spec.derived_name,
            "description": spec.description,
            "query": spec.query,
            "filters": {},
            "tags": sorted(spec.tags),
            "favorited": spec.favorited,
            "saved": spec.saved,
            "deleted": False,
        }
        steps = _history(spec, final) if spec.updates else []
        first = steps[0][0] if steps else {**final, "dashboards": list(spec.dashboards)}
        store.add_insight(
            {
                **{k: v for k, v in final.items() if k not in ("favorited", "saved", "deleted")},
                "favorited": int(spec.favorited),
                "saved": int(spec.saved),
                "deleted": int(spec.deleted),
                "created_at": iso(created),
                "created_by": spec.creator,
                "last_modified_at": iso(modified),
                "last_modified_by": editor if spec.updates or spec.deleted else spec.creator,
                "updated_at": iso(modified),
            }
        )
        if spec.dashboards and not spec.deleted:
            store.set_dashboards(insight_id, list(spec.dashboards))
        store.record_view(spec.team, insight_id, spec.creator, iso(created))
        log_insight(
            store,
            insight={**first, "team_id": spec.team},
            activity="created",
            user_id=spec.creator,
            at=iso(created),
            change_list=None,
            client=None,
            entry_id=_uuid(rng),
        )
        moments = len(steps) + (1 if spec.deleted else 0)
        for number, (before, after, old_boards, new_boards) in enumerate(steps, start=1):
            at = created + (modified - created) * number / max(moments, 1)
            found = changes(before, after) + dashboards_change(old_boards, new_boards, dashboards)
            user = editor if number == moments else rng.choice([spec.creator, editor, 1])
            log_insight(
                store,
                insight=after,
                activity="updated",
                user_id=user,
                at=iso(at),
                change_list=found,
                client=None,
                entry_id=_uuid(rng),
            )
        if spec.deleted:
            found = [{"type": "Insight", "action": "changed", "field": "deleted", "before": False, "after": True}]
            log_insight(
                store,
                insight={**final, "deleted": True},
                activity="deleted",
                user_id=editor,
                at=iso(modified),
                change_list=found,
                client=None,
                entry_id=_uuid(rng),
            )
        for user_id, hours_ago in spec.views:
            store.record_view(spec.team, insight_id, user_id, iso(max(modified, now - timedelta(hours=hours_ago))))
        if spec.cached and not spec.deleted:
            refreshed = max(modified + timedelta(minutes=5), now - timedelta(hours=rng.uniform(1, 30)))
            payload = asdict(compute(spec.query, refreshed))
            store.save_result(insight_id, query_hash(spec.query), payload, iso(refreshed))


def _uuid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}"


# (pages, clicked element, ancestors, autocapture, rageclick and dead click events per day)
TARGETS: tuple[tuple[tuple[str, ...], str, tuple[str, ...], int, int, int], ...] = (
    (
        ("/", "/pricing", "/signup", "/login"),
        'a.nav-link[href=/pricing]"Pricing"',
        ("li.nav-item", "ul.nav-links", "nav#top-nav", "header.site-header", "body"),
        95,
        0,
        0,
    ),
    (
        ("/", "/pricing", "/signup", "/login"),
        'a.nav-link[href=/login]"Log in"',
        ("li.nav-item", "ul.nav-links", "nav#top-nav", "header.site-header", "body"),
        120,
        0,
        0,
    ),
    (
        ("/", "/pricing", "/signup"),
        "img.logo[data-attr=nav-logo]",
        ("a.brand[href=/]", "nav#top-nav", "header.site-header", "body"),
        40,
        0,
        0,
    ),
    (
        ("/",),
        'a.btn.btn-primary[data-attr=hero-signup][href=/signup]"Sign up free"',
        ("div.hero-actions", "section#hero.hero", "main", "body"),
        180,
        0,
        0,
    ),
    (
        ("/",),
        'a.btn.btn-secondary[data-attr=hero-watch-demo][href=#demo]"Watch the demo"',
        ("div.hero-actions", "section#hero.hero", "main", "body"),
        60,
        0,
        0,
    ),
    (
        ("/",),
        'h2.feature-title"Share files in one click"',
        ("div.feature-card", "section.features", "main", "body"),
        8,
        0,
        22,
    ),
    (("/",), "img.hero-illustration", ("section#hero.hero", "main", "body"), 5, 0, 15),
    (
        ("/pricing",),
        'button.btn.btn-primary[data-attr=plan-pro-select]"Choose Pro"',
        ("div.plan-card.plan-pro", "div.plans-grid", "section#pricing", "main", "body"),
        75,
        0,
        0,
    ),
    (
        ("/pricing",),
        'button.btn.btn-outline[data-attr=plan-business-select]"Choose Business"',
        ("div.plan-card.plan-business", "div.plans-grid", "section#pricing", "main", "body"),
        28,
        0,
        0,
    ),
    (
        ("/pricing",),
        'button.toggle[data-attr=billing-period-toggle]"Yearly"',
        ("div.billing-toggle", "section#pricing", "main", "body"),
        40,
        3,
        0,
    ),
    (
        ("/pricing",),
        'span.price"$12/mo"',
        ("div.plan-card.plan-pro", "div.plans-grid", "section#pricing", "main", "body"),
        4,
        0,
        18,
    ),
    (
        ("/pricing",),
        'a.faq-link[href=#faq-storage]"How much storage do I get?"',
        ("div.faq-item", "section#faq", "main", "body"),
        12,
        0,
        0,
    ),
    (
        ("/signup",),
        'button.btn.btn-primary[data-attr=signup-submit]"Create account"',
        ("form#signup-form.auth-form", "div.auth-card", "main", "body"),
        110,
        6,
        0,
    ),
    (
        ("/signup",),
        "input#email.form-control[data-attr=signup-email]",
        ("div.form-group", "form#signup-form.auth-form", "div.auth-card", "main", "body"),
        90,
        0,
        0,
    ),
    (
        ("/signup",),
        'button.btn.btn-social[data-attr=signup-google]"Continue with Google"',
        ("div.social-buttons", "div.auth-card", "main", "body"),
        70,
        0,
        0,
    ),
    (
        ("/signup",),
        'a[href=/login]"Already have an account? Log in"',
        ("p.auth-footer", "div.auth-card", "main", "body"),
        20,
        0,
        0,
    ),
    (
        ("/login",),
        'button.btn.btn-primary[data-attr=login-submit]"Log in"',
        ("form#login-form.auth-form", "div.auth-card", "main", "body"),
        160,
        9,
        0,
    ),
    (
        ("/login",),
        'a.forgot-password[href=/reset]"Forgot password?"',
        ("form#login-form.auth-form", "div.auth-card", "main", "body"),
        25,
        0,
        0,
    ),
    (
        ("/files",),
        'button.btn.btn-primary[data-attr=upload-button]"Upload"',
        ("div.toolbar", "div.files-header", "main#app", "body"),
        260,
        14,
        0,
    ),
    (
        ("/files",),
        'button.btn.btn-icon[data-attr=new-folder]"New folder"',
        ("div.toolbar", "div.files-header", "main#app", "body"),
        55,
        0,
        0,
    ),
    (
        ("/files",),
        'a.file-row-link[data-attr=file-open]"Open"',
        ("td.file-name", "tr.file-row", "table.file-list", "main#app", "body"),
        300,
        0,
        0,
    ),
    (
        ("/files",),
        'button.btn.btn-icon[data-attr=file-share]"Share"',
        ("td.file-actions", "tr.file-row", "table.file-list", "main#app", "body"),
        140,
        0,
        0,
    ),
    (
        ("/files",),
        'button.btn.btn-icon[data-attr=file-download]"Download"',
        ("td.file-actions", "tr.file-row", "table.file-list", "main#app", "body"),
        210,
        0,
        0,
    ),
    (
        ("/files",),
        'button.btn.btn-icon.btn-danger[data-attr=file-delete]"Delete"',
        ("td.file-actions", "tr.file-row", "table.file-list", "main#app", "body"),
        35,
        0,
        0,
    ),
    (
        ("/files",),
        "input#file-search.search-input[data-attr=file-search]",
        ("div.search-box", "div.files-header", "main#app", "body"),
        80,
        0,
        0,
    ),
    (("/files",), 'div.empty-state"Drop files here to upload"', ("section.dropzone", "main#app", "body"), 6, 2, 30),
    (
        ("/files/shared",),
        'button.btn.btn-primary[data-attr=copy-share-link]"Copy link"',
        ("div.share-dialog", "div.modal", "body"),
        120,
        11,
        0,
    ),
    (
        ("/files/shared",),
        "select#link-expiry.form-select[data-attr=share-expiry]",
        ("div.form-group", "div.share-dialog", "div.modal", "body"),
        30,
        0,
        0,
    ),
    (
        ("/files/shared",),
        'span.link-preview"hedgebox.example/s/7Hq2"',
        ("div.share-dialog", "div.modal", "body"),
        3,
        0,
        25,
    ),
    (
        ("/account/billing",),
        'button.btn.btn-primary[data-attr=upgrade-plan]"Upgrade plan"',
        ("div.plan-summary", "section#billing", "main#app", "body"),
        45,
        0,
        0,
    ),
    (
        ("/account/billing",),
        'button.btn.btn-link[data-attr=download-invoice]"Download invoice"',
        ("td.invoice-actions", "table.invoices", "section#billing", "main#app", "body"),
        18,
        0,
        0,
    ),
    (
        ("/account/billing",),
        'button.btn.btn-outline[data-attr=apply-coupon]"Apply coupon"',
        ("form.coupon-form", "section#billing", "main#app", "body"),
        12,
        7,
        0,
    ),
    (
        ("/account/billing",),
        'a.btn.btn-danger-link[data-attr=cancel-subscription][href=/account/billing/cancel]"Cancel subscription"',
        ("div.plan-summary", "section#billing", "main#app", "body"),
        4,
        0,
        0,
    ),
    (
        ("/account/settings",),
        'button.btn.btn-primary[data-attr=invite-member]"Invite teammate"',
        ("div.team-members", "section#team", "main#app", "body"),
        38,
        0,
        0,
    ),
    (
        ("/account/settings",),
        'button.btn.btn-primary[data-attr=save-settings]"Save changes"',
        ("form#profile-form", "section#profile", "main#app", "body"),
        50,
        4,
        0,
    ),
    (
        ("/account/settings",),
        "input#display-name.form-control",
        ("div.form-group", "form#profile-form", "section#profile", "main#app", "body"),
        25,
        0,
        0,
    ),
    (
        ("/account/settings",),
        'label.switch"Email notifications"',
        ("div.form-group", "form#notifications-form", "section#notifications", "main#app", "body"),
        8,
        0,
        12,
    ),
    (
        ("/files", "/files/shared", "/account/billing", "/account/settings"),
        'a.sidebar-link[href=/files]"My files"',
        ("li.sidebar-item", "ul.sidebar-nav", "aside#sidebar", "body"),
        150,
        0,
        0,
    ),
    (
        ("/files", "/files/shared", "/account/billing", "/account/settings"),
        'a.sidebar-link[href=/files/shared]"Shared with me"',
        ("li.sidebar-item", "ul.sidebar-nav", "aside#sidebar", "body"),
        85,
        0,
        0,
    ),
    (
        ("/files", "/files/shared", "/account/billing"),
        'a.sidebar-link[href=/account/settings]"Settings"',
        ("li.sidebar-item", "ul.sidebar-nav", "aside#sidebar", "body"),
        40,
        0,
        0,
    ),
)
SELECTOR = re.compile(r'^(?P<tag>[a-z0-9]+)(?P<rest>[^"]*)(?:"(?P<text>.*)")?$')


def element_from(selector: str, order: int, rng: random.Random) -> dict[str, Any]:
    """An element dict (as chain_to_element_dicts gives) from `tag.class#id[attr=value]"text"`."""
    match = SELECTOR.match(selector)
    assert match is not None, selector
    rest = match.group("rest")
    attrs = dict(re.findall(r"\[([\w-]+)=([^\]]*)\]", rest))
    bare = re.sub(r"\[[^\]]*\]", "", rest)
    classes = re.findall(r"\.([\w-]+)", bare)
    ids = re.findall(r"#([\w-]+)", bare)
    attributes = {}
    if classes:
        attributes["attr__class"] = " ".join(classes)
    if ids:
        attributes["attr__id"] = ids[0]
    for name, value in attrs.items():
        attributes[f"attr__{name}"] = value
    nth_child = rng.randint(1, 4)
    return {
        "text": match.group("text"),
        "tag_name": match.group("tag"),
        "attr_class": classes or None,
        "href": attrs.get("href"),
        "attr_id": ids[0] if ids else None,
        "nth_child": nth_child,
        "nth_of_type": rng.randint(1, nth_child),
        "attributes": attributes,
        "order": order,
    }


def chain_hash(elements: list[dict[str, Any]]) -> str:
    """A stable 64-bit hex identity of a chain, like cityHash64(elements_chain) rendered with `:x`."""
    parts = []
    for element in elements:
        head = element["tag_name"] + "".join(f".{c}" for c in element["attr_class"] or [])
        pairs = {
            "text": element["text"],
            "nth-child": element["nth_child"],
            "nth-of-type": element["nth_of_type"],
            "href": element["href"],
            "attr_id": element["attr_id"],
            **element["attributes"],
        }
        parts.append(head + ":" + "".join(f'{k}="{v}"' for k, v in sorted(pairs.items()) if v is not None))
    digest = hashlib.blake2b(";".join(parts).encode(), digest_size=8).digest()
    return f"{int.from_bytes(digest, 'big'):x}"


def _elements(store: Store, now: datetime, rng: random.Random) -> None:
    clicks: list[tuple[int, str, int, str, int, int]] = []
    for chain_id, (pages, clicked, ancestors, autocapture, rage, dead) in enumerate(TARGETS, start=1):
        chain = [element_from(selector, order, rng) for order, selector in enumerate((clicked, *ancestors))]
        store.add_chain(chain_id, 1, chain_hash(chain), chain)
        for element in chain:
            store.add_element(1, element)
        for name, volume in (("$autocapture", autocapture), ("$rageclick", rage), ("$dead_click", dead)):
            if not volume:
                continue
            for days_ago in range(30):
                weekday = (now - timedelta(days=days_ago)).weekday()
                for page in pages:
                    level = volume * WEEKDAY_SHAPE[weekday] * (1 - 0.004 * days_ago) / len(pages)
                    count = max(0, round(level * rng.gauss(1, 0.18)))
                    test = round(count * 0.04)
                    if count - test:
                        clicks.append((chain_id, name, days_ago, SITE + page, 0, count - test))
                    if test:
                        clicks.append((chain_id, name, days_ago, SITE + page, 1, test))
    store.add_clicks(clicks)


def populate(store: Store, *, demo: bool = True, now: datetime | None = None) -> None:
    """Fill a new database: projects, users and dashboards always; the demo content when `demo`."""
    moment = now or utc_now()
    rng = random.Random(SEED)
    with store.transaction():
        _base(store, moment)
        if demo:
            _insights(store, moment, rng)
            _elements(store, moment, rng)
        store.set_meta("populated", iso(moment))
