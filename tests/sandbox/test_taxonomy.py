"""Event and property definitions and dashboards, as PostHog lists them.

PostHog facts pinned here: event definitions are searched term by term in the name, ordered by the day last
seen (newest first) then by name, and with a search by shortest name first (posthog/api/event_definition.py);
property definitions are of one `type` (event by default), `event_names` is a JSON list allowed only with
type=event, and `filter_by_event_names` keeps only properties seen with those events, which come first
(posthog/api/property_definition.py); dashboards list pinned first, then by name, with DashboardBasicSerializer's
fields and no name search (posthog/api/dashboards/dashboard.py); each needs its own `:read` scope.
"""

from __future__ import annotations

import json

import pytest

from mcp_server.sandbox.results import PER_DAY
from tests.sandbox.conftest import PROJECT, Api

pytestmark = pytest.mark.anyio


async def test_event_definitions_are_newest_seen_first_then_by_name(api: Api) -> None:
    response = await api().get(PROJECT + "event_definitions/", params={"limit": 100})
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    days = [item["last_seen_at"][:10] for item in page["results"]]
    assert days == sorted(days, reverse=True)
    same_day = [item["name"] for item in page["results"] if item["last_seen_at"][:10] == days[0]]
    assert same_day == sorted(same_day)
    assert page["results"][-1]["name"] == "signed_up_v1"


async def test_an_event_search_matches_every_term_and_puts_short_names_first(api: Api) -> None:
    response = await api().get(PROJECT + "event_definitions/", params={"search": "SIGN up"})
    assert [item["name"] for item in response.json()["results"]] == ["signed_up", "signed_up_v1"]


async def test_event_definitions_page_by_limit_and_offset(api: Api) -> None:
    first = (await api().get(PROJECT + "event_definitions/", params={"limit": 5})).json()
    second = (await api().get(first["next"])).json()
    assert first["count"] == second["count"] == 18
    assert not {item["name"] for item in first["results"]} & {item["name"] for item in second["results"]}


async def test_event_properties_seen_with_events_are_kept_when_filtered(api: Api) -> None:
    params = {"event_names": json.dumps(["upload_failed"]), "filter_by_event_names": "true"}
    response = await api().get(PROJECT + "property_definitions/", params=params)
    results = response.json()["results"]
    assert [item["name"] for item in results] == ["error_code", "file_size_bytes"]
    assert all(item["is_seen_on_filtered_events"] is True for item in results)


async def test_event_names_alone_only_mark_the_properties_seen_and_put_them_first(api: Api) -> None:
    params = {"event_names": json.dumps(["upload_failed"]), "limit": 100}
    results = (await api().get(PROJECT + "property_definitions/", params=params)).json()["results"]
    assert [item["is_seen_on_filtered_events"] for item in results[:3]] == [True, True, False]
    assert len(results) > 2


async def test_person_properties_are_their_own_type(api: Api) -> None:
    response = await api().get(PROJECT + "property_definitions/", params={"type": "person", "search": "mail"})
    assert [(item["name"], item["property_type"]) for item in response.json()["results"]] == [("email", "String")]


async def test_event_names_with_another_type_are_a_400(api: Api) -> None:
    params = {"type": "person", "event_names": json.dumps(["signed_up"])}
    response = await api().get(PROJECT + "property_definitions/", params=params)
    assert response.status_code == 400
    assert response.json()["detail"] == "`event_names` can only be set for `event` type"


async def test_dashboards_are_pinned_first_then_by_name(api: Api) -> None:
    results = (await api().get(PROJECT + "dashboards/")).json()["results"]
    assert [(item["name"], item["pinned"]) for item in results] == [
        ("File sharing health", True),
        ("Product KPIs", True),
        ("Activation review", False),
        ("Growth & acquisition", False),
        ("Weekly review", False),
    ]


async def test_each_list_needs_its_read_scope(api: Api) -> None:
    for path in ("event_definitions/", "property_definitions/", "dashboards/"):
        response = await api("insight_only").get(PROJECT + path)
        assert response.status_code == 403, path
        assert "missing required scope" in response.json()["detail"]


async def test_every_dashboard_an_insight_is_on_is_listed_with_its_name(api: Api) -> None:
    """An insight's `dashboards` are ids of its project's dashboards (InsightSerializer, in
    products/product_analytics/backend/api/insight.py), which dashboards/ lists by id and name
    (posthog/api/dashboards/dashboard.py): the demo's insights sit on named dashboards."""
    insights = (await api().get(PROJECT + "insights/", params={"limit": 200})).json()["results"]
    listed = {item["id"]: item["name"] for item in (await api().get(PROJECT + "dashboards/")).json()["results"]}
    on = {number for item in insights for number in item["dashboards"]}
    assert on and on <= set(listed)
    assert all(listed[number] for number in on)


async def test_every_event_the_demo_counts_has_a_definition(api: Api) -> None:
    """PostHog defines each event name it ingests (posthog/api/event_definition.py lists them), so an event that
    counts anything in the demo's results is listed, and one that is not listed counts zero."""
    page = (await api().get(PROJECT + "event_definitions/", params={"limit": 500})).json()
    defined = {item["name"] for item in page["results"]}
    assert page["count"] == len(page["results"])
    query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": name} for name in sorted(PER_DAY)]}
    response = await api().post(PROJECT + "query/", json={"query": query})
    counted = {series["action"]["id"] for series in response.json()["results"] if series["count"]}
    assert counted == set(PER_DAY) and counted <= defined
