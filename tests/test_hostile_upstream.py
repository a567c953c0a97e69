"""A hostile PostHog, over real HTTP on 127.0.0.1: every fault ends in a result the agent can act on.

One table drives the suite: for each fault, the tool result (an actionable isError, or success), how many
requests PostHog received (GETs retried as design.md says, writes never repeated), that the server still
answers the next call, and that the key appears nowhere. The same table renders docs/reliability.md's fault
table (UPDATE_RELIABILITY=1 rewrites it).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mcp_server.app import App
from mcp_server.catalog import BY_NAME
from mcp_server.posthog import RetryPolicy
from mcp_server.server import build_server
from tests.conftest import KEY, PROJECT, settings
from tests.hostile_posthog import (
    HostilePostHog,
    Reply,
    endless,
    hostile_posthog,
    html_page,
    huge,
    json_reply,
    nested,
    raw,
    redirect,
    reset_mid_body,
    throttled,
    trickle,
)
from tests.http_server import serving

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
RELIABILITY = ROOT / "docs" / "reliability.md"
TIMEOUT = 1.0
POLICY = RetryPolicy(deadline=2.0, rate_limit_wait=1.0, backoff=0.01)
INSIGHT = {"id": 1, "short_id": "AbCdEf12", "name": "Weekly signups"}
ELEMENT = {"id": 7, "tag_name": "button", "text": "Sign up", "order": 0}
QUERY = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}
CALLS: dict[str, tuple[dict[str, Any], str]] = {
    "insight-get": ({"id": 1}, "insights/1/"),
    "insights-list": ({}, "insights/"),
    "elements-values-list": ({"key": "text"}, "elements/values/"),
    "insight-create": ({"name": "Signups", "query": QUERY}, "insights/"),
    "insight-update": ({"id": 1, "name": "Signups"}, "insights/1/"),
    "element-delete": ({"id": 3}, "elements/3/"),
    "insights-mark-viewed": ({"insight_ids": [1]}, "insights/viewed/"),
}
EMPTY_PAGE_WITH_NEXT = {"count": 40, "next": "http://x/api/projects/42/insights/?offset=20", "results": []}


@dataclass(frozen=True)
class Fault:
    """One way PostHog misbehaves, on one tool, and what must come of it."""

    name: str
    tool: str
    script: Callable[[str], list[Reply]]  # the replies, given the foreign host's URL
    received: int  # requests PostHog must receive for the tool's path
    error: bool | None  # None: a result or an isError are both fine, as long as it is not a crash
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = ()
    within: float = 10.0

    @property
    def method(self) -> str:
        return BY_NAME[self.tool].method


@dataclass
class Outcome:
    """What one fault came to."""

    error: bool
    text: str
    received: int
    foreign_received: int
    authorizations: set[str | None] = field(default_factory=set)
    next_call_error: bool = False


def fault(name: str, tool: str, replies: Callable[[str], list[Reply]], received: int, **rest: Any) -> Fault:
    return Fault(name, tool, replies, received, rest.pop("error", True), **rest)


FAULTS: tuple[Fault, ...] = (
    fault(
        "500 on a read",
        "insight-get",
        lambda _: [json_reply({"detail": "Server error"}, 500)],
        3,
        says=("(500)", "Retry later"),
    ),
    fault("502 HTML page on a read", "insight-get", lambda _: [html_page(502)], 3, says=("(502)",)),
    fault("503, then success", "insight-get", lambda _: [html_page(503), json_reply(INSIGHT)], 2, error=False),
    fault("504 on a read", "insight-get", lambda _: [html_page(504)], 1, says=("(504)",), never_says=("<",)),
    fault("429 without Retry-After", "insight-get", lambda _: [throttled(None)], 4, says=("429",)),
    fault("429 with Retry-After: 0", "insight-get", lambda _: [throttled("0")], 4, says=("429",)),
    fault("429 with Retry-After: 86400", "insight-get", lambda _: [throttled("86400")], 1, says=("in 24 hours",)),
    fault(
        "429 with Retry-After: inf", "insight-get", lambda _: [throttled("inf")], 4, says=("429",), never_says=("inf",)
    ),
    fault("429 with Retry-After: soon", "insight-get", lambda _: [throttled("soon")], 4, says=("429",)),
    fault("429, then success", "insight-get", lambda _: [throttled("0"), json_reply(INSIGHT)], 2, error=False),
    fault(
        "connection reset mid-body on a read",
        "insight-get",
        lambda _: [reset_mid_body()],
        3,
        says=("Nothing was changed",),
    ),
    fault(
        "connection reset mid-body, then success",
        "insight-get",
        lambda _: [reset_mid_body(), json_reply(INSIGHT)],
        2,
        error=False,
    ),
    fault(
        "200 with an HTML page",
        "insight-get",
        lambda _: [raw("<html>Welcome</html>", 200, "text/html")],
        1,
        says=("not JSON",),
    ),
    fault("200 with plain text", "insights-list", lambda _: [raw("OK", 200, "text/plain")], 1, says=("not JSON",)),
    fault("body trickling a byte every 50 ms", "insight-get", lambda _: [trickle(0.05)], 1, within=POLICY.deadline + 2),
    fault("body that never ends (4 MB/s)", "insight-get", lambda _: [endless(0.015)], 1, within=POLICY.deadline + 2),
    fault("24 MB body", "insight-get", lambda _: [huge(24_000_000)], 1, says=("POSTHOG_MCP_MAX_REPLY",)),
    fault(
        "24 MB body on an update",
        "insight-update",
        lambda _: [huge(24_000_000)],
        1,
        says=("POSTHOG_MCP_MAX_REPLY", "insight-get"),
    ),
    fault(
        "list where an object is expected", "insight-get", lambda _: [json_reply([INSIGHT])], 1, says=("as expected",)
    ),
    fault(
        "object where a page is expected", "insights-list", lambda _: [json_reply(INSIGHT)], 1, says=("as expected",)
    ),
    fault(
        "object where a list is expected",
        "elements-values-list",
        lambda _: [json_reply({"name": "x"})],
        1,
        says=("as expected",),
    ),
    fault(
        "empty page whose next link is set",
        "insights-list",
        lambda _: [json_reply(EMPTY_PAGE_WITH_NEXT)],
        1,
        error=False,
        says=('"next_cursor":null',),
    ),
    fault(
        "lone surrogate in a 400 detail",
        "insight-get",
        lambda _: [json_reply({"attr": "name", "detail": "bad \udc80"}, 400)],
        1,
        says=("PostHog rejected",),
    ),
    fault(
        "lone surrogate in an insight's name",
        "insight-get",
        lambda _: [json_reply({**INSIGHT, "name": "a\ud800b"})],
        1,
        error=False,
    ),
    fault("reply nested 300 levels", "insight-get", lambda _: [nested(300)], 1, error=None),
    fault("reply nested 5,000 levels", "insight-get", lambda _: [nested(5000)], 1, error=None),
    fault(
        "key echoed in a 400 detail",
        "insight-get",
        lambda _: [json_reply({"detail": f"Invalid key {KEY}."}, 400)],
        1,
        never_says=(KEY,),
    ),
    fault(
        "key echoed in part in a 400 detail",
        "insight-get",
        lambda _: [json_reply({"detail": f"Invalid key {KEY[:-4]}..."}, 400)],
        1,
        never_says=(KEY[:-4],),
    ),
    *(
        fault(
            f"{status} to a foreign host on a read",
            "insight-get",
            lambda foreign, status=status: [redirect(status, foreign + "/api/projects/42/insights/1/")],
            1,
            says=("redirect",),
        )
        for status in (301, 302, 307)
    ),
    fault(
        "307 to a foreign host on a write",
        "insight-create",
        lambda foreign: [redirect(307, foreign + "/api/projects/42/insights/")],
        1,
        says=("redirect",),
    ),
    fault(
        "500 on a create",
        "insight-create",
        lambda _: [json_reply({"detail": "Server error"}, 500)],
        1,
        says=("not repeated",),
    ),
    fault("502 HTML page on an update", "insight-update", lambda _: [html_page(502)], 1, says=("not repeated",)),
    fault("503 on a delete", "element-delete", lambda _: [html_page(503)], 1, says=("not repeated",)),
    fault("500 on mark viewed", "insights-mark-viewed", lambda _: [html_page(500)], 1, says=("not repeated",)),
    fault(
        "connection reset mid-body on a create",
        "insight-create",
        lambda _: [reset_mid_body(201)],
        1,
        says=("not repeated",),
    ),
    fault(
        "connection reset mid-body on a delete",
        "element-delete",
        lambda _: [reset_mid_body(200)],
        1,
        says=("not repeated",),
    ),
    fault(
        "429, then success, on a create",
        "insight-create",
        lambda _: [throttled("0"), json_reply(INSIGHT, 201)],
        2,
        error=False,
    ),
    fault(
        "body trickling on a create",
        "insight-create",
        lambda _: [trickle(0.05)],
        1,
        says=("not repeated",),
        within=POLICY.deadline + 2,
    ),
    fault(
        "200 with an HTML page on a create",
        "insight-create",
        lambda _: [raw("<html>OK</html>", 200, "text/html")],
        1,
        says=("not JSON",),
    ),
)
BY_FAULT = {case.name: case for case in FAULTS}
# Faults that once broke a transport's own encoding, replayed over real transports.
PROCESS_FAULTS = (
    "lone surrogate in a 400 detail",
    "lone surrogate in an insight's name",
    "reply nested 300 levels",
    "500 on a create",
)
OUTCOMES: dict[str, Outcome] = {}


@asynccontextmanager
async def in_memory(posthog: HostilePostHog) -> AsyncIterator[Client]:
    app = App.create(settings(posthog_host=posthog.url, timeout=TIMEOUT), policy=POLICY)
    try:
        async with Client(build_server(app)) as client:
            yield client
    finally:
        await app.aclose()


@asynccontextmanager
async def over_stdio(posthog: HostilePostHog) -> AsyncIterator[Client]:
    env = {
        "PATH": os.environ["PATH"],
        "POSTHOG_PERSONAL_API_KEY": KEY,
        "POSTHOG_HOST": posthog.url,
        "POSTHOG_PROJECT_ID": str(PROJECT),
        "POSTHOG_MCP_TOOLSETS": "all",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server"], env=env, cwd=str(ROOT))
    async with Client(params) as client:
        yield client


@asynccontextmanager
async def over_http(posthog: HostilePostHog, transport: str = "http") -> AsyncIterator[Client]:
    app = App.create(settings(posthog_host=posthog.url, timeout=TIMEOUT, transport=transport), policy=POLICY)
    try:
        async with serving(app) as url:
            stream = sse_client(f"{url}/sse") if transport == "sse" else streamable_http_client(f"{url}/mcp")
            async with Client(stream, mode="legacy" if transport == "sse" else "auto") as client:
                yield client
    finally:
        await app.aclose()


def is_valid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def run(case: Fault, connect: Callable[[HostilePostHog], Any] = in_memory) -> Outcome:
    """Play the fault against the server and record what came of it."""
    arguments, path = CALLS[case.tool]
    with hostile_posthog(PROJECT) as posthog, hostile_posthog(PROJECT) as foreign:
        posthog.on(case.method, path, *case.script(foreign.url))
        posthog.on("GET", "elements/7/", json_reply(ELEMENT))
        async with connect(posthog) as client:
            with anyio.fail_after(case.within):
                result = await client.call_tool(case.tool, arguments)
            with anyio.fail_after(10):
                following = await client.call_tool("element-get", {"id": 7})
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        text = text.replace(foreign.url, "<foreign host>").replace(posthog.url, "<POSTHOG_HOST>")
        return Outcome(
            error=bool(result.is_error),
            text=text,
            received=posthog.count(case.method, path),
            foreign_received=len(foreign.received),
            authorizations={r.authorization for r in posthog.received},
            next_call_error=bool(following.is_error),
        )


def check(case: Fault, outcome: Outcome) -> None:
    assert outcome.received == case.received, outcome
    if case.error is not None:
        assert outcome.error is case.error, outcome.text
    for words in case.says:
        assert words in outcome.text, outcome.text
    for words in case.never_says:
        assert words not in outcome.text, outcome.text
    assert KEY not in outcome.text
    assert "This is a bug" not in outcome.text, outcome.text
    assert is_valid_utf8(outcome.text), ascii(outcome.text)
    assert outcome.foreign_received == 0
    assert outcome.authorizations == {f"Bearer {KEY}"}
    assert not outcome.next_call_error


@pytest.mark.parametrize("case", FAULTS, ids=[case.name for case in FAULTS])
async def test_a_hostile_posthog_gets_an_actionable_answer_and_no_repeated_write(case: Fault) -> None:
    outcome = await run(case)
    OUTCOMES[case.name] = outcome
    check(case, outcome)


@pytest.mark.parametrize("name", PROCESS_FAULTS)
async def test_a_hostile_posthog_leaves_the_stdio_process_answering(name: str) -> None:
    case = replace(BY_FAULT[name], within=20.0)
    check(case, await run(case, over_stdio))


@pytest.mark.parametrize("name", PROCESS_FAULTS)
async def test_a_hostile_posthog_leaves_streamable_http_answering(name: str) -> None:
    case = BY_FAULT[name]
    check(case, await run(case, over_http))


@pytest.mark.parametrize("name", PROCESS_FAULTS)
async def test_a_hostile_posthog_leaves_the_sse_session_answering(name: str) -> None:
    case = BY_FAULT[name]
    check(case, await run(case, partial(over_http, transport="sse")))


def row(case: Fault, outcome: Outcome) -> str:
    retries = outcome.received - 1
    read = case.method == "GET"
    outcome_words = "fails (isError)" if outcome.error else "answers with the result"
    if retries and read:
        does = f"retries the read, then {outcome_words}"
    elif retries:
        does = f"resends the throttled write (PostHog did nothing), then {outcome_words}"
    elif read:
        does = outcome_words
    else:
        does = f"{outcome_words}; does not resend the write"
    retried = "not retried" if retries == 0 else f"{retries} {'retry' if retries == 1 else 'retries'}"
    # Which exception httpx raises for a dropped connection depends on timing; the outcome does not.
    reads = re.sub(r"\((dropped|connect): \w+\)", r"(\1)", re.sub(r"\s+", " ", outcome.text))
    reads = reads if len(reads) <= 320 else reads[:317] + "..."
    reads = reads.replace("|", "\\|")
    return f"| {case.name} | `{case.tool}` ({case.method}) | {does} | {retried} | {reads} |"


def render(outcomes: dict[str, Outcome]) -> str:
    """The fault table of docs/reliability.md."""
    lines = [
        "| fault | call | what the server does | retries | what the agent reads |",
        "|---|---|---|---|---|",
    ]
    lines += [row(case, outcomes[case.name]) for case in FAULTS]
    return "\n".join(lines) + "\n"


async def test_the_fault_table_in_docs_reliability_md_is_current() -> None:
    for case in FAULTS:
        if case.name not in OUTCOMES:
            OUTCOMES[case.name] = await run(case)
    table = render(OUTCOMES)
    document = RELIABILITY.read_text()
    start, end = "<!-- fault-table -->\n", "<!-- end fault-table -->"
    before, rest = document.split(start)
    _, after = rest.split(end)
    if os.environ.get("UPDATE_RELIABILITY"):
        RELIABILITY.write_text(before + start + table + end + after)
    assert start + table + end in RELIABILITY.read_text(), (
        "docs/reliability.md's fault table is out of date: rerun with UPDATE_RELIABILITY=1"
    )
