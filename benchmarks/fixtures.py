"""The data every measurement uses, in the sandbox: a trends insight of 3 series over 30 days and a funnel."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.sandbox_process import Sandbox

TRENDS = {
    "name": "Signups, uploads and downloads",
    "description": "Daily counts of the three events of the core loop over the last 30 days.",
    "tags": ["growth"],
    "query": {
        "kind": "InsightVizNode",
        "source": {
            "kind": "TrendsQuery",
            "series": [
                {"kind": "EventsNode", "event": event, "name": event, "math": "total"}
                for event in ("signed_up", "uploaded_file", "downloaded_file")
            ],
            "interval": "day",
            "dateRange": {"date_from": "-30d"},
        },
    },
}


@dataclass(frozen=True)
class Fixtures:
    """Insight ids, and the request the server makes for an insight-get of the trends one."""

    trends: int
    trends_short_id: str
    funnel: int


def posthog(sandbox: Sandbox) -> httpx.AsyncClient:
    """A plain client of the sandbox's project API, with the legacy demo key."""
    return httpx.AsyncClient(
        base_url=f"{sandbox.url}/api/projects/{sandbox.project_id}/",
        headers={"Authorization": f"Bearer {sandbox.keys['legacy']}"},
        timeout=30,
    )


async def prepare(sandbox: Sandbox, raw: httpx.AsyncClient) -> Fixtures:
    """Save the trends insight, find the demo's first funnel, and compute both so that their results are cached."""
    created = (await raw.post("insights/", json=TRENDS)).raise_for_status().json()
    listed = (await raw.get("insights/", params={"limit": "100"})).raise_for_status().json()["results"]
    funnel = next(
        insight["id"]
        for insight in listed
        if (insight.get("query") or {}).get("source", {}).get("kind") == "FunnelsQuery"
    )
    for insight_id in (created["id"], funnel):
        (await raw.get(f"insights/{insight_id}/", params={"refresh": "blocking"})).raise_for_status()
    return Fixtures(created["id"], created["short_id"], funnel)


def request_to(sandbox: Sandbox, path: str) -> httpx.QueryParams:
    """The query of the last request PostHog (the sandbox) received for `path` under the project."""
    full = f"/api/projects/{sandbox.project_id}/{path}"
    for entry in reversed(sandbox.requests()):
        if entry["path"] == full:
            return httpx.QueryParams(entry["query"])
    raise RuntimeError(f"the server sent no request to {full}")


async def replay(sandbox: Sandbox, raw: httpx.AsyncClient, path: str) -> str:
    """PostHog's answer to the request the server last sent to `path`, fetched again directly."""
    response = await raw.get(path, params=request_to(sandbox, path))
    return response.raise_for_status().text
