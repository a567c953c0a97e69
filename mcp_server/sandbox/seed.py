"""Loading the demo data of "Hedgebox", a file-sharing SaaS, from data/demo.json and data/clicks.json.

Content is fixed; timestamps are relative to the time of seeding (each insight says how many days ago it
was created and last modified). Click statistics are derived per request from data/clicks.json, so "last
7 days" stays populated however old the database is.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from mcp_server.sandbox.activity import changes, dashboards_change, log_insight
from mcp_server.sandbox.dates import iso, utc_now
from mcp_server.sandbox.queries import source_of
from mcp_server.sandbox.results import compute, query_hash
from mcp_server.sandbox.store import Store


def load(name: str) -> Any:
    """A JSON file of the package's data folder."""
    return json.loads(resources.files("mcp_server.sandbox").joinpath(f"data/{name}").read_text("utf-8"))


DEMO = load("demo.json")
CHAINS: list[dict[str, Any]] = load("clicks.json")
FIRST_INSIGHT_ID = 101


def _draft(query: dict[str, Any]) -> dict[str, Any]:
    """An earlier draft of a query: another date range (or, for SQL, another limit)."""
    draft = copy.deepcopy(query)
    source = source_of(draft) or draft
    if source.get("kind") == "HogQLQuery":
        source["query"] = str(source["query"]) + "\nLIMIT 25"
    else:
        source["dateRange"] = {"date_from": "-90d" if source.get("dateRange") == {"date_from": "-30d"} else "-30d"}
    return draft


def history(spec: dict[str, Any], final: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (before, after) states of an insight's updates, oldest first: one field changed at each."""
    undo: dict[str, Any] = {"name": f"{final['name']} (draft)", "description": None, "tags": []}
    undo |= {"dashboards": [], "favorited": False}
    usable = [field for field in undo if final.get(field)]
    updates = int(spec.get("updates", 1))
    plan = usable[:updates] + ["query"] * max(0, updates - len(usable))
    state, steps = final, []
    for field in reversed(plan):
        earlier = _draft(final["query"]) if state["query"] == final["query"] else final["query"]
        before = {**state, field: earlier if field == "query" else undo[field]}
        steps.append((before, state))
        state = before
    return steps[::-1]


def _insights(store: Store, now: datetime) -> None:
    dashboards = store.dashboards()
    for index, spec in enumerate(DEMO["insights"]):
        insight_id, team = FIRST_INSIGHT_ID + index, spec.get("team", 1)
        creator = spec.get("creator", 1)
        editor = spec.get("editor", creator)
        created = now - timedelta(days=spec.get("created", 60), hours=index % 9)
        modified = max(created, now - timedelta(days=spec.get("modified", 10), hours=index % 6))
        short_id = hashlib.sha256(f"short_id:{insight_id}".encode()).hexdigest()[:7]
        final = {
            "id": insight_id,
            "team_id": team,
            "short_id": "i" + short_id,
            "name": spec["name"],
            "derived_name": spec.get("derived_name"),
            "description": spec.get("description"),
            "query": spec["query"],
            "filters": {},
            "tags": sorted(spec.get("tags", [])),
            "favorited": spec.get("favorited", False),
            "saved": spec.get("saved", True),
            "deleted": False,
            "dashboards": spec.get("dashboards", []),
        }
        steps = history(spec, final)
        updated = bool(steps) or spec.get("deleted", False)
        row = {k: v for k, v in final.items() if k != "dashboards"}
        store.insert(
            "insights",
            {
                **row,
                "deleted": int(spec.get("deleted", False)),
                "created_at": iso(created),
                "created_by": creator,
                "last_modified_at": iso(modified),
                "last_modified_by": editor if updated else creator,
                "updated_at": iso(modified),
            },
        )
        if final["dashboards"] and not spec.get("deleted"):
            store.set_dashboards(insight_id, final["dashboards"])
        store.record_view(team, insight_id, creator, iso(created))
        first = steps[0][0] if steps else final
        entries: list[tuple[str, int, datetime, dict[str, Any], list[dict[str, Any]] | None]]
        entries = [("created", creator, created, first, None)]
        moments = len(steps) + (1 if spec.get("deleted") else 0)
        for number, (before, after) in enumerate(steps, start=1):
            found = changes(before, after) + dashboards_change(before["dashboards"], after["dashboards"], dashboards)
            at = created + (modified - created) * number / max(moments, 1)
            entries.append(("updated", editor if number == moments else creator, at, after, found))
        if spec.get("deleted"):
            found = [{"type": "Insight", "action": "changed", "field": "deleted", "before": False, "after": True}]
            entries.append(("deleted", editor, modified, {**final, "deleted": True}, found))
        for number, (activity, user, at, state, change_list) in enumerate(entries):
            entry_id = str(uuid.UUID(hashlib.sha256(f"activity:{insight_id}:{number}".encode()).hexdigest()[:32]))
            log_insight(store, state, activity, user, iso(at), change_list, entry_id=entry_id)
        for user_id, hours_ago in spec.get("views", []):
            store.record_view(team, insight_id, user_id, iso(max(modified, now - timedelta(hours=hours_ago))))
        if spec.get("cached", True) and not spec.get("deleted"):
            refreshed = max(modified + timedelta(minutes=5), now - timedelta(hours=1 + index % 30))
            payload = asdict(compute(spec["query"], refreshed))
            store.save_result(insight_id, query_hash(spec["query"]), payload, iso(refreshed))


def populate(store: Store, *, demo: bool = True, now: datetime | None = None) -> None:
    """Fill a new database: projects, users and dashboards always; insights and elements when `demo`."""
    moment = now or utc_now()
    with store.transaction():
        for project_id, project_uuid, name, token in DEMO["projects"]:
            created = iso(moment - timedelta(days=400))
            store.insert(
                "projects", dict(id=project_id, uuid=project_uuid, name=name, api_token=token, created_at=created)
            )
        for user_id, first, last, email, role in DEMO["users"]:
            digest = hashlib.sha256(email.encode()).hexdigest()
            store.insert(
                "users",
                dict(
                    id=user_id,
                    uuid=f"0190a000-0000-7000-8000-{digest[:12]}",
                    distinct_id=digest[12:44],
                    first_name=first,
                    last_name=last,
                    email=email,
                    role_at_organization=role,
                    date_joined=iso(moment - timedelta(days=400 - user_id * 20)),
                ),
            )
        for dashboard_id, team_id, name in DEMO["dashboards"]:
            store.add_dashboard(dashboard_id, team_id, name)
        if demo:
            _insights(store, moment)
            for chain in CHAINS:
                for element in chain["elements"]:
                    store.add_element(1, element)
        store.set_meta("demo", "1" if demo else "")
        store.set_meta("populated", iso(moment))
