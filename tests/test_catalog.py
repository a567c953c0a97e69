"""The catalog's invariants, and one committed snapshot per tool of what tools/list sends (an API for agents)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from mcp_server.catalog import BY_NAME, TOOLS, Tool
from mcp_server.pages import PageStyle
from tests.conftest import FakePostHog, connect

SNAPSHOTS = Path(__file__).parent / "snapshots" / "tools"
REFRESH = "UPDATE_SNAPSHOTS=1 uv run pytest tests/test_catalog.py"


def test_names_are_kebab_case_and_titles_and_descriptions_are_within_budget() -> None:
    for tool in TOOLS:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", tool.name)
        assert 3 <= len(tool.title) <= 50
        assert 40 <= len(tool.description) <= 600, tool.name


def test_no_description_repeats_the_paging_advice_of_the_server_instructions() -> None:
    for tool in TOOLS:
        assert "next_cursor" not in tool.description, tool.name


def test_every_argument_is_described_and_unknown_arguments_are_refused() -> None:
    for tool in TOOLS:
        schema = tool.input_schema
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        for name, field in schema["properties"].items():
            assert field.get("description"), f"{tool.name}.{name}"
            assert "title" not in field and "$ref" not in json.dumps(field)


def test_every_naming_lists_with_a_scoped_paged_read() -> None:
    for tool in TOOLS:
        for naming in tool.naming:
            lister = BY_NAME[naming.lister]
            assert lister.method == "GET" and lister.read_only, tool.name
            assert lister.scope is not None and lister.page is PageStyle.OFFSET, tool.name


def test_paginated_tools_take_limit_and_cursor_and_bare_lists_take_neither() -> None:
    for tool in TOOLS:
        properties = tool.input_schema["properties"]
        paged = tool.page is not None and tool.page is not PageStyle.BARE
        assert ("limit" in properties) is paged, tool.name
        assert ("cursor" in properties) is paged, tool.name
        if paged:
            assert properties["limit"]["maximum"] >= properties["limit"]["default"]


def test_insight_ids_accept_a_number_or_a_short_id_and_element_ids_a_number() -> None:
    for tool in TOOLS:
        id_schema = tool.input_schema["properties"].get("id")
        if id_schema is None:
            continue
        if tool.noun == "insight":
            assert {o["type"] for o in id_schema["anyOf"]} == {"integer", "string"}
        else:
            assert id_schema["type"] == "integer"


def _wire(tools: list[Any]) -> list[dict[str, Any]]:
    return [tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in tools]


def _snapshot(listed: dict[str, Any], tool: Tool) -> dict[str, Any]:
    """What tools/list sends for the tool, and the catalog facts the wire leaves out."""
    page = tool.page.value if tool.page else None
    facts = {"scope": tool.scope, "toolset": tool.toolset, "page": page}
    if tool.fallback is not None:
        facts["fallback"] = f"{tool.fallback.method} {tool.fallback.path} ({tool.fallback.scope})"
    return {**listed, "catalog": facts}


async def _listed(fake: FakePostHog) -> dict[str, dict[str, Any]]:
    async with connect(fake) as client:
        return {tool["name"]: tool for tool in _wire((await client.list_tools()).tools)}


async def _current(fake: FakePostHog) -> dict[str, dict[str, Any]]:
    """Each listed tool's snapshot as it is now; with UPDATE_SNAPSHOTS=1, also the committed files."""
    listed = await _listed(fake)
    current = {tool.name: _snapshot(listed[tool.name], tool) for tool in TOOLS if tool.name in listed}
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for stale in SNAPSHOTS.glob("*.json"):
            if stale.stem not in current:
                stale.unlink()
        for name, snapshot in current.items():
            (SNAPSHOTS / f"{name}.json").write_text(json.dumps(snapshot, indent=2) + "\n")
    return current


@pytest.mark.anyio
async def test_every_toolset_offered_lists_every_catalog_tool(fake: FakePostHog) -> None:
    assert sorted(await _listed(fake)) == sorted(tool.name for tool in TOOLS)


@pytest.mark.anyio
async def test_each_tool_has_a_snapshot_file_and_each_file_a_tool(fake: FakePostHog) -> None:
    tools = (await _current(fake)).keys()
    files = {path.stem for path in SNAPSHOTS.glob("*.json")}
    assert not tools - files, f"tools without a snapshot: {sorted(tools - files)}; run {REFRESH}"
    assert not files - tools, f"snapshots without a tool: {sorted(files - tools)}; run {REFRESH}"


@pytest.mark.anyio
async def test_each_tool_matches_its_committed_snapshot(fake: FakePostHog) -> None:
    current = await _current(fake)
    committed = {
        name: json.loads(path.read_text()) for name in current if (path := SNAPSHOTS / f"{name}.json").exists()
    }
    changed = sorted(name for name in committed if committed[name] != current[name])
    assert {name: current[name] for name in changed} == {name: committed[name] for name in changed}, (
        f"the schema of {', '.join(changed)} changed: this is an API change for agents. "
        f"If intended, refresh the snapshots with {REFRESH}"
    )


@pytest.mark.anyio
async def test_every_listed_tool_carries_title_and_all_four_annotations(fake: FakePostHog) -> None:
    listed = await _listed(fake)
    assert len(listed) == len(TOOLS)
    for tool in listed.values():
        assert tool["title"]
        assert set(tool["annotations"]) == {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}
        assert tool["annotations"]["openWorldHint"] is True


QUERIES_AND_NAMES = ("query-run", "query-get", "event-definitions-list", "property-definitions-list", "dashboards-list")


@pytest.mark.anyio
async def test_the_query_and_discovery_tools_add_at_most_4800_characters_to_tools_list(fake: FakePostHog) -> None:
    """About 1,200 Claude tokens: what the default toolset may grow by for them (output schemas counted apart)."""
    listed = await _listed(fake)
    added = [{k: v for k, v in listed[name].items() if k != "outputSchema"} for name in QUERIES_AND_NAMES]
    assert sum(len(json.dumps(tool, separators=(",", ":"))) for tool in added) <= 4800


@pytest.mark.anyio
async def test_the_result_tools_output_schemas_add_at_most_1000_characters_to_tools_list(fake: FakePostHog) -> None:
    """About 250 Claude tokens for the three copies of the results schema (insight-get, query-run, query-get)."""
    listed = await _listed(fake)
    schemas = [tool["outputSchema"] for tool in listed.values() if "outputSchema" in tool]
    assert sorted(name for name, tool in listed.items() if "outputSchema" in tool) == [
        "insight-get",
        "query-get",
        "query-run",
    ]
    assert sum(len(json.dumps({"outputSchema": schema}, separators=(",", ":"))) for schema in schemas) <= 1000
