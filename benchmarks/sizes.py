"""What the model reads: tools/list and tool results, in bytes and Claude tokens, beside PostHog's own JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import httpx
from mcp import Client

from benchmarks.fixtures import Fixtures, replay
from benchmarks.tokens import Tokens
from tests.sandbox_process import Sandbox


def compact(value: Any) -> str:
    """JSON as a host sends it to the model: compact, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Text:
    """A text the model reads."""

    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode())


@dataclass(frozen=True)
class Listing:
    """One tools/list: the whole payload and each tool's definition."""

    label: str
    whole: Text
    tools: dict[str, Text]


@dataclass(frozen=True)
class Result:
    """One tool result beside PostHog's raw answer to the request the server made for it."""

    label: str
    tool: str
    arguments: dict[str, Any]
    ours: Text
    raw: Text
    extra_raw: tuple[tuple[str, Text], ...] = ()


async def tools_list(client: Client, label: str) -> Listing:
    """The tools/list payload as the model reads it, and per tool."""
    listed = await client.list_tools()
    tools = [tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in listed.tools]
    return Listing(label, Text(compact({"tools": tools})), {tool["name"]: Text(compact(tool)) for tool in tools})


async def result(
    client: Client,
    sandbox: Sandbox,
    raw: httpx.AsyncClient,
    label: str,
    tool: str,
    arguments: dict[str, Any],
    path: str,
) -> Result:
    """Call `tool` and replay the request it made to `path` straight to PostHog (the sandbox)."""
    sandbox.forget_requests()
    answer = await client.call_tool(tool, arguments)
    text = answer.content[0].text  # type: ignore[union-attr]
    if answer.is_error:
        raise RuntimeError(f"{tool} {arguments} failed: {text}")
    body = await replay(sandbox, raw, path)
    return Result(label, tool, arguments, Text(text), Text(body))


async def results(client: Client, sandbox: Sandbox, raw: httpx.AsyncClient, fixtures: Fixtures) -> list[Result]:
    """Every result the benchmark sizes: (label, tool, arguments, the PostHog path its answer comes from)."""
    measured: list[tuple[str, str, dict[str, Any], str]] = [
        ("insights-list, 20 insights", "insights-list", {"limit": 20}, "insights/"),
        (
            "insight-get, trends (3 series x 30 days)",
            "insight-get",
            {"id": fixtures.trends},
            f"insights/{fixtures.trends}/",
        ),
        ("insight-get, funnel (3 steps)", "insight-get", {"id": fixtures.funnel}, f"insights/{fixtures.funnel}/"),
        (
            "insights-activity-retrieve, 20 entries",
            "insights-activity-retrieve",
            {"id": fixtures.funnel, "limit": 20},
            f"insights/{fixtures.funnel}/activity/",
        ),
        ("elements-stats-retrieve, 50 rows", "elements-stats-retrieve", {"limit": 50}, "elements/stats/"),
    ]
    sized = [await result(client, sandbox, raw, *spec) for spec in measured]
    # The server asks for PostHog's short list form (basic=true); a client of the API without it gets this much.
    full = Text((await raw.get("insights/", params={"limit": "20"})).raise_for_status().text)
    sized[0] = replace(sized[0], extra_raw=(("PostHog's full list of the same 20", full),))
    return sized


def count_all(tokens: Tokens, listings: list[Listing], sized: list[Result]) -> None:
    """Count every text in one batch."""
    texts = [listing.whole.text for listing in listings]
    texts += [tool.text for listing in listings for tool in listing.tools.values()]
    texts += [text.text for item in sized for text in (item.ours, item.raw, *(t for _, t in item.extra_raw))]
    tokens.prepare(texts)
