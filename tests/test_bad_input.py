"""Bad input of any kind: a clear isError naming the field, and no request to PostHog."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mcp_server.catalog import TOOLS
from tests.conftest import FakePostHog, connect, error_text

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": []}
MAX_ID = 2**63 - 1  # PostHog's ids are 64-bit signed integers

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
    "query-run": {"query": TRENDS},
    "query-get": {"client_query_id": "abc"},
    "event-definitions-list": {},
    "property-definitions-list": {},
    "dashboards-list": {},
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
            (_tool.name, {**VALID[_tool.name], "id": "12345\n"}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": "Ab12Cd34\n"}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": MAX_ID + 1}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": str(MAX_ID + 1)}, "id:"),
            (_tool.name, {**VALID[_tool.name], "id": 10**30}, "id:"),
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
    ("query-run", {}, "query: required"),
    ("query-run", {"query": TRENDS, "refresh": "force_cache"}, "refresh:"),
    ("query-run", {"query": {"kind": "HogQLQuery", "query": " "}}, "needs `query`, the SQL text"),
    ("query-get", {"client_query_id": "../../insights"}, "client_query_id:"),
    ("event-definitions-list", {"limit": 501}, "limit: Input should be less than or equal to 500"),
    ("event-definitions-list", {"search": "sign\x00up"}, "search: contains the control character U+0000"),
    ("property-definitions-list", {"type": "group"}, "type:"),
    ("property-definitions-list", {"event_names": []}, "event_names:"),
    ("property-definitions-list", {"event_names": ["a\nb"]}, "event_names.0: contains the control character"),
    ("dashboards-list", {"cursor": 12}, "cursor:"),
    ("element-create", {"nth_child": -1}, "nth_child:"),
    ("insight-update", {"id": 1}, "nothing to change"),
    ("element-update", {"id": 1}, "nothing to change"),
    ("insights-activity-retrieve", {"id": "Ab0"}, "id: must be a numeric insight id"),
    ("element-create", {"attributes": {"a": {"nested": 1}}}, "attributes.a:"),
    ("element-update", {"id": 1, "attr_class": "btn"}, "attr_class:"),
    ("elements-list", {"cursor": 12}, "cursor:"),
    # pydantic-core's regex engine reads `$` as the end of the text, so a trailing newline is refused too.
    ("insights-list", {"short_id": "Ab12Cd34\n"}, "short_id:"),
    ("insight-query-cancel", {"client_query_id": "abc\n"}, "client_query_id:"),
    ("insight-get", {"id": 1, "client_query_id": "abc\n"}, "client_query_id:"),
    ("insights-list", {"date_from": "2024-01-01\n"}, "date_from: must be a date"),
    ("insights-list", {"date_to": "-7d\n"}, "date_to: must be a date"),
    ("insights-list", {"created_by": [MAX_ID + 1]}, "created_by.0:"),
    ("insights-list", {"dashboards": [10**30]}, "dashboards.0:"),
    ("insight-create", {"query": TRENDS, "dashboards": [MAX_ID + 1]}, "dashboards.0:"),
    ("insight-update", {"id": 1, "dashboards": [MAX_ID + 1]}, "dashboards.0:"),
    ("insights-mark-viewed", {"insight_ids": [1, MAX_ID + 1]}, "insight_ids.1:"),
    ("insights-list", {"search": "sign\x00up"}, "search: contains the control character U+0000"),
    ("insights-list", {"search": "sign\nup"}, "search: contains the control character U+000A"),
    ("insights-list", {"tags": ["growth\x00"]}, "tags.0: contains the control character U+0000"),
    ("elements-values-list", {"key": "text", "value": "Buy\x00"}, "value: contains the control character U+0000"),
    ("insight-create", {"query": TRENDS, "name": "Signups\x1b[2J"}, "name: contains the control character U+001B"),
    ("insight-update", {"id": 1, "description": "two\x00lines"}, "description: contains the control character"),
    ("insight-update", {"id": 1, "tags": ["a\x07"]}, "tags.0: contains the control character U+0007"),
    ("element-create", {"text": "Buy\x00"}, "text: contains the control character U+0000"),
    ("element-create", {"tag_name": "a\x00"}, "tag_name: contains the control character"),
    ("element-create", {"href": "/x\r\nSet-Cookie: a=b"}, "href: contains the control character U+000D"),
    ("element-create", {"attr_id": "x\x00"}, "attr_id: contains the control character"),
    ("element-create", {"attr_class": ["btn\x00"]}, "attr_class.0: contains the control character"),
    ("element-create", {"attributes": {"attr__x": "y\x00"}}, "attributes.attr__x: contains the control character"),
    ("element-create", {"attributes": {"attr__x\x00": "y"}}, "contains the control character"),
    # Limits the schema leaves out (guard-only) are enforced all the same.
    ("insights-list", {"search": "x" * 201}, "search:"),
    ("insights-list", {"tags": [""]}, "tags.0:"),
    ("insight-update", {"id": 1, "tags": ["t"] * 51}, "tags:"),
    ("insight-create", {"query": TRENDS, "dashboards": list(range(1, 102))}, "dashboards:"),
    ("query-get", {"client_query_id": "x" * 65}, "client_query_id:"),
    ("elements-stats-retrieve", {"properties": [{}] * 21}, "properties:"),
    ("elements-stats-retrieve", {"include": []}, "include:"),
    ("query-run", {"query": TRENDS, "client_query_id": "a b"}, "client_query_id:"),
    ("dashboards-list", {"limit": 0}, "limit:"),
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


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("insight-get", {"id": MAX_ID}),
        ("insight-get", {"id": str(MAX_ID)}),
        ("element-get", {"id": MAX_ID}),
        ("insights-list", {"created_by": [MAX_ID], "dashboards": [MAX_ID]}),
        ("insights-mark-viewed", {"insight_ids": [MAX_ID]}),
    ],
)
async def test_the_largest_64_bit_id_is_sent(tool: str, arguments: dict[str, Any]) -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        await client.call_tool(tool, arguments)
    sent = fake.tool_requests()[0]
    assert str(MAX_ID) in sent.path + str(sent.params) + str(sent.body)


async def test_multi_line_text_keeps_its_line_breaks_and_tabs() -> None:
    description = "First line\n\tSecond line\r\nThird"
    fake = FakePostHog().on("PATCH", "insights/1/", {"id": 1, "description": description})
    async with connect(fake) as client:
        await client.call_tool("insight-update", {"id": 1, "description": description})
        await client.call_tool("element-create", {"text": "Buy\nnow"})
    assert fake.tool_requests()[0].body == {"description": description}
    assert fake.tool_requests()[1].body == {"text": "Buy\nnow"}


def test_every_id_is_an_integer_in_the_schema_and_bounded_to_posthogs_64_bit_range_by_validation() -> None:
    # The schema leaves the bounds out (they cost tokens on every id and tell a model nothing); validation keeps them.
    bounded = 0
    for tool in TOOLS:
        for name, field_schema in tool.input_schema["properties"].items():
            if name not in ("id", "created_by", "dashboards", "insight_ids"):
                continue
            options = [field_schema, *field_schema.get("anyOf", []), field_schema.get("items", {})]
            assert [option["type"] for option in options if option.get("type") == "integer"] == ["integer"]
            listed = field_schema.get("type") == "array"
            for bad in (0, MAX_ID + 1):
                with pytest.raises(ValidationError):
                    tool.arguments.model_validate({**VALID[tool.name], name: [bad] if listed else bad})
            tool.arguments.model_validate({**VALID[tool.name], name: [MAX_ID] if listed else MAX_ID})
            bounded += 1
    assert bounded == 12


async def test_a_huge_unknown_argument_name_is_echoed_only_in_part() -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insights-list", {"x" * 1_000_000: 1}))
    assert "unknown argument 'xxxx" in text
    assert len(text) < 1000
    assert fake.requests == []


async def test_many_unknown_arguments_are_listed_ten_at_most() -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insights-list", {f"bogus{n}": 1 for n in range(1000)}))
    assert text.count("unknown argument") == 10
    assert "; and 990 more. Nothing was sent to PostHog." in text
    assert fake.requests == []


@pytest.mark.parametrize(
    ("tool", "arguments", "meant"),
    [
        ("insights-list", {"limt": 5}, "limit"),
        ("insights-list", {"serach": "signup"}, "search"),
        ("elements-values-list", {"key": "text", "values": "Sign"}, "value"),
    ],
)
async def test_a_misspelt_argument_name_gets_did_you_mean(tool: str, arguments: dict[str, Any], meant: str) -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        text = error_text(await client.call_tool(tool, arguments))
    assert f"(did you mean {meant!r}? accepted: " in text
    assert fake.requests == []
