"""Property-based fuzzing of every tool through a real in-memory MCP client.

Arguments come from each tool's JSON schema, then some are replaced by hostile values: arbitrary JSON,
unicode with lone surrogates, NUL and right-to-left marks, huge numbers, deep nesting, and traversal
strings in ids and cursors. Whatever the arguments, the call ends in a result or an isError result (never a
protocol error), what the tool refuses sends nothing to PostHog, and an accepted id keeps the request under
the project's path.

FUZZ_PROFILE=ci (the default) is bounded and deterministic for CI; `scripts/fuzz --examples N` runs longer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mcp import Client
from pydantic import ValidationError

from mcp_server.catalog import TOOLS, Tool
from tests.conftest import KEY, PREFIX, FakePostHog, connect, error_text

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("FUZZ_PROFILE", "ci"))

INSIGHT = {"id": 1, "short_id": "AbCdEf12", "name": "Weekly signups"}
ELEMENT = {"id": 7, "tag_name": "button", "text": "Sign up", "order": 0}
PAGE = {"count": 1, "next": None, "previous": None, "results": [INSIGHT]}
TRAVERSALS = (
    "../",
    "..",
    "%2e%2e/",
    "%2e%2e%2f",
    "..\\",
    "..%2F",
    "1/../2",
    "12345678/..",
    "./",
    "//evil.example/",
    "?id=1",
    "#x",
    "abcdefgh\n",
    "12345678\n",
    "1\n",
    "1\x00",
    "\u202eevil",
    "\ufeff1",
    "\udc80",
    "1 ",
)
CHANGES = {"insight-update": {"name": "Signups"}, "element-update": {"text": "Join"}}
HUGE_NUMBERS = (10**30, -(10**30), 2**63, 2**63 - 1, 2**64, -1, 0, 10**18, 10**19, 1e308, -1e-308, 0.5)

unicode = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
# Keys without lone surrogates: the SDK client cannot encode those in a key (it can in a value).
keys = st.text(max_size=20)
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | unicode
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


def nest(depth: int, as_object: bool) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value} if as_object else [value]
    return value


# The SDK client itself cannot serialise more than about 250 levels.
deep = st.builds(nest, st.integers(50, 200), st.booleans())
traversal = st.sampled_from(TRAVERSALS) | st.builds(
    lambda head, tail: head + tail, st.sampled_from(("1", "AbCdEf12", "")), st.sampled_from(TRAVERSALS)
)
hostile = st.one_of(json_value, unicode, traversal, st.sampled_from(HUGE_NUMBERS), st.integers(), deep)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that the JSON schema allows (near enough: string patterns and bounds are honoured)."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of(*(from_schema(option) for option in schema["anyOf"]))
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum", 10**6))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return st.floats(low, schema.get("maximum"), exclude_min="exclusiveMinimum" in schema, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        longest = schema.get("maxLength", 60)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda text: len(text) <= longest)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(longest, 60))
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        base = st.fixed_dictionaries(
            {name: from_schema(properties[name]) for name in required},
            optional={name: from_schema(sub) for name, sub in properties.items() if name not in required},
        )
        if schema.get("additionalProperties") is True or not properties:
            return st.builds(
                lambda fixed, extra: {**extra, **fixed}, base, st.dictionaries(keys, json_value, max_size=4)
            )
        return base
    return json_value


def arguments(tool: Tool) -> st.SearchStrategy[dict[str, Any]]:
    """Valid arguments, valid ones with some fields made hostile, and arbitrary JSON objects."""
    valid = from_schema(tool.input_schema)
    names = st.sampled_from([*tool.input_schema["properties"], "id", "cursor", "unknown"])
    hostile_fields = st.dictionaries(names, hostile | traversal, min_size=1, max_size=3)
    paths = st.fixed_dictionaries({}, optional={"id": traversal, "cursor": traversal})
    return st.one_of(
        valid,
        st.builds(lambda fields, changes: {**fields, **changes}, valid, hostile_fields),
        st.builds(lambda fields, changes: {**fields, **changes}, valid, paths),
        st.dictionaries(keys, json_value, max_size=4),
    )


def traversal_examples(tool: Tool) -> list[dict[str, Any]]:
    """Every traversal string in the tool's id and cursor, with whatever else it needs to be valid."""
    properties = tool.input_schema["properties"]
    base = {**({"id": 1} if "id" in properties else {}), **CHANGES.get(tool.name, {})}
    return [{**base, name: value} for name in ("id", "cursor") if name in properties for value in TRAVERSALS]


