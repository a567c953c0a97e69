"""Toolsets: which groups of tools a configuration offers, over every transport, and the start-up checks."""

from __future__ import annotations

import os
import sys

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mcp_server.catalog import TOOLS
from mcp_server.cli import main
from mcp_server.config import ConfigError, load
from tests.conftest import KEY, FakePostHog, connect, error_text, payload
from tests.http_server import running
from tests.posthog_json import element
from tests.sandbox_process import ROOT

pytestmark = pytest.mark.anyio

QUERIES_AND_NAMES = {"query-run", "query-get", "event-definitions-list", "property-definitions-list", "dashboards-list"}
INSIGHTS = {tool.name for tool in TOOLS if tool.name.startswith("insight")} | QUERIES_AND_NAMES
CLICK_DATA = {"elements-stats-retrieve", "elements-values-list"}
LEGACY = {"elements-list", "element-get", "element-create", "element-update", "element-delete"}


async def listed(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


def test_every_tool_is_in_exactly_one_of_the_three_sets() -> None:
    assert {tool.name for tool in TOOLS if tool.toolset == "insights"} == INSIGHTS
    assert {tool.name for tool in TOOLS if tool.toolset == "elements"} == CLICK_DATA
    assert {tool.name for tool in TOOLS if tool.toolset == "elements-legacy"} == LEGACY


async def test_the_default_offers_insights_and_click_data_but_not_the_legacy_element_table(mode: str) -> None:
    async with connect(FakePostHog(), mode, toolsets=None) as client:
        assert await listed(client) == INSIGHTS | CLICK_DATA


async def test_a_tool_outside_the_chosen_sets_is_refused_naming_its_set_and_the_flag() -> None:
    fake = FakePostHog()
    async with connect(fake, toolsets=None) as client:
        message = error_text(await client.call_tool("element-get", {"id": 3}))
    assert "element-get is in the toolset 'elements-legacy', which this server does not offer" in message
    assert "--toolsets" in message
    assert fake.tool_requests() == []


async def test_all_offers_every_tool() -> None:
    chosen = load({"toolsets": "all"}, {}).toolsets
    async with connect(FakePostHog(), toolsets=chosen) as client:
        assert await listed(client) == {tool.name for tool in TOOLS}


async def test_the_environment_variable_chooses_the_sets() -> None:
    chosen = load({}, {"POSTHOG_MCP_TOOLSETS": "elements-legacy"}).toolsets
    async with connect(FakePostHog(), toolsets=chosen) as client:
        assert await listed(client) == LEGACY


async def test_tools_offers_exactly_the_named_tools_whatever_their_set() -> None:
    fake = FakePostHog().on("GET", "elements/3/", element(3))
    async with connect(fake, toolsets=frozenset({"insights"}), tools=frozenset({"element-get"})) as client:
        assert await listed(client) == {"element-get"}
        assert payload(await client.call_tool("element-get", {"id": 3}))["text"] == "Sign up 3"


async def test_scopes_and_read_only_mode_still_filter_inside_the_chosen_sets() -> None:
    async with connect(FakePostHog(), toolsets=frozenset({"elements-legacy"}), read_only=True) as client:
        assert await listed(client) == {"elements-list", "element-get"}
    async with connect(FakePostHog(scopes=["element:read"]), toolsets=None) as client:
        assert await listed(client) == CLICK_DATA


def test_an_unknown_toolset_is_refused_at_start_up_with_the_near_miss() -> None:
    with pytest.raises(ConfigError) as refused:
        load({"toolsets": "insights,element"}, {})
    assert "unknown toolsets: 'element' (did you mean 'elements'?)" in str(refused.value)
    assert "Known toolsets: insights, elements, elements-legacy, all." in str(refused.value)
    with pytest.raises(ConfigError, match="names no toolset"):
        load({}, {"POSTHOG_MCP_TOOLSETS": " , "})


def test_a_configuration_that_leaves_no_tool_is_refused_at_start_up_naming_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--api-key", KEY, "--read-only", "--tools", "insight-create"]) == 2
    error = capsys.readouterr().err
    assert "offers no tool at all" in error
    assert "insight-create is left out: they change data and the server is read-only" in error
    assert f"{len(TOOLS) - 1} other tools are left out: not in the allow-list (--tools)" in error


async def test_toolsets_apply_over_stdio() -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server", "--sandbox"],
        env={"PATH": os.environ["PATH"], "POSTHOG_MCP_TOOLSETS": "elements"},
        cwd=str(ROOT),
    )
    async with Client(params, mode="legacy") as client:
        assert await listed(client) == CLICK_DATA
        message = error_text(await client.call_tool("insights-list", {}))
    assert "in the toolset 'insights'" in message


async def test_toolsets_apply_over_streamable_http() -> None:
    async with running(FakePostHog(), toolsets=frozenset({"elements"})) as url:
        transport = streamable_http_client(f"{url}/mcp", http_client=httpx2.AsyncClient(timeout=30))
        async with Client(transport, mode="legacy") as client:
            assert await listed(client) == CLICK_DATA
            message = error_text(await client.call_tool("element-delete", {"id": 3}))
    assert "in the toolset 'elements-legacy'" in message


async def test_the_instructions_name_only_tools_the_server_offers() -> None:
    async with connect(FakePostHog(), toolsets=None) as client:
        default = client.instructions or ""
    async with connect(FakePostHog()) as client:
        every = client.instructions or ""
    assert "insight-delete is a soft delete" in default
    assert "element-delete" not in default
    assert "element-delete is permanent." in every
