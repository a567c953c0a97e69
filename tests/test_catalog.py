"""The catalog's invariants, and the committed snapshot of what tools/list sends (an API for agents)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from mcp_server.catalog import TOOLS
from mcp_server.pages import PageStyle
from tests.conftest import FakePostHog, connect

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"

# name: (scope, read-only, destructive, idempotent, page style) as the design's tool table says.
TABLE: dict[str, tuple[str | None, bool, bool, bool, PageStyle | None]] = {
    "insights-list": ("insight:read", True, False, True, PageStyle.OFFSET),
    "insight-get": ("insight:read", True, False, True, None),
    "insight-create": ("insight:write", False, False, False, None),
    "insight-update": ("insight:write", False, False, True, None),
    "insight-delete": ("insight:write", False, True, True, None),
    "insights-activity-retrieve": ("activity_log:read", True, False, True, PageStyle.NUMBERED),
    "insights-my-last-viewed": (None, True, False, True, PageStyle.BARE),
    "insights-mark-viewed": ("insight:read", False, False, True, None),
    "insight-generate-metadata": ("insight:write", True, False, False, None),
    "insight-query-cancel": (None, False, False, True, None),
    "elements-list": ("element:read", True, False, True, PageStyle.OFFSET),
    "element-get": ("element:read", True, False, True, None),
    "element-create": ("element:write", False, False, False, None),
    "element-update": ("element:write", False, False, True, None),
    "element-delete": ("element:write", False, True, True, None),
    "elements-stats-retrieve": ("element:read", True, False, True, PageStyle.OFFSET_NO_COUNT),
    "elements-values-list": ("element:read", True, False, True, PageStyle.BARE),
}


def test_the_catalog_holds_the_seventeen_tools_of_the_design_table() -> None:
    assert [tool.name for tool in TOOLS] == list(TABLE)
    for tool in TOOLS:
        assert (tool.scope, tool.read_only, tool.destructive, tool.idempotent, tool.page) == TABLE[tool.name]


def test_names_are_kebab_case_and_titles_and_descriptions_are_within_budget() -> None:
    for tool in TOOLS:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", tool.name)
        assert 3 <= len(tool.title) <= 50
        assert 40 <= len(tool.description) <= 600, tool.name


def test_every_argument_is_described_and_unknown_arguments_are_refused() -> None:
    for tool in TOOLS:
        schema = tool.input_schema
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        for name, field in schema["properties"].items():
            assert field.get("description"), f"{tool.name}.{name}"
            assert "title" not in field and "$ref" not in json.dumps(field)


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


@pytest.mark.anyio
async def test_tools_list_matches_the_committed_snapshot(fake: FakePostHog) -> None:
    async with connect(fake) as client:
        listed = _wire((await client.list_tools()).tools)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(listed, indent=2) + "\n")
    assert SNAPSHOT.exists(), "run with UPDATE_SNAPSHOTS=1 to create tests/snapshots/tools_list.json"
    assert listed == json.loads(SNAPSHOT.read_text()), (
        "tools/list changed: this is an API change for agents. If intended, refresh the snapshot with "
        "UPDATE_SNAPSHOTS=1 uv run pytest tests/test_catalog.py"
    )


@pytest.mark.anyio
async def test_every_listed_tool_carries_title_and_all_four_annotations(fake: FakePostHog) -> None:
    async with connect(fake) as client:
        listed = _wire((await client.list_tools()).tools)
    assert len(listed) == 17
    for tool in listed:
        assert tool["title"]
        assert set(tool["annotations"]) == {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}
        assert tool["annotations"]["openWorldHint"] is True