def posthog() -> FakePostHog:
    """A PostHog that answers every tool's path with a plausible success, to a legacy key that may call all."""
    fake = FakePostHog(scopes=[])
    fake.on("GET", "insights/my_last_viewed/", [INSIGHT])
    fake.on("GET", r"insights/[^/]+/activity/", {"results": [], "next": None, "total_count": 0})
    fake.on("GET", "insights/", PAGE)
    fake.on("GET", r"insights/[^/]+/", INSIGHT)
    fake.on("POST", "insights/viewed/", httpx.Response(201))
    fake.on("POST", "insights/cancel/", httpx.Response(201))
    fake.on("POST", "insights/generate_metadata/", {"name": "Signups", "description": "Daily signups."})
    fake.on("POST", "insights/", httpx.Response(201, json=INSIGHT))
    fake.on("PATCH", r"insights/[^/]+/", INSIGHT)
    fake.on("GET", "elements/stats/", {"next": None, "results": []})
    fake.on("GET", "elements/values/", [{"name": "Sign up"}])
    fake.on("GET", "elements/", {**PAGE, "results": [ELEMENT]})
    fake.on("GET", r"elements/[^/]+/", ELEMENT)
    fake.on("POST", "elements/", httpx.Response(201, json=ELEMENT))
    fake.on("PATCH", r"elements/[^/]+/", ELEMENT)
    fake.on("DELETE", r"elements/[^/]+/", httpx.Response(204))
    return fake


@dataclass
class Harness:
    """One server behind one in-memory client, called from the synchronous hypothesis tests."""

    portal: BlockingPortal
    client: Client
    fake: FakePostHog

    def call(self, name: str, args: dict[str, Any]) -> types.CallToolResult:
        async def call() -> types.CallToolResult:
            with anyio.fail_after(30):
                return await self.client.call_tool(name, args)

        return self.portal.call(call)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    fake = posthog()
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        client = stack.enter_context(portal.wrap_async_context_manager(connect(fake)))
        yield Harness(portal, client, fake)


def refused(tool: Tool, args: dict[str, Any]) -> bool:
    try:
        tool.arguments.model_validate(args)
    except (ValidationError, ValueError):
        return True
    return False


def expected_path(tool: Tool) -> re.Pattern[str]:
    # Every path argument ({id}, {client_query_id}) is an id of letters, digits, `_` or `-`.
    return re.compile(re.sub(r"\\\{\w+\\\}", "[0-9A-Za-z_-]+", re.escape(PREFIX + tool.path)))


@pytest.mark.parametrize("tool", TOOLS, ids=[tool.name for tool in TOOLS])
def test_any_arguments_end_in_a_result_and_refused_ones_reach_nothing(harness: Harness, tool: Tool) -> None:
    path = expected_path(tool)
    reached_posthog: list[bool] = []

    @PROFILE
    @given(args=arguments(tool))
    def property_holds(args: dict[str, Any]) -> None:
        harness.fake.requests.clear()
        result = harness.call(tool.name, args)
        text = "".join(getattr(block, "text", "") for block in result.content)
        text.encode("utf-8")
        assert KEY not in text
        assert "This is a bug" not in text, text
        sent = harness.fake.tool_requests()
        reached_posthog.append(bool(sent))
        if refused(tool, args):
            assert result.is_error, text
            assert sent == [], [request.route for request in sent]
        for request in sent:
            assert request.method == tool.method
            assert path.fullmatch(request.path), request.path
            assert request.headers["authorization"] == f"Bearer {KEY}"

    for args in traversal_examples(tool):
        property_holds = example(args=args)(property_holds)
    property_holds()
    # The generator must also produce calls PostHog serves, or the path checks above never run.
    assert any(reached_posthog)


@pytest.mark.anyio
@pytest.mark.parametrize("tool", ["insight-create", "insight-generate-metadata"])
async def test_a_query_holding_a_lone_surrogate_is_refused_before_posthog(tool: str) -> None:
    fake = posthog()
    query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "sign\ud800up"}]}
    async with connect(fake) as client:
        message = error_text(await client.call_tool(tool, {"query": query}))
    assert "query: holds a lone surrogate" in message
    assert fake.tool_requests() == []
