"""The MCP server: tools/list from the catalog, tools/call through one error boundary."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.caching import CacheHint
from mcp.shared.exceptions import MCPError

from mcp_server import __version__, errors, shaping
from mcp_server.accounts import Account
from mcp_server.app import App
from mcp_server.catalog import BY_NAME, TOOLS, Tool
from mcp_server.dispatch import AccountResolver, deferred_account, execute, offered_tools
from mcp_server.prompts import prompt_handlers
from mcp_server.resources import resource_handlers
from mcp_server.sdk import Context, request_headers

log = logging.getLogger(__name__)

T = TypeVar("T")

INSTRUCTIONS = """\
PostHog tools for insights (saved analytics queries and their results) and autocapture elements (what users \
click). Lists return {results, count, next_cursor}: pass next_cursor back as cursor (alone: it carries the other \
arguments) to get the next page, until it is null. Results are trimmed for tokens; a `truncated` or `note` field \
says what was left out and how to get it. Errors come back as tool results that say how to fix the call."""

# Advice that only makes sense when the tools it names are offered.
TOOL_ADVICE = {
    "insights-list": "Start with insights-list (search by name, filter by type or tag).",
    "insight-get": "insight-get returns an insight's query and results; its url field links to it in PostHog.",
    "query-run": "For a question no saved insight answers, query-run runs a query without saving it.",
    "event-definitions-list": "event-definitions-list and property-definitions-list give the names queries use.",
    "dashboards-list": "dashboards-list gives dashboard ids and names.",
    "insight-delete": "insight-delete is a soft delete (insight-update with deleted=false restores it).",
    "element-delete": "element-delete is permanent.",
}

SANDBOX_NOTE = """\
THIS SERVER IS CONNECTED TO A LOCAL SANDBOX WITH DEMO DATA, NOT TO A REAL POSTHOG PROJECT. Never present its \
numbers as real product analytics. """

READ_ONLY_NOTE = " This server is read-only: tools that change data are not available."


def instructions(app: App) -> str:
    """What the host tells the model about this server."""
    offered = {tool.name for tool in app.tools}
    advice = [sentence for name, sentence in TOOL_ADVICE.items() if name in offered]
    text = (SANDBOX_NOTE if app.settings.sandbox else "") + " ".join([INSTRUCTIONS, *advice])
    return text + (READ_ONLY_NOTE if app.settings.read_only else "")


def _utf8(text: str) -> str:
    """The text with unpaired surrogates replaced by U+FFFD: the transports' writers refuse them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def success(result: dict[str, Any], secrets: Sequence[str] = ()) -> types.CallToolResult:
    """A tool result: compact JSON text plus the same object as structured content, with any echo of a secret
    redacted (a secret holds no character JSON escapes, so the redacted text stays valid JSON).

    Raises when the result cannot be written as JSON (for the caller to answer as a failure). The result came from
    JSON, cut to a depth the SDK serialises, so once its text is written the SDK's writer can write it too.
    """
    text = shaping.dumps(result)
    if (clean := _utf8(errors.redact(text, secrets))) != text:
        text, result = clean, json.loads(clean)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=result)


def mcp_tool(tool: Tool) -> types.Tool:
    """A catalog entry as an MCP tool definition, its behaviour hints straight from the entry."""
    annotations = types.ToolAnnotations(
        read_only_hint=tool.read_only,
        destructive_hint=tool.destructive,
        idempotent_hint=tool.idempotent,
        open_world_hint=True,
    )
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema,
        output_schema=dict(tool.output_schema) if tool.output_schema is not None else None,
        annotations=annotations,
    )


def failure(message: str) -> types.CallToolResult:
    """A tool result the model reads as an error."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=_utf8(message))], is_error=True)


def default_resolver(app: App) -> AccountResolver:
    """Every request uses the configured key."""

    def resolve(_: Mapping[str, str] | None) -> Account:
        if app.default_account is None:
            raise errors.no_api_key()
        return app.default_account

    return resolve


async def with_progress(ctx: Context, interval: float, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work`, telling a host that asked for progress that the call is alive every `interval` seconds.

    The SDK drops these reports when the request carried no progress token.
    """
    outcome: list[T] = []
    failure_: list[BaseException] = []

    async def tick() -> None:
        elapsed = 0.0
        while True:
            await anyio.sleep(interval)
            elapsed += interval
            await ctx.session.report_progress(elapsed, None, f"Waiting for PostHog: {elapsed:.0f} s")

    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        try:
            outcome.append(await work())
        except Exception as exc:
            failure_.append(exc)
        finally:
            group.cancel_scope.cancel()
    if failure_:
        raise failure_[0]
    return outcome[0]


def build_server(app: App, resolve: AccountResolver | None = None) -> Server[Any]:
    """The MCP server for an app; `resolve` picks the PostHog account of each request."""
    resolve = resolve or default_resolver(app)
    settings = app.settings
    # Built once: a tools/list only chooses among them.
    listed = {tool.name: mcp_tool(tool) for tool in app.tools}

    async def list_tools(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        if params is not None and params.cursor:
            raise MCPError(code=types.INVALID_PARAMS, message=errors.invalid_list_cursor())
        tools = await offered_tools(app, resolve, request_headers(ctx))
        return types.ListToolsResult(tools=[listed[tool.name] for tool in tools])

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = BY_NAME.get(params.name)
        if tool is None:
            raise MCPError(code=types.INVALID_PARAMS, message=errors.unknown_tool(params.name, [t.name for t in TOOLS]))
        secrets = app.secrets()
        account = deferred_account(resolve, request_headers(ctx), secrets)
        app.calls_in_flight += 1
        try:
            result = await with_progress(
                ctx, settings.progress_interval, lambda: execute(app, tool, params.arguments, account)
            )
            return success(result, secrets)
        except errors.ToolError as exc:
            log.info("%s failed: %s", tool.name, errors.redact(exc.message, secrets))
            return failure(errors.describe(exc, tool.name, secrets))
        except Exception as exc:
            log.exception("%s failed unexpectedly", tool.name)
            return failure(errors.describe(exc, tool.name, secrets))
        finally:
            app.calls_in_flight -= 1

    sandbox = settings.sandbox
    return Server(
        "posthog-mcp-sandbox" if sandbox else "posthog-mcp",
        version=__version__,
        title="PostHog (sandbox with demo data)" if sandbox else "PostHog",
        description="Read and manage PostHog insights and autocapture elements.",
        instructions=instructions(app),
        website_url="https://posthog.com",
        get_tool_input_schema=lambda name: BY_NAME[name].input_schema if name in BY_NAME else None,
        # The tools a key may use change only with its scopes; private, because they differ from key to key.
        cache_hints={
            "tools/list": CacheHint(ttl_ms=300_000, scope="private"),
            "resources/templates/list": CacheHint(ttl_ms=3_600_000, scope="public"),
        },
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        **resource_handlers(app, resolve),
        **prompt_handlers(app, resolve),
    )
