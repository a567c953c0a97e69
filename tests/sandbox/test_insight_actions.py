"""Insight actions: activity pages and entries, my_last_viewed, viewed, cancel, generate_metadata."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_server.sandbox.state import Sandbox
from tests.sandbox.conftest import BASE, PROJECT, Api

pytestmark = pytest.mark.anyio

ACTIVITY_OF_101 = 15
SERVER_ERROR = {"type": "server_error", "code": "error", "detail": "A server error occurred.", "attr": None}
VIZ = {
    "kind": "InsightVizNode",
    "source": {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "$pageview", "math": "total"}],
        "interval": "day",
        "dateRange": {"date_from": "-14d"},
    },
}


async def test_activity_is_page_numbered_with_total_count_and_absolute_links(api: Api) -> None:
    first = (await api().get(PROJECT + "insights/101/activity/")).json()
    assert list(first) == ["results", "next", "previous", "total_count"]
    assert first["total_count"] == ACTIVITY_OF_101
    assert len(first["results"]) == 10
    assert first["next"] == f"{BASE}{PROJECT}insights/101/activity/?page=2&limit=10"
    assert first["previous"] is None
    second = (await api().get(first["next"])).json()
    assert len(second["results"]) == ACTIVITY_OF_101 - 10
    assert second["next"] is None
    assert second["previous"] == f"{BASE}{PROJECT}insights/101/activity/?page=1&limit=10"


async def test_activity_links_replace_page_and_limit_where_they_stand(api: Api) -> None:
    body = (await api().get(PROJECT + "insights/101/activity/?limit=4&page=2")).json()
    assert body["next"] == f"{BASE}{PROJECT}insights/101/activity/?limit=4&page=3"
    assert body["previous"] == f"{BASE}{PROJECT}insights/101/activity/?limit=4&page=1"


async def test_activity_is_newest_first_and_starts_with_the_creation(api: Api) -> None:
    entries = (await api().get(PROJECT + "insights/101/activity/?limit=100")).json()["results"]
    stamps = [entry["created_at"] for entry in entries]
    assert stamps == sorted(stamps, reverse=True)
    assert entries[-1]["activity"] == "created"
    assert entries[-1]["detail"]["changes"] is None


async def test_activity_entries_have_posthog_fields_and_field_level_changes(api: Api) -> None:
    entry = (await api().get(PROJECT + "insights/101/activity/?limit=1")).json()["results"][0]
    assert list(entry) == [
        "id",
        "user",
        "activity",
        "scope",
        "item_id",
        "detail",
        "created_at",
        "is_system",
        "was_impersonated",
        "client",
    ]
    assert entry["user"] == {"first_name": "Dev", "email": "dev@hedgebox.example"}
    assert (entry["activity"], entry["scope"], entry["item_id"]) == ("updated", "Insight", "101")
    detail = entry["detail"]
    assert list(detail) == ["id", "changes", "merge", "trigger", "name", "short_id", "type"]
    assert detail["name"] == "Weekly active users"
    change = detail["changes"][0]
    assert set(change) == {"type", "action", "field", "before", "after"}
    assert change["type"] == "Insight"


async def test_writes_are_logged_with_their_changes_and_client(api: Api) -> None:
    mcp = api(**{"X-PostHog-Client": "mcp"})
    created = (await mcp.post(PROJECT + "insights/", json={"name": "Logged", "query": VIZ})).json()
    await mcp.patch(f"{PROJECT}insights/{created['id']}/", json={"name": "Logged again", "description": "Why"})
    await api().patch(f"{PROJECT}insights/{created['id']}/", json={"deleted": True})
    await api().patch(f"{PROJECT}insights/{created['id']}/", json={"deleted": False})
    entries = (await api().get(f"{PROJECT}insights/{created['id']}/activity/")).json()["results"]
    assert [e["activity"] for e in entries] == ["restored", "deleted", "updated", "created"]
    assert [e["client"] for e in entries] == [None, None, "mcp", "mcp"]
    changes = {c["field"]: c for c in entries[2]["detail"]["changes"]}
    assert changes["name"] == {
        "type": "Insight",
        "action": "changed",
        "field": "name",
        "before": "Logged",
        "after": "Logged again",
    }
    assert changes["description"]["action"] == "created"
    assert changes["saved"] == {
        "type": "Insight",
        "action": "changed",
        "field": "saved",
        "before": False,
        "after": True,
    }
    assert {"field": "deleted", "before": False, "after": True}.items() <= entries[1]["detail"]["changes"][0].items()


async def test_a_dashboard_change_is_logged_with_dashboard_names(api: Api) -> None:
    await api().patch(PROJECT + "insights/105/", json={"dashboards": [5, 1]})
    change = (await api().get(PROJECT + "insights/105/activity/?limit=1")).json()["results"][0]["detail"]["changes"]
    assert change[-1]["field"] == "dashboards"
    assert change[-1]["before"] == [{"id": 5, "name": "File sharing health"}]
    assert change[-1]["after"] == [{"id": 1, "name": "Product KPIs"}, {"id": 5, "name": "File sharing health"}]


async def test_an_update_that_changes_nothing_is_not_logged(api: Api) -> None:
    await api().patch(PROJECT + "insights/101/", json={"name": "Weekly active users"})
    assert (await api().get(PROJECT + "insights/101/activity/")).json()["total_count"] == ACTIVITY_OF_101


async def test_activity_takes_the_short_id_too(api: Api) -> None:
    short_id = (await api().get(PROJECT + "insights/101/")).json()["short_id"]
    body = (await api().get(f"{PROJECT}insights/{short_id}/activity/")).json()
    assert body["total_count"] == ACTIVITY_OF_101


async def test_activity_of_an_unknown_insight_is_404(api: Api) -> None:
    assert (await api().get(PROJECT + "insights/99999/activity/")).status_code == 404


@pytest.mark.parametrize("params", ["limit=ten", "page=two", "page=0"])
async def test_a_bad_activity_page_or_limit_is_a_500_as_in_posthog(api: Api, params: str) -> None:
    response = await api().get(f"{PROJECT}insights/101/activity/?{params}")
    assert response.status_code == 500
    assert response.json() == SERVER_ERROR


async def test_project_wide_activity_covers_every_insight(api: Api) -> None:
    body = (await api().get(PROJECT + "insights/activity/?limit=50")).json()
    assert body["total_count"] > ACTIVITY_OF_101
    assert len({entry["item_id"] for entry in body["results"]}) > 5


async def test_my_last_viewed_is_a_bare_list_of_five_basic_insights_newest_first(api: Api) -> None:
    items = (await api().get(PROJECT + "insights/my_last_viewed/")).json()
    assert isinstance(items, list) and len(items) == 5
    stamps = [item["last_viewed_at"] for item in items]
    assert stamps == sorted(stamps, reverse=True)
    assert "result" not in items[0] and "refreshing" in items[0]


async def test_viewed_records_views_for_the_key_owner(api: Api) -> None:
    response = await api().post(PROJECT + "insights/viewed/", json={"insight_ids": [114, 115]})
    assert (response.status_code, response.content) == (201, b"")
    viewed = [item["id"] for item in (await api().get(PROJECT + "insights/my_last_viewed/")).json()]
    assert set(viewed[:2]) == {114, 115}


async def test_viewed_silently_drops_deleted_and_foreign_insights(api: Api) -> None:
    response = await api().post(PROJECT + "insights/viewed/", json={"insight_ids": [137, 138, 99999]})
    viewed = [item["id"] for item in (await api().get(PROJECT + "insights/my_last_viewed/")).json()]
    assert response.status_code == 201
    assert not {137, 138, 99999} & set(viewed)


@pytest.mark.parametrize(
    ("body", "attr", "detail", "code"),
    [
        ({}, "insight_ids", "This field is required.", "required"),
        ({"insight_ids": []}, "insight_ids", "This list may not be empty.", "empty"),
        (
            {"insight_ids": list(range(2501))},
            "insight_ids",
            "Ensure this field has no more than 2500 elements.",
            "max_length",
        ),
        ({"insight_ids": ["abc"]}, "insight_ids__0", "A valid integer is required.", "invalid_input"),
        ({"insight_ids": 5}, "insight_ids", 'Expected a list of items but got type "int".', "not_a_list"),
    ],
)
async def test_viewed_validates_like_drf(api: Api, body: dict[str, Any], attr: str, detail: str, code: str) -> None:
    response = await api().post(PROJECT + "insights/viewed/", json=body)
    assert response.status_code == 400
    assert response.json() == {"type": "validation_error", "code": code, "detail": detail, "attr": attr}


async def test_cancel_needs_a_client_query_id(api: Api) -> None:
    response = await api().post(PROJECT + "insights/cancel/", json={})
    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "Field is required.",
        "attr": "client_query_id",
    }


async def test_cancel_of_an_unknown_query_still_answers_201_empty(api: Api) -> None:
    response = await api().post(PROJECT + "insights/cancel/", json={"client_query_id": "never-started"})
    assert (response.status_code, response.content) == (201, b"")


async def test_generate_metadata_names_and_describes_the_query(api: Api) -> None:
    response = await api().post(PROJECT + "insights/generate_metadata/", json={"query": VIZ})
    assert response.status_code == 200
    assert response.json() == {
        "name": "Trends: $pageview, last 14 days",
        "description": "Trends of $pageview over the last 14 days.",
    }


async def test_generate_metadata_is_deterministic(api: Api) -> None:
    funnel = {
        "kind": "InsightVizNode",
        "source": {
            "kind": "FunnelsQuery",
            "series": [{"kind": "EventsNode", "event": "signed_up"}, {"kind": "EventsNode", "event": "uploaded_file"}],
        },
    }
    first = (await api().post(PROJECT + "insights/generate_metadata/", json={"query": funnel})).json()
    second = (await api().post(PROJECT + "insights/generate_metadata/", json={"query": funnel})).json()
    assert first == second
    assert first["name"] == "Funnels: signed_up → uploaded_file, last 7 days"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "Missing 'query' field in request body"),
        ({"query": VIZ["source"]}, "Invalid query format"),
        ({"query": {"kind": "InsightVizNode", "source": {"kind": "Nope"}}}, "Invalid query format"),
    ],
)
async def test_generate_metadata_refuses_a_missing_or_invalid_query(
    api: Api, body: dict[str, Any], detail: str
) -> None:
    response = await api().post(PROJECT + "insights/generate_metadata/", json=body)
    assert response.status_code == 400
    assert response.json() == {"type": "validation_error", "code": "invalid_input", "detail": detail, "attr": None}


async def test_generate_metadata_accepts_events_queries(api: Api) -> None:
    query = {"kind": "EventsQuery", "select": ["*", "event", "timestamp"]}
    response = await api().post(PROJECT + "insights/generate_metadata/", json={"query": query})
    assert response.json()["name"] == "Events: list, last 7 days"


async def test_generate_metadata_refuses_an_events_query_without_select(api: Api) -> None:
    response = await api().post(PROJECT + "insights/generate_metadata/", json={"query": {"kind": "EventsQuery"}})
    assert (response.status_code, response.json()["detail"]) == (400, "Invalid query format")


async def test_generate_metadata_is_403_until_ai_processing_is_approved(api: Api, sandbox: Sandbox) -> None:
    sandbox.ai_approved = False
    response = await api().post(PROJECT + "insights/generate_metadata/", json={"query": VIZ})
    assert response.status_code == 403
    assert response.json()["detail"] == "AI data processing must be approved by your organization"
