"""What the tools do because of how PostHog behaves; each test names the PostHog source file it follows."""

from __future__ import annotations

import pytest

from mcp_server.arguments import ElementFields
from mcp_server.catalog import BY_NAME, TOOLS
from tests.conftest import PREFIX, FakePostHog, connect, error_text, payload
from tests.posthog_json import ELEMENT_SERIALIZER_FIELDS, activity, element, insight

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}


async def test_a_description_over_400_characters_is_refused_before_posthog_sees_it() -> None:
    """products/product_analytics/backend/models/insight.py: Insight.description is CharField(max_length=400)."""
    fake = FakePostHog(scopes=["insight:write"]).on("POST", "insights/", insight(5))
    for tool in ("insight-create", "insight-update"):
        assert BY_NAME[tool].input_schema["properties"]["description"]["maxLength"] == 400
    async with connect(fake) as client:
        refused = error_text(await client.call_tool("insight-create", {"query": TRENDS, "description": "x" * 401}))
        payload(await client.call_tool("insight-create", {"query": TRENDS, "description": "x" * 400}))
    assert "description: String should have at most 400 characters" in refused
    assert [r.body["description"] for r in fake.tool_requests()] == ["x" * 400]


async def test_a_query_kind_posthogs_mcp_serializer_will_not_save_is_refused_listing_the_kinds_it_saves() -> None:
    """products/product_analytics/backend/api/insight.py, MCPInsightSerializer.validate_query: a HogQLQuery, a
    DataVisualizationNode, an InsightVizNode or a bare insight query; anything else "This query can't be saved"."""
    fake = FakePostHog()
    table = {"kind": "DataTableNode", "source": {"kind": "HogQLQuery", "query": "select 1"}}
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insight-create", {"query": table}))
    assert "PostHog does not accept query kind 'DataTableNode' here; accepted kinds: InsightVizNode, " in message
    assert "DataVisualizationNode, TrendsQuery," in message
    assert "HogQLQuery" in message
    assert (
        "DataTableNode"
        not in BY_NAME["insight-create"].input_schema["properties"]["query"]["properties"]["kind"]["enum"]
    )
    assert fake.requests == []


async def test_insight_activity_sends_a_short_id_as_it_is() -> None:
    """products/product_analytics/backend/api/insight.py: `activity` calls self.get_object(), which (posthog/api/
    routing.py) goes through InsightViewSet.safely_get_object, resolving a short_id, then filters by item.id."""
    fake = FakePostHog().on(
        "GET", "insights/Ab000012/activity/", {"results": [activity(1)], "next": None, "total_count": 1}
    )
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-activity-retrieve", {"id": "Ab000012"}))
    assert [r.route for r in fake.tool_requests()] == [f"GET {PREFIX}insights/Ab000012/activity/"]
    assert len(result["results"]) == 1


async def test_mark_viewed_refuses_a_short_id_saying_where_numeric_ids_come_from() -> None:
    """products/product_analytics/backend/api/insight.py, `viewed`: Insight.objects.filter(id__in=insight_ids)."""
    fake = FakePostHog()
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insights-mark-viewed", {"insight_ids": [12, "Ab000012"]}))
    assert "insight_ids.1: must be a positive integer id (an insight's numeric id field, as insights-list" in message
    assert fake.requests == []


async def test_an_element_as_posthog_serializes_it_comes_back_without_an_id() -> None:
    """posthog/api/element.py: ElementSerializer returns no `id`, in list, retrieve and create answers alike."""
    as_posthog_sends = {k: v for k, v in element(1).items() if k in ELEMENT_SERIALIZER_FIELDS}
    fake = FakePostHog().on("GET", "elements/", {"count": 1, "next": None, "results": [as_posthog_sends]})
    fake.on("POST", "elements/", as_posthog_sends)
    async with connect(fake) as client:
        listed = payload(await client.call_tool("elements-list", {}))
        created = payload(await client.call_tool("element-create", {"tag_name": "button", "text": "Sign up 1"}))
    assert "id" not in listed["results"][0]
    assert "id" not in created
    assert created["text"] == "Sign up 1"


def test_element_create_takes_exactly_the_fields_posthogs_serializer_writes() -> None:
    """posthog/api/element.py: ElementSerializer.Meta.fields."""
    assert list(ElementFields.model_fields) == ELEMENT_SERIALIZER_FIELDS


def test_no_element_tool_description_promises_an_id_posthog_does_not_return() -> None:
    """posthog/api/element.py: no `id` in any answer; the queryset is the legacy table scoped by group__team_id, and
    perform_create sets no group, so a created element never appears in the project's list."""
    for tool in TOOLS:
        if tool.toolset == "elements-legacy":
            assert "legacy element table" in tool.description, tool.name
    assert "no id" in BY_NAME["elements-list"].description
    assert "never appears in elements-list" in BY_NAME["element-create"].description
    assert "without an id" in BY_NAME["element-create"].description
    for name in ("element-get", "element-update", "element-delete"):
        assert "PostHog's API never returns element ids" in BY_NAME[name].description


async def test_an_empty_values_answer_for_a_value_says_matching_is_case_sensitive() -> None:
    """posthog/api/element.py, `values`: the value filters through match(), a case-sensitive regular expression."""
    fake = FakePostHog().on("GET", "elements/values/", [], [], [{"name": "Sign up"}])
    async with connect(fake) as client:
        empty_for_value = payload(await client.call_tool("elements-values-list", {"key": "text", "value": "sign"}))
        empty_without = payload(await client.call_tool("elements-values-list", {"key": "text"}))
        found = payload(await client.call_tool("elements-values-list", {"key": "text", "value": "Sign"}))
    assert "Matching is case-sensitive" in empty_for_value["note"]
    assert empty_for_value["results"] == []
    assert "note" not in empty_without
    assert "note" not in found
