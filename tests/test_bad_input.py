"""Bad input of any kind: a clear isError naming the field, and no request to PostHog."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_server.catalog import TOOLS
from tests.conftest import FakePostHog, connect, error_text

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": []}

# A call each tool accepts, to which the cases below add one mistake.
VALID: dict[str, dict[str, Any]] = {
    "insights-list": {},
    "insight-get": {"id": 1},
    "insight-create": {"query": TRENDS},
    "insight-update": {"id": 1, "name": "Renamed"},
    "insight-delete": {"id": 1},
    "insights-activity-retrieve": {"id": 1},
    "insights-my-last-viewed": {},
    "insights-mark-viewed": {"insight_ids": [1]},
    "insight-generate-metadata": {"query": TRENDS},
    "insight-query-cancel": {"client_query_id": "abc"},
    "elements-list": {},
    "element-get": {"id": 1},
    "element-create": {},
    "element-update": {"id": 1, "text": "Buy"},
    "element-delete": {"id": 1},
    "elements-stats-retrieve": {},
    "elements-values-list": {"key": "text"},
}

CASES: list[tuple[str, dict[str, Any], str]] = [
    (tool.name, {**VALID[tool.name], "bogus_field": 1}, "unknown argument 'bogus_field'") for tool in TOOLS
]
for _tool in TOOLS:
    if "id" in VALID[_tool.name]:
        CASES += [
            (_tool.name, {**VALID[_tool.name], "id": "../../users/@me"}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": 0}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": -3}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": True}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": 1.5}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": "Ab12%2F.."}, "id:"),
        ]
CASES += [
    ("insight-get", {}, "id: required"),
    ("insight-get", {"id": 1, "refresh": "now"}, "refresh:"),
    ("insights-list", {"limit": 501}, "limit: Input should be less than or equal to 500"),
    ("insights-list", {"limit": 0}, "limit:"),
    ("insights-list", {"limit": "many"}, "limit:"),
    ("insights-list", {"insight": "PIE"}, "insight:"),
    ("insights-list", {"tags": "growth"}, "tags:"),
    ("insights-list", {"created_by": ["me"]}, "created_by.0:"),
    ("insights-list", {"date_from": "last tuesday"}, "date_from: must be a date"),
    ("insights-list", {"short_id": "abc"}, "short_id:"),
    ("insights-list", {"order": "random()"}, "order:"),
    ("insights-list", {"favorited": False}, "favorited: only true is a filter here"),
    ("insights-list", {"user": False}, "user: only true is a filter here"),
    ("insights-activity-retrieve", {"id": 1, "limit": 101}, "limit: Input should be less than or equal to 100"),
    ("elements-list", {"limit": 1001}, "limit: Input should be less than or equal to 1000"),
    ("elements-stats-retrieve", {"limit": 5000}, "limit: Input should be less than or equal to 1000"),
    ("elements-stats-retrieve", {"include": ["$pageview"]}, "include.0:"),
    ("elements-stats-retrieve", {"sampling_factor": 0}, "sampling_factor:"),
    ("elements-stats-retrieve", {"sampling_factor": 1.5}, "sampling_factor:"),
    ("elements-values-list", {}, "key: required"),
    ("elements-values-list", {"key": "selector"}, "key:"),
    ("insight-create", {}, "query: required"),
    ("insight-create", {"query": "show me pageviews"}, "query: must be a query object"),
    (
        "insight-create",
        {"query": {"kind": "MagicQuery"}},
        "PostHog does not accept query kind 'MagicQuery' here; accepted kinds: InsightVizNode",
    ),
    ("insight-create", {"query": {"kind": "InsightVizNode"}}, "needs `source`"),
    ("insight-create", {"query": {"kind": "InsightVizNode", "source": {"kind": "HogQLQuery"}}}, "needs `source`"),
    ("insight-create", {"query": {"kind": "HogQLQuery"}}, "needs `query`, the SQL text"),
    ("insight-create", {"query": TRENDS, "name": "x" * 401}, "name:"),
    ("insight-create", {"query": TRENDS, "dashboards": [0]}, "dashboards.0:"),
    ("insight-update", {"id": 1, "query": {"kind": "EventsQuery"}}, "does not accept query kind"),
    ("insight-generate-metadata", {"query": {"kind": "HogQLQuery", "query": "select 1"}}, "does not accept query kind"),
    ("insights-mark-viewed", {"insight_ids": []}, "insight_ids:"),
    ("insights-mark-viewed", {"insight_ids": list(range(1, 2502))}, "insight_ids:"),
    (
        "insights-mark-viewed",
        {"insight_ids": ["Ab000012"]},
        "insight_ids.0: must be a positive integer id (an insight's numeric id field, as insights-list",
    ),
    ("insight-query-cancel", {"client_query_id": "../x"}, "client_query_id:"),
    ("insight-query-cancel", {}, "client_query_id: required"),
    ("element-create", {"nth_child": -1}, "nth_child:"),
    ("insight-update", {"id": 1}, "nothing to change"),
    ("element-update", {"id": 1}, "nothing to change"),
    ("insights-activity-retrieve", {"id": "Ab0"}, "id: must be a numeric insight id"),
    ("element-create", {"attributes": {"a": {"nested": 1}}}, "attributes.a:"),
    ("element-update", {"id": 1, "attr_class": "btn"}, "attr_class:"),
    ("elements-list", {"cursor": 12}, "cursor:"),
]


@pytest.mark.parametrize(("tool", "arguments", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_bad_arguments_are_refused_naming_the_field_and_nothing_is_sent(
    tool: str, arguments: dict[str, Any], expected: str
) -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        text = error_text(await client.call_tool(tool, arguments))
    assert text.startswith(f"Invalid arguments for {tool}: ")
    assert expected in text
    assert "Nothing was sent to PostHog" in text
    assert fake.requests == []


@pytest.mark.parametrize("tool", [tool.name for tool in TOOLS])
async def test_every_tool_accepts_its_minimal_valid_call_shape(tool: str) -> None:
    from mcp_server.catalog import BY_NAME

    BY_NAME[tool].arguments.model_validate(VALID[tool])


async def test_arguments_that_are_not_an_object_are_refused(mode: str) -> None:
    from mcp_server.catalog import BY_NAME
    from mcp_server.dispatch import validate
    from mcp_server.errors import ToolError

    with pytest.raises(ToolError, match="must be a JSON object"):
        validate(BY_NAME["insights-list"], ["not", "an", "object"])
